// The audit trail as git tells it: every first-parent commit from the trust
// root, one row per event, with the commit's signature as ga itself judges
// it. A hand-made signed `git mv` approval has no trailer: it is read from
// the diff as a proposal-approved event.
import { parseTrailers } from '../audit/events.js';
import type { Governance } from '../history/replay.js';
import { isGovernedPath } from '../layout/layout.js';

export interface TrailRow {
  commit: string;
  at: Date;
  subject: string;
  event: string;
  actor?: string;
  proposal?: string;
  agent?: string;
  reason?: string;
  outcome?: string;
  /** good, unsigned, unknown-key, bad, unsupported. */
  signature: string;
  signer?: string;
  /** For a move into approved/: whether ga counts it as an approval, and why not. */
  valid?: boolean;
  invalidBecause?: string;
}

export interface TrailFilter {
  agent?: string;
  event?: string;
  since?: Date;
  until?: Date;
}

export async function auditTrail(gov: Governance, filter: TrailFilter = {}): Promise<TrailRow[]> {
  const handMade = new Map<string, { proposal: string; agent?: string; valid?: boolean; why?: string }>();
  for (const r of gov.proposals.all()) {
    for (const s of r.steps) if (s.kind === 'approved') handMade.set(s.commit, { proposal: r.id, agent: r.proposal?.agent, valid: s.valid, why: s.why });
  }
  const rows: TrailRow[] = [];
  for (const c of [gov.rootCommit, ...gov.commits]) {
    if ((filter.since && c.committedAt < filter.since) || (filter.until && c.committedAt > filter.until)) continue;
    let events = parseTrailers(c.message).filter((t) => t.event);
    const approval = handMade.get(c.id);
    if (events.length === 0 && approval) events = [{ event: 'proposal-approved', proposal: approval.proposal, agent: approval.agent }];
    // A signed commit of governed files (ga commit, or git commit -S by hand) changes policy, trailer or not.
    const governed = events.length === 0 ? c.changes.filter((ch) => isGovernedPath(ch.path)).map((ch) => ch.path) : [];
    if (governed.length)
      events = [{ event: 'policy-changed', reason: `${governed.slice(0, 5).join(', ')}${governed.length > 5 ? `, and ${governed.length - 5} more` : ''}` }];
    if (events.length === 0) events = [{ event: '-' }];
    const wanted = events.filter((t) => (!filter.agent || t.agent === filter.agent) && (!filter.event || t.event === filter.event));
    if (wanted.length === 0) continue;
    const sig = await gov.signatureOf(c);
    const subject = c.message.split('\n')[0] ?? '';
    for (const t of wanted) {
      rows.push({
        commit: c.id,
        at: c.committedAt,
        subject,
        event: t.event!,
        actor: t.actor ?? ((approval || governed.length) && sig.principal ? `human:${sig.principal}` : undefined),
        proposal: t.proposal,
        agent: t.agent,
        reason: t.reason,
        outcome: t.outcome,
        signature: sig.status === 'none' ? 'unsigned' : sig.status,
        signer: sig.principal,
        ...(approval && t.event === 'proposal-approved'
          ? { valid: approval.valid !== false, invalidBecause: approval.valid === false ? approval.why : undefined }
          : {}),
      });
    }
  }
  return rows;
}
