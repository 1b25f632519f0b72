// `ga execute`: the trusted hook runs exactly once, after a valid approval,
// whatever the working tree, a crash or a revert says (DESIGN.md
// "Execution, exactly once").
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerHook } from '../../src/executor/hooks.js';
import { auditRecords, BIN, fixedClock, ga, gaProcess, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { killCarrying } from '../helpers/scene.js';

let sb: Sandbox;
let savedEnv: Record<string, string | undefined>;
const ENV_KEYS = ['MARKER', 'DUMP'];
beforeEach(() => {
  sb = sandbox();
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
});
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  sb.cleanup();
});

const DRAFT = `agent = "noop"
action_type = "draft_content"
title = "Draft the newsletter"
rationale = "A draft changes nothing outside."
requires_approval = false
[payload]
topic = "launch"
`;

/** A hook that appends one line per run to $MARKER. */
const COUNTING_HOOK = `#!/bin/sh
echo "ran $GA_PROPOSAL_ID" >> "$MARKER"
echo "drafted $GA_PROPOSAL_ID"
`;

/** Adds (or changes) a file in a commit signed by the current approver (alice). */
function commitSigned(repo: string, path: string, content: string, msg = 'add hook'): string {
  write(repo, path, content);
  git(repo, 'add', path);
  git(repo, 'commit', '-S', '-qm', msg);
  return git(repo, 'rev-parse', 'HEAD');
}

function runs(marker: string): string[] {
  return existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : [];
}

function marker(): string {
  const m = join(sb.dir, `marker-${Math.random().toString(36).slice(2)}`);
  process.env.MARKER = m;
  return m;
}

const headMessage = (repo: string) => git(repo, 'log', '-1', '--format=%B');
const inState = (repo: string, state: string) => git(repo, 'ls-tree', '--name-only', 'HEAD', `proposals/${state}/`);

async function approvedPublish(repo: string): Promise<string> {
  const p = await propose(repo, PUBLISH);
  expect(p.code).toBe(0);
  const a = await ga(['-C', repo, 'approve', p.last]);
  expect(a.code).toBe(0);
  return p.last;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('ga execute', () => {
  it('runs the hook of an auto-approved proposal (requires_approval = false) too', async () => {
    const repo = await initRepo(sb);
    const m = marker();
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', COUNTING_HOOK);
    const p = await propose(repo, DRAFT);
    expect(p.code).toBe(0);
    const id = p.last;
    expect(inState(repo, 'approved')).toContain(`${id}.toml`);

    const r = await ga(['-C', repo, 'execute', '--all']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`drafted ${id}`);
    expect(runs(m)).toEqual([`ran ${id}`]);
    expect(inState(repo, 'executed')).toContain(`${id}.toml`);
    expect(inState(repo, 'approved')).not.toContain(`${id}.toml`);
    expect(headMessage(repo)).toContain('Ga-Event: proposal-executed');
    expect(headMessage(repo)).toContain('Ga-Outcome: success');
  });

  it('runs a hook exactly once: a second execute and a later --all run nothing', async () => {
    const repo = await initRepo(sb);
    const m = marker();
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', COUNTING_HOOK);
    const id = (await propose(repo, DRAFT)).last;

    const first = await ga(['-C', repo, 'execute', id]);
    expect(first.code).toBe(0);
    expect(runs(m)).toHaveLength(1);
    const head = git(repo, 'rev-parse', 'HEAD');

    const second = await ga(['-C', repo, 'execute', id]);
    expect(second.code).toBe(1);
    expect(runs(m)).toHaveLength(1);

    const all = await ga(['-C', repo, 'execute', '--all']);
    expect(all.code).toBe(0);
    expect(runs(m)).toHaveLength(1);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);

    const events = git(repo, 'log', '--format=%(trailers:key=Ga-Event,valueonly)').split('\n').filter(Boolean);
    expect(events.filter((e) => e === 'proposal-claimed')).toHaveLength(1);
    expect(events.filter((e) => e === 'proposal-executed')).toHaveLength(1);
  });

  it("after a crash between claim and outcome, never re-runs: once the claim's lease has run out, it moves to failed/ as outcome unknown", async () => {
    const repo = await initRepo(sb);
    const m = marker();
    // The hook records that it started, and hangs.
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', '#!/bin/sh\necho started >> "$MARKER"\nsleep 30\n');
    const id = (await propose(repo, DRAFT)).last;

    const child = spawn(process.execPath, [BIN, '-C', repo, 'execute', id], { env: { ...process.env }, stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    try {
      const deadline = Date.now() + 30_000;
      while (!(git(repo, 'log', '-1', '--format=%s').startsWith('claim') && runs(m).length === 1)) {
        if (Date.now() > deadline) throw new Error('the claim commit and the hook start never happened');
        await sleep(50);
      }
      expect(headMessage(repo)).toContain('Ga-Event: proposal-claimed');
      child.kill('SIGKILL');
      await exited;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      killCarrying(`MARKER=${m}`); // the orphaned hook (its pid inside its own namespace says nothing here)
    }
    // The claim landed, the outcome did not.
    expect(git(repo, 'log', '-1', '--format=%s')).toMatch(/^claim/);
    expect(inState(repo, 'approved')).toContain(`${id}.toml`);

    // While the claim's lease is live, nobody declares it dead.
    const early = await ga(['-C', repo, 'execute', id]);
    expect(early.code).toBe(1);
    expect(early.out).toMatch(/lease is live until/);
    expect(inState(repo, 'approved')).toContain(`${id}.toml`);

    const later = fixedClock(new Date(Date.now() + 12 * 60_000).toISOString());
    const again = await ga(['-C', repo, 'execute', id], later);
    expect(again.code).toBe(1);
    expect(runs(m)).toHaveLength(1); // never re-run
    const msg = headMessage(repo);
    expect(msg).toContain('Ga-Event: proposal-failed');
    expect(msg).toContain(`Ga-Proposal: ${id}`);
    expect(msg).toContain('Ga-Outcome: unknown');
    expect(inState(repo, 'failed')).toContain(`${id}.toml`);
    expect(inState(repo, 'approved')).not.toContain(`${id}.toml`);
    expect(git(repo, 'show', '--name-status', '--format=', 'HEAD')).toMatch(new RegExp(`proposals/failed/${id}\\.toml`));

    // And it stays that way.
    const third = await ga(['-C', repo, 'execute', id], later);
    expect(third.code).toBe(1);
    expect(runs(m)).toHaveLength(1);
  });

  it('does not run a hook again when a revert brings the file back to approved/', async () => {
    const repo = await initRepo(sb);
    const m = marker();
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', COUNTING_HOOK);
    const id = (await propose(repo, DRAFT)).last;
    expect((await ga(['-C', repo, 'execute', id])).code).toBe(0);
    const outcome = git(repo, 'rev-parse', 'HEAD');
    expect(runs(m)).toHaveLength(1);

    git(repo, 'revert', '--no-edit', outcome);
    expect(inState(repo, 'approved')).toContain(`${id}.toml`);
    expect(inState(repo, 'executed')).not.toContain(`${id}.toml`);

    const again = await ga(['-C', repo, 'execute', id]);
    expect(again.code).toBe(1);
    expect(runs(m)).toHaveLength(1);
    const all = await ga(['-C', repo, 'execute', '--all']);
    expect(runs(m)).toHaveLength(1);
    expect(all.out).not.toContain(`executed ${id}`);
  });

  it('does not run a hook again even when an approver signs the revert', async () => {
    const repo = await initRepo(sb);
    const m = marker();
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', COUNTING_HOOK);
    const id = (await propose(repo, DRAFT)).last;
    expect((await ga(['-C', repo, 'execute', id])).code).toBe(0);
    git(repo, 'revert', '-S', '--no-edit', 'HEAD');
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    expect(inState(repo, 'approved')).toContain(`${id}.toml`);
    expect((await ga(['-C', repo, 'execute', id])).code).toBe(1);
    await ga(['-C', repo, 'execute', '--all']);
    expect(runs(m)).toHaveLength(1);
  });

  it('runs the trusted version of the hook, not an unsigned commit or a working-tree edit', async () => {
    const repo = await initRepo(sb);
    const hook = 'agents/noop/hooks/draft_content.sh';
    commitSigned(repo, hook, '#!/bin/sh\necho "ORIGINAL hook"\n');
    // An unsigned commit changing the hook.
    write(repo, hook, '#!/bin/sh\necho "UNSIGNED-COMMIT hook"\n');
    git(repo, 'add', hook);
    git(repo, 'commit', '--no-gpg-sign', '-qm', 'tweak the hook');
    // And an uncommitted edit on top.
    write(repo, hook, '#!/bin/sh\necho "WORKTREE hook"\n');

    const id = (await propose(repo, DRAFT)).last;
    const r = await ga(['-C', repo, 'execute', id]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('ORIGINAL hook');
    expect(r.out).not.toContain('UNSIGNED-COMMIT hook');
    expect(r.out).not.toContain('WORKTREE hook');
    expect(headMessage(repo)).toContain('ORIGINAL hook');
  });

  it('records a failing hook (exit 3) in failed/ with its exit code and last output lines', async () => {
    const repo = await initRepo(sb);
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', '#!/bin/sh\necho "step one"\necho "step two"\necho "the last words" >&2\nexit 3\n');
    const id = (await propose(repo, DRAFT)).last;
    const r = await ga(['-C', repo, 'execute', id]);
    expect(r.code).not.toBe(0);
    expect(inState(repo, 'failed')).toContain(`${id}.toml`);
    expect(inState(repo, 'executed')).not.toContain(`${id}.toml`);
    const msg = headMessage(repo);
    expect(msg).toContain('Ga-Event: proposal-failed');
    expect(msg).toContain(`Ga-Proposal: ${id}`);
    expect(msg).toMatch(/Ga-Outcome: \S*3/);
    expect(msg).toMatch(/exit\S* 3\b/);
    expect(msg).toContain('step two');
    expect(msg).toContain('the last words');
    const last = auditRecords(repo, 'noop').at(-1)!;
    expect(last.event).toBe('proposal-failed');
    expect(last.proposal).toBe(id);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it("leaves the index as HEAD, rewritten once after a quick hook; a slow hook's claim is staged while it runs", async () => {
    const repo = await initRepo(sb);
    /** ga execute as a process, traced: how many times it updated the index. */
    const execute = async (id: string) => {
      const r = await gaProcess(['-C', repo, 'execute', id], { env: { GA_TRACE: '1' } });
      expect(r.code, r.err).toBe(0);
      return r.err.split('\n').filter((l) => l.endsWith('index updated in process')).length;
    };
    const agrees = () => {
      expect(git(repo, 'status', '--porcelain')).toBe('');
      expect(git(repo, 'ls-files', '--', 'audit').split('\n').length).toBe(git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', '--', 'audit').split('\n').length);
    };
    // No hook, and a quick one: the claim's update is carried into the outcome's, one rewrite of the index.
    expect(await execute((await propose(repo, DRAFT)).last), 'no hook').toBe(1);
    agrees();
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', '#!/bin/sh\ngit -C "$GA_REPO" log -1 --format=%s > "$GA_REPO/../seen-by-hook"\n');
    const quick = (await propose(repo, DRAFT)).last;
    expect(await execute(quick), 'a quick hook').toBe(1);
    expect(readFileSync(join(repo, '..', 'seen-by-hook'), 'utf8'), 'the hook sees the claim committed').toMatch(new RegExp(`^claim ${quick}`));
    agrees();
    // A hook that runs a while: by its second second, the index holds the claim (what git status shows agrees with HEAD).
    commitSigned(
      repo,
      'agents/noop/hooks/draft_content.sh',
      '#!/bin/sh\nsleep 1\nif git -C "$GA_REPO" diff --cached --quiet HEAD; then echo staged; else echo lagging; fi > "$GA_REPO/../seen-by-hook"\n',
    );
    expect(await execute((await propose(repo, DRAFT)).last), 'a slow hook').toBe(2);
    expect(readFileSync(join(repo, '..', 'seen-by-hook'), 'utf8').trim()).toBe('staged');
    agrees();
  });

  it('stops a hook at --timeout and records it in failed/ with outcome timeout', async () => {
    const repo = await initRepo(sb);
    commitSigned(repo, 'agents/noop/hooks/draft_content.sh', '#!/bin/sh\necho "starting"\nsleep 30\necho "never"\n');
    const id = (await propose(repo, DRAFT)).last;
    const started = Date.now();
    const r = await ga(['-C', repo, 'execute', id, '--timeout', '1s']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).not.toBe(0);
    expect(inState(repo, 'failed')).toContain(`${id}.toml`);
    const msg = headMessage(repo);
    expect(msg).toContain('Ga-Event: proposal-failed');
    expect(msg).toContain('Ga-Outcome: timeout');
    expect(msg).toContain('starting');
    expect(msg).not.toContain('never');
  });

  it('gives the hook the proposal as JSON on stdin and in $GA_PROPOSAL_FILE, with GA_PROPOSAL_ID and GA_AGENT', async () => {
    const repo = await initRepo(sb);
    const dump = join(sb.dir, 'dump.json');
    process.env.DUMP = dump;
    commitSigned(
      repo,
      'agents/noop/hooks/publish_content.mjs',
      `import { readFileSync, writeFileSync } from 'node:fs';
const stdin = readFileSync(0, 'utf8');
const file = readFileSync(process.env.GA_PROPOSAL_FILE, 'utf8');
writeFileSync(process.env.DUMP, JSON.stringify({
  stdin, file, fileName: process.env.GA_PROPOSAL_FILE,
  id: process.env.GA_PROPOSAL_ID, agent: process.env.GA_AGENT, cwd: process.cwd(),
}));
`,
    );
    // publish_content has a .sh hook from ga init: .sh comes first, so remove it in a signed commit.
    git(repo, 'rm', '-q', 'agents/noop/hooks/publish_content.sh');
    git(repo, 'commit', '-S', '-qm', 'use the node hook');
    const id = await approvedPublish(repo);
    const r = await ga(['-C', repo, 'execute', id]);
    expect(r.code).toBe(0);

    const d = JSON.parse(readFileSync(dump, 'utf8'));
    expect(d.id).toBe(id);
    expect(d.agent).toBe('noop');
    const stdin = JSON.parse(d.stdin);
    expect(JSON.parse(d.file)).toEqual(stdin);
    expect(stdin).toMatchObject({
      id,
      agent: 'noop',
      action_type: 'publish_content',
      title: 'Publish the launch post',
      payload: { url: 'https://example.com/launch' },
    });
    // The proposal file and the hook live in a private directory outside the repository, gone afterwards.
    expect(d.fileName.startsWith(repo)).toBe(false);
    expect(d.cwd.startsWith(repo)).toBe(false);
    expect(existsSync(d.fileName)).toBe(false);
  });

  it('executes a proposal with no hook as a no-op, recorded as such', async () => {
    const repo = await initRepo(sb);
    const p = await propose(repo, DRAFT.replace('draft_content', 'research_only'));
    expect(p.code).toBe(0);
    const r = await ga(['-C', repo, 'execute', p.last]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no hook/i);
    expect(inState(repo, 'executed')).toContain(`${p.last}.toml`);
    const msg = headMessage(repo);
    expect(msg).toContain('Ga-Event: proposal-executed');
    expect(msg).toContain('Ga-Outcome: no-hook');
    // Still exactly once.
    expect((await ga(['-C', repo, 'execute', p.last])).code).toBe(1);
  });

  it('runs a hook registered in process (registerHook) for a type without a hook file, once', async () => {
    const repo = await initRepo(sb);
    const seen: Record<string, unknown>[] = [];
    registerHook('internal_file_op', (proposal) => {
      seen.push(proposal);
    });
    const id = (await propose(repo, DRAFT.replace('draft_content', 'internal_file_op'))).last;
    const r = await ga(['-C', repo, 'execute', id]);
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id, agent: 'noop', action_type: 'internal_file_op', payload: { topic: 'launch' } });
    expect(inState(repo, 'executed')).toContain(`${id}.toml`);
    expect(headMessage(repo)).toContain('Ga-Outcome: success');

    expect((await ga(['-C', repo, 'execute', id])).code).toBe(1);
    expect((await ga(['-C', repo, 'execute', '--all'])).code).toBe(0);
    expect(seen).toHaveLength(1);
  });
});
