// History as the replay reads it: the first-parent chain from the trust root
// to a tip, every commit read and checked against its id, each one's changes
// computed in process from verified trees, and for each merge on the chain
// the commits it brings in and what it adds of its own (its tree against the
// clean merge of its parents, DESIGN "Merges").
import { GovernanceRefusal } from '../errors.js';
import { diffTrees, type Change } from '../git/diff.js';
import { git } from '../git/exec.js';
import { EMPTY_TREE, type CommitObject } from '../git/objects.js';
import { assertHistoryIsWhole, memoByRepo, type Repo } from '../git/repo.js';

export type { Change } from '../git/diff.js';

export interface Commit {
  id: string;
  parents: string[];
  tree: string;
  /** Committer time. */
  committedAt: Date;
  authorName: string;
  authorEmail: string;
  message: string;
  /** Against its first parent; for a merge on the chain, against the clean merge of its parents. */
  changes: Change[];
  signature?: { armored: string; payload: Buffer };
  /** A merge on the first-parent chain: what it brings in, oldest first. */
  merge?: MergeInfo;
  /** A commit brought in by this merge (on the chain). */
  via?: string;
}

export interface MergeInfo {
  brought: Commit[];
  /** The tree of the clean merge of its parents (`git merge-tree --write-tree`, no merge driver). */
  cleanTree: string;
  /** The clean merge had conflicts: the merge's own changes include their resolution. */
  conflicted: boolean;
  /** More than two parents: judged like any merge, and reported. */
  octopus: boolean;
}

/** A commit object as the history reading holds it (its changes filled in later). */
export function fromObject(c: CommitObject): Commit {
  const out: Commit = {
    id: c.oid,
    parents: c.parents,
    tree: c.tree,
    committedAt: c.committedAt,
    authorName: c.authorName,
    authorEmail: c.authorEmail,
    message: c.message,
    changes: [],
  };
  if (c.signature) out.signature = c.signature;
  return out;
}

/**
 * The first-parent chain from `root` (inclusive) to `tip`, oldest first.
 * git lists the ids; every commit is then read verified and the chain must
 * link up through the verified parents, so neither a swapped commit object
 * nor a forged commit-graph can reorder or hide one.
 */
export async function readChain(repo: Repo, tip: string, root: string): Promise<Commit[]> {
  const all = await firstParentIds(repo, tip);
  const at = all?.indexOf(root) ?? -1;
  if (!all || at < 0) {
    const exists = (await git(['cat-file', '-e', `${root}^{commit}`], { cwd: repo.root, allowFailure: true })).code === 0;
    if (!all || !exists)
      throw new GovernanceRefusal(`the trust root ${root.slice(0, 12)} is not in this repository: fetch it, or pin another with ga trust <commit>`);
    throw new GovernanceRefusal(
      `HEAD does not descend from the trust root ${root.slice(0, 12)} along its first parents: check out the governed branch, or pin another root with ga trust`,
    );
  }
  return readCommits(repo, all.slice(at));
}

/** Listings by Repo and tip: the trust root and the reading walk the same chain. */
const listings = memoByRepo<string[]>();

/**
 * `tip`'s first-parent ids as git lists them, oldest first (undefined when
 * git cannot list them), once per Repo and tip. Only a list: whatever part
 * of it is used is read verified and must link up (readCommits, and the
 * trust root's own check).
 */
export function firstParentIds(repo: Repo, tip: string): Promise<string[] | undefined> {
  const list = async () => {
    const r = await git(['rev-list', '--first-parent', tip, '--'], { cwd: repo.root, allowFailure: true });
    if (r.code !== 0) throw new Error('git rev-list failed');
    return r.stdout.toString('utf8').split('\n').filter(Boolean).reverse();
  };
  return listings(repo, tip, list).catch(() => undefined);
}

/**
 * The first-parent commits after `from` up to `tip` (for a reading that goes
 * on), oldest first; undefined if `tip` does not extend `from`. History that
 * grew is checked whole (assertHistoryIsWhole) before its merges are read.
 */
export async function readChainSince(repo: Repo, tip: string, from: string): Promise<Commit[] | undefined> {
  const ids = await firstParentsSince(repo, tip, from);
  if (!ids) return undefined;
  const commits = (await repo.objects.commitsOf(ids)).map(fromObject);
  let parent = from;
  for (const c of commits) {
    if (c.parents[0] !== parent) return undefined;
    parent = c.id;
  }
  if (parent !== tip) return undefined;
  await assertHistoryIsWhole(repo, tip, { from, merges: commits.some((c) => c.parents.length > 1) });
  return withChanges(repo, commits);
}

/** Commits walked before git is asked: a daemon's reading grows by one or a few at a time. Read through cat-file, then loose (read in process, and cheaper than starting git). */
const WALK = 64;
const WALK_LOOSE = 512;
/** Commits read through cat-file before git is asked as well, the walk going on until one of the two has the answer. */
const ASK_AFTER = 8;

/**
 * The first-parent ids after `from` up to `tip`, oldest first: walked
 * through verified commits, and listed by git as well once the walk has
 * asked cat-file for ASK_AFTER commits without reaching `from` (whichever
 * answers first is taken); undefined when git cannot list them. Loose
 * commits (those made here since the last repack) are read in process,
 * where the walk costs less than starting git: a checkpoint's 100 commits
 * since are walked, not listed.
 */
async function firstParentsSince(repo: Repo, tip: string, from: string): Promise<string[] | undefined> {
  const list = async () => {
    const r = await git(['rev-list', '--first-parent', tip, `^${from}`, '--'], { cwd: repo.root, allowFailure: true });
    return { ids: r.code === 0 ? r.stdout.toString('utf8').split('\n').filter(Boolean).reverse() : undefined };
  };
  const walked: string[] = [];
  let asked = 0;
  let listing: Promise<{ ids: string[] | undefined }> | undefined;
  let listed = false;
  for (
    let id: string | undefined = tip;
    id !== undefined && asked < WALK && walked.length < WALK_LOOSE && !listed;
    id = (await repo.objects.commit(id)).parents[0]
  ) {
    if (id === from) return walked.reverse();
    walked.push(id);
    if (!repo.objects.commitAtHand(id) && ++asked === ASK_AFTER) {
      listing = list();
      listing.then(() => (listed = true)).catch(() => undefined); // a failure is met where the listing is awaited
    }
  }
  return (await (listing ?? list())).ids;
}

async function readCommits(repo: Repo, ids: string[]): Promise<Commit[]> {
  const commits = (await repo.objects.commitsOf(ids)).map(fromObject);
  for (let i = 1; i < commits.length; i++) {
    if (commits[i]!.parents[0] !== ids[i - 1]) {
      throw new GovernanceRefusal(
        `the first-parent history does not link up at ${ids[i]!.slice(0, 12)}: the object store or the commit-graph was tampered with; run git fsck`,
      );
    }
  }
  return withChanges(repo, commits);
}

/** What each commit brings in (merges) and changes. */
async function withChanges(repo: Repo, commits: Commit[]): Promise<Commit[]> {
  await expandMerges(repo, commits);
  await computeChanges(repo, commits);
  return commits;
}

/** For each merge on the chain: the commits it brings in and its clean merge. */
async function expandMerges(repo: Repo, commits: Commit[]): Promise<void> {
  for (const c of commits) {
    if (c.parents.length < 2) continue;
    const [first, ...others] = c.parents as [string, ...string[]];
    const listed = await git(['rev-list', '--topo-order', '--reverse', ...others, `^${first}`, '--'], { cwd: repo.root });
    const ids = listed.stdout.toString('utf8').split('\n').filter(Boolean);
    const brought = (await repo.objects.commitsOf(ids)).map((o) => ({ ...fromObject(o), via: c.id }));
    const octopus = c.parents.length > 2;
    const { tree: cleanTree, conflicted } = await cleanMerge(repo, c.id, first, others);
    c.merge = { brought, cleanTree, conflicted, octopus };
  }
}

/**
 * The clean merge of a merge's parents, no merge driver: the first parent
 * merged with each other parent in turn (for an octopus, through temporary
 * commits that nothing references), as `git merge` would have left it.
 */
async function cleanMerge(repo: Repo, merge: string, first: string, others: string[]): Promise<{ tree: string; conflicted: boolean }> {
  let base = first;
  let tree = '';
  let conflicted = false;
  for (const [i, other] of others.entries()) {
    const m = await git(['merge-tree', '--write-tree', '--no-messages', base, other], { cwd: repo.root, allowFailure: true });
    tree = m.stdout.toString('utf8').split('\n')[0]?.trim() ?? '';
    if (!((m.code === 0 || m.code === 1) && /^[0-9a-f]{40,64}$/.test(tree))) {
      throw new GovernanceRefusal(`git merge-tree could not merge the parents of ${merge.slice(0, 12)}: ${m.stderr.trim().split('\n')[0] ?? ''}`);
    }
    conflicted ||= m.code === 1;
    if (i < others.length - 1) {
      const ident = {
        GIT_AUTHOR_NAME: 'ga',
        GIT_AUTHOR_EMAIL: 'ga@localhost',
        GIT_AUTHOR_DATE: '1000000000 +0000',
        GIT_COMMITTER_NAME: 'ga',
        GIT_COMMITTER_EMAIL: 'ga@localhost',
        GIT_COMMITTER_DATE: '1000000000 +0000',
      };
      base = (await git(['commit-tree', '--no-gpg-sign', tree, '-p', base, '-p', other, '-m', 'ga: clean octopus step'], { cwd: repo.root, env: ident })).stdout
        .toString('utf8')
        .trim();
    }
  }
  return { tree, conflicted };
}

/** Every commit's changes, all diffs computed together level by level. */
async function computeChanges(repo: Repo, commits: Commit[]): Promise<void> {
  const all = commits.flatMap((c) => [...(c.merge?.brought ?? []), c]);
  const parentTrees = await repo.objects.commitsOf([...new Set(all.map((c) => c.parents[0]).filter((p): p is string => p !== undefined))]);
  const treeOf = new Map(parentTrees.map((p) => [p.oid, p.tree]));
  const pairs = all.map((c) => ({
    old: c.merge ? c.merge.cleanTree : c.parents[0] ? treeOf.get(c.parents[0]) : EMPTY_TREE,
    new: c.tree,
  }));
  const changes = await diffTrees(repo.objects, pairs);
  all.forEach((c, i) => (c.changes = changes[i]!));
}
