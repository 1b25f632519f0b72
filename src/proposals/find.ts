// Finding proposals by id or unique prefix, and reading them as stored.
import { UsageError } from '../errors.js';
import type { Governance } from '../history/replay.js';
import type { ProposalRecord } from '../history/proposals.js';
import { checkProposalRef } from '../names.js';

/** The one proposal whose id starts with `ref` (exit 2 if none or several). */
export function findProposal(gov: Governance, ref: string): ProposalRecord {
  checkProposalRef(ref);
  const exact = gov.proposals.get(ref);
  if (exact) return exact;
  const matches = [...gov.proposals.values()].filter((r) => r.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new UsageError(`no proposal id starts with "${ref}": see ga list`);
  throw new UsageError(`"${ref}" matches ${matches.length} proposals (${matches.slice(0, 3).map((m) => m.id).join(', ')}...): give more of the id`);
}

/** Proposals present at HEAD, newest first, optionally filtered. */
export function listProposals(gov: Governance, filter: { state?: string; agent?: string } = {}): ProposalRecord[] {
  return [...gov.proposals.values()]
    .filter((r) => r.state !== undefined)
    .filter((r) => !filter.state || r.state === filter.state)
    .filter((r) => !filter.agent || r.proposal?.agent === filter.agent)
    .sort((a, b) => (a.id < b.id ? 1 : -1));
}
