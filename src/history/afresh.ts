// What lets a hook run, checked against the repository itself when a
// reading went on from a saved one (history/saved.ts): the saved reading
// makes commands fast, and never alone lets anything run. For each approved
// proposal: its file at HEAD is the one approved, and each approving commit
// is in HEAD's history and carries a good signature by an approver trusted
// now, read and verified afresh (an object read by its id, a signature
// checked in process). Anything that does not hold sends the executor to a
// full reading, which decides.
import { git } from '../git/exec.js';
import { verifySignature } from '../git/signature.js';
import { proposalPath } from '../layout/layout.js';
import type { Governance } from './replay.js';

export async function approvalsHoldAfresh(gov: Governance): Promise<boolean> {
  if (!gov.savedAt) return true;
  const { objects } = gov.repo;
  const approvers = await gov.approvers();
  const head = await objects.commit(gov.head);
  for (const r of gov.proposals.values()) {
    if (r.state !== 'approved' || !r.approval?.valid) continue;
    const file = await objects.entryAt(head.tree, proposalPath('approved', r.id));
    if (!file || file.oid !== r.blob) return false;
    if (r.approval.by.length === 0) continue; // approved by the policy when submitted: no person's signature to check
    for (const id of new Set([r.approval.commit, ...r.approvals.map((a) => a.commit)])) {
      const c = await objects.commit(id);
      const s = await verifySignature(c.signature, approvers, c.committedAt);
      if (s.status !== 'good' || !s.principal || s.principal.toLowerCase().startsWith('agent:') || !r.approval.by.includes(s.principal)) return false;
      const inHistory = await git(['merge-base', '--is-ancestor', id, gov.head], { cwd: gov.repo.root, allowFailure: true });
      if (inHistory.code !== 0) return false;
    }
  }
  return true;
}
