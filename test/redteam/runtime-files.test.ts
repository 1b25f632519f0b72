// Class: files outside git can neither prove liveness nor wedge ga. A
// watchdog heartbeat that anyone can write (`{"pid": 1}`) proves nothing:
// liveness is a live process holding the watchdog's lock, checked against its
// start time and command line. Every file ga reads outside git is opened
// only if it is a regular file, without blocking, so a FIFO, a symlink loop
// or a directory where a file should be hangs nothing and crashes nothing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gaProcess, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, until, WATCHDOG } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

const mkfifo = (path: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  execFileSync('mkfifo', [path]);
};

/** Runs ga as a process, killed after `ms`: a hang shows as a null exit. */
async function bounded(args: string[], ms = 20_000): Promise<{ code: number; out: string; err: string }> {
  const p = gaProcess(args);
  const timer = new Promise<{ code: number; out: string; err: string }>((resolve) => setTimeout(() => resolve({ code: -999, out: '', err: 'hung' }), ms));
  return Promise.race([p, timer]);
}

describe('class: liveness is not a file', () => {
  it('a forged watchdog heartbeat does not satisfy required = true', async () => {
    const repo = await initRepo(sb);
    commitGoverned(sb, repo, { [WATCHDOG]: 'required = true\n' }, 'the watchdog is required');
    mkdirSync(join(repo, '.ga'), { recursive: true });
    const now = new Date().toISOString();
    // pid 1, then a live node process that is not a watchdog (this test's own).
    for (const pid of [1, process.pid]) {
      writeFileSync(join(repo, '.ga/watchdog.json'), JSON.stringify({ pid, started_at: now, updated_at: now }));
      const r = await bounded(['-C', repo, 'run', 'noop']);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.err).toMatch(/requires a live watchdog/);
    }
  });

  it('a real watchdog does satisfy it', async () => {
    const repo = await initRepo(sb);
    commitGoverned(sb, repo, { [WATCHDOG]: 'required = true\n' }, 'the watchdog is required');
    const w = background(['-C', repo, 'watchdog']);
    try {
      await until(() => /watchdog started/.test(w.out()), 10_000, 'the watchdog');
      const s = await bounded(['-C', repo, 'status']);
      expect(s.out).toMatch(/watchdog\s+alive/);
    } finally {
      await w.stop();
    }
  });
});

describe('class: special files never wedge ga', () => {
  it('FIFOs in .ga/ and in the governed tree hang no command', async () => {
    const repo = await initRepo(sb);
    commitGoverned(
      sb,
      repo,
      { 'agents/quick/agent.toml': 'adapter = "command"\ncommand = ["true"]\n', 'agents/quick/tasks/smoke.md': 'quick\n' },
      'a quick agent',
    );
    for (const f of [
      '.ga/watchdog.json',
      '.ga/runs/x.json',
      '.ga/runs/x.tools.jsonl',
      '.ga/cache/signatures.jsonl',
      '.ga/cache/append-only.json',
      '.ga/watchdog-flags.json',
      '.ga/reservations/noop/x.json',
      'policies/extra.toml',
    ]) {
      mkfifo(join(repo, f));
    }
    for (const args of [['status'], ['list'], ['scoreboard'], ['watchdog', '--once'], ['verify'], ['run', 'quick', '--json']]) {
      const r = await bounded(['-C', repo, ...args]);
      expect(r.code, `${args.join(' ')} hung or crashed: ${r.err}`).not.toBe(-999);
      expect(r.code, `${args.join(' ')}: ${r.err}`).not.toBe(70);
      expect(r.err).not.toMatch(/internal error/);
    }
  });

  it('a FIFO as the pause marker in the work tree means paused, without hanging', async () => {
    const repo = await initRepo(sb);
    mkfifo(join(repo, 'agents/noop/PAUSED'));
    const r = await bounded(['-C', repo, 'run', 'noop']);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/paused/);
  });

  it('the watchdog keeps sweeping with a FIFO in .ga/runs', async () => {
    const repo = await initRepo(sb);
    const w = background(['-C', repo, 'watchdog']);
    try {
      await until(() => /watchdog started/.test(w.out()), 10_000, 'the watchdog');
      mkfifo(join(repo, '.ga/runs/wedge.json'));
      mkfifo(join(repo, '.ga/runs/wedge.tools.jsonl'));
      const head = git(repo, 'rev-parse', 'HEAD');
      // A manual pause by someone else wakes it; it must still be sweeping afterwards.
      const p = await bounded(['-C', repo, 'pause', 'noop', '--reason', 'poke']);
      expect(p.code).toBe(0);
      await until(() => /sweep|paused|expired|flagged/.test(w.out()) || git(repo, 'rev-parse', 'HEAD') !== head, 5000, 'a sweep');
      const s = await bounded(['-C', repo, 'status']);
      expect(s.out).toMatch(/watchdog\s+alive/);
    } finally {
      expect(await w.stop()).toBe(0);
    }
  });

  it('a symlink loop under agents/ is reported, not a crash', async () => {
    const repo = await initRepo(sb);
    symlinkSync('loop', join(repo, 'agents/loop'));
    mkdirSync(join(repo, 'agents/dir'));
    symlinkSync('..', join(repo, 'agents/dir/up'));
    const r = await bounded(['-C', repo, 'status']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/internal error/);
  });
});
