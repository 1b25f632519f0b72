// Locks on files and on the whole repository. Every write to git and to an
// append-only file happens under one of these.
//
// A lock is a regular file, `<target>.lock`, made exclusively (O_EXCL) by its
// holder, who keeps it open for as long as it holds the lock; inside are the
// holder's pid and process start time. It is held while that process is
// alive (the same start time: not a reused pid) and still has the file open,
// which /proc proves; what the file says proves nothing, since anyone can
// write it. Anything else at the path holds nothing and is taken over at
// once: the lock of a holder that died, a file an agent planted naming pid 1
// or the watchdog, a directory, a FIFO, a symlink loop. So no file can
// freeze ga, and two live ga processes still exclude each other.
//
// The runtime directory (.ga) is not evidence either: when something other
// than a directory sits where ga needs one, it is moved aside
// (`.ga.displaced-<time>`) and a fresh directory is made.
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { GovernanceRefusal } from '../errors.js';
import { fileKind, readUpTo } from './files.js';
import { processIdentity } from './processes.js';

/** How long withLock waits for a live holder before it refuses. */
const WAIT_MS = 30_000;
/** A lock file that names no holder yet may be one being made: it is given this long. */
const GRACE_MS = 2_000;

const RUNTIME_DIR = '.ga';
/** The directories ga makes directly under .ga (git commits' temporary index, runs, caches, ledger locks). */
const RUNTIME_SUBDIRS = ['tmp', 'runs', 'cache', 'ledger'];

interface Owner {
  pid: number;
  /** The holder's start time, in clock ticks since boot (/proc/<pid>/stat): a reused pid does not have it. */
  start_ticks: number;
}

interface Self extends Owner {
  /** Whether /proc shows processes here (Linux); without it, a live pid is all that can be checked. */
  proc: boolean;
  /** Whether /proc shows a process's open files here: the proof that a holder still holds its lock. */
  fds: boolean;
}

let selfCache: Self | undefined;

/**
 * This process as /proc names it. Inside a PID namespace that shares the
 * host's /proc, that is not process.pid: /proc/self says which it is.
 */
function self(): Self {
  if (selfCache) return selfCache;
  let pid = process.pid;
  try {
    pid = Number(readlinkSync('/proc/self'));
  } catch {
    // no /proc
  }
  const id = Number.isInteger(pid) && pid > 0 ? processIdentity(pid) : undefined;
  if (!id) return (selfCache = { pid: process.pid, start_ticks: 0, proc: false, fds: false });
  let fds = false;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length > 0;
  } catch {
    // a /proc that hides open files
  }
  return (selfCache = { pid, start_ticks: id.startTicks, proc: true, fds });
}

function parseOwner(bytes: Buffer): Owner | undefined {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as Partial<Owner> | null;
    if (o && Number.isInteger(o.pid) && o.pid! > 0 && Number.isInteger(o.start_ticks) && o.start_ticks! >= 0)
      return { pid: o.pid!, start_ticks: o.start_ticks! };
  } catch {
    // not an owner record
  }
  return undefined;
}

/** Whether process `pid` has the file (dev, ino) open; undefined when its open files cannot be seen. */
function holdsOpen(pid: number, file: BigIntStats): boolean | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`, { bigint: true });
      if (st.ino === file.ino && st.dev === file.dev) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** Whether `owner`, read from the lock file `file`, is a live process that holds it, and if not, why not. */
function ownerLive(owner: Owner, file: BigIntStats): { live: boolean; why: string } {
  const me = self();
  if (!me.proc) return processAlive(owner.pid) ? { live: true, why: `process ${owner.pid} holds it` } : { live: false, why: `process ${owner.pid} is gone` };
  const id = processIdentity(owner.pid);
  if (!id) return { live: false, why: `process ${owner.pid} is gone` };
  if (id.startTicks !== owner.start_ticks) return { live: false, why: `process ${owner.pid} is not the one recorded (the pid was reused or forged)` };
  if (!me.fds) return { live: true, why: `process ${owner.pid} holds it` };
  const open = holdsOpen(owner.pid, file);
  if (open === false) return { live: false, why: `process ${owner.pid} does not hold it` };
  // Held, or the recorded process (alive, with its start time) cannot be looked into right now: it may hold it, so it is waited for.
  return { live: true, why: `process ${owner.pid} holds it` };
}

/** Tracks a lock file that names no holder, so that one planted and kept fresh is not waited on for ever. */
interface Unnamed {
  ino?: bigint;
  since: number;
}

type Verdict = { gone: true } | { live: true; why: string } | { live: false; judged: BigIntStats; why: string };

/** What holds `lockPath`, judged from the process it names, never from the file alone. */
function judge(lockPath: string, unnamed: Unnamed): Verdict {
  let fd: number;
  try {
    fd = openSync(lockPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { gone: true };
    // A symbolic link (or anything that cannot be opened): not a lock ga made.
    try {
      return { live: false, judged: lstatSync(lockPath, { bigint: true }), why: `it is ${fileKind(lockPath)}, not a lock file` };
    } catch {
      return { gone: true };
    }
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) return { live: false, judged: st, why: 'it is not a lock file' };
    // Released meanwhile: a holder unlinks its lock before it closes it, so a file no longer held and still linked is one whose holder died.
    if (st.nlink === 0n) return { gone: true };
    const owner = parseOwner(readUpTo(fd, 4096));
    if (owner) {
      const v = ownerLive(owner, st);
      if (v.live) return { live: true, why: v.why };
      // A holder releases by unlinking, then closing: one seen not holding it may have just released it. Then the
      // file is unlinked by now, and it is gone, not stale (taking it over could remove the next holder's lock).
      if (fstatSync(fd, { bigint: true }).nlink === 0n) return { gone: true };
      return { live: false, judged: st, why: v.why };
    }
    // Its maker writes the owner right after creating it: a young file may be one being made.
    const now = Date.now();
    if (unnamed.ino !== st.ino) Object.assign(unnamed, { ino: st.ino, since: now });
    const young = now - Number(st.ctimeMs) < GRACE_MS && now - unnamed.since < GRACE_MS;
    return young ? { live: true, why: 'it is being taken' } : { live: false, judged: st, why: 'it names no live holder' };
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes what was judged at `lockPath`, and only that. A taker first gives
 * the judged file a second name of its own, `<lock>.stale-<inode>`: made
 * exclusively, so one taker at a time per judged file, and checked to be
 * that very file (not a lock taken meanwhile); while that name exists, no
 * other process may remove the judged file, so the taker alone unlinks it.
 * A directory (never a lock ga makes: planted, or an old mkdir lock) cannot
 * be linked, and is moved aside instead, then put back if it was not the one judged.
 */
function takeOver(lockPath: string, judged: BigIntStats): string | undefined {
  if (judged.isDirectory()) return takeOverDirectory(lockPath, judged);
  const claim = `${lockPath}.stale-${judged.ino}`;
  try {
    linkSync(lockPath, claim);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined; // gone meanwhile
    if (code !== 'EEXIST') return `it cannot be taken over (${code ?? (e as Error).message})`;
    // Another taker is at it; or one died in the middle, leaving its claim (or an agent planted one).
    const st = lstatSync(claim, { bigint: true, throwIfNoEntry: false });
    if (st && Date.now() - Number(st.ctimeMs) > GRACE_MS) rmSync(claim, { recursive: true, force: true });
    return undefined;
  }
  try {
    const claimed = lstatSync(claim, { bigint: true });
    const current = lstatSync(lockPath, { bigint: true, throwIfNoEntry: false });
    const same = (st: BigIntStats | undefined) => st !== undefined && st.ino === judged.ino && st.dev === judged.dev;
    if (same(claimed) && same(current)) unlinkSync(lockPath);
  } catch {
    // gone meanwhile
  } finally {
    rmSync(claim, { force: true });
  }
  return undefined;
}

function takeOverDirectory(lockPath: string, judged: BigIntStats): string | undefined {
  const grave = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    renameSync(lockPath, grave);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `it cannot be taken over (${code ?? (e as Error).message})`;
  }
  const moved = lstatSync(grave, { bigint: true, throwIfNoEntry: false });
  if (moved && (moved.ino !== judged.ino || moved.dev !== judged.dev)) {
    // A lock file taken meanwhile: put back under its name (a hard link keeps its inode, so its holder still holds it).
    try {
      if (moved.isFile()) linkSync(grave, lockPath);
      else renameSync(grave, lockPath);
    } catch {
      // the path was taken again in between: nothing more can be done
    }
  }
  rmSync(grave, { recursive: true, force: true });
  return undefined;
}

interface Held {
  fd: number;
  path: string;
}

/** One try at `lockPath`, taking over whatever holds nothing; the reason when a live process holds it. */
function attempt(lockPath: string, unnamed: Unnamed): Held | { busy: string } {
  let why = 'it kept changing hands';
  for (let i = 0; i < 4; i++) {
    // The lock file appears with its owner already in it (written under a name of its own, then linked into
    // place, which fails if the lock exists): no other process ever sees it nameless, however slow this one is.
    let made: Held;
    try {
      made = ownerFile(lockPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        ensureDir(dirname(lockPath)); // its directory went away (or was replaced) meanwhile
        continue;
      }
      return { busy: `it cannot be made (${code ?? (e as Error).message})` };
    }
    try {
      linkSync(made.path, lockPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      discard(made);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        ensureDir(dirname(lockPath));
        continue;
      }
      if (code !== 'EEXIST') return { busy: `it cannot be made (${code ?? (e as Error).message})` };
      const v = judge(lockPath, unnamed);
      if ('gone' in v) continue;
      if (v.live) return { busy: v.why };
      why = v.why;
      const stuck = takeOver(lockPath, v.judged);
      if (stuck) return { busy: `${v.why}, but ${stuck}` };
      continue;
    }
    rmSync(made.path, { force: true }); // the lock keeps the inode (and this process's descriptor on it)
    return { fd: made.fd, path: lockPath };
  }
  return { busy: why };
}

/** A new file next to the lock, holding this process as its owner, still open. */
function ownerFile(lockPath: string): Held {
  const path = `${lockPath}.new-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  const me = self();
  try {
    writeSync(fd, `${JSON.stringify({ pid: me.pid, start_ticks: me.start_ticks, acquired_at: new Date().toISOString() })}\n`);
  } catch (e) {
    discard({ fd, path });
    throw e;
  }
  return { fd, path };
}

function discard(h: Held): void {
  rmSync(h.path, { force: true });
  closeSync(h.fd);
}

/** Releases a lock: removes the file if it is still this holder's, then closes it. */
function release(h: Held): void {
  try {
    const mine = fstatSync(h.fd, { bigint: true });
    const there = lstatSync(h.path, { bigint: true, throwIfNoEntry: false });
    if (there && there.ino === mine.ino && there.dev === mine.dev) unlinkSync(h.path);
    else process.emitWarning(`lock ${h.path} was taken over while held`);
  } catch {
    // gone already
  } finally {
    closeSync(h.fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` holding the lock on `target` (which need not exist); waits up to WAIT_MS for a live holder. */
export async function withLock<T>(target: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = `${target}.lock`;
  ensureDir(dirname(target));
  const unnamed: Unnamed = { since: 0 };
  const deadline = Date.now() + WAIT_MS;
  let delay = 2;
  let held: Held | undefined;
  for (;;) {
    const a = attempt(lockPath, unnamed);
    if ('fd' in a) {
      held = a;
      break;
    }
    if (Date.now() >= deadline) throw new GovernanceRefusal(`could not take the lock ${lockPath}: ${a.busy}; another ga process holds it, try again`);
    await sleep(delay * (0.5 + Math.random()));
    delay = Math.min(50, delay * 1.3);
  }
  try {
    return await fn();
  } finally {
    release(held);
  }
}

/**
 * Takes `target`'s lock without waiting, and holds it until released (a
 * daemon, a hook in flight); undefined when a live process holds it. A lock
 * left by a holder that died is taken over at once.
 */
export function tryHoldLock(target: string): Promise<(() => Promise<void>) | undefined> {
  const lockPath = `${target}.lock`;
  ensureDir(dirname(target));
  const a = attempt(lockPath, { since: 0 });
  if (!('fd' in a)) return Promise.resolve(undefined);
  let released = false;
  return Promise.resolve(() => {
    if (!released) release(a);
    released = true;
    return Promise.resolve();
  });
}

// ---------------------------------------------------------------- the runtime directory

/**
 * Moves aside what sits at `path` (not a directory), keeping it for whoever
 * wants to look: a hard link first, which can never take a directory along
 * if another process made one there meanwhile; a rename when no link can be made.
 */
function displace(path: string): void {
  const to = `${path}.displaced-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  try {
    linkSync(path, to);
  } catch {
    const kind = fileKind(path);
    if (kind === 'directory' || kind === 'missing') return;
    try {
      renameSync(path, to);
    } catch {
      rmSync(path, { force: true });
    }
    return;
  }
  try {
    unlinkSync(path);
  } catch {
    // replaced by a directory meanwhile, or gone: either will do
  }
}

/**
 * Makes `dir` a directory and returns it. Below a runtime directory (.ga,
 * .ga itself included), whatever is not a real directory where one is needed
 * (a file, a symbolic link, a loop, a FIFO) is displaced and a fresh
 * directory made: nothing under .ga is evidence, so nothing there may stop ga.
 */
export function ensureDir(dir: string): string {
  const parts = dir.split(sep);
  const at = parts.lastIndexOf(RUNTIME_DIR);
  if (at < 0) {
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const base = parts.slice(0, at).join(sep);
  if (base) mkdirSync(base, { recursive: true });
  for (let i = at; i < parts.length; i++) {
    if (parts[i] === '') continue;
    const p = parts.slice(0, i + 1).join(sep);
    for (let tries = 0; ; tries++) {
      const kind = fileKind(p);
      if (kind === 'directory') break;
      if (tries === 3) throw new GovernanceRefusal(`${p} could not be made a directory (it is ${kind}); remove it`);
      if (kind !== 'missing') displace(p);
      try {
        mkdirSync(p);
      } catch {
        // made by another process meanwhile, or not makeable: looked at again
      }
    }
  }
  return dir;
}

/** Where a repository lives, as the runtime needs it (git's Repo is one). */
export interface RepoPaths {
  /** The work tree. */
  root: string;
  /** The .git directory. */
  gitDir: string;
}

/**
 * The runtime directory of a repository: locks, heartbeats, caches. Never
 * committed, never evidence. When something other than a directory sits
 * there, or where ga makes one of its directories under it (a file, a link,
 * a loop, a FIFO), it is displaced first, so that whatever ga makes lands in
 * a real directory; the directories themselves are made by whoever writes.
 */
export function runtimeDir(repo: Pick<RepoPaths, 'root'>): string {
  const dir = join(repo.root, RUNTIME_DIR);
  const kind = fileKind(dir);
  if (kind !== 'directory' && kind !== 'missing') displace(dir);
  else if (kind === 'directory') {
    for (const sub of RUNTIME_SUBDIRS) {
      const k = fileKind(join(dir, sub));
      if (k !== 'directory' && k !== 'missing') displace(join(dir, sub));
    }
  }
  return dir;
}

/** A directory under the runtime directory, made (and repaired) as ensureDir does. */
export function runtimeSubdir(repo: Pick<RepoPaths, 'root'>, ...names: string[]): string {
  return ensureDir(join(runtimeDir(repo), ...names));
}

/** One lock for every git write in a repository. */
export function withRepoLock<T>(repo: Pick<RepoPaths, 'root'>, fn: () => Promise<T>): Promise<T> {
  return withLock(join(runtimeSubdir(repo), 'repo'), fn);
}

/** Whether a process still exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
