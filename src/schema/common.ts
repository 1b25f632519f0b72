// Field types shared by the governance file schemas. Durations are parsed
// here, into milliseconds, so no caller reparses one.
import * as z from 'zod';
import { ACTION_TYPE, AGENT_ID, PROPOSAL_ID } from '../layout/layout.js';
import { DURATION, parseDuration } from './duration.js';
import { lazySchema } from './lazy.js';

export { formatDuration, parseDuration } from './duration.js';

export const agentId = lazySchema(() => z.string().regex(AGENT_ID, 'expected an agent id: 1-64 of a-z 0-9 _ - starting with a letter or digit'));
export const actionType = lazySchema(() => z.string().regex(ACTION_TYPE, 'expected an action type: 1-64 of a-z 0-9 _ - starting with a letter or digit'));
export const proposalId = lazySchema(() => z.string().regex(PROPOSAL_ID, 'expected a proposal id: a-z 0-9 and -'));
/** A duration in a file ("90s", "30m"), parsed to milliseconds. */
export const duration = lazySchema(() =>
  z
    .string()
    .regex(DURATION, 'expected a duration such as "90s", "30m", "24h" (units ms s m h d)')
    .transform((text) => parseDuration(text)!),
);
export const usd = lazySchema(() => z.number().nonnegative('expected a non-negative number of US dollars'));

/** An RFC 3339 date-time with an offset (TOML offset date-time). */
export const instant = lazySchema(() =>
  z
    .date({ error: 'expected an RFC 3339 date-time with offset, such as 2026-11-24T10:00:00Z' })
    .refine((d) => !Number.isNaN(d.getTime()) && !(d as { isLocal?: () => boolean }).isLocal?.(), {
      message: 'expected an RFC 3339 date-time with offset (Z or +hh:mm), such as 2026-11-24T10:00:00Z',
    }),
);
