// Replays first-parent history from the trust root to HEAD, once per command:
// the trusted version of every governed file, every untrusted change to one,
// and each proposal's life (submission, approvals, decisions, outcomes), all
// judged by signatures that ga checks itself against the approvers trusted at
// each commit's parent.
import { GovernanceRefusal } from '../errors.js';
import { availableParallelism } from 'node:os';
import { parseTrailers } from '../audit/events.js';
import { firstParentLog, readCommitSignatures, type Commit } from '../git/log.js';
import { assertHistoryIsWhole, headCommit, listTree, readObjects, resolveCommit, type Repo } from '../git/repo.js';
import { verifySignature, type SignatureResult } from '../git/signature.js';
import { APPROVERS_PATH, parseApprovers, type Approver } from '../schema/approvers.js';
import { parsePolicy, POLICY_PATH, policySchema, type Policy } from '../schema/policy.js';
import { isGovernedPath, parseProposalPath } from '../trust/governed.js';
import { findTrustRoot, type TrustRoot } from '../trust/root.js';
import { ProposalTracker, type ProposalRecord } from './proposals.js';
import { SignatureCache } from './sigcache.js';

export interface TrustedFile {
  blob: string;
  mode: string;
}

export interface UntrustedChange {
  commit: string;
  path: string;
  why: string;
}

export interface Governance {
  repo: Repo;
  head: string;
  root: TrustRoot;
  /** The trust root commit itself. */
  rootCommit: Commit;
  /** First-parent commits after the root, oldest first. */
  commits: Commit[];
  /** Trusted version of each governed path at HEAD. */
  trusted: Map<string, TrustedFile>;
  untrusted: UntrustedChange[];
  /** Files added under proposals/ that are not proposals/<state>/<id>.toml: never executable, always reported. */
  strays: UntrustedChange[];
  proposals: Map<string, ProposalRecord>;
  /** Reads a trusted governed file; undefined if it has no trusted version. */
  readTrusted(path: string): Promise<Buffer | undefined>;
  /** The trusted policy at HEAD, or the fail-closed one. */
  policy(): Promise<Policy>;
  /** The policy of a given blob (the one in force at a submission). */
  policyOf(blob: string | undefined): Promise<Policy>;
  /** The trusted approvers at HEAD. */
  approvers(): Promise<Approver[]>;
  /** Judges a commit's signature against the approvers trusted at its parent (`fresh`: see SignatureJudge). */
  signatureOf(commit: Commit, fresh?: boolean): Promise<SignatureResult>;
}

/** The policy used when the trusted one is missing or malformed: nothing is automatic. */
export const FAIL_CLOSED_POLICY: Policy = policySchema.parse({});

/** Shared parsing of trusted blobs, memoised by blob id. */
export class BlobReader {
  private readonly texts = new Map<string, string>();
  private readonly approvers = new Map<string, Approver[]>();
  private readonly policies = new Map<string, Policy>();
  constructor(private readonly repo: Repo) {}

  async text(blob: string): Promise<string> {
    let t = this.texts.get(blob);
    if (t === undefined) {
      t = (await readObjects(this.repo, [blob])).get(blob)?.content.toString('utf8') ?? '';
      this.texts.set(blob, t);
    }
    return t;
  }

  async preload(blobs: string[]): Promise<void> {
    const missing = [...new Set(blobs)].filter((b) => !this.texts.has(b));
    const objs = await readObjects(this.repo, missing);
    for (const b of missing) this.texts.set(b, objs.get(b)?.content.toString('utf8') ?? '');
  }

  async approversOf(blob: string | undefined): Promise<Approver[]> {
    if (!blob) return [];
    let a = this.approvers.get(blob);
    if (!a) {
      try {
        a = parseApprovers(await this.text(blob));
      } catch {
        a = []; // a malformed approvers file approves nobody
      }
      this.approvers.set(blob, a);
    }
    return a;
  }

  async policyOf(blob: string | undefined): Promise<Policy> {
    if (!blob) return FAIL_CLOSED_POLICY;
    let p = this.policies.get(blob);
    if (!p) {
      try {
        p = parsePolicy(await this.text(blob));
      } catch {
        p = FAIL_CLOSED_POLICY;
      }
      this.policies.set(blob, p);
    }
    return p;
  }
}

/** Judges commit signatures against the approvers trusted at their parent. */
export class SignatureJudge {
  private readonly cache: SignatureCache;
  private readonly memo = new Map<string, SignatureResult>();
  constructor(private readonly repo: Repo, private readonly blobs: BlobReader) {
    this.cache = new SignatureCache(repo);
  }

  private usable(commit: string, key: string, fresh: boolean): SignatureResult | undefined {
    const memo = this.memo.get(`${commit} ${key}`);
    if (memo) return memo;
    const cached = this.cache.get(commit, key);
    return cached && (!fresh || cached.status !== 'good') ? cached : undefined;
  }

  /**
   * `fresh`: a cached "good" is not enough (anyone who can write .ga/ can
   * write the cache), so ssh-keygen checks it again. Used for every decision
   * that lets something happen; a cached refusal is kept (it only fails closed).
   */
  async judge(commit: Commit, approversBlob: string | undefined, fresh = false): Promise<SignatureResult> {
    await this.prefetch([{ commit, approversBlob, fresh }]);
    return this.memo.get(`${commit.id} ${approversBlob ?? 'none'}`) ?? this.usable(commit.id, approversBlob ?? 'none', fresh)!;
  }

  /** Judges many commits at once: one read of their objects, ssh-keygen runs in parallel. */
  async prefetch(items: { commit: Commit; approversBlob: string | undefined; fresh: boolean }[]): Promise<void> {
    const todo = items.filter((i) => !this.usable(i.commit.id, i.approversBlob ?? 'none', i.fresh));
    if (todo.length === 0) return;
    const signed = await readCommitSignatures(this.repo, [...new Set(todo.map((i) => i.commit.id))]);
    const queue = [...todo];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const key = item.approversBlob ?? 'none';
        const result = await verifySignature(signed.get(item.commit.id), await this.blobs.approversOf(item.approversBlob), item.commit.committedAt);
        const judged = result.status === 'good' && result.principal?.toLowerCase().startsWith('agent:') ? { ...result, status: 'bad' as const, detail: 'agent principals may never approve' } : result;
        this.memo.set(`${item.commit.id} ${key}`, judged);
        this.cache.set(item.commit.id, key, judged);
      }
    };
    await Promise.all(Array.from({ length: Math.min(availableParallelism() + 1, todo.length) }, worker));
    this.cache.flush();
  }
}

/** Proposal ids a commit touches, by path or trailer. */
function touchedProposals(c: Commit): string[] {
  const ids = c.changes.map((ch) => parseProposalPath(ch.path)?.id).filter((id): id is string => id !== undefined);
  for (const t of parseTrailers(c.message)) if (t.proposal) ids.push(t.proposal);
  return ids;
}

/** Commits whose signature some decision reads: proposal moves, quorum steps, pause removals, resumes. */
function needsSignature(c: Commit): boolean {
  const moved = c.changes.some((ch) => ch.status === 'D' && ch.path.startsWith('proposals/pending/'));
  const unpaused = c.changes.some((ch) => ch.status === 'D' && ch.path.endsWith('/PAUSED'));
  return moved || unpaused || /^Ga-Event: (proposal-approval-recorded|agent-resumed)$/m.test(c.message);
}

export interface LoadOptions {
  /** Overrides the clone's pin for this reading (ga verify --trust). */
  trust?: string;
  /** Reads history at another commit than HEAD (the tip of a range). */
  at?: string;
  /**
   * Proposals whose approvals are about to let something run: their
   * signatures are checked afresh, never taken from the cache. Governed
   * files are always checked afresh.
   */
  fresh?: 'all' | string[];
}

export async function loadGovernance(repo: Repo, opts: LoadOptions = {}): Promise<Governance> {
  const head = opts.at ? await resolveCommit(repo, opts.at) : await headCommit(repo);
  if (!head) throw new GovernanceRefusal(`${repo.root} has no commits: run ga init there first`);
  await assertHistoryIsWhole(repo, head);
  const root: TrustRoot = opts.trust ? { commit: await resolveCommit(repo, opts.trust), source: 'pinned' } : await findTrustRoot(repo);
  // One log from the root (its parents excluded) to HEAD; the root comes first.
  const log = await firstParentLog(repo, [head, `^${root.commit}^@`]).catch(() => {
    throw new GovernanceRefusal(`the trust root ${root.commit.slice(0, 12)} is not in this repository: fetch it, or pin another with ga trust <commit>`);
  });
  const [rootCommit, ...commits] = log;
  let parent = root.commit;
  if (rootCommit?.id !== root.commit) parent = '';
  for (const c of commits) {
    if (c.parents[0] !== parent) break;
    parent = c.id;
  }
  if (parent !== head) {
    throw new GovernanceRefusal(`HEAD does not descend from the trust root ${root.commit.slice(0, 12)} along its first parents: check out the governed branch, or pin another root with ga trust`);
  }
  const blobs = new BlobReader(repo);
  const st: ReplayState = {
    repo, root, blobs, judge: new SignatureJudge(repo, blobs), trusted: new Map(),
    tracker: new ProposalTracker(blobs, opts.fresh === 'all' ? 'all' : new Set(opts.fresh ?? [])),
    untrusted: [], strays: [], approversAtParent: new Map(), policyAtParent: new Map(), rootApprovers: undefined,
  };
  const rootTree = await listTree(repo, root.commit, ['policies', 'agents', 'proposals']);
  await blobs.preload(rootTree.filter((e) => e.path.startsWith('proposals/') || e.path === APPROVERS_PATH || e.path === POLICY_PATH).map((e) => e.oid));
  for (const e of rootTree) {
    if (isGovernedPath(e.path)) st.trusted.set(e.path, { blob: e.oid, mode: e.mode });
    else st.tracker.atRoot(e.path, e.oid, e.mode, root.commit);
  }
  st.rootApprovers = st.trusted.get(APPROVERS_PATH)?.blob;
  await replayCommits(st, commits);
  return governanceOf(st, head, rootCommit!, commits);
}

/** What a replay has built so far, so that it can go on with newer commits. */
interface ReplayState {
  repo: Repo;
  root: TrustRoot;
  blobs: BlobReader;
  judge: SignatureJudge;
  trusted: Map<string, TrustedFile>;
  tracker: ProposalTracker;
  untrusted: UntrustedChange[];
  strays: UntrustedChange[];
  approversAtParent: Map<string, string | undefined>;
  policyAtParent: Map<string, string | undefined>;
  rootApprovers: string | undefined;
}

const states = new WeakMap<Governance, ReplayState>();

async function replayCommits(st: ReplayState, commits: Commit[]): Promise<void> {
  const { blobs, judge, trusted, tracker } = st;
  // Every blob the replay may parse, read in one process.
  await blobs.preload(
    commits.flatMap((c) => c.changes)
      .filter((ch) => ch.status !== 'D' && (ch.path.startsWith('proposals/') || ch.path === APPROVERS_PATH || ch.path === POLICY_PATH))
      .map((ch) => ch.newBlob),
  );

  // Pass one: the trusted governed files, commit by commit (each judged afresh; they are few).
  for (const c of commits) {
    st.approversAtParent.set(c.id, trusted.get(APPROVERS_PATH)?.blob);
    st.policyAtParent.set(c.id, trusted.get(POLICY_PATH)?.blob);
    const governed = c.changes.filter((ch) => isGovernedPath(ch.path));
    if (governed.length === 0) continue;
    const s = await judge.judge(c, st.approversAtParent.get(c.id), true);
    const why =
      s.status !== 'good'
        ? `not signed by a trusted approver (${s.status}${s.detail ? `: ${s.detail}` : ''})`
        : c.changes.some((ch) => ch.path.startsWith('proposals/'))
          ? 'mixed into a commit that also changes proposals/'
          : undefined;
    for (const ch of governed) {
      if (why) st.untrusted.push({ commit: c.id, path: ch.path, why });
      else if (ch.status === 'D') trusted.delete(ch.path);
      else trusted.set(ch.path, { blob: ch.newBlob, mode: ch.newMode });
    }
  }

  // Pass two: every other signature a decision may need, judged together.
  await judge.prefetch(
    commits.filter(needsSignature).map((c) => ({ commit: c, approversBlob: st.approversAtParent.get(c.id), fresh: touchedProposals(c).some((id) => tracker.freshFor(id)) })),
  );

  // Pass three: each proposal's life.
  for (const c of commits) {
    await tracker.apply(c, { signature: (fresh) => judge.judge(c, st.approversAtParent.get(c.id), fresh), policyBlob: st.policyAtParent.get(c.id) });
    for (const ch of c.changes) {
      if (ch.status !== 'D' && ch.path.startsWith('proposals/') && !parseProposalPath(ch.path) && !ch.path.endsWith('/.gitkeep')) {
        st.strays.push({ commit: c.id, path: ch.path, why: 'not a proposal file: proposals/<state>/<id>.toml with a valid id' });
      }
    }
  }
}

function governanceOf(st: ReplayState, head: string, rootCommit: Commit, commits: Commit[]): Governance {
  const { repo, root, blobs, judge, trusted } = st;
  const gov: Governance = {
    repo,
    head,
    root,
    rootCommit,
    commits,
    trusted,
    untrusted: st.untrusted,
    strays: st.strays,
    proposals: st.tracker.records,
    readTrusted: async (path) => {
      const t = trusted.get(path);
      return t ? Buffer.from(await blobs.text(t.blob), 'utf8') : undefined;
    },
    policy: () => blobs.policyOf(trusted.get(POLICY_PATH)?.blob),
    policyOf: (blob) => blobs.policyOf(blob),
    approvers: () => blobs.approversOf(trusted.get(APPROVERS_PATH)?.blob),
    // The root is judged by the approvers it itself lists: it is trusted by pin.
    signatureOf: (c, fresh) => judge.judge(c, c.id === root.commit ? st.rootApprovers : st.approversAtParent.get(c.id), fresh),
  };
  states.set(gov, st);
  return gov;
}

/**
 * Goes on from an earlier reading to the current HEAD (for daemons, which
 * read after every event): only the new commits are replayed, and judged
 * afresh. Falls back to a full reading when HEAD did not simply grow. The
 * earlier reading must not be used afterwards.
 */
export async function extendGovernance(prev: Governance, reload: () => Promise<Governance>): Promise<Governance> {
  const st = states.get(prev);
  const repo = prev.repo;
  const head = await headCommit(repo);
  if (!st || !head) return reload();
  if (head === prev.head) return prev;
  await assertHistoryIsWhole(repo, head);
  const root = await findTrustRoot(repo);
  const commits = root.commit === st.root.commit ? await firstParentLog(repo, [head, `^${prev.head}`]) : [];
  let parent = prev.head;
  for (const c of commits) {
    if (c.parents[0] !== parent) break;
    parent = c.id;
  }
  if (commits.length === 0 || parent !== head) return reload();
  st.tracker.markAllFresh(); // what lands now is about to be acted on
  await replayCommits(st, commits);
  return governanceOf(st, head, prev.rootCommit, [...prev.commits, ...commits]);
}
