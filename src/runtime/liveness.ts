// Whether the watchdog is alive. Its heartbeat under .ga/ says which process
// it is and when it last beat; liveness is then proven by that process
// itself (its start time, its state, this installation's ga as its script,
// `watchdog` as its command and this repository as the one it watches),
// never by the file: an agent can write the file, not be the watchdog. It
// decides whether a run may start when policies/watchdog.toml says
// required = true, and fails closed.
import type { RepoPaths } from './lock.js';
import { readWatchdogHeartbeat } from './records.js';
import { isLiveGaProcess } from './processes.js';

export interface WatchdogHealth {
  alive: boolean;
  detail: string;
}

/** A heartbeat older than this is a watchdog that has stopped sweeping (it beats every 5 s). */
const STALE_MS = 20_000;

export function watchdogHealth(repo: RepoPaths, now: Date): WatchdogHealth {
  const hb = readWatchdogHeartbeat(repo);
  if (!hb) return { alive: false, detail: 'not running (start it with ga watchdog)' };
  const live = isLiveGaProcess(hb, 'watchdog', repo.root);
  const age = now.getTime() - Date.parse(hb.updated_at);
  if (!live.alive) return { alive: false, detail: `not running: ${live.why} (start it with ga watchdog)` };
  if (!(age < STALE_MS)) return { alive: false, detail: `pid ${hb.pid} has not beaten since ${hb.updated_at}: it is stuck` };
  return { alive: true, detail: `pid ${hb.pid}, heartbeat ${Math.round(age / 1000)} s ago` };
}
