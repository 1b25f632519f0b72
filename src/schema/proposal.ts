// The proposal file: what an agent submits and what ga stores. The one
// owner of parsing one, submitted or met in history, and so of its bounds:
// a file is at most MAX_PROPOSAL_BYTES (larger is refused before parsing),
// and a payload holds only what both TOML and JSON can carry (no null, no
// inf or nan), nested at most MAX_PAYLOAD_DEPTH tables or arrays deep.
import { isUtf8 } from 'node:buffer';
import { stringify } from 'smol-toml';
import * as z from 'zod';
import { rfc3339 } from '../clock.js';
import { actionType, agentId, instant, proposalId } from './common.js';
import { lazySchema } from './lazy.js';
import { FileError, locateKey, parseTomlText, validate } from './toml.js';

/** The largest proposal file, submitted or stored: 1 MiB. Larger is refused before it is parsed. */
export const MAX_PROPOSAL_BYTES = 1024 * 1024;
/** How deep tables and arrays may nest inside [payload] ([payload] itself not counted). */
export const MAX_PAYLOAD_DEPTH = 32;

/** Refuses a proposal file over MAX_PROPOSAL_BYTES, before anything parses it. */
export function checkProposalSize(content: string | Buffer, file: string): void {
  const bytes = typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.length;
  if (bytes > MAX_PROPOSAL_BYTES) {
    throw new FileError(
      file,
      undefined,
      undefined,
      `is ${bytes} bytes, over the ${MAX_PROPOSAL_BYTES / (1024 * 1024)} MiB limit for a proposal file; make the payload or the texts smaller`,
    );
  }
}

/**
 * Why a payload cannot be stored and handed to a hook as JSON, with where:
 * a value TOML or JSON cannot carry, or nesting deeper than
 * MAX_PAYLOAD_DEPTH. Walked without recursion, so no depth overflows a stack.
 */
function payloadProblem(payload: Record<string, unknown>): { path: (string | number)[]; message: string } | undefined {
  type Item = { value: unknown; path: (string | number)[]; depth: number };
  const children = (value: object, path: (string | number)[], depth: number): Item[] =>
    (Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value)).map(([k, v]) => ({ value: v, path: [...path, k], depth })).reverse();
  const stack: Item[] = children(payload, [], 0);
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || value === undefined) return { path, message: 'null is not a value a proposal can hold (TOML has none); leave the key out' };
    if (typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path, message: `${value} is not a finite number (inf and nan have no JSON form for the hook); give a number` };
      continue;
    }
    if (typeof value !== 'object')
      return { path, message: `a ${typeof value} is not a value a proposal can hold; give a string, number, boolean, date, array or table` };
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) return { path, message: 'not a valid date' };
      continue;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (!Array.isArray(value) && proto !== Object.prototype && proto !== null)
      return { path, message: 'not a plain table; give a string, number, boolean, date, array or table' };
    if (depth + 1 > MAX_PAYLOAD_DEPTH) return { path, message: `nests deeper than ${MAX_PAYLOAD_DEPTH} tables or arrays inside [payload]; flatten it` };
    stack.push(...children(value, path, depth + 1));
  }
  return undefined;
}

const payloadSchema = (error?: string) =>
  z.record(z.string(), z.unknown(), error ? { error } : undefined).superRefine((payload, ctx) => {
    const bad = payloadProblem(payload);
    if (bad) ctx.addIssue({ code: 'custom', message: bad.message, path: bad.path });
  });

const text = (what: string) => z.string({ error: `expected ${what} as a string` });

/** What `ga propose --file` accepts. id and created_at are assigned by ga. */
export const submissionSchema = lazySchema(() =>
  z.strictObject({
    agent: agentId(),
    action_type: actionType(),
    title: text('a title').min(1, 'expected a non-empty title').max(200, 'expected a title of at most 200 characters'),
    rationale: text('the rationale').default(''),
    expected_outcome: text('the expected outcome').default(''),
    reversible: z.boolean().default(true),
    requires_approval: z.boolean().default(true),
    expires_at: instant().optional(),
    expected_cost: z
      .strictObject({ tokens: z.number().int().nonnegative().default(0), usd: z.number().nonnegative().default(0) })
      .default({ tokens: 0, usd: 0 }),
    payload: payloadSchema('expected a [payload] table'),
  }),
);
export type Submission = z.output<ReturnType<typeof submissionSchema>>;

/** A stored proposal: every field present. */
export const proposalSchema = lazySchema(() =>
  z.strictObject({
    id: proposalId(),
    agent: agentId(),
    action_type: actionType(),
    title: z.string().min(1),
    rationale: z.string(),
    expected_outcome: z.string(),
    reversible: z.boolean(),
    requires_approval: z.boolean(),
    created_at: instant(),
    expires_at: instant(),
    expected_cost: z.strictObject({ tokens: z.number().int().nonnegative(), usd: z.number().nonnegative() }),
    payload: payloadSchema(),
  }),
);
export type Proposal = z.output<ReturnType<typeof proposalSchema>>;

/** A stored proposal file (from history): refused unparsed when over MAX_PROPOSAL_BYTES. */
export function parseProposal(text: string | Buffer, file: string): Proposal {
  checkProposalSize(text, file);
  const t = decode(text, file);
  return validate(proposalSchema(), parseTomlText(t, file), file, t);
}

/** A submission given as TOML (`ga propose --file`): the same bounds, and no id or created_at (ga assigns them). */
export function parseSubmissionText(text: string | Buffer, file: string): Submission {
  checkProposalSize(text, file);
  const t = decode(text, file);
  const data = parseTomlText(t, file);
  for (const key of ['id', 'created_at'] as const) {
    if (key in data) throw new FileError(file, locateKey(t, [key]), undefined, `${key}: is assigned by ga; remove it from the submission`);
  }
  return validate(submissionSchema(), data, file, t);
}

function decode(text: string | Buffer, file: string): string {
  if (typeof text === 'string') return text;
  if (!isUtf8(text)) throw new FileError(file, undefined, undefined, 'is not UTF-8 text; save it as UTF-8 TOML');
  return text.toString('utf8');
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
