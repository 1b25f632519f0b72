// ga verify's signed checkpoints (verify/checkpoint.ts): `ga verify
// --checkpoint` signs where a run stopped, and the next run reads only the
// commits added since, with the very verdict of a run over all of history.
// Nothing an agent can write without an approver's key makes ga verify take
// a reading on its word: a file changed, a link signed by another key, a
// chain that does not start at the trust root, a history rewritten.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VerifyFinding, VerifyResult } from '../../src/verify/verify.js';
import { ga, gaProcess, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'bob', 'mallory']);
});
afterEach(() => sb.cleanup());

type Finding = VerifyFinding;
/** `ga --json verify`'s result, with its exit code and stderr. */
type Verified = VerifyResult & { code: number; err: string };

async function verify(repo: string, ...args: string[]): Promise<Verified> {
  const r = await ga(['-C', repo, '--json', 'verify', ...args]);
  if (!r.out.trim().startsWith('{')) return { code: r.code, root: '', findings: [], head: '', checked: 0, err: r.err };
  return { ...(JSON.parse(r.out) as VerifyResult), code: r.code, err: r.err };
}

const key = (f: Finding) => `${f.commit} ${f.path} ${f.rule} ${f.explanation}`;
const sorted = (fs: Finding[]) => fs.map(key).sort();
const dir = (repo: string) => join(repo, '.git', 'ga', 'checkpoint');

async function submit(repo: string): Promise<string> {
  const p = await propose(repo, PUBLISH);
  expect(p.code, p.err).toBe(0);
  return p.last;
}

/** Commits what is staged without a signature: what an agent with a shell can do. */
function commitUnsigned(repo: string, message: string): string {
  git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** Some ordinary activity: proposals approved, executed, rejected. */
async function activity(repo: string): Promise<void> {
  const a = await submit(repo);
  expect((await ga(['-C', repo, 'approve', a, '--reason', 'fine'])).code).toBe(0);
  expect((await ga(['-C', repo, 'execute', a])).code).toBe(0);
  const b = await submit(repo);
  expect((await ga(['-C', repo, 'reject', b, '--reason', 'no'])).code).toBe(0);
  await submit(repo);
}

/** Two findings of the kinds a checkpoint keeps: an unsigned change to a governed file (the replay's) and an audit file removed (the append-only check's). */
function forgeries(repo: string): string[] {
  write(repo, 'policies/extra.toml', 'x = 1\n');
  git(repo, 'add', 'policies/extra.toml');
  const governed = commitUnsigned(repo, 'an unsigned policy');
  const audit = git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', 'audit/')
    .split('\n')
    .find((p) => p.endsWith('.json'))!;
  git(repo, 'rm', '-q', audit);
  const removed = commitUnsigned(repo, 'an audit file removed');
  return [governed, removed];
}

/** The chain's last link rewritten by `change` and signed again with `who`'s key, as an attacker holding that key would. */
function relink(repo: string, who: string, change: (text: string) => string): void {
  const chain = readFileSync(join(dir(repo), 'chain'), 'utf8');
  const begin = chain.lastIndexOf('-----BEGIN SSH SIGNATURE-----');
  const start = chain.lastIndexOf('ga-checkpoint 1\n', begin);
  const text = change(chain.slice(start, begin));
  const sig = execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', sb.people[who]!.key], { input: text, stdio: ['pipe', 'pipe', 'ignore'] });
  writeFileSync(join(dir(repo), 'chain'), chain.slice(0, start) + text + sig.toString());
}

/** The checkpoint's state rewritten with `change` applied to what it holds (its header kept, so that it still reads). */
function forgeState(repo: string, change: (state: Record<string, unknown>) => void): string {
  const file = join(dir(repo), 'state');
  const bytes = readFileSync(file);
  const second = bytes.indexOf(10, bytes.indexOf(10) + 1);
  const state = deserialize(bytes.subarray(second + 1)) as Record<string, unknown>;
  change(state);
  const forged = Buffer.concat([bytes.subarray(0, second + 1), serialize(state)]);
  writeFileSync(file, forged);
  return createHash('sha256').update(forged).digest('hex');
}

const waiting = (repo: string) =>
  git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')
    .split('\n')
    .filter((p) => p.endsWith('.toml'))
    .map((p) => p.replace(/^.*\//, '').replace(/\.toml$/, ''));

/** Starts `ga run noop` and approves the proposal it makes (the first one waiting that was not before). */
async function runNoop(repo: string): Promise<void> {
  const before = new Set(waiting(repo));
  const running = gaProcess(['-C', repo, 'run', 'noop']);
  for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
    const id = waiting(repo).find((w) => !before.has(w));
    if (!id) continue;
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const r = await running;
    expect(r.code, r.err).toBe(0);
    return;
  }
  throw new Error('no pending proposal appeared');
}

describe('ga verify goes on from a signed checkpoint', () => {
  it('reads only newer commits, with the verdict of a run over all of history, findings before and after included', async () => {
    const repo = await initRepo(sb);
    await activity(repo);
    const before = forgeries(repo);
    const signed = await verify(repo, '--checkpoint');
    expect(signed.code).toBe(1); // the findings: a checkpoint keeps them
    expect(signed.signed).toEqual({ commit: git(repo, 'rev-parse', 'HEAD'), principal: 'alice@example.com' });
    expect(signed.from).toBeUndefined();

    await activity(repo);
    // A run: its ledger lines are appended after the checkpoint.
    await runNoop(repo);
    write(repo, 'agents/noop/tool_allowlist.toml', 'allowed_tools = ["Bash"]\nenv = []\n');
    git(repo, 'add', '-A');
    const after = commitUnsigned(repo, 'an unsigned allowlist');
    await submit(repo);

    const went = await verify(repo);
    const all = await verify(repo, '--no-cache');
    expect(went.from).toEqual({ commit: signed.signed!.commit, principal: 'alice@example.com' });
    expect(all.from).toBeUndefined();
    expect(went.code).toBe(1);
    expect(sorted(went.findings)).toEqual(sorted(all.findings));
    expect(went.checked).toBe(all.checked);
    expect(went.head).toBe(git(repo, 'rev-parse', 'HEAD'));
    for (const c of [...before, after]) expect(went.findings.some((f) => f.commit === c)).toBe(true);
    expect(went.findings.some((f) => f.rule === 'audit-append-only' && f.commit === before[1])).toBe(true);

    // The text output says where it went on from.
    const text = await ga(['-C', repo, 'verify']);
    expect(text.out).toContain(`went on from the checkpoint at ${signed.signed!.commit.slice(0, 12)}, signed by alice@example.com`);

    // A checkpoint signed on top of one: the chain goes on, and so does the next run.
    const again = await verify(repo, '--checkpoint');
    expect(again.from?.commit).toBe(signed.signed!.commit);
    expect(again.signed?.commit).toBe(git(repo, 'rev-parse', 'HEAD'));
    await submit(repo);
    const next = await verify(repo);
    expect(next.from?.commit).toBe(again.signed!.commit);
    expect(sorted(next.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it("a proposal's findings from before the checkpoint are kept, and one touched after it is judged again", async () => {
    const repo = await initRepo(sb);
    const a = await submit(repo);
    expect((await ga(['-C', repo, 'approve', a, '--reason', 'fine'])).code).toBe(0);
    expect((await ga(['-C', repo, 'execute', a])).code).toBe(0);
    const b = await submit(repo);
    expect((await ga(['-C', repo, 'reject', b, '--reason', 'no'])).code).toBe(0);
    // A claim of b, which was never approved: a finding on a proposal that has ended, packed in the checkpoint's reading.
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', `claim\n\nGa-Event: proposal-claimed\nGa-Proposal: ${b}`);
    const claimB = git(repo, 'rev-parse', 'HEAD');
    const ofB = (f: Finding) => f.commit === claimB && f.rule === 'execution' && f.explanation.startsWith(`a claim of ${b}, which is not validly approved`);
    expect((await verify(repo, '--checkpoint')).findings.filter(ofB)).toHaveLength(1);

    // After it: a second claim of a, executed before the checkpoint.
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', `claim again\n\nGa-Event: proposal-claimed\nGa-Proposal: ${a}`);
    const claimA = git(repo, 'rev-parse', 'HEAD');
    await submit(repo);
    const went = await verify(repo);
    expect(went.from).toBeDefined();
    expect(went.findings.filter(ofB)).toHaveLength(1);
    expect(went.findings.filter((f) => f.commit === claimA && f.explanation === `a second claim of ${a}`)).toHaveLength(1);
    expect(sorted(went.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it('a chain goes on with an approver added later; a key that is not an approver where the link is judged signs nothing', async () => {
    const repo = await initRepo(sb);
    sb.as('mallory');
    const refused = await ga(['-C', repo, 'verify', '--checkpoint']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/no checkpoint written: your signing key is not an approver at the trust root/);

    // bob, added by alice, cannot start a chain (he is not an approver at the trust root) ...
    sb.as('alice');
    write(repo, 'policies/approvers', readFileSync(join(repo, 'policies/approvers'), 'utf8') + sb.approverLine('bob'));
    git(repo, 'add', 'policies/approvers');
    git(repo, 'commit', '-q', '-S', '-m', 'approvers: add bob');
    sb.as('bob');
    expect((await ga(['-C', repo, 'verify', '--checkpoint'])).code).toBe(1);
    // ... but goes on from alice's link, made where he was trusted.
    sb.as('alice');
    expect((await verify(repo, '--checkpoint')).signed?.principal).toBe('alice@example.com');
    await activity(repo);
    sb.as('bob');
    const bobs = await verify(repo, '--checkpoint');
    expect(bobs.signed?.principal).toBe('bob@example.com');
    await submit(repo);
    const next = await verify(repo);
    expect(next.code).toBe(0);
    expect(next.from).toEqual({ commit: bobs.signed!.commit, principal: 'bob@example.com' });
  });

  it('a finding a later commit takes back goes from a run that goes on, as from one over all of history', async () => {
    const repo = await initRepo(sb);
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', 'note\n\nGa-Agent: newbie');
    const named = git(repo, 'rev-parse', 'HEAD');
    const newbie = (f: Finding) => f.commit === named && f.rule === 'trailer' && f.explanation.includes('Ga-Agent newbie');
    expect((await verify(repo, '--checkpoint')).findings.some(newbie)).toBe(true);
    // newbie becomes a trusted agent: the trailer names one now.
    execFileSync('cp', ['-r', join(repo, 'agents/noop'), join(repo, 'agents/newbie')]);
    git(repo, 'add', 'agents/newbie');
    git(repo, 'commit', '-q', '-S', '-m', 'add agent newbie');
    const went = await verify(repo);
    expect(went.from).toBeDefined();
    expect(went.findings.some(newbie)).toBe(false);
    expect(sorted(went.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it('an agent trusted at the checkpoint and removed after it: the trailers that name it, before and after, are findings', async () => {
    const repo = await initRepo(sb);
    await activity(repo);
    const signed = await verify(repo, '--checkpoint');
    expect(signed.findings.filter((f) => f.rule === 'trailer')).toEqual([]);
    // The commits after the root (whose trailers are not judged: the root is trusted as it is) that name noop.
    const root = git(repo, 'rev-list', '--max-parents=0', 'HEAD');
    const naming = git(repo, 'log', '--format=%H', '--grep=^Ga-Agent: noop$', `${root}..HEAD`).split('\n').filter(Boolean);
    expect(naming.length).toBeGreaterThan(3);
    git(repo, 'rm', '-r', '-q', 'agents/noop');
    git(repo, 'commit', '-q', '-S', '-m', 'remove agent noop');
    const went = await verify(repo);
    expect(went.from).toBeDefined();
    const flagged = new Set(went.findings.filter((f) => f.rule === 'trailer' && f.explanation === 'Ga-Agent noop names no trusted agent').map((f) => f.commit));
    expect([...flagged].sort()).toEqual([...naming].sort());
    expect(sorted(went.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it('after the checkpoint, a ledger rewritten and an audit file with a NUL: git makes those diffs, and the verdict is the same', async () => {
    const repo = await initRepo(sb);
    await runNoop(repo);
    expect((await verify(repo, '--checkpoint')).signed).toBeDefined();
    expect(readFileSync(join(repo, 'ledger/noop.jsonl'), 'utf8')).not.toBe('');
    write(repo, 'ledger/noop.jsonl', '');
    git(repo, 'add', '-A');
    const rewritten = commitUnsigned(repo, 'a ledger emptied');
    write(repo, 'audit/noop/2026-01-01/00/x.json', '{"a":"\u0000"}\0\n');
    git(repo, 'add', '-A');
    const nul = commitUnsigned(repo, 'an audit file with a NUL');
    const went = await verify(repo);
    expect(went.from).toBeDefined();
    expect(went.findings.some((f) => f.commit === rewritten && f.rule === 'ledger-append-only')).toBe(true);
    expect(went.findings.some((f) => f.commit === nul && f.rule === 'audit')).toBe(true);
    expect(sorted(went.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it("signs with a key:: literal whose private half is in the person's ssh-agent", async () => {
    const repo = await initRepo(sb);
    const out = execFileSync('ssh-agent', ['-s'], { encoding: 'utf8' });
    const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(out)![1]!;
    const pid = Number(/SSH_AGENT_PID=(\d+);/.exec(out)![1]);
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      execFileSync('ssh-add', ['-q', sb.people.alice!.key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      process.env.SSH_AUTH_SOCK = sock;
      execFileSync('git', ['config', '--global', 'user.signingkey', `key::${sb.people.alice!.pub}`]);
      const v = await verify(repo, '--checkpoint');
      expect(v.signed?.principal, v.err).toBe('alice@example.com');
      expect((await verify(repo)).from?.principal).toBe('alice@example.com');
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      process.kill(pid);
    }
  });

  it('an agent process signs no checkpoint', async () => {
    const repo = await initRepo(sb);
    const r = await gaProcess(['-C', repo, 'verify', '--checkpoint'], { env: { ...process.env, GA_AGENT: 'noop' } });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/agent process/);
    expect((await verify(repo)).from).toBeUndefined();
  });
});

describe('nothing but a good signature makes ga verify take a checkpoint', () => {
  async function checkpointed(): Promise<{ repo: string; hidden: string[] }> {
    const repo = await initRepo(sb);
    await activity(repo);
    const hidden = forgeries(repo);
    expect((await verify(repo, '--checkpoint')).signed).toBeDefined();
    await submit(repo);
    return { repo, hidden };
  }
  const reported = (v: Verified, commits: string[]) => commits.every((c) => v.findings.some((f) => f.commit === c));

  it('a state that hides a finding, with or without a link re-signed by a key that is not an approver', async () => {
    const { repo, hidden } = await checkpointed();
    const digest = forgeState(repo, (s) => {
      s.untrusted = [];
    });
    let v = await verify(repo);
    expect(v.from).toBeUndefined();
    expect(reported(v, hidden)).toBe(true);

    relink(repo, 'mallory', (t) => t.replace(/^file state [0-9a-f]+$/m, `file state ${digest}`));
    v = await verify(repo);
    expect(v.from).toBeUndefined();
    expect(reported(v, hidden)).toBe(true);

    // What the signature stands for: the same forgery signed with an approver's key is taken (why the keys must stay out of an agent's reach).
    relink(repo, 'alice', (t) => t.replace(/^file state [0-9a-f]+$/m, `file state ${digest}`));
    v = await verify(repo);
    expect(v.from).toBeDefined();
    expect(v.findings.some((f) => f.commit === hidden[0])).toBe(false);
  });

  it('a part of the reading (the executions) changed under its signed name: never taken as it is', async () => {
    const { repo, hidden } = await checkpointed();
    const state = readFileSync(join(dir(repo), 'state'));
    const [executions] = (deserialize(state.subarray(state.indexOf(10, state.indexOf(10) + 1) + 1)) as { executions: [string] }).executions;
    // Well-formed, and says nothing ran: only its digest tells it from the part signed.
    const file = join(dir(repo), executions);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(executions.slice('part-'.length));
    writeFileSync(file, serialize(new Map()));
    // Not read while no commit since touches what it holds: the verdict stands on the findings the signed checks hold.
    const untouched = await verify(repo);
    expect(untouched.from).toBeDefined();
    expect(reported(untouched, hidden)).toBe(true);
    expect(sorted(untouched.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
    // A claim of the proposal executed before the checkpoint: its trail is read, and the part is found not to be the one signed.
    const executed = git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')
      .split('\n')
      .find((p) => p.endsWith('.toml'))!
      .replace(/^.*\//, '')
      .replace(/\.toml$/, '');
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', `claim again\n\nGa-Event: proposal-claimed\nGa-Proposal: ${executed}`);
    const claim = git(repo, 'rev-parse', 'HEAD');
    // The checkpoint's reading is dropped, and all of history read instead.
    const v = await verify(repo);
    expect(v.from).toBeUndefined();
    expect(existsSync(join(dir(repo), 'state'))).toBe(false);
    expect(reported(v, [...hidden, claim])).toBe(true);
    expect(sorted(v.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it("the checks' state emptied: the append-only check's findings, and the agents the trailers stand on", async () => {
    const { repo, hidden } = await checkpointed();
    const file = join(dir(repo), 'checks');
    const st = JSON.parse(readFileSync(file, 'utf8')) as { append: { findings: unknown[] }; trailers: { agents: string[] } };
    expect(st.append.findings.length).toBeGreaterThan(0);
    expect(st.trailers.agents).toEqual(['ga', 'noop']);
    st.append.findings = [];
    st.trailers.agents = [];
    writeFileSync(file, JSON.stringify(st));
    const v = await verify(repo);
    expect(v.findings.some((f) => f.commit === hidden[1] && f.rule === 'audit-append-only')).toBe(true);
    expect(sorted(v.findings)).toEqual(sorted((await verify(repo, '--no-cache')).findings));
  });

  it('a chain whose first link is not signed at the trust root, and a history rewritten under a checkpoint', async () => {
    const { repo, hidden } = await checkpointed();
    relink(repo, 'mallory', (t) => t);
    expect((await verify(repo)).from).toBeUndefined();

    const other = await checkpointed();
    const at = git(other.repo, 'rev-parse', 'HEAD~1');
    git(other.repo, 'reset', '-q', '--hard', `${at}~3`);
    await submit(other.repo);
    const v = await verify(other.repo);
    expect(v.from).toBeUndefined();
    expect(sorted(v.findings)).toEqual(sorted((await verify(other.repo, '--no-cache')).findings));
    expect(reported(await verify(repo), hidden)).toBe(true);
  });
});
