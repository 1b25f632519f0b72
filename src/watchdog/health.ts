// Whether the watchdog is alive. Its heartbeat under .ga/ says which process
// it is and when it last beat; liveness is then proven by that process
// itself (its start time, program and command line), never by the file: an
// agent can write the file, not be the watchdog. It decides whether a run may
// start when policies/watchdog.toml says required = true, and fails closed.
import { join } from 'node:path';
import type { Repo } from '../git/repo.js';
import { runtimeDir } from '../runtime/lock.js';
import { readJsonHint } from '../runtime/files.js';
import { isLiveGaProcess } from '../runtime/processes.js';

export interface WatchdogHealth {
  alive: boolean;
  detail: string;
}

export const watchdogHeartbeatFile = (repo: Repo) => join(runtimeDir(repo), 'watchdog.json');

/** A heartbeat older than this is a watchdog that has stopped sweeping (it beats every 5 s). */
const STALE_MS = 20_000;

export function watchdogHealth(repo: Repo, now: Date): WatchdogHealth {
  const hb = readJsonHint(watchdogHeartbeatFile(repo)) as { pid?: unknown; start_ticks?: unknown; updated_at?: unknown } | undefined;
  if (!hb) return { alive: false, detail: 'not running (start it with ga watchdog)' };
  const live = isLiveGaProcess(hb, 'watchdog');
  const updated = typeof hb.updated_at === 'string' ? Date.parse(hb.updated_at) : NaN;
  const age = now.getTime() - updated;
  if (!live.alive) return { alive: false, detail: `not running: ${live.why} (start it with ga watchdog)` };
  if (!(age < STALE_MS)) return { alive: false, detail: `pid ${hb.pid as number} has not beaten since ${String(hb.updated_at)}: it is stuck` };
  return { alive: true, detail: `pid ${hb.pid as number}, heartbeat ${Math.round(age / 1000)} s ago` };
}
