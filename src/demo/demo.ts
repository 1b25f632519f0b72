// `ga demo`: the whole governance loop in a temporary repository, with a
// throwaway approver key, no LLM, and nothing of the user's touched: git's
// global config is pointed into the temporary directory for the duration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditTrail } from '../report/trail.js';
import { verifyRepository } from '../verify/verify.js';
import type { Clock } from '../clock.js';
import { GaError } from '../errors.js';
import { executeProposal } from '../executor/execute.js';
import { git, runProgram, sshKeygen } from '../git/exec.js';
import { openRepo } from '../git/repo.js';
import { loadGovernance } from '../history/replay.js';
import { initRepository, trustCommit } from '../init/scaffold.js';
import { approveProposal } from '../proposals/decide.js';
import { submitProposal } from '../proposals/submit.js';
import { HUB_PATH, proposalPath } from '../layout/layout.js';
import { syncWithHub } from '../hub/sync.js';
import { publishAfter } from '../hub/publish.js';

export interface DemoOptions {
  keep: boolean;
  clock: Clock;
  print(line: string): void;
}

const ENV_KEYS = ['GIT_CONFIG_GLOBAL', 'GIT_CONFIG_NOSYSTEM', 'GA_AGENT'] as const;

/**
 * Two clones of one hub (a bare repository in the demo's directory): the
 * approver's laptop approves, the server where agents run proposes, and both
 * execute at once; the claim that reaches the hub first runs the hook.
 */
async function twoClones(dir: string, opts: DemoOptions, heading: (title: string) => void): Promise<void> {
  const say = opts.print;
  heading('Two clones, one hub: the laptop approves, both execute at once, the hook runs once');
  const hubDir = join(dir, 'hub.git');
  await git(['init', '-q', '--bare', '-b', 'main', hubDir], { cwd: dir });
  const init = await initRepository(join(dir, 'laptop'), { clock: opts.clock });
  const laptop = await openRepo(init.repo.root);
  writeFileSync(join(laptop.root, HUB_PATH), `url = "file://${hubDir}"\nbranch = "main"\nsync_interval = "1s"\n`);
  await git(['add', HUB_PATH], { cwd: laptop.root });
  await git(['-c', 'gpg.format=ssh', 'commit', '-q', '-S', '-m', 'the hub'], { cwd: laptop.root });
  const first = await syncWithHub(laptop, { clock: opts.clock });
  say(`a hub at ${hubDir}; ga sync on the laptop  ->  published ${first.published} commit(s)`);
  await git(['clone', '-q', hubDir, join(dir, 'server')], { cwd: dir });
  await trustCommit(join(dir, 'server'), init.commit);
  const server = await openRepo(join(dir, 'server'));
  say(`git clone the hub on the server; ga trust ${init.commit.slice(0, 12)} (the same root)`);
  process.env.GA_AGENT = 'noop';
  const { proposal } = await submitProposal(
    server,
    {
      agent: 'noop',
      action_type: 'publish_content',
      title: 'Announce the launch',
      reversible: false,
      requires_approval: true,
      payload: { channel: '#general' },
    },
    { clock: opts.clock, file: 'demo' },
  );
  delete process.env.GA_AGENT;
  await publishAfter(server, opts.clock); // the runner publishes for its agent
  say(`the agent proposes on the server  ->  ${proposal.id}, published to the hub`);
  await syncWithHub(laptop, { clock: opts.clock });
  await approveProposal(laptop, proposal.id, { clock: opts.clock, reason: 'fine to announce' });
  await publishAfter(laptop, opts.clock);
  await syncWithHub(server, { clock: opts.clock });
  say(`ga approve ${proposal.id} on the laptop  ->  signed and published; the server syncs`);
  const [onLaptop, onServer] = await Promise.all([laptop, server].map((r) => executeProposal(r, proposal.id, { clock: opts.clock })));
  say(`ga execute on the laptop  ->  ${onLaptop!.result}${onLaptop!.why ? `: ${onLaptop!.why}` : ''}`);
  say(`ga execute on the server  ->  ${onServer!.result}${onServer!.why ? `: ${onServer!.why}` : ''}`);
}

export async function runDemo(opts: DemoOptions): Promise<{ dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ga-demo-'));
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  const say = opts.print;
  let step = 0;
  const heading = (title: string) => say(`\n== ${++step}. ${title}`);
  try {
    const gitconfig = join(dir, 'gitconfig');
    process.env.GIT_CONFIG_GLOBAL = gitconfig;
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    delete process.env.GA_AGENT;

    heading('A throwaway approver key and a fresh governance repository');
    const approverKey = join(dir, 'approver_ed25519');
    const agentKey = join(dir, 'agent_ed25519');
    for (const [key, comment] of [
      [approverKey, 'approver'],
      [agentKey, 'agent'],
    ] as const) {
      await runProgram(sshKeygen(), ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key], { cwd: dir });
    }
    writeFileSync(
      gitconfig,
      `[user]\n\tname = Demo Approver\n\temail = approver@demo.example\n\tsigningkey = ${approverKey}.pub\n[gpg]\n\tformat = ssh\n[init]\n\tdefaultBranch = main\n`,
    );
    const init = await initRepository(join(dir, 'governance'), { clock: opts.clock });
    const repo = await openRepo(init.repo.root);
    say(`ga init ${repo.root}`);
    say(`  root commit ${init.commit.slice(0, 12)} signed by ${init.approver}, the first approver, pinned as the trust root`);

    heading('The agent tries to approve its own irreversible action');
    process.env.GA_AGENT = 'noop';
    const launch = {
      agent: 'noop',
      action_type: 'publish_content',
      title: 'Publish the launch post',
      rationale: 'The post is written and reviewed; publishing it starts the launch.',
      expected_outcome: 'The post is live at /blog/launch.',
      reversible: false,
      payload: { url: 'https://example.com/blog/launch' },
    };
    try {
      await submitProposal(repo, { ...launch, requires_approval: false }, { clock: opts.clock, file: 'demo' });
      throw new Error('demo: self-approval was not refused');
    } catch (e) {
      if (!(e instanceof GaError) || e.exitCode !== 1) throw e;
      say(`ga propose (requires_approval = false)  ->  exit 1: ${e.message}`);
    }

    heading('A real proposal waits for a human');
    const { proposal } = await submitProposal(repo, { ...launch, requires_approval: true }, { clock: opts.clock, file: 'demo' });
    const id = proposal.id;
    say(`ga propose  ->  ${id} is pending in ${proposalPath('pending', id)}`);

    heading("A forged approval on the agent's branch");
    const run = (args: string[], env?: Record<string, string>) => git(args, { cwd: repo.root, env });
    await run(['checkout', '-q', '-b', 'agent/forged']);
    await run(['mv', proposalPath('pending', id), proposalPath('approved', id)]);
    await run(['-c', `user.signingkey=${agentKey}.pub`, '-c', 'gpg.format=ssh', 'commit', '-q', '-S', '-m', `approve ${id}: ${proposal.title}`], {
      GIT_AUTHOR_EMAIL: 'approver@demo.example',
      GIT_COMMITTER_EMAIL: 'approver@demo.example',
    });
    say("the agent moves the file to approved/ and signs the commit with its own key, claiming the approver's email");
    delete process.env.GA_AGENT;
    const forged = await executeProposal(repo, id, { clock: opts.clock });
    say(`ga execute ${id}  ->  ${forged.result}: ${forged.why}`);
    say(`  flagged: ${(await run(['log', '-1', '--format=%s'])).stdout.toString().trim()}`);
    const judged = (await loadGovernance(repo)).proposals.get(id)?.approval;
    say(`ga show ${id}  ->  approval ${judged?.valid ? 'valid' : 'NOT VALID'}: ${judged?.why}`);
    await run(['checkout', '-q', 'main']);
    const check = await verifyRepository(repo, { range: 'main..agent/forged' });
    for (const f of check.findings) say(`ga verify main..agent/forged  ->  ${f.commit.slice(0, 12)}  ${f.path}  ${f.rule}: ${f.explanation}`);
    say('back on main: the forgery stays on its branch; main is untouched');

    heading('A human approves with a signed commit');
    const approval = await approveProposal(repo, id, { clock: opts.clock, reason: 'reviewed the post' });
    say(`ga approve ${id}  ->  signed commit ${approval.commit.slice(0, 12)}`);

    heading('The decision hook runs exactly once');
    const executed = await executeProposal(repo, id, { clock: opts.clock });
    say(`ga execute ${id}  ->  ${executed.result}`);
    for (const line of executed.hook?.tail ?? []) say(`  | ${line}`);
    const again = await executeProposal(repo, id, { clock: opts.clock });
    say(`ga execute ${id} again  ->  ${again.result}: ${again.why}`);

    heading('The audit trail, from git log, with each signature checked by ga');
    const gov = await loadGovernance(repo);
    for (const row of await auditTrail(gov)) {
      const sig = row.signature === 'good' ? `signed ${row.signer}` : row.signature;
      say(
        `${row.at.toISOString().slice(11, 19)}  ${row.commit.slice(0, 12)}  ${sig.padEnd(30)}  ${(row.actor ?? '').padEnd(28)}  ${row.event.padEnd(20)}  ${row.subject}`,
      );
    }
    const verified = await verifyRepository(repo);
    say(`ga verify  ->  ${verified.findings.length ? `${verified.findings.length} finding(s)` : `ok: ${verified.checked} commits follow the rules`}`);

    await twoClones(dir, opts, heading);
    return { dir };
  } finally {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}
