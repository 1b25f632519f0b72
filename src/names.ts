// Names and values of the contract: ids, action types, durations, proposal ids.
import { randomBytes } from 'node:crypto';
import { UsageError } from './errors.js';

export const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const ACTION_TYPE = AGENT_ID;
export const PROPOSAL_ID = /^[a-z0-9][a-z0-9-]{0,79}$/;

export function checkAgentId(id: string, where = 'agent id'): string {
  if (!AGENT_ID.test(id)) {
    throw new UsageError(`${where} "${id}" is not valid: use 1-64 of a-z 0-9 _ - starting with a letter or digit`);
  }
  return id;
}

export function checkProposalRef(ref: string): string {
  if (!PROPOSAL_ID.test(ref)) {
    throw new UsageError(`proposal id "${ref}" is not valid: use a-z 0-9 and -, as printed by ga propose or ga list`);
  }
  return ref;
}

/**
 * A new proposal id, sortable by creation time to the millisecond and unique
 * through a random suffix: 20261123-100000-123-k3f9.
 */
export function newProposalId(at: Date): string {
  const iso = at.toISOString(); // 2026-11-23T10:00:00.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${iso.slice(20, 23)}`;
  const suffix = randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0').slice(-5);
  return `${stamp}-${suffix}`;
}

/** A run id, same shape as a proposal id. */
export const newRunId = newProposalId;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "90s", "30m"; returns milliseconds or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
