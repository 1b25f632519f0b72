// `ga watchdog`: a separate process that needs no cooperation from agents.
// File events (chokidar on the working tree, .git/HEAD and the refs) are
// hints that trigger a sweep at once; a timer sweeps anyway, because events
// can be dropped. Bursts coalesce: at most one sweep runs, and at most one
// more is queued behind it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { GaError, GovernanceRefusal } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { git } from '../git/exec.js';
import { LiveReading } from '../history/replay.js';
import { runtimeDir, tryHoldLock } from '../runtime/lock.js';
import { followHub } from '../hub/follow.js';
import { hubSettings } from '../policy/hub.js';
import { formatDuration } from '../schema/common.js';
import { sweepOnce, type SweepResult } from './sweep.js';
import { watchdogSettings } from '../policy/watchdog.js';
import { watchdogHeartbeatFile, writeWatchdogHeartbeat } from '../runtime/records.js';
import { ownIdentity } from '../runtime/processes.js';
import { Coalescer, watchedPaths, watchRepository } from '../runtime/watch.js';

export interface WatchOptions {
  clock: Clock;
  log(line: string): void;
  /** Resolves to stop the daemon (signals in the CLI, a promise in tests). */
  until: Promise<void>;
}

/** Holds the single-instance lock of a repository for the process's lifetime. */
async function lockInstance(repo: Repo, name: string): Promise<() => Promise<void>> {
  const target = join(runtimeDir(repo), name);
  const release = await tryHoldLock(target);
  if (!release) throw new GovernanceRefusal(`another ${name} is already running on ${repo.root}; stop it first (or remove ${target}.lock if it is dead)`);
  return release;
}

export async function runWatchdog(repo: Repo, opts: WatchOptions): Promise<void> {
  const release = await lockInstance(repo, 'watchdog');
  const startedAt = opts.clock.now().toISOString();
  const me = ownIdentity();
  const beat = () => {
    try {
      writeWatchdogHeartbeat(repo, { pid: me.pid, start_ticks: me.startTicks, started_at: startedAt, updated_at: opts.clock.now().toISOString() });
    } catch (e) {
      opts.log(`${opts.clock.now().toISOString()} heartbeat not written: ${(e as Error).message}`);
    }
  };
  // One reading for the daemon's life: a sweep after a commit replays that commit, not all of history.
  const reading = new LiveReading(repo);
  const first = await reading.current();
  const settings = await watchdogSettings(first);
  const sweeper = new Coalescer(async () => {
    try {
      report(await sweepOnce(repo, opts.clock, () => reading.current()), opts);
    } catch (e) {
      // Nothing a bad file or a busy repository does may stop the daemon.
      opts.log(`${opts.clock.now().toISOString()} sweep failed: ${e instanceof GaError ? e.message : (e as Error).stack}`);
    }
  });
  beat();
  const beatTimer = setInterval(beat, 5_000);
  const sweepTimer = setInterval(() => {
    sweeper.poke();
    // ga's plumbing commits never trigger git's own housekeeping: pack the history when git thinks it is due.
    void git(['gc', '--auto', '--quiet'], { cwd: repo.root, allowFailure: true });
  }, settings.sweep_interval);
  const watcher = await watchRepository(watchedPaths(repo), () => sweeper.poke());
  // With a hub: pauses and charges from other clones arrive, and this watchdog's pauses leave, every sync_interval.
  const hub = await hubSettings(first).catch(() => undefined);
  const follower = hub && followHub(repo, { urls: hub.url, branch: hub.branch }, hub.sync_interval, opts.clock, opts.log);
  opts.log(`${startedAt} watchdog started on ${repo.root} (pid ${process.pid}, sweep every ${formatDuration(settings.sweep_interval)})`);
  sweeper.poke();
  try {
    await opts.until;
  } finally {
    clearInterval(beatTimer);
    clearInterval(sweepTimer);
    await watcher.close();
    await follower?.stop();
    await sweeper.idle(); // the commit in flight finishes; nothing is left half-done
    rmSync(watchdogHeartbeatFile(repo), { force: true });
    await release().catch(() => undefined);
    opts.log(`${opts.clock.now().toISOString()} watchdog stopped`);
  }
}

function report(r: SweepResult, opts: WatchOptions): void {
  const at = opts.clock.now().toISOString();
  for (const p of r.paused) opts.log(`${at} paused ${p.agent} (${p.reason}): ${p.detail}`);
  for (const id of r.expired) opts.log(`${at} expired ${id}`);
  for (const f of r.flagged) opts.log(`${at} flagged bad file ${f.path}: ${f.problem}`);
  for (const n of r.notified)
    opts.log(`${at} ${n.ok ? 'notified' : 'notify failed:'} ${n.event} (${n.key.split(' ')[0]!.slice(0, 12)}) with ${n.command}${n.why ? `: ${n.why}` : ''}`);
  if (r.notifyProblem) opts.log(`${at} ${r.notifyProblem}`);
  if (r.skipped) opts.log(`${at} sweep skipped: ${r.skipped}`);
}
