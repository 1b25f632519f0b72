// Finding proposals by id or unique prefix. Only well-formed ids of validly
// submitted proposals are candidates for a prefix: a file an agent committed
// by hand under proposals/, named after a prefix of a real id, is a stray and
// can never capture what a person typed.
import { GovernanceRefusal, UsageError } from '../errors.js';
import type { Governance } from './replay.js';
import type { ProposalRecord } from './proposals.js';
import { ASSIGNED_ID, checkProposalRef, type ProposalState } from '../layout/layout.js';

/** The one proposal `ref` names: its exact id, else the one validly submitted id it prefixes (exit 2 if none or several). */
export function findProposal(gov: Governance, ref: string): ProposalRecord {
  checkProposalRef(ref);
  // Prefixes are matched on what is known of each proposal without unpacking it (history/book.ts).
  const candidates = gov.proposals.briefs({ idPrefix: ref }).filter((r) => r.submittedValid && ASSIGNED_ID.test(r.id));
  const exact = gov.proposals.get(ref);
  if (exact && (exact.submittedValid || !candidates.some((r) => r.id !== ref))) return exact;
  if (candidates.length === 1) return gov.proposals.get(candidates[0]!.id)!;
  if (candidates.length === 0) throw new UsageError(`no proposal id starts with "${ref}": see ga list`);
  throw new UsageError(
    `"${ref}" matches ${candidates.length} proposals (${candidates
      .slice(0, 3)
      .map((m) => m.id)
      .join(', ')}${candidates.length > 3 ? ', ...' : ''}): give more of the id`,
  );
}

/** Refuses a record that is not a validly submitted proposal: it may be shown, never decided or run. */
export function requireSubmitted(r: ProposalRecord, what: string): void {
  if (!r.submittedValid) {
    throw new GovernanceRefusal(`${what} refused: ${r.id} is a stray, not a validly submitted proposal (${r.notSubmittedWhy ?? 'unknown'}); see ga verify`);
  }
}

/** Proposals present at HEAD, newest first, optionally filtered (those that ended are unpacked only when asked for). */
export function listProposals(gov: Governance, filter: { state?: string; agent?: string; all?: boolean } = {}): ProposalRecord[] {
  const state = (filter.state as ProposalState | undefined) ?? (filter.all ? 'present' : 'live');
  const wanted = gov.proposals.briefs({ state, agent: filter.agent || undefined }).sort((a, b) => (a.id < b.id ? 1 : -1));
  return gov.proposals.pick(wanted.map((r) => r.id));
}
