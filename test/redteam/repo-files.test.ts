// Class: files an agent can plant in the repository's plumbing or in .ga/
// neither hang ga nor stop it for good.
//   D. The files git opens on every call (.git/config, .git/HEAD, .git/index,
//      .gitattributes, .git/info/attributes) must be regular files: a FIFO
//      there would hang git, a link would make it read elsewhere. Anything
//      else is a tampered repository: refused (exit 1), one line naming it.
//   E. .ga (and the directories ga makes under it) is not evidence: a file,
//      a link, a loop or a FIFO in its place is moved aside and a fresh
//      directory made; the command goes on.
//   F. A lock is held by a live process that keeps it open, whatever the lock
//      file says: one planted naming pid 1, the watchdog or a dead pid, or
//      with its mtime in the future, is taken over at once; two live ga
//      processes still exclude each other.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tryHoldLock, withLock } from '../../src/runtime/lock.js';
import { BIN, ga, git, initRepo, PUBLISH, ROOT, sandbox, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, sleep, until } from '../helpers/scene.js';

let sb: Sandbox;
const children: ChildProcess[] = [];
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  sb.cleanup();
});

interface Bounded {
  code: number;
  out: string;
  err: string;
  ms: number;
}

/** The real binary in its own process group, killed with every git it started after `ms`: a hang is code -999. */
function gaBounded(args: string[], ms = 20_000): Promise<Bounded> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      resolve({ code: -999, out, err: `${err}\n(hung: killed after ${ms} ms)`, ms: Date.now() - started });
    }, ms);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), out, err, ms: Date.now() - started });
    });
  });
}

/** Submits PUBLISH through a file with the real binary (the repo lock, a commit). */
function proposeBounded(repo: string, ms?: number): Promise<Bounded> {
  const file = join(sb.dir, `p-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, PUBLISH);
  return gaBounded(['-C', repo, 'propose', '--file', file], ms);
}

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);
const oneLine = (r: { err: string }) => expect(r.err.trim().split('\n'), r.err).toHaveLength(1);

/** Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22). */
function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('D. the files git opens must be regular files', () => {
  type Plant = (path: string, original: string) => void;
  const fifo: Plant = (p) => mkfifo(p);
  const dir: Plant = (p) => mkdirSync(p);
  const link: Plant = (p, original) => symlinkSync(original, p);
  const cases: [string, string, Plant][] = [
    ['.git/config', 'a FIFO', fifo],
    ['.git/config', 'a symbolic link (to a copy of itself)', link],
    ['.git/HEAD', 'a FIFO', fifo],
    ['.git/HEAD', 'a directory', dir],
    ['.git/index', 'a FIFO', fifo],
    ['.git/index', 'a symbolic link', link],
    ['.gitattributes', 'a FIFO', fifo],
    ['.git/info/attributes', 'a FIFO', fifo],
  ];

  it('each, as a FIFO, a link or a directory, is refused at once: exit 1, one line naming it; restored, ga works again', async () => {
    const repo = await initRepo(sb);
    const saved = join(sb.dir, 'saved');
    for (const [path, what, plant] of cases) {
      const abs = join(repo, path);
      const had = existsSync(abs);
      if (had) renameSync(abs, saved);
      plant(abs, saved);
      try {
        const r = await gaBounded(['-C', repo, 'status'], 15_000);
        expect(r.code, `${path} as ${what}: ${r.err}`).toBe(1);
        expect(r.err).toContain(abs);
        expect(r.err).toMatch(/not a regular file/);
        oneLine(r);
      } finally {
        rmSync(abs, { recursive: true, force: true });
        if (had) renameSync(saved, abs);
      }
    }
    const ok = await gaBounded(['-C', repo, 'status']);
    expect(ok.code, ok.err).toBe(0);
  });

  it('a FIFO .git/config is refused before git is ever started (git would hang on it even in rev-parse)', async () => {
    const repo = await initRepo(sb);
    const sub = join(repo, 'agents', 'noop');
    renameSync(join(repo, '.git/config'), join(sb.dir, 'config'));
    mkfifo(join(repo, '.git/config'));
    // From a subdirectory too: found the way git finds it.
    const r = await gaBounded(['-C', sub, 'list'], 15_000);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain(join(repo, '.git/config'));
    oneLine(r);
  });
});

describe('E. .ga is not evidence: whatever sits there is moved aside', () => {
  const outside = () => join(sb.dir, 'elsewhere');
  const cases: [string, (ga: string) => void][] = [
    ['a regular file', (p) => writeFileSync(p, 'not a directory\n')],
    ['a dangling symbolic link', (p) => symlinkSync(join(sb.dir, 'nowhere'), p)],
    ['a symbolic link loop', (p) => symlinkSync('.ga', p)],
    ['a symbolic link to a directory elsewhere', (p) => (mkdirSync(outside()), symlinkSync(outside(), p))],
    ['a FIFO', (p) => mkfifo(p)],
  ];

  it.each(cases)('.ga as %s: ga propose commits, .ga is a fresh directory, the old one is displaced', async (what, plant) => {
    const repo = await initRepo(sb);
    rmSync(join(repo, '.ga'), { recursive: true, force: true });
    plant(join(repo, '.ga'));
    const r = await proposeBounded(repo);
    expect(r.code, `${what}: ${r.err}`).toBe(0);
    expect(r.err).not.toMatch(/internal error/);
    expect(lstatSync(join(repo, '.ga')).isDirectory()).toBe(true);
    expect(readdirSync(repo).filter((n) => n.startsWith('.ga.displaced-'))).toHaveLength(1);
    if (existsSync(outside())) expect(readdirSync(outside())).toEqual([]); // nothing was written through the link
    const again = await proposeBounded(repo);
    expect(again.code, again.err).toBe(0);
    expect(readdirSync(repo).filter((n) => n.startsWith('.ga.displaced-'))).toHaveLength(1);
  });

  it('.ga/tmp (where commits build their index) and .ga/runs, .ga/cache as files, links or FIFOs do not stop a commit', async () => {
    const repo = await initRepo(sb);
    mkdirSync(join(repo, '.ga'), { recursive: true });
    for (const sub of ['tmp', 'runs', 'cache']) rmSync(join(repo, '.ga', sub), { recursive: true, force: true });
    writeFileSync(join(repo, '.ga/tmp'), 'x');
    symlinkSync('runs', join(repo, '.ga/runs'));
    mkfifo(join(repo, '.ga/cache'));
    const r = await proposeBounded(repo);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/internal error/);
    for (const sub of ['tmp', 'runs', 'cache']) expect(!existsSync(join(repo, '.ga', sub)) || lstatSync(join(repo, '.ga', sub)).isDirectory()).toBe(true);
    const s = await gaBounded(['-C', repo, 'status']);
    expect(s.code, s.err).toBe(0);
  });

  it('.ga/ledger as a symbolic link loop or a file does not stop a run (the ledger lock lives there)', async () => {
    const repo = await initRepo(sb);
    commitGoverned(
      sb,
      repo,
      { 'agents/quick/agent.toml': 'adapter = "command"\ncommand = ["true"]\n', 'agents/quick/tasks/smoke.md': 'quick\n' },
      'a quick agent',
    );
    mkdirSync(join(repo, '.ga'), { recursive: true });
    for (const plant of [() => symlinkSync('ledger', join(repo, '.ga/ledger')), () => writeFileSync(join(repo, '.ga/ledger'), 'x')]) {
      rmSync(join(repo, '.ga/ledger'), { recursive: true, force: true });
      plant();
      const r = await gaBounded(['-C', repo, 'run', 'quick'], 30_000);
      expect(r.code, r.out + r.err).toBe(0);
      expect(lstatSync(join(repo, '.ga/ledger')).isDirectory()).toBe(true);
    }
  });
});

describe('F. a lock is held by a live process, not by a file', () => {
  it.each([
    ['naming pid 1 with its real start time, mtime in 2100', (lock: string) => writeFileSync(lock, JSON.stringify({ pid: 1, start_ticks: startTicks(1) }))],
    [
      'naming a live node process that does not hold it (this test)',
      (lock: string) => writeFileSync(lock, JSON.stringify({ pid: process.pid, start_ticks: startTicks(process.pid) })),
    ],
    ['naming a dead pid', (lock: string) => writeFileSync(lock, JSON.stringify({ pid: 999_999_999, start_ticks: 1 }))],
    ['with no owner at all, mtime in 2100', (lock: string) => writeFileSync(lock, '')],
    ['as a directory (an old mkdir lock), mtime in 2100', (lock: string) => mkdirSync(lock)],
    ['as a symbolic link loop', (lock: string) => symlinkSync('repo.lock', lock)],
    ['as a FIFO', (lock: string) => mkfifo(lock)],
  ])('a planted .ga/repo.lock %s is taken over at once', async (_what, plant) => {
    const repo = await initRepo(sb);
    const lock = join(repo, '.ga/repo.lock');
    mkdirSync(join(repo, '.ga'), { recursive: true });
    plant(lock);
    const future = new Date('2100-01-01T00:00:00Z');
    try {
      utimesSync(lock, future, future);
    } catch {
      // a link loop has no times to set
    }
    // Old ctime too cannot be had (ctime is always now), so "being made" must give way within the grace period.
    const r = await proposeBounded(repo, 25_000);
    expect(r.code, r.err).toBe(0);
    expect(r.ms).toBeLessThan(15_000);
    expect(existsSync(lock)).toBe(false);
  });

  it('a planted watchdog lock does not keep the watchdog from starting', async () => {
    const repo = await initRepo(sb);
    mkdirSync(join(repo, '.ga/watchdog.lock'), { recursive: true });
    writeFileSync(join(repo, '.ga/watchdog.lock/owner'), '1');
    const future = new Date('2100-01-01T00:00:00Z');
    utimesSync(join(repo, '.ga/watchdog.lock'), future, future);
    const w = background(['-C', repo, 'watchdog']);
    try {
      await until(() => /watchdog started/.test(w.out()) || w.child.exitCode !== null, 15_000, 'the watchdog');
      expect(w.out() + w.err()).toMatch(/watchdog started/);
      // ... and a second one is still refused while the first lives.
      const second = await gaBounded(['-C', repo, 'watchdog']);
      expect(second.code, second.err).toBe(1);
      expect(second.err).toMatch(/already running/);
    } finally {
      await w.stop();
    }
  });

  const DIST = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;

  /** A node process holding `target`'s lock until killed; resolves once it holds it. */
  async function holder(target: string): Promise<ChildProcess> {
    const script = join(sb.dir, 'holder.mjs');
    writeFileSync(
      script,
      `import { withLock } from ${JSON.stringify(DIST('runtime/lock.js'))};
setInterval(() => {}, 1000);
await withLock(process.argv[2], async () => { process.stdout.write('locked\\n'); await new Promise(() => {}); });
`,
    );
    const child = spawn(process.execPath, [script, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => (String(b).includes('locked') ? resolve() : undefined));
      child.on('exit', () => reject(new Error('the holder exited')));
    });
    return child;
  }

  it('the lock records its holder (pid and start time); a live holder is waited for, a killed one is taken over at once', async () => {
    const dir = join(sb.dir, 'rt', '.ga');
    const target = join(dir, 'repo');
    const child = await holder(target);
    const owner = JSON.parse(readFileSync(`${target}.lock`, 'utf8')) as { pid: number; start_ticks: number };
    expect(owner.pid).toBe(child.pid);
    expect(owner.start_ticks).toBe(startTicks(child.pid!));
    // The holder's mtime says nothing: even "stale" by time, a live holder keeps it.
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(`${target}.lock`, old, old);
    let entered = 0;
    const waiting = withLock(target, () => Promise.resolve((entered = Date.now())));
    expect(await tryHoldLock(target)).toBeUndefined();
    await sleep(1500);
    expect(entered).toBe(0);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waiting;
    expect(entered).toBeGreaterThanOrEqual(killedAt);
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it("tryHoldLock: one holder at a time in and across processes; a dead holder's lock is taken at once", async () => {
    const target = join(sb.dir, 'rt2', '.ga', 'watchdog');
    const first = await tryHoldLock(target);
    expect(first).toBeDefined();
    expect(await tryHoldLock(target)).toBeUndefined();
    await first!();
    expect(existsSync(`${target}.lock`)).toBe(false);
    const child = await holder(target);
    expect(await tryHoldLock(target)).toBeUndefined();
    child.kill('SIGKILL');
    await until(() => child.exitCode !== null || child.signalCode !== null, 5000, 'the holder to die');
    const taken = await tryHoldLock(target);
    expect(taken).toBeDefined();
    await taken!();
  });

  it('four live processes incrementing a counter under the lock never interleave (4 x 25 = 100)', async () => {
    const target = join(sb.dir, 'rt3', '.ga', 'counter');
    const counter = join(sb.dir, 'count');
    writeFileSync(counter, '0');
    const script = join(sb.dir, 'inc.mjs');
    writeFileSync(
      script,
      `import { readFileSync, writeFileSync } from 'node:fs';
import { withLock } from ${JSON.stringify(DIST('runtime/lock.js'))};
for (let i = 0; i < 25; i++) {
  await withLock(process.argv[2], async () => {
    const n = Number(readFileSync(process.argv[3], 'utf8'));
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    writeFileSync(process.argv[3], String(n + 1));
  });
}
`,
    );
    const runs = Array.from({ length: 4 }, () => {
      const c = spawn(process.execPath, [script, target, counter], { stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(c);
      return new Promise<number>((resolve) => c.on('close', (code) => resolve(code ?? -1)));
    });
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    expect(readFileSync(counter, 'utf8')).toBe('100');
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('in one process, concurrent ga commands still take turns (the lock is per holder, not per pid)', async () => {
    const repo = await initRepo(sb);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => {
        const file = join(sb.dir, `p-${Math.random().toString(36).slice(2)}.toml`);
        writeFileSync(file, PUBLISH);
        return ga(['-C', repo, 'propose', '--file', file]);
      }),
    );
    for (const r of results) expect(r.code, r.err).toBe(0);
    expect(
      git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')
        .split('\n')
        .filter((p) => p.endsWith('.toml')),
    ).toHaveLength(4);
    expect(existsSync(join(repo, '.ga/repo.lock'))).toBe(false);
  });
});
