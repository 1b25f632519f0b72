// The notification commands as trusted: policies/notify.toml at its trusted
// version, or none. A malformed file means none, reported as a bad file (the
// watchdog flags it once), like policies/watchdog.toml.
import type { Governance } from '../history/replay.js';
import { NOTIFY_PATH } from '../layout/layout.js';
import { parseNotify, type NotifySettings } from '../schema/notify.js';

export async function notifySettings(gov: Governance, badFiles: { path: string; problem: string }[] = []): Promise<NotifySettings> {
  const text = await gov.readTrusted(NOTIFY_PATH);
  if (!text) return { notify: [] };
  try {
    return parseNotify(text.toString('utf8'));
  } catch (e) {
    badFiles.push({ path: NOTIFY_PATH, problem: (e as Error).message });
    return { notify: [] };
  }
}
