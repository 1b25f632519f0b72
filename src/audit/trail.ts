// The audit trail as git tells it: every first-parent commit from the trust
// root, its events, and its signature as ga itself judges it.
import { parseTrailers } from './events.js';
import type { Governance } from '../history/replay.js';

export interface TrailRow {
  commit: string;
  at: Date;
  subject: string;
  events: string[];
  actor?: string;
  proposal?: string;
  agent?: string;
  reason?: string;
  /** good by <principal>, unsigned, unknown key, bad, unsupported. */
  signature: string;
  signer?: string;
}

export async function auditTrail(gov: Governance): Promise<TrailRow[]> {
  const rows: TrailRow[] = [];
  for (const c of [gov.rootCommit, ...gov.commits]) {
    const trailers = parseTrailers(c.message);
    const sig = await gov.signatureOf(c);
    const first = trailers[0] ?? {};
    rows.push({
      commit: c.id,
      at: c.committedAt,
      subject: c.message.split('\n')[0] ?? '',
      events: trailers.map((t) => t.event ?? '?'),
      actor: first.actor,
      proposal: first.proposal,
      agent: first.agent,
      reason: first.reason,
      signature: sig.status === 'good' ? 'good' : sig.status === 'none' ? 'unsigned' : sig.status,
      signer: sig.principal,
    });
  }
  return rows;
}
