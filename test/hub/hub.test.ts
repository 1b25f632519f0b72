// Many clones at one hub (DESIGN "Many clones: one hub"): a bare repository
// over file://, and over a real network transport (git daemon on 127.0.0.1).
// Claims count once they are in the hub, so racing executors on several
// clones run a hook exactly once; events made on different clones meet
// without a conflict; a hub that cannot be reached runs nothing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, fixedClock, ga, gaProcess, git, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, countingHook, HOOK, runsOf, sleep, until } from '../helpers/scene.js';
import { commitEvent } from '../../src/git/commit.js';
import { openRepo } from '../../src/git/repo.js';
import { loadGovernance } from '../../src/history/replay.js';
import { hubOf } from '../../src/hub/sync.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

interface World {
  hubDir: string;
  url: string;
  clones: string[];
  counter: string;
}

/**
 * alice's repository with a counting hook and policies/hub.toml naming `url`,
 * published, and `n - 1` more clones of the hub. `drafts` auto-approved
 * proposals are made first, before there is a hub (so without a push each).
 */
async function world(n: number, url?: (hubDir: string) => string, drafts = 0): Promise<World & { drafts: string[] }> {
  const a = await initRepo(sb);
  const hubDir = join(sb.dir, 'hubs', 'hub.git');
  mkdirSync(join(sb.dir, 'hubs'), { recursive: true });
  git(sb.dir, 'init', '-q', '--bare', '-b', 'main', hubDir);
  const hubUrl = url ? url(hubDir) : `file://${hubDir}`;
  if (hubUrl.startsWith('git://')) await untilServed(hubUrl);
  const counter = join(sb.dir, 'hook-runs');
  commitGoverned(sb, a, { [HOOK]: countingHook(counter), [DRAFT_HOOK]: countingHook(counter) }, 'counting hooks');
  const ids: string[] = [];
  for (let i = 0; i < drafts; i++) {
    const d = await propose(a, DRAFT.replace('a draft', `draft ${i}`));
    expect(d.code, d.err).toBe(0);
    ids.push(d.last);
  }
  commitGoverned(sb, a, { 'policies/hub.toml': `url = "${hubUrl}"\nbranch = "main"\nsync_interval = "1s"\n` }, 'a hub');
  const s = await ga(['-C', a, 'sync']);
  expect(s.code, s.err).toBe(0);
  const root = git(a, 'config', '--local', 'ga.trustRoot');
  const clones = [a];
  for (let i = 1; i < n; i++) {
    const c = join(sb.dir, `clone-${i}`);
    git(sb.dir, 'clone', '-q', hubDir, c);
    const t = await ga(['-C', c, 'trust', root]);
    expect(t.code, t.err).toBe(0);
    clones.push(c);
  }
  return { hubDir, url: hubUrl, clones, counter, drafts: ids };
}

const DRAFT_HOOK = 'agents/noop/hooks/draft_content.sh';
const DRAFT = `agent = "noop"
action_type = "draft_content"
title = "a draft"
rationale = "auto-approved by the default policy"
requires_approval = false
reversible = true
[payload]
text = "hello"
`;

const hubTip = (w: World) => git(w.hubDir, 'rev-parse', 'refs/heads/main');
const eventsAtHub = (w: World, event: string, id: string) =>
  git(w.hubDir, 'log', '--format=%H', `--grep=^Ga-Event: ${event}$`, '--grep', `^Ga-Proposal: ${id}$`, '--all-match', 'main').split('\n').filter(Boolean);

/** Proposes and approves on the first clone (each publishes), then every clone syncs. */
async function approvedEverywhere(w: World, title: string): Promise<string> {
  const p = await propose(w.clones[0]!, PUBLISH.replace('Publish the launch post', title));
  expect(p.code, p.err).toBe(0);
  const a = await ga(['-C', w.clones[0]!, 'approve', p.last]);
  expect(a.code, a.err).toBe(0);
  expect(a.err).toBe(''); // published without a word
  for (const c of w.clones.slice(1)) expect((await ga(['-C', c, 'sync'])).code).toBe(0);
  return p.last;
}

/** Every clone executes the same approved proposal at once, one proposal a round. */
async function race(w: World, ids: string[]): Promise<void> {
  for (const [round, id] of ids.entries()) {
    const before = runsOf(w.counter);
    const results = await Promise.all(w.clones.map((c) => gaProcess(['-C', c, '--json', 'execute', id])));
    expect(runsOf(w.counter), `round ${round}: ${results.map((r) => r.out + r.err).join('\n')}`).toBe(before + 1);
    const ran = results.filter((r) => r.code === 0);
    expect(ran).toHaveLength(1);
    for (const r of results.filter((x) => x.code !== 0)) expect(r.out + r.err).toMatch(/claimed/);
    expect(eventsAtHub(w, 'proposal-claimed', id)).toHaveLength(1);
    expect(eventsAtHub(w, 'proposal-executed', id)).toHaveLength(1);
  }
  // every clone agrees with the hub once it syncs, and the hub's history verifies
  for (const c of w.clones) {
    expect((await ga(['-C', c, 'sync'])).code).toBe(0);
    expect(git(c, 'rev-parse', 'HEAD')).toBe(hubTip(w));
    expect(git(c, 'status', '--porcelain', '--', 'proposals', 'audit', 'ledger')).toBe('');
  }
  const v = await ga(['-C', w.clones[0]!, '--json', 'verify']);
  expect(JSON.parse(v.out).findings, v.out).toEqual([]);
}

describe('one hub over file://', () => {
  it('two clones executing the same approved proposal at once, 50 rounds: the hook runs exactly once in each round', async () => {
    const w = await world(2, undefined, 50);
    await race(w, w.drafts);
  }, 900_000);

  it('four clones racing one claim, 50 rounds: exactly once in each', async () => {
    const w = await world(4, undefined, 50);
    await race(w, w.drafts);
  }, 1_200_000);

  it('a proposal approved on one clone after the others synced: every clone races for it, once', async () => {
    const w = await world(3);
    await race(w, [await approvedEverywhere(w, 'approved late')]);
  }, 240_000);

  it('a person approving on one clone while an agent proposes on another: no conflict, and the approval counts on every clone', async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    const first = await propose(a, PUBLISH);
    expect(first.code).toBe(0);
    expect((await ga(['-C', b, 'sync'])).code).toBe(0);
    // b proposes (its commit is unpublished while a approves and publishes)
    const second = await gaProcess(['-C', b, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', 'on b', '--payload', '{}'], {
      env: { GA_AGENT: 'noop' },
    });
    expect(second.code, second.err).toBe(0);
    const ap = await ga(['-C', a, 'approve', first.last]);
    expect(ap.code, ap.err).toBe(0);
    const s = await ga(['-C', b, '--json', 'sync']);
    expect(s.code, s.out + s.err).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ published: 1, replayed: 1, dropped: [] });
    for (const c of [a, b]) {
      expect((await ga(['-C', c, 'sync'])).code).toBe(0);
      const shown = JSON.parse((await ga(['-C', c, '--json', 'show', first.last])).out) as { state: string; approval: { valid: boolean } };
      expect(shown).toMatchObject({ state: 'approved', approval: { valid: true } });
      expect((await ga(['-C', c, 'list', '--state', 'pending'])).out).toContain('on b');
    }
    expect(git(a, 'rev-parse', 'HEAD')).toBe(git(b, 'rev-parse', 'HEAD'));
    const v = await ga(['-C', a, '--json', 'verify']);
    expect(JSON.parse(v.out).findings, v.out).toEqual([]);
    const x = await ga(['-C', b, 'execute', first.last]);
    expect(x.code, x.err).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
  }, 120_000);

  it('ga execute --watch on one clone runs the hook of an approval made on another, once', async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    const p = await propose(a, PUBLISH);
    expect(p.code).toBe(0);
    const watching = background(['-C', b, 'execute', '--watch']);
    try {
      await until(() => /executing approvals as they land/.test(watching.out()), 20_000, 'the watcher to start');
      const ap = await ga(['-C', a, 'approve', p.last]);
      expect(ap.code, ap.err).toBe(0);
      await until(() => runsOf(w.counter) === 1, 30_000, 'the hook to run on the other clone');
      await until(() => eventsAtHub(w, 'proposal-executed', p.last).length === 1, 30_000, 'the outcome to reach the hub');
    } finally {
      await watching.stop();
    }
    expect(runsOf(w.counter)).toBe(1);
  }, 120_000);

  it('the hub unreachable: no claim and no hook; a local decision is kept and published later', async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    const id = await approvedEverywhere(w, 'while the hub is away');
    const moved = `${w.hubDir}.away`;
    renameSync(w.hubDir, moved);
    const head = git(b, 'rev-parse', 'HEAD');
    const x = await ga(['-C', b, 'execute', id]);
    expect(x.code).toBe(1);
    expect(x.out + x.err).toMatch(/the claim did not reach the hub: the hub cannot be reached/);
    expect(runsOf(w.counter)).toBe(0);
    expect(git(b, 'rev-parse', 'HEAD')).toBe(head); // the claim was taken back: nothing left to publish later
    expect(git(b, 'status', '--porcelain', '--', 'audit')).toBe('');
    // a pause acts here at once, and reaches the hub when it is back
    const p = await ga(['-C', a, 'pause', 'noop', '--reason', 'hub down, stop anyway']);
    expect(p.code).toBe(0);
    expect(p.err).toMatch(/recorded here, not yet in the hub/);
    expect(existsSync(join(a, 'agents/noop/PAUSED'))).toBe(true);
    renameSync(moved, w.hubDir);
    expect((await ga(['-C', a, 'sync'])).code).toBe(0);
    expect(git(w.hubDir, 'ls-tree', '--name-only', 'main', 'agents/noop/')).toContain('agents/noop/PAUSED');
    expect((await ga(['-C', b, 'sync'])).code).toBe(0);
    expect((await ga(['-C', b, 'execute', id])).code).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
  }, 120_000);
});

describe('leases, late outcomes and plain git merges across clones', () => {
  /** A proposal whose hook on clone a waits for `release`; its claim is in the hub and b has synced. */
  async function slowExecution(w: World & { drafts: string[] }) {
    const [a, b] = w.clones as [string, string];
    const release = join(sb.dir, 'release');
    commitGoverned(
      sb,
      a,
      { [HOOK]: `#!/bin/sh\nwhile [ ! -f "${release}" ]; do sleep 0.1; done\necho ran >> "${w.counter}"\n` },
      'a hook that waits to be released',
    );
    expect((await ga(['-C', a, 'sync'])).code).toBe(0);
    const id = await approvedEverywhere(w, 'a slow hook');
    const slow = gaProcess(['-C', a, '--json', 'execute', id]);
    await until(() => eventsAtHub(w, 'proposal-claimed', id).length === 1, 60_000, 'the claim to reach the hub');
    expect((await ga(['-C', b, 'sync'])).code).toBe(0);
    const later = fixedClock(new Date(Date.now() + 2 * 3600_000).toISOString());
    return { a, b, id, slow, later, release: () => writeFileSync(release, '') };
  }

  /** The hub holds the proposal in failed/ with outcome unknown and the late outcome as evidence; every clone agrees and verifies. */
  async function expectLateEvidence(w: World, id: string, later: ReturnType<typeof fixedClock>) {
    await until(() => eventsAtHub(w, 'proposal-executed', id).length === 1, 30_000, 'the late outcome to reach the hub');
    const files = git(w.hubDir, 'ls-tree', '-r', '--name-only', 'main', 'proposals/');
    expect(files).toContain(`proposals/failed/${id}.toml`);
    expect(files).not.toMatch(new RegExp(`(approved|executed)/${id}`));
    const unknown = git(w.hubDir, 'log', '--format=%H', '--grep=^Ga-Outcome: unknown$', '--grep', `^Ga-Proposal: ${id}$`, '--all-match', 'main');
    expect(unknown.split('\n').filter(Boolean)).toHaveLength(1);
    for (const c of w.clones) {
      expect((await ga(['-C', c, 'sync'])).code).toBe(0);
      expect(git(c, 'rev-parse', 'HEAD')).toBe(git(w.hubDir, 'rev-parse', 'main'));
      expect((await ga(['-C', c, 'execute', id], later)).code).toBe(1);
      const v = await ga(['-C', c, '--json', 'verify']);
      expect(JSON.parse(v.out).findings, v.out).toEqual([]);
    }
    expect(runsOf(w.counter)).toBe(1);
  }

  it('a lease that runs out while the hook still runs elsewhere: outcome unknown on every clone, never run again, and the late outcome recorded as evidence', async () => {
    const w = await world(2);
    const { b, id, slow, later, release } = await slowExecution(w);
    // b, while the lease is live: the claim is not declared dead.
    const early = await ga(['-C', b, 'execute', id]);
    expect(early.code).toBe(1);
    expect(early.out + early.err).toMatch(/lease is live/);
    // b, two hours on: the lease has run out; outcome unknown, moved to failed/, published at once.
    const gaveUp = await ga(['-C', b, 'execute', id], later);
    expect(gaveUp.code).toBe(1);
    expect(gaveUp.out + gaveUp.err).toMatch(/outcome unknown/);
    expect(git(w.hubDir, 'ls-tree', '--name-only', 'main', 'proposals/failed/')).toContain(`${id}.toml`);
    expect(runsOf(w.counter)).toBe(0);
    // The hook on a finishes after all: its outcome is recorded late, and the file stays in failed/.
    release();
    const done = await slow;
    expect(runsOf(w.counter)).toBe(1);
    expect(JSON.parse(done.out)).toEqual([expect.objectContaining({ id, result: 'executed', late: true })]);
    await expectLateEvidence(w, id, later);
  }, 180_000);

  it('both ends recorded while the hub was away: ga sync replays the outcome as late evidence, without its move', async () => {
    const w = await world(2);
    const { a, b, id, slow, later, release } = await slowExecution(w);
    const moved = `${w.hubDir}.away`;
    renameSync(w.hubDir, moved);
    const gaveUp = await ga(['-C', b, 'execute', id], later);
    expect(gaveUp.out + gaveUp.err).toMatch(/outcome unknown/);
    release();
    const done = await slow;
    expect(JSON.parse(done.out)).toEqual([expect.objectContaining({ id, result: 'executed' })]); // a cannot know yet
    expect(git(a, 'ls-files', `proposals/executed/${id}.toml`)).not.toBe('');
    renameSync(moved, w.hubDir);
    expect((await ga(['-C', b, 'sync'])).code).toBe(0); // the unknown outcome reaches the hub first
    const s = await ga(['-C', a, '--json', 'sync']);
    expect(s.code, s.out + s.err).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ dropped: [] });
    await expectLateEvidence(w, id, later);
  }, 180_000);

  it('a plain git pull of what another clone published merges without a conflict, and ga sync publishes the merge', async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    // b proposes while the hub is away (kept locally), a proposes and publishes when it is back.
    const moved = `${w.hubDir}.away`;
    renameSync(w.hubDir, moved);
    const onB = await propose(b, PUBLISH.replace('Publish the launch post', 'made on b'));
    expect(onB.code, onB.err).toBe(0);
    renameSync(moved, w.hubDir);
    const onA = await propose(a, PUBLISH.replace('Publish the launch post', 'made on a'));
    expect(onA.code, onA.err).toBe(0);
    // b's person pulls the way git users do: a merge commit, unsigned. The audit files never collide.
    git(b, '-c', 'commit.gpgSign=false', '-c', 'pull.rebase=false', 'pull', '-q', '--no-edit', w.hubDir, 'main');
    expect(git(b, 'rev-list', '--parents', '-1', 'HEAD').split(' ')).toHaveLength(3);
    const s = await ga(['-C', b, 'sync']);
    expect(s.code, s.out + s.err).toBe(0);
    expect(git(w.hubDir, 'rev-parse', 'main')).toBe(git(b, 'rev-parse', 'HEAD'));
    expect((await ga(['-C', a, 'sync'])).code).toBe(0);
    for (const c of [a, b]) {
      const pending = (await ga(['-C', c, 'list', '--state', 'pending'])).out;
      expect(pending).toContain('made on a');
      expect(pending).toContain('made on b');
      const v = await ga(['-C', c, '--json', 'verify']);
      expect(JSON.parse(v.out).findings, v.out).toEqual([]);
    }
    const ap = await ga(['-C', a, 'approve', onB.last]);
    expect(ap.code, ap.err).toBe(0);
    expect((await ga(['-C', b, 'sync'])).code).toBe(0);
    expect((await ga(['-C', b, 'execute', onB.last])).code).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
  }, 180_000);
});

describe('runs across clones', () => {
  const agentFiles = (starts: string, usd: number, maxRun: number, seconds: number) => ({
    'agents/shell/agent.toml': [
      'adapter = "command"',
      `command = ["sh", "-c", "echo \\"$GA_RUN\\" >> ${starts}; echo \\"$GA_RUN\\" > run; sleep ${seconds}"]`,
      'timeout = "60s"',
      '[budget]',
      `usd = ${usd}`,
      'tokens = 1000000',
      'window = "day"',
      'warn_at = 0.8',
      `max_run_usd = ${maxRun}`,
      '',
    ].join('\n'),
    'agents/shell/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n',
    'agents/shell/tasks/smoke.md': 'wait a little\n',
  });

  it('three runs of one agent on two clones against a cap that fits two reservations: at most two start', async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    const starts = join(sb.dir, 'starts');
    commitGoverned(sb, a, agentFiles(starts, 1, 0.4, 4), 'a shell agent');
    expect((await ga(['-C', a, 'sync'])).code).toBe(0);
    expect((await ga(['-C', b, 'sync'])).code).toBe(0);
    const runs = await Promise.all([a, a, b].map((c) => gaProcess(['-C', c, '--json', 'run', 'shell'])));
    const started = runsOf(starts);
    expect(started, runs.map((r) => r.out + r.err).join('\n')).toBeLessThanOrEqual(2);
    expect(started).toBeGreaterThanOrEqual(1);
    const refused = runs.filter((r) => /run refused: (over budget|the reservation did not reach the hub)/.test(r.err));
    expect(refused).toHaveLength(3 - started);
    for (const c of [a, b]) expect((await ga(['-C', c, 'sync'])).code).toBe(0);
    const atHub = git(w.hubDir, 'log', '--format=%H', '--grep=^Ga-Event: run-started$', 'main').split('\n').filter(Boolean);
    expect(atHub).toHaveLength(started);
  }, 180_000);

  it('a pause made on one clone stops a running agent on another', async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    const starts = join(sb.dir, 'starts');
    commitGoverned(sb, a, agentFiles(starts, 5, 0.5, 60), 'a shell agent');
    expect((await ga(['-C', a, 'sync'])).code).toBe(0);
    expect((await ga(['-C', b, 'sync'])).code).toBe(0);
    const running = gaProcess(['-C', b, '--json', 'run', 'shell']);
    const runFile = join(b, 'agents/shell/workspace/run');
    for (let i = 0; i < 200 && !existsSync(runFile); i++) await sleep(50);
    expect(existsSync(runFile)).toBe(true);
    expect((await ga(['-C', a, 'sync'])).code).toBe(0); // a learns of b's reservation
    const p = await ga(['-C', a, 'pause', 'shell', '--reason', 'stop it everywhere']);
    expect(p.code, p.err).toBe(0);
    expect(p.err).toBe('');
    const r = await running;
    expect(JSON.parse(r.out).outcome, r.out + r.err).toBe('paused');
  }, 120_000);

  it('a remote.origin.url pointed elsewhere is not used: the hub is the one policies/hub.toml names', async () => {
    const w = await world(2);
    const b = w.clones[1]!;
    git(b, 'remote', 'set-url', 'origin', join(sb.dir, 'elsewhere.git'));
    const p = await propose(b, PUBLISH);
    expect(p.code).toBe(0);
    expect(p.err).toBe('');
    expect(git(w.hubDir, 'ls-tree', '-r', '--name-only', 'main', 'proposals/pending/')).toContain(p.last);
  }, 120_000);
});

describe('on a terminal', () => {
  it("a fetch or a push that takes more than a moment shows git's progress (tmux); off a terminal, nothing", async () => {
    const w = await world(2);
    const [a, b] = w.clones as [string, string];
    expect((await propose(a, PUBLISH)).code).toBe(0); // the hub is ahead of b
    const socket = `ga-test-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const screen = async (command: string) => {
      tmux('new-session', '-d', '-x', '160', '-y', '50', `env GA_PROGRESS_AFTER_MS=0 node ${BIN} -C ${b} ${command}; echo EXIT=$?; sleep 60`);
      try {
        let text = '';
        await until(() => /EXIT=\d+/.test((text = tmux('capture-pane', '-p'))), 60_000, `ga ${command} to finish in the terminal`);
        return text;
      } finally {
        tmux('kill-server');
      }
    };
    const fetched = await screen('sync');
    expect(fetched).toContain('EXIT=0');
    expect(fetched).toMatch(/Enumerating objects: \d+, done/);
    const pushed = await screen('propose --agent noop --type publish_content --title "from a terminal" --payload "{}"');
    expect(pushed).toContain('EXIT=0');
    expect(pushed).toMatch(/Writing objects/);
    expect(git(w.hubDir, 'log', '-1', '--format=%s', 'main')).toContain('from a terminal');
    // The same through a pipe: not a word on stderr.
    expect((await propose(a, PUBLISH)).code).toBe(0);
    const quiet = await gaProcess(['-C', b, 'sync'], { env: { GA_PROGRESS_AFTER_MS: '0' } });
    expect(quiet.code).toBe(0);
    expect(quiet.err).toBe('');
  }, 180_000);
});

/** Waits until git daemon answers for `url`. */
async function untilServed(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('git', ['ls-remote', url], { stdio: 'ignore', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`git daemon did not serve ${url}`);
}

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

describe('one hub over git daemon on 127.0.0.1', () => {
  let daemon: ChildProcess | undefined;
  afterEach(() => {
    daemon?.kill('SIGTERM');
    daemon = undefined;
  });

  it('two clones racing over git://: exactly once', async () => {
    const port = await freePort();
    const w = await world(
      2,
      (hubDir) => {
        const base = join(hubDir, '..');
        daemon = spawn(
          'git',
          ['daemon', '--reuseaddr', `--base-path=${base}`, '--export-all', '--enable=receive-pack', '--listen=127.0.0.1', `--port=${port}`, base],
          {
            stdio: 'ignore',
          },
        );
        return `git://127.0.0.1:${port}/hub.git`;
      },
      3,
    );
    expect(w.url).toMatch(/^git:\/\/127\.0\.0\.1:/);
    await race(w, [...w.drafts, await approvedEverywhere(w, 'over git://')]);
  }, 240_000);
});

describe('the hub a command publishes to', () => {
  it('is the one of the reading the command made, while the commits since leave hub.toml alone; a hub.toml committed since is followed', async () => {
    const a = await initRepo(sb);
    const repo = await openRepo(a);
    try {
      await loadGovernance(repo);
      expect(await hubOf(repo)).toBeUndefined();
      // A commit of ga's own since that reading: the reading still says which hub, and there is none.
      const p = await propose(a, PUBLISH);
      expect(p.code, p.err).toBe(0);
      expect(await hubOf(repo)).toBeUndefined();
      // A signed hub.toml since: the earlier reading no longer answers, and the hub it names is the one.
      commitGoverned(sb, a, { 'policies/hub.toml': 'url = "file:///nowhere/hub.git"\nbranch = "main"\n' }, 'a hub');
      expect((await hubOf(repo))?.urls).toEqual(['file:///nowhere/hub.git']);
    } finally {
      repo.objects.close();
    }
  });

  it('follows commits this process made itself without reading them, but not one of them that wrote hub.toml', async () => {
    const a = await initRepo(sb);
    const repo = await openRepo(a);
    try {
      await loadGovernance(repo);
      const own = (path: string, content: string, sign: boolean) =>
        commitEvent(repo, async () => ({ message: `write ${path}\n`, files: [{ path, content }], sign }));
      const note = await own('notes/one.txt', 'one\n', false);
      expect(repo.made?.get(note.commit)?.paths).toEqual(['notes/one.txt']);
      expect(await hubOf(repo)).toBeUndefined();
      // Signed by an approver, in this process: the reading made before it no longer says which hub.
      await own('policies/hub.toml', 'url = "file:///elsewhere/hub.git"\nbranch = "main"\n', true);
      await own('notes/two.txt', 'two\n', false);
      expect((await hubOf(repo))?.urls).toEqual(['file:///elsewhere/hub.git']);
    } finally {
      repo.objects.close();
    }
  });
});
