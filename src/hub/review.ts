// Proposals waiting on their review branches (DESIGN "Pull requests"): with
// proposals = "pull-request", a submission lives on the hub's branch
// ga/proposals/<id> until a merge brings it to the hub's branch. Here: which
// branch a proposal waits on, and what each branch holds, read from this
// clone's copies of them (refs/ga/proposals/*), fetched when the hub answers.
import { GovernanceRefusal, UsageError } from '../errors.js';
import { git, gitText } from '../git/exec.js';
import { deleteReviewBranch, fetchHub, fetchReviewBranches, HubUnreachable, pushHub, type Hub } from '../git/remote.js';
import type { Repo } from '../git/repo.js';
import { loadGovernance, type Governance } from '../history/replay.js';
import { checkProposalRef, REVIEW_BRANCH_PREFIX, REVIEW_REFS, reviewRef } from '../layout/layout.js';
import type { ProposalRecord } from '../history/proposals.js';
import { findProposal } from '../history/find.js';
import { hubOf } from './sync.js';

export interface ReviewBranch {
  id: string;
  /** The hub's branch (ga/proposals/<id>) and this clone's copy of it. */
  branch: string;
  ref: string;
  tip: string;
}

export interface Waiting extends ReviewBranch {
  /** The proposal as its branch has it: pending, or approved there and waiting for a merge. */
  record: ProposalRecord;
}

/** The hub of a clone whose proposals go to review branches, or undefined. */
export async function reviewHub(repo: Repo, gov: Governance): Promise<Hub | undefined> {
  const hub = await hubOf(repo, gov);
  return hub?.review ? hub : undefined;
}

/** Brings this clone's copies of the review branches up to date; false when the hub did not answer (the copies stay as they were). */
export async function refreshReviewBranches(repo: Repo, hub: Hub): Promise<boolean> {
  try {
    await fetchReviewBranches(repo, hub);
    return true;
  } catch (e) {
    if (e instanceof HubUnreachable) return false;
    throw e;
  }
}

/** The review branches this clone holds whose proposal the governed branch does not have yet. */
export async function reviewBranches(repo: Repo, gov: Governance): Promise<ReviewBranch[]> {
  const out = await gitText(['for-each-ref', '--format=%(objectname) %(refname)', REVIEW_REFS], { cwd: repo.root, allowFailure: true });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [tip, ref] = l.split(' ') as [string, string];
      const id = ref.slice(REVIEW_REFS.length);
      return { id, branch: `${REVIEW_BRANCH_PREFIX}${id}`, ref: reviewRef(id), tip };
    })
    .filter((b) => !gov.proposals.get(b.id)?.state);
}

/** The proposals waiting on review branches, each as its branch's history judges it. */
export async function waitingForReview(repo: Repo, gov: Governance): Promise<Waiting[]> {
  const waiting: Waiting[] = [];
  for (const b of await reviewBranches(repo, gov)) {
    const there = await loadGovernance(repo, { at: b.tip }).catch(() => undefined);
    const record = there?.proposals.get(b.id);
    if (record?.state && record.submittedValid) waiting.push({ ...b, record });
  }
  return waiting;
}

/** The review branch `ref` names (an id or a unique prefix of one), when the governed branch does not have the proposal. */
export function branchNamed(branches: ReviewBranch[], ref: string): ReviewBranch | undefined {
  checkProposalRef(ref);
  const exact = branches.find((b) => b.id === ref);
  if (exact) return exact;
  const matches = branches.filter((b) => b.id.startsWith(ref));
  if (matches.length > 1) throw new UsageError(`"${ref}" matches ${matches.length} proposals waiting for review: give more of the id`);
  return matches[0];
}

export interface Located {
  /** The history the proposal is judged in: the governed branch's, or its review branch's. */
  gov: Governance;
  record: ProposalRecord;
  /** Set when the proposal waits on a review branch. */
  on?: { hub: Hub; branch: ReviewBranch };
}

/**
 * The proposal `ref` names, on the governed branch, or else (in a clone whose
 * proposals go to review) on its review branch, fetched fresh when the hub
 * answers. Throws findProposal's error when it is in neither.
 */
export async function locateProposal(repo: Repo, gov: Governance, ref: string): Promise<Located> {
  try {
    return { gov, record: findProposal(gov, ref) };
  } catch (e) {
    if (!(e instanceof UsageError) || !/no proposal id starts with/.test(e.message)) throw e;
    const hub = await reviewHub(repo, gov);
    if (!hub) throw e;
    await refreshReviewBranches(repo, hub);
    const branch = branchNamed(await reviewBranches(repo, gov), ref);
    if (!branch) throw e;
    const there = await loadGovernance(repo, { at: branch.tip });
    return { gov: there, record: findProposal(there, branch.id), on: { hub, branch } };
  }
}

/**
 * Brings a decided review branch into the hub's branch with a merge commit
 * that adds nothing of its own (the clean merge of the hub's tip and the
 * branch), pushed fast-forward, retried when the hub moved; then removes the
 * review branch. What the merge brings in is judged as any merge's is.
 */
export async function mergeIntoHub(repo: Repo, hub: Hub, branch: ReviewBranch, commit: string, subject: string): Promise<string> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const tip = await fetchHub(repo, hub);
    if (!tip) throw new GovernanceRefusal(`the hub has no ${hub.branch} to merge ${branch.branch} into`);
    const merged = await git(['merge-tree', '--write-tree', '--no-messages', tip, commit], { cwd: repo.root, allowFailure: true });
    if (merged.code !== 0) throw new GovernanceRefusal(`${branch.branch} does not merge cleanly into ${hub.branch}; merge it by hand with a merge commit`);
    const tree = merged.stdout.toString('utf8').split('\n')[0]!.trim();
    const made = await gitText(['commit-tree', tree, '-p', tip, '-p', commit, '-m', subject], { cwd: repo.root });
    if ((await pushHub(repo, hub, made)) === 'pushed') {
      await deleteReviewBranch(repo, hub, branch.id);
      return made;
    }
  }
  throw new GovernanceRefusal(`the hub's ${hub.branch} kept moving while merging ${branch.branch}; run the command again`);
}
