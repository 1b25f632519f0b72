// The real daemon (`ga watchdog`, the built binary as a child process) on
// real chokidar and real repositories: it reacts to a ledger append within a
// second, catches a cause that existed before it started, coalesces a burst
// into one pause, runs once per repository, stops cleanly on SIGTERM, and
// reports its health; `required = true` and `ga execute --watch` ride on it
// (DESIGN.md "Pauses", "The watchdog's settings", "Execution, exactly once").
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTrailers } from '../../src/audit/events.js';
import { systemClock } from '../../src/clock.js';
import { openRepo } from '../../src/git/repo.js';
import { appendCharge } from '../../src/ledger/ledger.js';
import { BIN, ga, gaProcess, git, initRepo, propose, PUBLISH, ROOT, sandbox, write, type Sandbox } from '../helpers/fixture.js';

interface Daemon {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  err: () => string;
  exited: Promise<number | null>;
  /** Resolves with the first stdout line matching `re` (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
}

let sb: Sandbox;
let repo: string;
let children: ChildProcessWithoutNullStreams[] = [];

beforeEach(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
});
afterEach(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
  }
  children = [];
  sb.cleanup();
});

function start(args: string[]): Daemon {
  const child = spawn(process.execPath, [BIN, '-C', repo, ...args], { env: { ...process.env } });
  children.push(child);
  child.stdin.end();
  const lines: string[] = [];
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) {
      if (w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    err: () => err,
    exited,
    waitFor(re, ms = 10_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; stdout:\n${lines.join('\n')}\nstderr:\n${err}`)), ms);
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
        void exited.then(() => setTimeout(() => reject(new Error(`exited before ${re}; stdout:\n${lines.join('\n')}\nstderr:\n${err}`)), 50));
      });
    },
  };
}

const watchdog = async () => {
  const d = start(['watchdog']);
  await d.waitFor(/watchdog started on /);
  return d;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many commits carry `Ga-Event: <event>`. */
function count(event: string, agent?: string): number {
  const raw = git(repo, 'log', '--format=%B%x1e');
  return raw.split('\x1e').filter((b) => parseTrailers(b).some((e) => e.event === event && (agent === undefined || e.agent === agent))).length;
}

/** Polls until `cond` holds; returns the time it took, or throws after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(10);
  }
}

async function charge(usd: number, agent = 'noop'): Promise<void> {
  await appendCharge(
    await openRepo(repo),
    agent,
    { run: 'run-test', input_tokens: 0, output_tokens: 0, usd, source: 'reported' },
    { window: 'day', clock: systemClock },
  );
}

function commitSigned(paths: Record<string, string>, msg: string): void {
  for (const [p, c] of Object.entries(paths)) write(repo, p, c);
  git(repo, 'add', ...Object.keys(paths));
  git(repo, 'commit', '-S', '-qm', msg);
}

const agentToml = (usd: number) =>
  `adapter = "noop"\ntimeout = "30m"\n[budget]\nusd = ${usd}\ntokens = 100000\nwindow = "day"\nwarn_at = 0.8\nmax_run_usd = 0.0\n`;

async function statusAlive(): Promise<boolean> {
  const r = await ga(['-C', repo, 'status', '--json']);
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as { watchdog: { alive: boolean } }).watchdog.alive;
}

describe('ga watchdog (the daemon)', () => {
  it('pauses on the ledger append that crosses the cap (how fast: bench/); alive in ga status while it runs, not after', async () => {
    const d = await watchdog();
    expect(await statusAlive()).toBe(true);
    await charge(0.5);
    await sleep(300);
    expect(count('agent-paused')).toBe(0);
    await charge(0.6);
    await until(() => count('agent-paused', 'noop') === 1, 10_000, 'the PAUSED commit');
    await until(() => existsSync(join(repo, 'agents/noop/PAUSED')), 10_000, 'the marker in the work tree');
    const body = git(repo, 'log', '-1', '--format=%B', '--', 'agents/noop/PAUSED');
    expect(body).toMatch(/^Ga-Actor: watchdog$/m);
    expect(body).toMatch(/^Ga-Event: agent-paused$/m);
    await d.waitFor(/paused noop \(over-budget\)/, 10_000);

    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(await statusAlive()).toBe(false);
  });

  it('started after the cause already exists, it pauses at start (the first sweep)', async () => {
    await charge(1.5);
    const d = start(['watchdog']);
    await until(() => count('agent-paused', 'noop') === 1, 10_000, 'the PAUSED commit');
    await d.waitFor(/paused noop \(over-budget\)/, 10_000);
    await sleep(500);
    expect(count('agent-paused')).toBe(1);
  });

  it('a forced resume holds while nothing new happens; the next charge over the cap pauses again at once', async () => {
    await charge(1.5);
    const d = await watchdog();
    await until(() => count('agent-paused', 'noop') === 1, 10_000, 'the first pause');
    const r = await ga(['-C', repo, 'resume', 'noop', '--reason', 'I know, carry on', '--force']);
    expect(r.code).toBe(0);
    await sleep(1000); // sweeps ran on the resume commit: what alice resumed over does not pause again
    expect(count('agent-paused')).toBe(1);
    expect(existsSync(join(repo, 'agents/noop/PAUSED'))).toBe(false);
    await charge(0.1);
    await until(() => count('agent-paused', 'noop') === 2, 10_000, 'the second pause');
    // the work tree follows the branch right after the ref moves
    await until(() => existsSync(join(repo, 'agents/noop/PAUSED')), 10_000, 'the marker in the work tree');
    await until(() => git(repo, 'status', '--porcelain', '--', 'agents', 'audit') === '', 10_000, 'the index and work tree to follow');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  });

  it('a cap lowered by an alice-signed commit pauses at once (the commit is the event)', async () => {
    await charge(0.5);
    const d = await watchdog();
    await sleep(300);
    expect(count('agent-paused')).toBe(0);
    commitSigned({ 'agents/noop/agent.toml': agentToml(0.4) }, 'lower the noop cap to $0.4');
    await until(() => count('agent-paused', 'noop') === 1, 10_000, 'the PAUSED commit');
    await d.waitFor(/paused noop \(over-budget\)/, 10_000);
  });

  it('a malformed policies/watchdog.toml and a torn ledger line do not stop it; each is flagged once', async () => {
    const d = await watchdog();
    commitSigned({ 'policies/watchdog.toml': 'loop_count = [\n' }, 'break the watchdog settings');
    await until(() => count('flag-bad-file') === 1, 10_000, 'the flag of policies/watchdog.toml');
    await charge(0.2);
    const ledger = join(repo, 'ledger', 'noop.jsonl');
    const good = readFileSync(ledger);
    appendFileSync(ledger, '{"at": ');
    await until(() => count('flag-bad-file', 'noop') === 1, 10_000, 'the flag of the torn ledger');
    await sleep(300);
    writeFileSync(ledger, good);
    await sleep(100);
    await charge(0.9);
    await until(() => count('agent-paused', 'noop') === 1, 10_000, 'the PAUSED commit');
    await sleep(300);
    expect(count('flag-bad-file')).toBe(2);
    expect(d.child.exitCode).toBe(null);
    expect(d.lines.filter((l) => /sweep failed/.test(l))).toEqual([]);
  });

  it('a burst of 1,000 ledger appends (another process, as fast as it can) yields exactly one pause and no false flag', async () => {
    const d = await watchdog();
    const script = `
      const { openRepo } = await import(${JSON.stringify(join(ROOT, 'dist/git/repo.js'))});
      const { appendCharge } = await import(${JSON.stringify(join(ROOT, 'dist/ledger/ledger.js'))});
      const { systemClock } = await import(${JSON.stringify(join(ROOT, 'dist/clock.js'))});
      const repo = await openRepo(process.argv[1]);
      for (let i = 0; i < 1000; i++) {
        await appendCharge(repo, 'noop', { run: 'burst', input_tokens: 1, output_tokens: 1, usd: 0.01, source: 'reported' }, { window: 'day', clock: systemClock });
      }
      console.log('done');
    `;
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script, repo]);
      children.push(c);
      let out = '';
      let err = '';
      c.stdout.on('data', (b) => (out += b));
      c.stderr.on('data', (b) => (err += b));
      c.on('close', (code) => resolve({ code, out, err }));
    });
    expect(r.err).toBe('');
    expect(r.out.trim()).toBe('done');
    await until(() => count('agent-paused', 'noop') >= 1, 10_000, 'the PAUSED commit');
    await sleep(1500); // anything queued behind the burst has run by now
    expect(count('agent-paused')).toBe(1);
    // every line was whole whenever the watchdog looked: a reader never sees a torn line
    expect(count('flag-bad-file')).toBe(0);
    expect(d.lines.filter((l) => /sweep failed/.test(l))).toEqual([]);
  });

  it('a second watchdog on the same repository exits 1 with a one-line message; the first keeps running', async () => {
    const first = await watchdog();
    const second = await gaProcess(['-C', repo, 'watchdog']);
    expect(second.code).toBe(1);
    expect(second.err.trim().split('\n')).toHaveLength(1);
    expect(second.err).toMatch(/already running/);
    expect(second.out).not.toMatch(/watchdog started/);
    expect(first.child.exitCode).toBe(null);
    expect(await statusAlive()).toBe(true);
    await charge(1.2);
    await until(() => count('agent-paused', 'noop') === 1, 10_000, 'a pause by the first watchdog');
  });

  it('SIGTERM while it is busy committing leaves no lock, a clean status and a sound repository', async () => {
    // Eight agents over their caps before it starts: its first sweep makes eight commits.
    const ids = Array.from({ length: 8 }, (_, i) => `a${i + 1}`);
    commitSigned(
      Object.fromEntries(
        ids.flatMap((id) => [
          [`agents/${id}/agent.toml`, agentToml(0.1)],
          [`agents/${id}/tool_allowlist.toml`, 'allowed_tools = []\nenv = []\n'],
        ]),
      ),
      'add eight agents',
    );
    for (const id of ids) await charge(0.2, id);
    git(repo, 'add', 'ledger');
    git(repo, 'commit', '-qm', 'commit the ledgers');
    const d = start(['watchdog']);
    await until(() => count('agent-paused') >= 1, 10_000, 'the first pause');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    await d.waitFor(/watchdog stopped/, 10_000);
    expect(existsSync(join(repo, '.git/index.lock'))).toBe(false);
    expect(existsSync(join(repo, '.ga/repo.lock'))).toBe(false);
    expect(readdirSync(join(repo, '.ga')).filter((n) => n.endsWith('.lock'))).toEqual([]);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    git(repo, 'fsck', '--strict', '--no-progress');
    // the sweep in flight was finished, not cut: every marker in HEAD has its commit
    const paused = count('agent-paused');
    expect(
      git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', 'agents')
        .split('\n')
        .filter((p) => p.endsWith('/PAUSED')),
    ).toHaveLength(paused);
    expect(await statusAlive()).toBe(false);
  });

  it('SIGINT stops it too, and a new one can start afterwards', async () => {
    const d = await watchdog();
    d.child.kill('SIGINT');
    expect(await d.exited).toBe(0);
    const again = await watchdog();
    expect(await statusAlive()).toBe(true);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(readdirSync(join(repo, '.ga')).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('a killed watchdog leaves its lock behind, and the next one takes it over at once', async () => {
    const d = await watchdog();
    d.child.kill('SIGKILL');
    await d.exited;
    expect(existsSync(join(repo, '.ga/watchdog.lock'))).toBe(true);
    const again = await watchdog();
    expect(await statusAlive()).toBe(true);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});

describe('required = true', () => {
  it("with the watchdog down, ga run refuses (exit 1, run-refused); a dead watchdog's heartbeat does not count", async () => {
    commitSigned({ 'policies/watchdog.toml': 'required = true\n' }, 'require a live watchdog');
    const r = await gaProcess(['-C', repo, 'run', 'noop']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/watchdog/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(count('run-refused', 'noop')).toBe(1);
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/^Ga-Actor: runner$/m);
    expect(count('run-started')).toBe(0);

    // a heartbeat left by a killed watchdog is not a live one
    const d = await watchdog();
    d.child.kill('SIGKILL');
    await d.exited;
    expect(existsSync(join(repo, '.ga/watchdog.json'))).toBe(true);
    const again = await gaProcess(['-C', repo, 'run', 'noop']);
    expect(again.code).toBe(1);
    expect(count('run-refused', 'noop')).toBe(2);
    expect(count('run-started')).toBe(0);
  });
});

describe('ga execute --watch', () => {
  it('runs the hook of a hand-made approval exactly once, and never again after further commits', async () => {
    const ex = start(['execute', '--watch']);
    await ex.waitFor(/executing approvals as they land/);
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    const id = p.last;
    await sleep(200); // apart from the submission's ref update (see the next test for commits closer together)
    git(repo, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    git(repo, 'commit', '-S', '-qm', `approve ${id}`);
    await ex.waitFor(/published:/, 10_000);
    await until(() => git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/').includes(id), 10_000, 'the executed commit');

    // more commits of every kind: another proposal, a ledger commit, an empty commit, a signed move back to approved/
    await propose(repo, PUBLISH.replace('launch"', 'second"'));
    await charge(0.1);
    git(repo, 'add', 'ledger');
    git(repo, 'commit', '-qm', 'ledger');
    git(repo, 'commit', '-S', '-q', '--allow-empty', '-m', 'nothing');
    // a signed move back to approved/ (a revival attempt): the claim in history forbids a second run
    git(repo, 'mv', `proposals/executed/${id}.toml`, `proposals/approved/${id}.toml`);
    git(repo, 'commit', '-S', '-qm', `approve ${id} again`);
    await sleep(1500);
    const published = ex.lines.filter((l) => /published:/.test(l));
    expect(published).toHaveLength(1);
    expect(published[0]).toContain(id);
    expect(count('proposal-claimed')).toBe(1);
    expect(count('proposal-executed')).toBe(1);
    ex.child.kill('SIGTERM');
    expect(await ex.exited).toBe(0);
  });

  it('an approval landing within 50 ms of the commit before it is still executed at once (not at the 30 s backstop)', async () => {
    const p = await propose(repo, PUBLISH);
    const id = p.last;
    const ex = start(['execute', '--watch']);
    await ex.waitFor(/executing approvals as they land/);
    await sleep(500);
    // chokidar reports no second change of one file within 50 ms: the approval's ref update arrives as no event
    git(repo, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'something else');
    git(repo, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    git(repo, 'commit', '-S', '-qm', `approve ${id}`);
    await ex.waitFor(/published:/, 10_000);
    expect(ex.lines.filter((l) => /published:/.test(l))).toHaveLength(1);
  });
});

describe('the ledger as the watchdog reads it', () => {
  it('a reader never sees a torn last line while a runner appends in another process', async () => {
    const { readLastLine } = await import('../../src/ledger/ledger.js');
    const ledger = join(repo, 'ledger', 'noop.jsonl');
    await charge(0.001);
    const script = `
      const { openRepo } = await import(${JSON.stringify(join(ROOT, 'dist/git/repo.js'))});
      const { appendCharge } = await import(${JSON.stringify(join(ROOT, 'dist/ledger/ledger.js'))});
      const { systemClock } = await import(${JSON.stringify(join(ROOT, 'dist/clock.js'))});
      const repo = await openRepo(process.argv[1]);
      for (let i = 0; i < 500; i++) {
        await appendCharge(repo, 'noop', { run: 'burst', input_tokens: 1, output_tokens: 1, usd: 0.0001, source: 'reported' }, { window: 'day', clock: systemClock });
      }
    `;
    const c = spawn(process.execPath, ['--input-type=module', '-e', script, repo]);
    children.push(c);
    let done = false;
    c.on('exit', () => (done = true));
    let reads = 0;
    const torn: string[] = [];
    while (!done) {
      try {
        readLastLine(ledger);
      } catch (e) {
        torn.push((e as Error).message);
      }
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    expect(reads).toBeGreaterThan(100);
    expect(torn.slice(0, 1)).toEqual([]);
  });
});
