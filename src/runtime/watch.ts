// Watching the repository. File events (chokidar) are hints, never facts:
// whoever is woken re-reads the state from git and disk, bursts coalesce
// into bounded work, and a timer backs the events up (they can be dropped).
import { join } from 'node:path';
import { runtimeDir, type RepoPaths } from './lock.js';

/**
 * Calls `work` after each event, coalescing bursts: one run at a time, at
 * most one queued behind it, and one more `settleMs` after the last event,
 * because a second change to a file within ~50 ms may produce no event at all.
 */
export class Coalescer {
  private running: Promise<void> | undefined;
  private pending = false;
  private settle: NodeJS.Timeout | undefined;
  constructor(
    private readonly work: () => Promise<void>,
    private readonly settleMs = 80,
  ) {}
  poke(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.run(), this.settleMs);
    this.settle.unref();
    this.run();
  }
  private run(): void {
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
  /** Stops the trailing run and waits for the one in flight. */
  idle(): Promise<void> {
    clearTimeout(this.settle);
    return this.running ?? Promise.resolve();
  }
}

/** Where new commits show: HEAD and the branch refs. */
export function refPaths(repo: RepoPaths): string[] {
  return [join(repo.gitDir, 'HEAD'), join(repo.gitDir, 'refs', 'heads'), join(repo.gitDir, 'packed-refs')];
}

/** The paths whose changes wake the watchdog: the governed state and the refs. */
export function watchedPaths(repo: RepoPaths): string[] {
  return [
    join(repo.root, 'ledger'),
    join(repo.root, 'agents'),
    join(repo.root, 'proposals'),
    join(repo.root, 'policies'),
    join(runtimeDir(repo), 'runs'),
    ...refPaths(repo),
  ];
}

/** A chokidar watch on `paths`; every event is only a hint to look again. */
export async function watchRepository(paths: string[], onChange: () => void) {
  const { watch } = await import('chokidar');
  const watcher = watch(paths, {
    ignoreInitial: true,
    ignored: (p: string) => p.endsWith('.lock') || p.includes('/workspace/') || p.includes('.ga-tmp-'),
  });
  watcher.on('all', onChange);
  watcher.on('error', () => undefined); // a vanished directory: the timer sweep covers it
  return watcher;
}
