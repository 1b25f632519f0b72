// Each proposal's life as history tells it, and whether its approval is
// valid: the rules of "When is a proposal approved" in the contract.
import { parseTrailers } from '../audit/events.js';
import type { SignatureResult } from '../git/signature.js';
import { agentOfAuditPath, agentOfLegacyAuditPath, ASSIGNED_ID, parseProposalPath, type ProposalState } from '../layout/layout.js';
import { parseProposal } from '../schema/proposal.js';
import { settingsFor, type Policy } from '../schema/policy.js';
import { decideOutcome } from '../policy/outcome.js';
import type { BlobReader } from './blobs.js';
import { ProposalBook, type ProposalRecord, type ProposalStep } from './book.js';
import type { Change, Commit } from './chain.js';

export type { ProposalRecord, ProposalStep } from './book.js';

interface StepContext {
  /** The commit's signature, judged against the approvers trusted where it counts. */
  signature: () => Promise<SignatureResult>;
  policyBlob: string | undefined;
}

/**
 * An audit file ga adds with an event: the only other path a proposal's own
 * commits may carry. An event's own file is new; a line-per-event file of
 * the earlier layout grows (ga verify checks that it only grows).
 */
const isAudit = (ch: Change) => agentOfLegacyAuditPath(ch.path) !== undefined || (agentOfAuditPath(ch.path) !== undefined && ch.status === 'A');

/**
 * A commit that carries the words of a ga approval of `id` (its subject or
 * its trailers, as a squash message quotes them) but is not one: what a
 * host's squash or rebase merge makes of a pull request (DESIGN "Merges").
 */
function rewrittenApproval(c: Commit, id: string): string {
  const quoted = c.message.includes(`approve ${id}`) || (/Ga-Event: proposal-approved/.test(c.message) && c.message.includes(id));
  return quoted
    ? "; it carries ga's approval of this proposal without the approver's signature, which is what a squash or rebase merge makes of a pull request: merge with a merge commit instead, or submit the proposal again"
    : '';
}

export class ProposalTracker {
  constructor(
    private readonly blobs: BlobReader,
    readonly records = new ProposalBook(),
  ) {}

  private record(id: string): ProposalRecord {
    let r = this.records.get(id);
    if (!r) {
      r = { id, steps: [], approvals: [], decided: false, submittedValid: false, notSubmittedWhy: 'no submission in trusted history' };
      this.records.set(id, r);
    }
    return r;
  }

  /** A proposal already in the trust root's tree. */
  async atRoot(path: string, blob: string, mode: string, commit: string): Promise<void> {
    const p = parseProposalPath(path);
    if (!p) return;
    const r = this.record(p.id);
    Object.assign(r, { state: p.state, blob, mode, submittedBlob: blob, notSubmittedWhy: 'present in the trust root, not submitted after it' });
    await this.load(r, blob);
    r.steps.push({ commit, at: new Date(0), kind: 'submitted', why: `present in the trust root in ${p.state}/` });
    if (p.state === 'approved') r.approval = { valid: false, why: 'approved before the trust root; no approval in trusted history', by: [], commit };
    if (p.state === 'pending') {
      r.submittedValid = mode === '100644' && !r.parseError && ASSIGNED_ID.test(r.id);
      if (r.submittedValid) r.notSubmittedWhy = undefined;
    }
    if (p.state !== 'pending') r.decided = true;
  }

  async apply(c: Commit, ctx: StepContext): Promise<void> {
    const byId = new Map<
      string,
      { removed?: Change & { state: ProposalState }; added?: Change & { state: ProposalState }; changed?: Change & { state: ProposalState } }
    >();
    for (const ch of c.changes) {
      const p = parseProposalPath(ch.path);
      if (!p) continue;
      const slot = byId.get(p.id) ?? {};
      if (ch.status === 'D') slot.removed = { ...ch, state: p.state };
      else if (ch.status === 'A') slot.added = { ...ch, state: p.state };
      else slot.changed = { ...ch, state: p.state };
      byId.set(p.id, slot);
    }
    for (const [id, s] of byId) {
      const r = this.record(id);
      if (s.changed) {
        r.steps.push({ commit: c.id, at: c.committedAt, kind: 'changed', why: `file in ${s.changed.state}/ was edited in place` });
        r.blob = s.changed.newBlob;
        r.mode = s.changed.newMode;
        if (r.approval) r.approval = { ...r.approval, valid: false, why: `the approved file was changed by ${c.id.slice(0, 12)}` };
        continue;
      }
      if (s.added && !s.removed && r.steps.length === 0) {
        await this.submitted(r, c, s.added, ctx);
      } else if (s.added && s.removed) {
        await this.moved(r, c, s.removed, s.added, ctx);
      } else if (s.added) {
        r.steps.push({ commit: c.id, at: c.committedAt, kind: 'changed', why: `reappeared in ${s.added.state}/` });
        Object.assign(r, { state: s.added.state, blob: s.added.newBlob, mode: s.added.newMode });
        if (s.added.state === 'approved')
          r.approval = { valid: false, why: `returned to approved/ by ${c.id.slice(0, 12)} without a decision`, by: [], commit: c.id };
      } else if (s.removed) {
        r.steps.push({ commit: c.id, at: c.committedAt, kind: 'changed', why: `removed from ${s.removed.state}/` });
        r.state = undefined;
      }
    }
    await this.approvalRecorded(c, ctx);
  }

  private async load(r: ProposalRecord, blob: string): Promise<void> {
    try {
      r.proposal = parseProposal(await this.blobs.text(blob), `proposal ${r.id}`);
      if (r.proposal.id !== r.id) r.parseError = `its id field says ${r.proposal.id}`;
    } catch (e) {
      r.parseError = (e as Error).message;
    }
  }

  /** Whether a submission commit is one ga would make: see ProposalRecord.submittedValid. */
  private submissionProblem(r: ProposalRecord, c: Commit, added: Change): string | undefined {
    if (!ASSIGNED_ID.test(r.id)) return 'its name is not an id ga assigns';
    if (added.newMode !== '100644') return 'not a regular file';
    if (!r.proposal || r.parseError) return `unreadable proposal: ${r.parseError ?? 'no content'}`;
    const others = c.changes.filter((ch) => ch.path !== added.path && !isAudit(ch));
    if (others.length) return `the submission commit also changes ${others[0]!.path}`;
    return undefined;
  }

  private async submitted(r: ProposalRecord, c: Commit, added: Change & { state: ProposalState }, ctx: StepContext): Promise<void> {
    Object.assign(r, { state: added.state, blob: added.newBlob, mode: added.newMode, submittedBlob: added.newBlob, submittedPolicyBlob: ctx.policyBlob });
    await this.load(r, added.newBlob);
    const problem = this.submissionProblem(r, c, added);
    r.submittedValid = !problem && (added.state === 'pending' || added.state === 'approved');
    r.notSubmittedWhy = r.submittedValid ? undefined : (problem ?? `appeared in ${added.state}/`);
    if (added.state === 'pending') {
      r.steps.push({ commit: c.id, at: c.committedAt, kind: 'submitted', ...(problem ? { valid: false, why: problem } : {}) });
      return;
    }
    r.decided = true;
    if (added.state !== 'approved') {
      r.steps.push({ commit: c.id, at: c.committedAt, kind: 'changed', why: `appeared in ${added.state}/ without a submission` });
      return;
    }
    const found = await this.autoApprovalProblem(r, c, added, ctx);
    const why = found && `${found}${rewrittenApproval(c, r.id)}`;
    r.steps.push({ commit: c.id, at: c.committedAt, kind: 'auto-approved', valid: !why, why });
    r.approval = { valid: !why, why: why ?? 'auto-approved under the trusted policy', by: [], commit: c.id };
  }

  private async autoApprovalProblem(r: ProposalRecord, c: Commit, added: Change, ctx: StepContext): Promise<string | undefined> {
    if (r.proposal && !r.parseError) {
      const outcome = decideOutcome(await this.blobs.policyOf(ctx.policyBlob), r.proposal);
      if (outcome.kind !== 'auto-approved') return `the trusted policy does not auto-approve ${r.proposal.action_type} as submitted`;
    }
    const invalid = this.submissionProblem(r, c, added);
    if (invalid || !r.proposal) return invalid ?? 'unreadable proposal';
    if (r.proposal.created_at.getTime() > c.committedAt.getTime() + 60_000 || r.proposal.expires_at <= r.proposal.created_at) {
      return 'its times are inconsistent with its commit';
    }
    return undefined;
  }

  private async moved(
    r: ProposalRecord,
    c: Commit,
    from: Change & { state: ProposalState },
    to: Change & { state: ProposalState },
    ctx: StepContext,
  ): Promise<void> {
    Object.assign(r, { state: to.state, blob: to.newBlob, mode: to.newMode });
    const step = (kind: ProposalStep['kind'], extra: Partial<ProposalStep> = {}) => r.steps.push({ commit: c.id, at: c.committedAt, kind, ...extra });
    if (from.state === 'pending' && to.state === 'approved') {
      const sig = await ctx.signature();
      const found = await this.humanApprovalProblem(r, c, from, to, sig);
      const why = found && sig.status !== 'good' ? `${found}${rewrittenApproval(c, r.id)}` : found;
      if (!why) r.approvals.push({ principal: sig.principal!, key: sig.key!, commit: c.id });
      const by = distinctApprovers(r.approvals);
      const needed = await this.minApprovals(r);
      const quorumWhy = !why && by.length < needed ? `${by.length} of ${needed} required approvals` : undefined;
      const problem = why ?? quorumWhy;
      step('approved', { principal: sig.principal, valid: !problem, why: problem });
      r.approval = { valid: !problem, why: problem ?? `approved by ${by.join(', ')}`, by, commit: c.id };
      r.decided = true;
    } else if (from.state === 'pending' && (to.state === 'rejected' || to.state === 'expired')) {
      const sig = await ctx.signature();
      step(to.state, { principal: sig.status === 'good' ? sig.principal : undefined });
      r.decided = true;
    } else if (from.state === 'approved' && (to.state === 'executed' || to.state === 'failed')) {
      step(to.state);
    } else {
      step('changed', { why: `moved from ${from.state}/ to ${to.state}/` });
      if (to.state === 'approved') r.approval = { valid: false, why: `moved into approved/ from ${from.state}/`, by: [], commit: c.id };
    }
  }

  private async humanApprovalProblem(r: ProposalRecord, c: Commit, from: Change, to: Change, sig: SignatureResult): Promise<string | undefined> {
    if (r.decided) return 'the proposal was already decided';
    if (!r.submittedValid) return `not a validly submitted proposal (${r.notSubmittedWhy})`;
    if (sig.status !== 'good') return `the decision commit is not signed by a trusted approver (${sig.status}${sig.detail ? `: ${sig.detail}` : ''})`;
    if (to.newMode !== '100644') return 'the approved file is not a regular file';
    if (from.oldBlob !== r.submittedBlob || to.newBlob !== r.submittedBlob) return 'the file differs from the one submitted';
    const own = (ch: Change) => r.proposal !== undefined && isAudit(ch) && agentOfAuditPath(ch.path) === r.proposal.agent;
    const others = c.changes.filter((ch) => ch.path !== from.path && ch.path !== to.path && !own(ch));
    if (others.length) return `the decision commit also changes ${others[0]!.path}`;
    if (!r.proposal || r.parseError) return `unreadable proposal: ${r.parseError}`;
    if (c.committedAt >= r.proposal.expires_at) return `approved after it expired at ${r.proposal.expires_at.toISOString()}`;
    return undefined;
  }

  private minApprovals(r: ProposalRecord): Promise<number> {
    return requiredApprovals(r, (blob) => this.blobs.policyOf(blob));
  }

  /** A quorum step: a signed commit that records one approval and leaves the file pending. */
  private async approvalRecorded(c: Commit, ctx: StepContext): Promise<void> {
    for (const t of parseTrailers(c.message)) {
      if (t.event !== 'proposal-approval-recorded' || !t.proposal) continue;
      const r = this.records.get(t.proposal);
      if (!r) continue;
      const sig = await ctx.signature();
      const others = c.changes.filter((ch) => !isAudit(ch));
      const why =
        sig.status !== 'good'
          ? `not signed by a trusted approver (${sig.status})`
          : r.state !== 'pending' || r.decided
            ? 'the proposal is not pending'
            : t.blob !== r.submittedBlob || r.blob !== r.submittedBlob
              ? 'Ga-Blob does not match the submitted file'
              : others.length
                ? `the commit also changes ${others[0]!.path}`
                : r.proposal && c.committedAt >= r.proposal.expires_at
                  ? 'after expiry'
                  : undefined;
      r.steps.push({ commit: c.id, at: c.committedAt, kind: 'approval-recorded', principal: why ? undefined : sig.principal, valid: !why, why });
      if (!why) r.approvals.push({ principal: sig.principal!, key: sig.key!, commit: c.id });
    }
  }
}

/** Approvers counted once each: distinct principals holding distinct keys. */
export function distinctApprovers(approvals: { principal: string; key: string }[]): string[] {
  const principals = new Set<string>();
  const keys = new Set<string>();
  for (const a of approvals) {
    if (principals.has(a.principal) || keys.has(a.key)) continue;
    principals.add(a.principal);
    keys.add(a.key);
  }
  return [...principals];
}

/** Approvals a proposal has (distinct approvers whose approvals count) and needs, for "1 of 2". */
export async function quorumOf(r: ProposalRecord, policyOf: (blob: string | undefined) => Promise<Policy>): Promise<{ have: number; need: number }> {
  return { have: distinctApprovers(r.approvals).length, need: await requiredApprovals(r, policyOf) };
}

/** Approvals a proposal needs: the quorum of the policy trusted when it was submitted. */
export async function requiredApprovals(r: ProposalRecord, policyOf: (blob: string | undefined) => Promise<Policy>): Promise<number> {
  return r.proposal ? settingsFor(await policyOf(r.submittedPolicyBlob), r.proposal.action_type).minApprovals : 1;
}
