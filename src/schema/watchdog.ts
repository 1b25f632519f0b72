// policies/watchdog.toml: the watchdog's thresholds.
import * as z from 'zod';
import { duration } from './common.js';
import { WATCHDOG_PATH } from '../layout/layout.js';
import { lazySchema } from './lazy.js';
import { parseTomlFile } from './toml.js';

export const watchdogSchema = lazySchema(() =>
  z.strictObject({
    sweep_interval: duration().prefault('30s'),
    stuck_after: duration().prefault('30m'),
    heartbeat_timeout: duration().prefault('60s'),
    loop_count: z.number().int().min(2).default(3),
    loop_window: duration().prefault('10m'),
    tool_loop_count: z.number().int().min(2).default(5),
    required: z.boolean().default(false),
  }),
);
export type WatchdogSettings = z.output<ReturnType<typeof watchdogSchema>>;

export function parseWatchdog(text: string, file = WATCHDOG_PATH): WatchdogSettings {
  return parseTomlFile(watchdogSchema(), text, file);
}
