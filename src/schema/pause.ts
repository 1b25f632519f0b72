// agents/<id>/PAUSED: the pause marker. Present means paused, whatever it says.
import * as z from 'zod';
import { stringify } from 'smol-toml';
import { rfc3339 } from '../clock.js';
import { instant } from './common.js';
import { lazySchema } from './lazy.js';
import { parseTomlFile } from './toml.js';

export const PAUSE_REASONS = ['over-budget', 'stuck', 'looping', 'manual'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

export const pauseSchema = lazySchema(() =>
  z.strictObject({
    reason: z.enum(PAUSE_REASONS, { error: `expected reason = one of ${PAUSE_REASONS.join(', ')}` }),
    detail: z.string(),
    by: z.string().min(1),
    at: instant(),
  }),
);
export type PauseMarker = z.output<ReturnType<typeof pauseSchema>>;

export function parsePause(text: string, file: string): PauseMarker {
  return parseTomlFile(pauseSchema(), text, file);
}

export function serializePause(m: PauseMarker): string {
  const head = stringify({ reason: m.reason, detail: m.detail, by: m.by });
  return `${head}at = ${rfc3339(m.at)}\n`;
}
