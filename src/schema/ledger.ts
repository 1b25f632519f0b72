// ledger/<agent>.jsonl lines, and the enumerations other files share with
// them (an agent.toml's window; where a run's charge came from).
import * as z from 'zod';
import { lazySchema } from './lazy.js';

export const ledgerWindowSchema = lazySchema(() => z.enum(['total', 'day', 'month'], { error: 'expected window = "total", "day" or "month"' }));
export type LedgerWindow = z.output<ReturnType<typeof ledgerWindowSchema>>;

/** reported: the agent's own figure; metered: ga's count of its usage; reservation: no usable report; unmetered: no way to know. */
export const chargeSourceSchema = lazySchema(() => z.enum(['reported', 'metered', 'reservation', 'unmetered']));
export type ChargeSource = z.output<ReturnType<typeof chargeSourceSchema>>;

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export const ledgerLineSchema = lazySchema(() => {
  const utc = z.string().regex(RFC3339_UTC, 'expected an RFC 3339 UTC time such as 2026-11-24T10:00:00Z');
  const tokens = z.number().int().nonnegative();
  const dollars = z.number().nonnegative(); // zod 4 numbers are finite
  return z.strictObject({
    at: utc,
    run: z.string().min(1),
    input_tokens: tokens,
    output_tokens: tokens,
    usd: dollars,
    source: chargeSourceSchema(),
    window: ledgerWindowSchema(),
    window_start: utc,
    window_usd: dollars,
    window_tokens: tokens,
    prev: z.string().regex(/^(?:[0-9a-f]{64})?$/, 'expected a sha256 hex digest or ""'),
  });
});
export type LedgerLine = z.output<ReturnType<typeof ledgerLineSchema>>;
