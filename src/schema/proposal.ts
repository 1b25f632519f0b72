// The proposal file: what an agent submits and what ga stores.
import { stringify } from 'smol-toml';
import * as z from 'zod';
import { rfc3339 } from '../clock.js';
import { actionType, agentId, instant, proposalId } from './common.js';
import { parseTomlFile } from './toml.js';

const cost = z.strictObject({
  tokens: z.number().int().nonnegative().default(0),
  usd: z.number().nonnegative().default(0),
});

const text = (what: string) => z.string({ error: `expected ${what} as a string` });

/** What `ga propose --file` accepts. id and created_at are assigned by ga. */
export const submissionSchema = z.strictObject({
  agent: agentId,
  action_type: actionType,
  title: text('a title').min(1, 'expected a non-empty title').max(200, 'expected a title of at most 200 characters'),
  rationale: text('the rationale').default(''),
  expected_outcome: text('the expected outcome').default(''),
  reversible: z.boolean().default(true),
  requires_approval: z.boolean().default(true),
  expires_at: instant.optional(),
  expected_cost: cost.default({ tokens: 0, usd: 0 }),
  payload: z.record(z.string(), z.unknown(), { error: 'expected a [payload] table' }),
});
export type Submission = z.output<typeof submissionSchema>;

/** A stored proposal: every field present. */
export const proposalSchema = z.strictObject({
  id: proposalId,
  agent: agentId,
  action_type: actionType,
  title: z.string().min(1),
  rationale: z.string(),
  expected_outcome: z.string(),
  reversible: z.boolean(),
  requires_approval: z.boolean(),
  created_at: instant,
  expires_at: instant,
  expected_cost: z.strictObject({ tokens: z.number().int().nonnegative(), usd: z.number().nonnegative() }),
  payload: z.record(z.string(), z.unknown()),
});
export type Proposal = z.output<typeof proposalSchema>;

export function parseProposal(text: string, file: string): Proposal {
  return parseTomlFile(proposalSchema, text, file);
}

/** The normalised stored form. Its bytes never change once committed. */
export function serializeProposal(p: Proposal): string {
  const q = (s: string) => JSON.stringify(s);
  const head = [
    `id = ${q(p.id)}`,
    `agent = ${q(p.agent)}`,
    `action_type = ${q(p.action_type)}`,
    `title = ${q(p.title)}`,
    `rationale = ${q(p.rationale)}`,
    `expected_outcome = ${q(p.expected_outcome)}`,
    `reversible = ${p.reversible}`,
    `requires_approval = ${p.requires_approval}`,
    `created_at = ${rfc3339(p.created_at)}`,
    `expires_at = ${rfc3339(p.expires_at)}`,
    '',
    '[expected_cost]',
    `tokens = ${p.expected_cost.tokens}`,
    `usd = ${Number.isInteger(p.expected_cost.usd) ? p.expected_cost.usd.toFixed(1) : p.expected_cost.usd}`,
    '',
  ].join('\n');
  const payload = stringify({ payload: p.payload });
  return `${head}${payload.includes('[payload]') ? payload : `[payload]\n${payload}`}\n`.replace(/\n+$/, '\n');
}

/** The proposal as JSON (hooks get this on stdin). */
export function proposalToJson(p: Proposal): Record<string, unknown> {
  return { ...p, created_at: rfc3339(p.created_at), expires_at: rfc3339(p.expires_at) };
}
