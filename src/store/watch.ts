// Watching the repository. File events (chokidar) are hints, never facts:
// whoever is woken re-reads the state from git and disk, bursts coalesce
// into bounded work, and a timer backs the events up (they can be dropped).
import { join } from 'node:path';
import type { Repo } from '../git/repo.js';
import { runtimeDir } from './lock.js';

/** Calls `work` after each event, coalescing bursts; resolves when stopped and idle. */
export class Coalescer {
  private running: Promise<void> | undefined;
  private pending = false;
  constructor(private readonly work: () => Promise<void>) {}
  poke(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = (async () => {
      do {
        this.pending = false;
        await this.work();
      } while (this.pending);
    })().finally(() => {
      this.running = undefined;
    });
  }
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}

/** Where new commits show: HEAD and the branch refs. */
export function refPaths(repo: Repo): string[] {
  return [join(repo.gitDir, 'HEAD'), join(repo.gitDir, 'refs', 'heads'), join(repo.gitDir, 'packed-refs')];
}

/** The paths whose changes wake the watchdog: the governed state and the refs. */
export function watchedPaths(repo: Repo): string[] {
  return [
    join(repo.root, 'ledger'), join(repo.root, 'agents'), join(repo.root, 'proposals'), join(repo.root, 'policies'),
    join(runtimeDir(repo), 'runs'), ...refPaths(repo),
  ];
}

export async function watchRepository(repo: Repo, paths: string[], onChange: () => void) {
  const { watch } = await import('chokidar');
  const watcher = watch(paths, {
    ignoreInitial: true,
    ignored: (p: string) => p.endsWith('.lock') || p.includes('/workspace/') || p.includes('.ga-tmp-'),
  });
  watcher.on('all', onChange);
  watcher.on('error', () => undefined); // a vanished directory: the timer sweep covers it
  return watcher;
}

