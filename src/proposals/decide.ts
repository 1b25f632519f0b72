// Human decisions (approve, reject) as signed commits, and expiry.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { recordEvents, recordPlanned } from '../audit/record.js';
import type { GaEvent } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal } from '../errors.js';
import { git } from '../git/exec.js';
import { HubUnreachable, pushBranch, type Hub } from '../git/remote.js';
import { locateProposal, mergeIntoHub, type ReviewBranch } from '../hub/review.js';
import { readFileAt, type Repo } from '../git/repo.js';
import { requireSigning } from '../git/signing.js';
import { distinctApprovers, requiredApprovals, type ProposalRecord } from '../history/proposals.js';
import { loadGovernance, type Governance } from '../history/replay.js';
import { APPROVERS_PATH, proposalPath, type ProposalState } from '../layout/layout.js';
import { findProposal, requireSubmitted } from '../history/find.js';

export interface DecisionResult {
  id: string;
  commit: string;
  /** approved / rejected, or recorded (a quorum step: still pending). */
  result: 'approved' | 'rejected' | 'recorded';
  approvals: number;
  needed: number;
  /** Runs of the proposing agent in flight (started, not finished, lease live): a waiting runner executes what they proposed. */
  waitingRuns?: string[];
  /** The hub branch the decision was pushed to, when the proposal waits for review there (proposals = "pull-request"). */
  branch?: string;
}

interface OnBranch {
  hub: Hub;
  branch: ReviewBranch;
}

/** Where `ref` is decided: the governed branch, or its review branch (proposals = "pull-request"). */
async function whereDecided(repo: Repo, ref: string, reading: Promise<Governance>): Promise<{ gov: Governance; on?: OnBranch }> {
  const located = await locateProposal(repo, await reading, ref);
  return { gov: located.gov, on: located.on };
}

/**
 * The person's signing setup (refused first, as before: inside an agent, or
 * without a key) and the reading of history, made at once: the setup is a
 * git config process, the reading a cat-file one. The hub is asked only
 * after both (whereDecided).
 */
async function signerAndReading(repo: Repo, what: string): Promise<{ signer: Awaited<ReturnType<typeof requireSigning>>; reading: Promise<Governance> }> {
  const reading = loadGovernance(repo);
  reading.catch(() => undefined); // awaited by the caller once the signer is known
  return { signer: await requireSigning(repo, what), reading };
}

/** Pushes a decision made on a review branch; when the hub does not take it, takes it back here and says why. */
async function pushDecision(repo: Repo, on: OnBranch, commit: string): Promise<void> {
  let pushed: 'pushed' | 'rejected';
  try {
    pushed = await pushBranch(repo, on.hub, commit, on.branch.branch);
  } catch (e) {
    await git(['update-ref', on.branch.ref, on.branch.tip], { cwd: repo.root, allowFailure: true });
    if (e instanceof HubUnreachable) throw new GovernanceRefusal(`not decided: the hub cannot be reached (${e.detail}); try again when it is back`);
    throw e;
  }
  if (pushed === 'rejected') {
    await git(['update-ref', on.branch.ref, on.branch.tip], { cwd: repo.root, allowFailure: true });
    throw new GovernanceRefusal(`not decided: ${on.branch.branch} moved on the hub meanwhile (another approval?); look again with ga show ${on.branch.id}`);
  }
}

/** Runs of `agent` in flight at `now`, from history. */
function runsInFlight(gov: Governance, agent: string | undefined, now: Date): string[] {
  if (!agent) return [];
  return [...gov.runs].filter(([, t]) => t.agent === agent && !t.finished && t.leaseUntil !== undefined && t.leaseUntil > now).map(([run]) => run);
}

function requirePending(r: ProposalRecord, now: Date, what: string): void {
  requireSubmitted(r, what);
  if (r.state !== 'pending') throw new GovernanceRefusal(`proposal ${r.id} is in ${r.state ?? 'no state'}/, not pending; nothing to decide`);
  if (r.blob !== r.submittedBlob) throw new GovernanceRefusal(`proposal ${r.id} was edited after submission; it cannot be approved (reject it)`);
  if (r.mode !== '100644' || !r.proposal || r.parseError) throw new GovernanceRefusal(`proposal ${r.id} is not a readable regular file (${r.parseError ?? `mode ${r.mode}`}); it cannot be approved`);
  if (r.proposal && r.proposal.expires_at <= now) throw new GovernanceRefusal(`proposal ${r.id} expired at ${r.proposal.expires_at.toISOString()}; run ga expire`);
}

/** The move of a pending file into another state, bytes unchanged. */
function moveFiles(repo: Repo, r: ProposalRecord, to: ProposalState) {
  return async (head: string | undefined) => {
    const obj = await readFileAt(repo, head, proposalPath('pending', r.id));
    if (!obj || obj.oid !== r.submittedBlob || obj.mode !== '100644') throw new GovernanceRefusal(`proposal ${r.id} changed while deciding; look again with ga show ${r.id}`);
    return [
      { path: proposalPath('pending', r.id), remove: true },
      { path: proposalPath(to, r.id), content: obj.content },
    ];
  };
}

/** Refuses early when the signing key is not a trusted approver: the approval would not count. */
async function requireTrustedKey(gov: Governance, key: string): Promise<void> {
  if (key.startsWith('key::')) return;
  const path = key.startsWith('~/') ? homedir() + key.slice(1) : key;
  let pub: string;
  try {
    pub = readFileSync(path.endsWith('.pub') ? path : `${path}.pub`, 'utf8');
  } catch {
    return; // ssh-keygen will judge
  }
  const [type, blob] = pub.trim().split(/\s+/);
  const approvers = await gov.approvers();
  if (!approvers.some((a) => a.keyType === type && a.key === blob)) {
    throw new GovernanceRefusal(`your signing key (${key}) is not in the trusted ${APPROVERS_PATH}; an approver must add it in a signed commit first`);
  }
}

/** `blob`: the proposal file the person read (ga review); approving is refused if the proposal is another by now. */
export async function approveProposal(repo: Repo, ref: string, opts: { clock: Clock; reason?: string; blob?: string }): Promise<DecisionResult> {
  const { signer, reading } = await signerAndReading(repo, 'ga approve');
  const { gov, on } = await whereDecided(repo, ref, reading);
  const r = findProposal(gov, ref);
  const now = opts.clock.now();
  requirePending(r, now, 'ga approve');
  if (opts.blob !== undefined && r.submittedBlob !== opts.blob)
    throw new GovernanceRefusal(`proposal ${r.id} is not the file you read (${opts.blob.slice(0, 12)}, now ${r.submittedBlob?.slice(0, 12)}); nothing was approved: look again`);
  await requireTrustedKey(gov, signer.key!);
  const actor = `human:${signer.email}`;
  const agent = r.proposal?.agent;
  const needed = await requiredApprovals(r, gov.policyOf);
  const before = distinctApprovers(r.approvals);
  if (before.includes(signer.email)) throw new GovernanceRefusal(`you (${signer.email}) already approved ${r.id}; ${needed - before.length} more approver(s) needed`);
  const title = r.proposal?.title ?? r.id;
  if (before.length + 1 < needed) {
    const event: GaEvent = { event: 'proposal-approval-recorded', actor, agent, proposal: r.id, blob: r.submittedBlob, reason: opts.reason };
    const { commit } = await recordEvents(repo, {
      subject: `record approval ${before.length + 1} of ${needed} for ${r.id}: ${title}`,
      events: [event],
      sign: true,
      at: now,
      ref: on?.branch.ref,
    });
    if (on) await pushDecision(repo, on, commit);
    return { id: r.id, commit, result: 'recorded', approvals: before.length + 1, needed, ...(on ? { branch: on.branch.branch } : {}) };
  }
  const event: GaEvent = { event: 'proposal-approved', actor, agent, proposal: r.id, reason: opts.reason };
  const { commit } = await recordEvents(repo, {
    subject: `approve ${r.id}: ${title}`,
    events: [event],
    files: moveFiles(repo, r, 'approved'),
    sign: true,
    at: now,
    ref: on?.branch.ref,
  });
  if (on) {
    await pushDecision(repo, on, commit);
    return { id: r.id, commit, result: 'approved', approvals: before.length + 1, needed, branch: on.branch.branch };
  }
  return { id: r.id, commit, result: 'approved', approvals: before.length + 1, needed, waitingRuns: runsInFlight(gov, agent, now) };
}

export async function rejectProposal(repo: Repo, ref: string, opts: { clock: Clock; reason: string }): Promise<DecisionResult> {
  const { signer, reading } = await signerAndReading(repo, 'ga reject');
  const { gov, on } = await whereDecided(repo, ref, reading);
  const r = findProposal(gov, ref);
  requireSubmitted(r, 'ga reject');
  if (r.state !== 'pending') throw new GovernanceRefusal(`proposal ${r.id} is in ${r.state ?? 'no state'}/, not pending; nothing to decide`);
  const event: GaEvent = { event: 'proposal-rejected', actor: `human:${signer.email}`, agent: r.proposal?.agent, proposal: r.id, reason: opts.reason };
  const { commit } = await recordEvents(repo, {
    subject: `reject ${r.id}: ${r.proposal?.title ?? r.id}`,
    events: [event],
    files: moveFiles(repo, r, 'rejected'),
    sign: true,
    at: opts.clock.now(),
    ref: on?.branch.ref,
  });
  if (on) {
    // DESIGN "Pull requests": a rejection is recorded on the hub's branch, so no merge of the pull request can approve it later.
    await pushDecision(repo, on, commit);
    await mergeIntoHub(repo, on.hub, on.branch, commit, `merge the rejection of ${r.id} (${on.branch.branch})`);
    return { id: r.id, commit, result: 'rejected', approvals: 0, needed: 0, branch: on.hub.branch };
  }
  return { id: r.id, commit, result: 'rejected', approvals: 0, needed: 0 };
}

/** Moves every pending proposal past its expires_at to expired/, in one commit. */
export async function expireProposals(repo: Repo, opts: { clock: Clock; actor: string; gov?: Governance }): Promise<string[]> {
  const gov = opts.gov ?? (await loadGovernance(repo));
  const now = opts.clock.now();
  const due = gov.proposals.live('pending').filter((r) => r.submittedValid && r.proposal && r.proposal.expires_at <= now);
  if (due.length === 0) return [];
  let expired: ProposalRecord[] = [];
  await recordPlanned(repo, { actor: opts.actor, at: now }, async (head) => {
    // Under the repository lock: only those still pending, unchanged, at this HEAD.
    const objects = await Promise.all(due.map((r) => readFileAt(repo, head, proposalPath('pending', r.id))));
    const still = due.map((r, i) => ({ r, obj: objects[i] })).filter(({ r, obj }) => obj && obj.oid === r.blob);
    expired = still.map(({ r }) => r);
    if (still.length === 0) return undefined;
    return {
      subject: still.length === 1 ? `expire ${still[0]!.r.id}: ${still[0]!.r.proposal!.title}` : `expire ${still.length} proposals`,
      events: still.map(({ r }) => ({ event: 'proposal-expired' as const, actor: opts.actor, agent: r.proposal!.agent, proposal: r.id })),
      files: still.flatMap(({ r, obj }) => [
        { path: proposalPath('pending', r.id), remove: true },
        { path: proposalPath('expired', r.id), content: obj!.content },
      ]),
    };
  });
  return expired.map((r) => r.id);
}
