// Class: a watchdog is alive only if ga's own watchdog runs on this
// repository (red team #30-31). The heartbeat in .ga/ is a file an agent
// can write, with any pid and start time; what it names must then be a
// running process (not stopped, traced or a zombie) of the node binary,
// running this installation's bin/ga.js as its script with `watchdog` as its
// command, as a daemon (not --once), on this repository (its -C, else its
// working directory), with no NODE_OPTIONS or LD_PRELOAD that could make it
// another program. Each forgery below fooled `ga status` and the
// `required = true` gate before.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRepo } from '../../src/git/repo.js';
import { watchdogHealth, type WatchdogHealth } from '../../src/runtime/liveness.js';
import { gaDaemonArgs, GA_ENTRY, isLiveGaProcess } from '../../src/runtime/processes.js';
import { BIN, ga, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { commitGoverned, sleep, until, WATCHDOG } from '../helpers/scene.js';

let sb: Sandbox;
let repo: string;
let procs: ChildProcess[] = [];

beforeEach(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
});
afterEach(async () => {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once('exit', r));
    try {
      process.kill(p.pid!, 'SIGCONT');
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
    await gone;
  }
  procs = [];
  sb.cleanup();
});

/** A child process this test owns (killed after it), with its stdout collected. */
function start(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; out: () => string } {
  const child = spawn(file, args, { cwd: opts.cwd ?? repo, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  return { child, out: () => out };
}

/** The real `ga watchdog`, from `cwd` with `args` before the command; resolves once it has started. */
async function realWatchdog(args: string[], cwd = repo): Promise<ChildProcess> {
  const w = start(process.execPath, [BIN, ...args, 'watchdog'], { cwd });
  await until(() => /watchdog started on /.test(w.out()), 15_000, 'ga watchdog').catch((e: Error) => {
    throw new Error(`${e.message}; it printed: ${w.out()}`);
  });
  return w.child;
}

const stat = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
};
const startTicks = (pid: number) => Number(stat(pid)[19]);

/** What an agent writes: a fresh heartbeat naming `pid`, with its real start time. */
function forgeHeartbeat(dir: string, pid: number): void {
  mkdirSync(join(dir, '.ga'), { recursive: true });
  const now = new Date().toISOString();
  writeFileSync(join(dir, '.ga/watchdog.json'), JSON.stringify({ pid, start_ticks: startTicks(pid), started_at: now, updated_at: now }));
}

async function health(dir = repo): Promise<WatchdogHealth> {
  return watchdogHealth(await openRepo(dir), new Date());
}

async function statusAlive(dir = repo): Promise<boolean> {
  const r = await ga(['-C', dir, '--json', 'status']);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { watchdog: { alive: boolean } }).watchdog.alive;
}

/** `ga run` as a process, killed after `ms` (a run that got past the gate waits for a decision). */
function boundedRun(dir: string, ms = 20_000): Promise<{ code: number | null; err: string }> {
  const r = start(process.execPath, [BIN, '-C', dir, 'run', 'noop']);
  return new Promise((resolve) => {
    const t = setTimeout(() => r.child.kill('SIGKILL'), ms);
    r.child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, err: r.out() });
    });
  });
}

describe('class: a look-alike of ga is not the watchdog', () => {
  it('a node script named ga with "watchdog" on its command line is not alive, and does not satisfy required = true', async () => {
    const fake = join(sb.dir, 'bin', 'ga');
    mkdirSync(dirname(fake), { recursive: true });
    writeFileSync(fake, 'setInterval(() => {}, 1000);\n');
    const p = start(process.execPath, [fake, '-C', repo, 'watchdog']);
    await sleep(200);
    forgeHeartbeat(repo, p.child.pid!);
    const h = await health();
    expect(h.alive, h.detail).toBe(false);
    expect(h.detail).toContain('does not run');
    expect(await statusAlive()).toBe(false);
    commitGoverned(sb, repo, { [WATCHDOG]: 'required = true\n' }, 'the watchdog is required');
    forgeHeartbeat(repo, p.child.pid!);
    const r = await boundedRun(repo);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/requires a live watchdog/);
  });

  it('node -e with "ga watchdog" as arguments is not alive', async () => {
    const p = start(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'ga', 'watchdog']);
    await sleep(200);
    forgeHeartbeat(repo, p.child.pid!);
    const h = await health();
    expect(h.alive, h.detail).toBe(false);
  });

  it('the real bin/ga.js with code injected by NODE_OPTIONS (it never reaches ga) is not alive', async () => {
    const hang = join(sb.dir, 'hang.mjs');
    writeFileSync(hang, 'setInterval(() => {}, 1000);\nawait new Promise(() => {});\n');
    const p = start(process.execPath, [BIN, '-C', repo, 'watchdog'], { env: { NODE_OPTIONS: `--import=${hang}` } });
    await sleep(500);
    expect(p.out()).not.toMatch(/watchdog started/);
    forgeHeartbeat(repo, p.child.pid!);
    const h = await health();
    expect(h.alive, h.detail).toBe(false);
    expect(h.detail).toContain('NODE_OPTIONS');
  });
});

describe('class: a real ga watchdog counts only while it runs, on this repository', () => {
  it('a real watchdog of another repository, named in this one’s heartbeat, is not alive here', async () => {
    const other = await initRepo(sb);
    const w = await realWatchdog(['-C', other]);
    expect((await health(other)).alive).toBe(true);
    forgeHeartbeat(repo, w.pid!);
    const h = await health();
    expect(h.alive, h.detail).toBe(false);
    expect(h.detail).toContain('not on this repository');
    expect(await statusAlive()).toBe(false);
  });

  it('a real watchdog started in another repository’s directory (no -C) is not alive here', async () => {
    const other = await initRepo(sb);
    const w = await realWatchdog([], other);
    forgeHeartbeat(repo, w.pid!);
    expect((await health()).alive).toBe(false);
  });

  it('a stopped (SIGSTOP) watchdog with a fresh forged heartbeat is not alive; continued, it is', async () => {
    const w = await realWatchdog(['-C', repo]);
    expect((await health()).alive).toBe(true);
    process.kill(w.pid!, 'SIGSTOP');
    await until(() => stat(w.pid!)[0] === 'T', 5000, 'the stop');
    forgeHeartbeat(repo, w.pid!);
    const h = await health();
    expect(h.alive, h.detail).toBe(false);
    expect(h.detail).toMatch(/stopped/);
    expect(await statusAlive()).toBe(false);
    process.kill(w.pid!, 'SIGCONT');
    await until(() => stat(w.pid!)[0] !== 'T', 5000, 'the continue');
    expect((await health()).alive).toBe(true);
  });

  it('a zombie watchdog (killed, never reaped) is not alive', async () => {
    // sh starts the watchdog, then becomes sleep, which never reaps it.
    const sh = start('/bin/sh', ['-c', `"${process.execPath}" "${BIN}" -C "${repo}" watchdog & echo "pid $!"; exec sleep 120`]);
    await until(() => /watchdog started on /.test(sh.out()), 15_000, `ga watchdog: ${sh.out()}`);
    const pid = Number(/pid (\d+)/.exec(sh.out())![1]);
    const ticks = startTicks(pid);
    process.kill(pid, 'SIGKILL');
    await until(() => stat(pid)[0] === 'Z', 5000, 'the zombie');
    expect(isLiveGaProcess({ pid, start_ticks: ticks }, 'watchdog', repo)).toEqual({ alive: false, why: expect.stringMatching(/zombie/) });
    forgeHeartbeat(repo, pid);
    expect((await health()).alive).toBe(false);
  });

  it('real watchdogs are alive however they name the repository: -C from elsewhere, -C relative, its own directory, a subdirectory', async () => {
    for (const [args, cwd] of [
      [['-C', repo], sb.dir],
      [['-C', basename(repo)], dirname(repo)],
      [[`-C${repo}`], sb.dir],
      [[], repo],
      [[], join(repo, 'agents')],
    ] as const) {
      const w = await realWatchdog([...args], cwd);
      const h = await health();
      expect(h.alive, `${args.join(' ')} in ${cwd}: ${h.detail}`).toBe(true);
      const gone = new Promise((r) => w.once('exit', r));
      w.kill('SIGTERM');
      await gone;
    }
  });
});

describe('gaDaemonArgs: the command line, read as ga reads it', () => {
  it('takes only `watchdog` as a daemon on this repository', () => {
    const other = join(sb.dir, 'elsewhere');
    mkdirSync(other, { recursive: true });
    mkdirSync(join(repo, 'nested', '.git'), { recursive: true });
    const link = join(sb.dir, 'link-to-repo');
    symlinkSync(repo, link);
    const ok = (args: string[], cwd = '/') => gaDaemonArgs(args, 'watchdog', cwd, repo).ok;
    expect(ok(['-C', repo, 'watchdog'])).toBe(true);
    expect(ok(['watchdog', '-C', repo])).toBe(true);
    expect(ok([`-C=${repo}`, 'watchdog'])).toBe(true);
    expect(ok(['--C', repo, 'watchdog'])).toBe(true);
    expect(ok(['--json', '-C', repo, 'watchdog'])).toBe(true);
    expect(ok(['watchdog'], repo)).toBe(true);
    expect(ok(['watchdog'], link)).toBe(true);
    expect(ok(['-C', link, 'watchdog'])).toBe(true);
    expect(ok(['watchdog'], join(repo, 'agents', 'noop'))).toBe(true);

    expect(ok(['-C', repo, 'watchdog', '--once'])).toBe(false);
    expect(ok(['-C', repo, 'watchdog', '--help'])).toBe(false);
    expect(ok(['-C', repo, 'status'])).toBe(false);
    expect(ok(['-C', repo, 'watchdog', 'extra'])).toBe(false);
    expect(ok(['-C', repo])).toBe(false);
    expect(ok(['-C', repo, '-C', other, 'watchdog'])).toBe(false);
    expect(ok(['-C', other, 'watchdog'])).toBe(false);
    expect(ok(['watchdog'], other)).toBe(false);
    expect(ok(['watchdog'], join(repo, 'nested'))).toBe(false); // a repository of its own
    expect(ok(['-C', join(repo, 'missing'), 'watchdog'])).toBe(false);
    expect(ok(['-C', '', 'watchdog'], repo)).toBe(false);
  });

  it('ga’s entry is this installation’s bin/ga.js, by real path', () => {
    expect(GA_ENTRY).toBe(realpathSync(BIN));
  });
});
