// policies/notify.toml: commands the watchdog runs on events (optional).
import * as z from 'zod';
import { duration } from './common.js';
import { NOTIFY_PATH } from '../layout/layout.js';
import { lazySchema } from './lazy.js';
import { parseTomlFile } from './toml.js';

/** What a person may want to hear of: a proposal waiting, an approval, an outcome, a pause, a finding of ga verify. */
export const NOTIFY_EVENTS = ['proposal-waiting', 'proposal-approved', 'proposal-outcome', 'agent-paused', 'verify-finding'] as const;
export type NotifyKind = (typeof NOTIFY_EVENTS)[number];

export const notifySchema = lazySchema(() => {
  const commandSchema = z.strictObject({
    on: z
      .array(z.enum(NOTIFY_EVENTS, { error: `expected events among ${NOTIFY_EVENTS.join(', ')}` }))
      .min(1)
      .default([...NOTIFY_EVENTS]),
    command: z.array(z.string().min(1)).min(1, 'expected command = ["program", "arg", ...]'),
    timeout: duration().prefault('30s'),
  });
  return z.strictObject({ notify: z.array(commandSchema).default([]) });
});
export type NotifySettings = z.output<ReturnType<typeof notifySchema>>;
export type NotifyCommand = NotifySettings['notify'][number];

export function parseNotify(text: string, file = NOTIFY_PATH): NotifySettings {
  return parseTomlFile(notifySchema(), text, file);
}
