// Whether the watchdog is alive, from its own heartbeat under .ga/ (a hint:
// it decides only whether a run may start when policies/watchdog.toml says
// required = true, and fails closed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Repo } from '../git/repo.js';
import { processAlive, runtimeDir } from '../store/lock.js';

export interface WatchdogHealth {
  alive: boolean;
  detail: string;
}

/** The watchdog's own heartbeat under .ga/ (a hint only). */
export function watchdogHealth(repo: Repo, now: Date): WatchdogHealth {
  const file = join(runtimeDir(repo), 'watchdog.json');
  try {
    const hb = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; updated_at: string };
    const age = now.getTime() - Date.parse(hb.updated_at);
    const running = processAlive(hb.pid);
    if (running && age < 20_000) return { alive: true, detail: `pid ${hb.pid}, heartbeat ${Math.round(age / 1000)} s ago` };
    return { alive: false, detail: `last heartbeat ${hb.updated_at}${running ? '' : ', process gone'}` };
  } catch {
    return { alive: false, detail: 'not running (start it with ga watchdog)' };
  }
}

