// policies/watchdog.toml: the watchdog's thresholds.
import * as z from 'zod';
import { duration } from './common.js';
import { parseTomlFile } from './toml.js';

export const watchdogSchema = z.strictObject({
  sweep_interval: duration.default('30s'),
  stuck_after: duration.default('30m'),
  heartbeat_timeout: duration.default('60s'),
  loop_count: z.number().int().min(2).default(3),
  loop_window: duration.default('10m'),
  tool_loop_count: z.number().int().min(2).default(5),
  required: z.boolean().default(false),
});
export type WatchdogSettings = z.output<typeof watchdogSchema>;

export const WATCHDOG_PATH = 'policies/watchdog.toml';

export function parseWatchdog(text: string, file = WATCHDOG_PATH): WatchdogSettings {
  return parseTomlFile(watchdogSchema, text, file);
}
