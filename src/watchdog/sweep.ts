// One watchdog sweep: read the state, expire what is due, pause what the
// rules find (once: an agent already paused is left alone), flag bad files
// once. The daemon and `ga watchdog --once` both run exactly this.
import { recordEvents } from '../audit/record.js';
import type { Clock } from '../clock.js';
import { GaError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { loadGovernance, placesInTimeline, type Governance } from '../history/replay.js';
import { pauseAgents } from '../pause/actions.js';
import { governedBranch, onGovernedBranch } from '../trust/branch.js';
import { pauseState } from '../agents/paused.js';
import { raiseHighWater } from '../trust/highwater.js';
import { expireProposals } from '../proposals/decide.js';
import { readFlagMemory, readRunHeartbeat, retireRunHeartbeat, runHeartbeatFile, writeFlagMemory } from '../runtime/records.js';
import { watchdogSettings } from '../policy/watchdog.js';
import { agentNamedBy } from '../layout/layout.js';
import { processAlive } from '../runtime/lock.js';
import { judge, type BadFile } from './rules.js';
import { sendNotifications, type Notified } from './notify.js';
import { notifySettings } from '../policy/notify.js';

export interface SweepResult {
  paused: { agent: string; reason: string; detail: string }[];
  expired: string[];
  flagged: BadFile[];
  /** Notifications sent (policies/notify.toml), each command's result. */
  notified: Notified[];
  /** Why notifications could not be sent at all this time (their record under .ga/ could not be written). */
  notifyProblem?: string;
  /** Why nothing was judged (HEAD is off the governed branch). */
  skipped?: string;
}

/**
 * The bad files of the last sweep, so that each is recorded once while it
 * stays bad; one that is mended and breaks again is recorded again.
 */
class FlagMemory {
  private readonly before: Set<string>;
  constructor(private readonly repo: Repo) {
    this.before = new Set(readFlagMemory(repo));
  }
  /** Remembers exactly `current`; returns those that were not bad last time. */
  update(current: string[]): Set<string> {
    try {
      writeFlagMemory(this.repo, [...new Set(current)]);
    } catch {
      // not remembered: a bad file is flagged again next time, which is only noise
    }
    return new Set(current.filter((k) => !this.before.has(k)));
  }
}

/**
 * `read` gives the reading of history to judge: a fresh one by default (ga
 * watchdog --once), the daemon's LiveReading extended by what is new.
 */
export async function sweepOnce(repo: Repo, clock: Clock, read: () => Promise<Governance> = () => loadGovernance(repo)): Promise<SweepResult> {
  const result: SweepResult = { paused: [], expired: [], flagged: [], notified: [] };
  if (!(await onGovernedBranch(repo))) {
    result.skipped = `HEAD is not on the governed branch ${(await governedBranch(repo)).name}: what happens elsewhere does not count, and a runner refuses to start there`;
    return result;
  }
  let gov = await read();
  result.expired = await expireProposals(repo, { clock, actor: 'watchdog', gov });
  if (result.expired.length) gov = await read(); // proposals moved: judge the new state
  // What the watchdog has seen; a later reset fails closed. A mark in the reading's timeline is behind HEAD (read verified).
  const places = placesInTimeline(gov);
  await raiseHighWater(repo, gov.head, { behind: (mark) => places.has(mark) });
  const badFiles: BadFile[] = [];
  const settings = await watchdogSettings(gov, badFiles);
  const notify = await notifySettings(gov, badFiles);
  const now = clock.now();
  const { findings, badFiles: more } = await judge(gov, settings, now);
  badFiles.push(...more);

  const done = new Set<string>();
  for (const f of findings) {
    if (done.has(f.agent)) continue;
    done.add(f.agent);
    if (!(await pauseState(gov, f.agent)).paused) {
      const paused = await pauseAgents(repo, [f.agent], { reason: f.reason, detail: f.detail, by: 'watchdog' }, clock);
      if (paused.length) result.paused.push({ agent: f.agent, reason: f.reason, detail: f.detail });
    }
  }
  // A dead run has been acted on: retire its heartbeat so that a resume is not undone by a
  // file nobody will update again. A live but silent runner stays the cause.
  for (const f of findings) {
    if (f.reason !== 'stuck' || !f.run) continue;
    const file = runHeartbeatFile(repo, f.run);
    const hb = readRunHeartbeat(file);
    if (!hb || !processAlive(hb.runner_pid)) retireRunHeartbeat(file);
  }

  const key = (bad: BadFile) => `${bad.path}\n${bad.problem}`;
  const fresh = new FlagMemory(repo).update(badFiles.map(key));
  for (const bad of badFiles) {
    if (!fresh.has(key(bad))) continue;
    fresh.delete(key(bad)); // the same problem twice in one sweep is one flag
    const agent = agentNamedBy(bad.path);
    try {
      await recordEvents(repo, {
        subject: `flag bad file ${bad.path}`,
        events: [{ event: 'flag-bad-file', actor: 'watchdog', agent: agent ?? 'ga', reason: `${bad.path}: ${bad.problem}` }],
        at: now,
      });
      result.flagged.push(bad);
    } catch (e) {
      if (!(e instanceof GaError)) throw e;
    }
  }
  // Last, so that a slow notification never delays a pause; a problem with them never fails the sweep.
  try {
    result.notified = await sendNotifications(gov, notify);
  } catch (e) {
    result.notifyProblem = `notifications not sent: ${(e as Error).message}`;
  }
  return result;
}
