// The watchdog's settings as trusted: policies/watchdog.toml at its trusted
// version, or the defaults when there is none. A malformed file means the
// defaults too, and is reported as a bad file (the watchdog flags it once).
import type { Governance } from '../history/replay.js';
import { WATCHDOG_PATH } from '../layout/layout.js';
import { lazyValue } from '../schema/lazy.js';
import { parseWatchdog, watchdogSchema, type WatchdogSettings } from '../schema/watchdog.js';

/** The settings when policies/watchdog.toml is missing or malformed. */
export const defaultWatchdog = lazyValue((): WatchdogSettings => watchdogSchema().parse({}));

export async function watchdogSettings(gov: Governance, badFiles: { path: string; problem: string }[] = []): Promise<WatchdogSettings> {
  const text = await gov.readTrusted(WATCHDOG_PATH);
  if (!text) return defaultWatchdog();
  try {
    return parseWatchdog(text.toString('utf8'));
  } catch (e) {
    badFiles.push({ path: WATCHDOG_PATH, problem: (e as Error).message });
    return defaultWatchdog();
  }
}
