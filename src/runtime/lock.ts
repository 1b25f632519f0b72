// Locks on files and on the whole repository (proper-lockfile, mkdir-based).
// Every write to git and to an append-only file happens under one of these.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { GovernanceRefusal } from '../errors.js';

// Waiting must outlast the stale period (10 s): a holder killed just after
// taking the lock leaves one that only turns stale then. About 25 to 50 s.
const RETRIES = { retries: 500, factor: 1.3, minTimeout: 2, maxTimeout: 50, randomize: true };

/** Runs `fn` holding the lock on `target` (which need not exist). */
export async function withLock<T>(target: string, fn: () => Promise<T>, opts: { stale?: number } = {}): Promise<T> {
  mkdirSync(dirname(target), { recursive: true });
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      retries: RETRIES,
      stale: opts.stale ?? 10_000,
      onCompromised: (err) => {
        compromised = err; // reported after fn; never thrown from a timer
      },
    });
  } catch (e) {
    throw new GovernanceRefusal(`could not take the lock ${target}.lock (${(e as Error).message}); another ga process holds it, try again`);
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
    if (compromised) process.emitWarning(`lock ${target}.lock was compromised: ${compromised.message}`);
  }
}

/**
 * Takes `target`'s lock without waiting, and keeps it fresh while held (a
 * daemon, a hook in flight); undefined when a live process holds it. The
 * holder's pid sits inside the lock, so a lock left by a killed holder is
 * taken over at once instead of after the stale period.
 */
export async function tryHoldLock(target: string): Promise<(() => Promise<void>) | undefined> {
  mkdirSync(dirname(target), { recursive: true });
  // Inside the lock directory, which mkdir made for this holder alone: never a previous holder's pid.
  const owner = join(`${target}.lock`, 'owner');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const release = await lockfile.lock(target, { realpath: false, lockfilePath: `${target}.lock`, stale: 10_000, update: 2_000, retries: 0, onCompromised: () => undefined });
      writeFileSync(owner, String(process.pid));
      return async () => {
        rmSync(owner, { force: true });
        await release().catch(() => undefined);
      };
    } catch {
      const pid = Number(readOwner(owner));
      if (!pid || processAlive(pid) || attempt > 0) return undefined;
      rmSync(`${target}.lock`, { recursive: true, force: true }); // its holder is dead
    }
  }
  return undefined;
}

function readOwner(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Where a repository lives, as the runtime needs it (git's Repo is one). */
export interface RepoPaths {
  /** The work tree. */
  root: string;
  /** The .git directory. */
  gitDir: string;
}

/** The runtime directory of a repository: locks, heartbeats, caches. Never committed. */
export function runtimeDir(repo: Pick<RepoPaths, 'root'>): string {
  return join(repo.root, '.ga');
}

/** One lock for every git write in a repository. */
export function withRepoLock<T>(repo: Pick<RepoPaths, 'root'>, fn: () => Promise<T>): Promise<T> {
  return withLock(join(runtimeDir(repo), 'repo'), fn);
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
