// The trust root: the commit whose tree's policies/approvers names the first
// trusted approvers; governance replays HEAD's first-parent history from it.
//
// The repository's first self-attesting commit is, walking HEAD's first
// parents from the oldest, the first commit signed by a key that its own
// tree lists in policies/approvers (ga init's signed commit, as a rule).
// Unpinned, it is the trust root; without one, the single root commit is,
// trusted on first use. A pin in the clone's own .git/config (ga init, ga
// trust, or anyone with a shell) may only make trust stricter: it must be
// that commit or one before it on HEAD's first parents. A later pin would let
// whoever signed a later commit listing its own key approve everything, so it
// is refused; changing the approvers takes a policies/approvers change signed
// by the approvers already trusted.
import { GovernanceRefusal, UsageError } from '../errors.js';
import { git } from '../git/exec.js';
import { OID, type CommitObject } from '../git/objects.js';
import { configSetLocal, headCommit, localConfig, memoByRepo, resolveCommit, rootCount, type Repo } from '../git/repo.js';
import { firstParentIds, fromObject } from '../history/chain.js';
import { NO_APPROVERS, SignatureJudge, type ApproverSet } from '../history/signatures.js';
import { APPROVERS_PATH, POLICIES_DIR } from '../layout/layout.js';
import { parseApprovers } from '../schema/approvers.js';

export interface TrustRoot {
  commit: string;
  /**
   * pinned: git config ga.trustRoot of this clone (or ga verify --trust);
   * first-self-attesting: not pinned, the first commit signed by an approver
   * its own tree lists; first-use: not pinned and no such commit, the single
   * root commit.
   */
  source: 'pinned' | 'first-self-attesting' | 'first-use';
}

export const TRUST_ROOT_KEY = 'ga.trustRoot';

/** Readings of one Repo (one command, or one daemon), by HEAD and pin. */
const readings = memoByRepo<TrustRoot>();

/** The trust root for HEAD; `at`: HEAD's commit as the caller has just read it. */
export async function findTrustRoot(repo: Repo, at?: string): Promise<TrustRoot> {
  const head = at ?? (await headCommit(repo));
  if (!head) throw new GovernanceRefusal(`${repo.root} has no commits: run ga init there first`);
  // The clone's own .git/config file itself: never an included file, never the global config.
  const pinned = localConfig(repo, TRUST_ROOT_KEY);
  if (pinned === undefined && !(await repo.objects.entryAt((await repo.objects.commit(head)).tree, POLICIES_DIR))) {
    throw new UsageError(
      `${repo.root} is not a governance repository (no ${POLICIES_DIR}/ in HEAD and no trust root pinned): run ga init there, or pass -C <dir> with one`,
    );
  }
  return readings(repo, `${head} ${pinned ?? ''}`, () =>
    firstParents(repo, head).then((chain) => (pinned === undefined ? unpinned(repo, chain) : checkedPin(repo, chain, pinned))),
  );
}

/** The clone's pin (`ga.trustRoot` in its own .git/config), unchecked: undefined when none is set. */
export function pinnedTrustRoot(repo: Repo): string | undefined {
  return localConfig(repo, TRUST_ROOT_KEY);
}

/**
 * The trust root of a history that only grew at its tip by `grown` (the new
 * first-parent commits, oldest first, read verified and linked to `prev`'s
 * reading): a pin that has not changed still stands, and so does the first
 * self-attesting commit, which is the oldest one and cannot move when commits
 * are added after it. A root trusted on first use stands while none of the
 * new commits attests itself (the ones before were read when it was found, or
 * as it grew, and none did). Undefined when it must be found afresh (the pin
 * changed or went, or a new commit attests itself and takes over).
 */
export async function trustRootAfterGrowth(repo: Repo, prev: TrustRoot, head: string, grown: readonly string[]): Promise<TrustRoot | undefined> {
  const pinned = localConfig(repo, TRUST_ROOT_KEY);
  if (pinned !== undefined) return prev.source === 'pinned' && prev.commit === pinned ? prev : undefined;
  if (prev.source === 'pinned') return undefined;
  // Unpinned, HEAD must still be a governance repository (findTrustRoot says so when not).
  if (!(await repo.objects.entryAt((await repo.objects.commit(head)).tree, POLICIES_DIR))) return undefined;
  if (prev.source === 'first-use' && (await new Attestation(repo).first(await repo.objects.commitsOf([...grown])))) return undefined;
  return prev;
}

/**
 * Pins `commit` as this clone's trust root (ga init, ga trust), refusing what
 * findTrustRoot would refuse: a commit off HEAD's first parents, or after the
 * first self-attesting commit.
 */
export async function pinTrustRoot(repo: Repo, commit: string, opts: { replace?: boolean } = {}): Promise<{ replaced?: string }> {
  const head = await headCommit(repo);
  if (!head) throw new GovernanceRefusal(`${repo.root} has no commits: run ga init there first`);
  await assertPinnable(repo, await firstParents(repo, head), commit, 'asked');
  // A pin this clone already has is replaced only on purpose (ga trust --force), and said.
  const pinned = localConfig(repo, TRUST_ROOT_KEY);
  const replaced = pinned !== undefined && pinned !== commit ? pinned : undefined;
  if (replaced && !opts.replace) {
    throw new GovernanceRefusal(
      `this clone already trusts history from ${replaced.slice(0, 12)}; pinning ${commit.slice(0, 12)} instead changes which commits and approvers ga trusts: give --force if that is what you mean`,
    );
  }
  await configSetLocal(repo, TRUST_ROOT_KEY, commit);
  return replaced ? { replaced } : {};
}

async function checkedPin(repo: Repo, chain: string[], pinned: string): Promise<TrustRoot> {
  let commit = pinned;
  if (!OID.test(pinned)) {
    try {
      commit = await resolveCommit(repo, pinned);
    } catch {
      throw new GovernanceRefusal(
        `the pinned trust root ${pinned} (git config ${TRUST_ROOT_KEY}) is not in this repository: fetch it, or pin another with ga trust <commit>`,
      );
    }
  }
  await assertPinnable(repo, chain, commit, 'pinned');
  return { commit, source: 'pinned' };
}

async function unpinned(repo: Repo, chain: string[]): Promise<TrustRoot> {
  if ((await rootCount(repo, chain[chain.length - 1]!)) !== 1)
    throw new GovernanceRefusal('HEAD has more than one root commit and no pinned trust root: pin one with ga trust <commit>');
  const first = await firstSelfAttesting(repo, chain, chain.length);
  return first ? { commit: first, source: 'first-self-attesting' } : { commit: chain[0]!, source: 'first-use' };
}

/**
 * A pin may only make trust stricter: `commit` must be on HEAD's first
 * parents, and no commit before it there may be self-attesting (it is the
 * first self-attesting commit, or comes before it, or there is none).
 */
async function assertPinnable(repo: Repo, chain: string[], commit: string, how: 'pinned' | 'asked'): Promise<void> {
  const named = how === 'pinned' ? `${commit.slice(0, 12)} (pinned in git config ${TRUST_ROOT_KEY})` : commit.slice(0, 12);
  const at = chain.indexOf(commit);
  if (at >= 0) await verified(repo, chain, at, at + 1); // linked to the commits before it, which are checked as they are read
  if (at === 0) return; // the oldest commit: nothing comes before it (the common case, ga init's own commit)
  if (at < 0) {
    const exists = (await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: repo.root, allowFailure: true })).code === 0;
    if (!exists) throw new GovernanceRefusal(`the trust root ${named} is not in this repository: fetch it, or pin another with ga trust <commit>`);
    const first = await firstSelfAttesting(repo, chain, chain.length);
    const anchor = first
      ? `${first.slice(0, 12)}, the first commit signed by an approver its own policies/approvers lists`
      : `${chain[0]!.slice(0, 12)}, its root commit`;
    throw new GovernanceRefusal(
      `HEAD does not descend from the trust root ${named} along its first parents: check out the governed branch, or pin ${anchor} (ga trust ${(first ?? chain[0]!).slice(0, 12)})`,
    );
  }
  const first = await firstSelfAttesting(repo, chain, at);
  if (first) {
    const f = first.slice(0, 12);
    throw new GovernanceRefusal(
      `${named} cannot be the trust root: it comes after ${f}, the first commit signed by an approver its own policies/approvers lists, and a pin may only make trust stricter; pin ${f} or an earlier commit (ga trust ${f}), and to change the approvers have an approver of ${f} sign a policies/approvers change (ga verify --trust <commit> still checks a range against a root given on the command line)`,
    );
  }
}

/** HEAD's first-parent chain as git lists it, oldest first (HEAD last); each stretch used is then checked by `verified`. */
async function firstParents(repo: Repo, head: string): Promise<string[]> {
  const ids = await firstParentIds(repo, head);
  if (!ids) throw new GovernanceRefusal(`git cannot list the history of ${head.slice(0, 12)}: the repository is damaged; run git fsck`);
  return ids;
}

/**
 * chain[from .. to-1], read verified; they must link up through the verified
 * parents (chain[0] having none), so neither a swapped commit object nor a
 * forged commit-graph can hide or reorder a commit before a pin (the replay
 * checks the rest from the pin on, as history/chain.ts says).
 */
async function verified(repo: Repo, chain: string[], from: number, to: number): Promise<CommitObject[]> {
  const commits = await repo.objects.commitsOf(chain.slice(from, to));
  commits.forEach((c, k) => {
    const i = from + k;
    if (i === 0 ? c.parents.length !== 0 : c.parents[0] !== chain[i - 1]) {
      throw new GovernanceRefusal(
        `the first-parent history does not link up at ${c.oid.slice(0, 12)}: the object store or the commit-graph was tampered with; run git fsck`,
      );
    }
  });
  return commits;
}

const BATCH = 256;

/**
 * The first self-attesting commit among chain[0 .. before-1]: the first
 * signed by a key listed in policies/approvers of its own tree, oldest first.
 * Only signed commits can be; for each, the approvers are read from its own
 * tree through verified objects (never from git's path-limited walk, which
 * reads trees unchecked), memoised by blob. In the common case the oldest
 * commit, ga init's, is the one, and nothing more is read.
 */
async function firstSelfAttesting(repo: Repo, chain: string[], before: number): Promise<string | undefined> {
  const attestation = new Attestation(repo);
  const end = Math.min(before, chain.length);
  for (let i = 0; i < end; i = i === 0 ? 1 : i + BATCH) {
    const first = await attestation.first(await verified(repo, chain, i, i === 0 ? 1 : Math.min(end, i + BATCH)));
    if (first) return first;
  }
  return undefined;
}

/** Which commits attest themselves: signed by a key their own tree lists in policies/approvers (lists memoised by blob). */
class Attestation {
  private readonly judge = new SignatureJudge();
  private readonly lists = new Map<string, Promise<ApproverSet>>();
  constructor(private readonly repo: Repo) {}

  /** The first of `commits` (oldest first, read verified) that attests itself. */
  async first(commits: CommitObject[]): Promise<string | undefined> {
    for (const c of commits) {
      if (!c.signature) continue;
      const set = await this.approversOf(c);
      if (set.list.length && (await this.judge.judge(fromObject(c), set)).status === 'good') return c.oid;
    }
    return undefined;
  }

  private async approversOf(c: CommitObject): Promise<ApproverSet> {
    const entry = await this.repo.objects.entryAt(c.tree, APPROVERS_PATH);
    if (!entry || entry.mode === '40000' || entry.mode === '160000') return NO_APPROVERS;
    let set = this.lists.get(entry.oid);
    if (!set) this.lists.set(entry.oid, (set = readApprovers(this.repo, entry.oid)));
    return set;
  }
}

/** The approvers a blob lists; a malformed file lists nobody (as the replay reads it), a missing or corrupt object is refused. */
async function readApprovers(repo: Repo, blob: string): Promise<ApproverSet> {
  const text = (await repo.objects.blob(blob)).toString('utf8');
  try {
    return { key: blob, list: parseApprovers(text) };
  } catch {
    return { key: blob, list: [] };
  }
}
