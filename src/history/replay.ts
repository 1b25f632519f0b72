// Replays history from the trust root to HEAD, once per command: the trusted
// version of every governed file, every untrusted change to one, each
// proposal's life, each pause marker and each ledger line that still counts,
// and the claims and outcomes of executions. Every commit is read verified;
// merges are judged as DESIGN "Merges" says: what a merge brings in counts
// when valid at its own parent and at the merge's first parent, and what it
// adds of its own counts only when the merge is signed by an approver.
import { parseTrailers } from '../audit/events.js';
import { GovernanceRefusal } from '../errors.js';
import { readHead } from '../git/head.js';
import { traced } from '../git/exec.js';
import { assertHistoryIsWhole, listFilesAt, readBlobs, resolveCommit, type Repo } from '../git/repo.js';
import type { SignatureResult } from '../git/signature.js';
import {
  agentOfLedgerPath,
  agentOfPausePath,
  APPROVERS_PATH,
  isGovernedPath,
  isStrayProposalPath,
  isUnderProposals,
  pausePath,
  POLICY_PATH,
  proposalPath,
  POLICIES_DIR,
  AGENTS_DIR,
  PROPOSALS_DIR,
} from '../layout/layout.js';
import type { Approver } from '../schema/approvers.js';
import type { Policy } from '../schema/policy.js';
import { findTrustRoot, trustRootAfterGrowth, type TrustRoot } from '../trust/root.js';
import { approvalsHoldAfresh } from './afresh.js';
import { BlobReader } from './blobs.js';
import { readChain, readChainSince, type Change, type Commit } from './chain.js';
import {
  chunkSizes,
  everydayReading,
  keepFresh,
  newestToMerge,
  readChunk,
  readSaved,
  savedDamaged,
  savedPart,
  writeSaved,
  type ReadingPlace,
} from './saved.js';
import { isPackedBriefs, ProposalBook, type PackedBriefs } from './book.js';
import { isSavedIds, savedIdCount, TimelineIds, type Places, type SavedIds } from './ids.js';
export type { Places } from './ids.js';
import { isPackedIndex, PackedMap, type Lookup, type PackedIndex } from './packed.js';
import { ProposalTracker, type ProposalRecord } from './proposals.js';
import { intersect, NO_APPROVERS, SignatureJudge, type ApproverSet } from './signatures.js';

export type { Commit, Change } from './chain.js';

export interface TrustedFile {
  blob: string;
  mode: string;
}

/** Something the replay found that does not count: reported by ga verify. */
export interface ReplayFinding {
  commit: string;
  path: string;
  rule: 'governed-file' | 'proposal-file' | 'merge' | 'pause-removed';
  why: string;
}

export type UntrustedChange = Omit<ReplayFinding, 'rule'>;

/** A pause marker as history tells it (the work tree and HEAD's tree are looked at by the pause test). */
export interface MarkerState {
  /** Present by history: added and not removed by a commit that counts. */
  present: boolean;
  /** The last removal that did not count: not an approver's commit, or a marker turned into something else. */
  invalidRemoval?: { commit: string; why: string };
  /**
   * The last signed resume: its commit, its place in the timeline and its
   * time. Evidence the watchdog saw before it (proposals submitted, approvals,
   * spend, runs) is what the person resumed over; only newer evidence pauses again.
   */
  resumed?: { commit: string; seq: number; at: Date };
}

/** Execution events on the governed branch (first parents and what merges brought in), per proposal. */
export interface ExecutionTrail {
  claims: { commit: string; leaseUntil?: Date; at: Date }[];
  outcomes: { commit: string; outcome?: string; event: 'proposal-executed' | 'proposal-failed'; movedFile: boolean }[];
  flagged?: string;
}

/** A run on the governed branch: its reservation (run-started) and whether it finished. */
export interface RunTrail {
  agent: string;
  started: string;
  at: Date;
  reservedUsd: number;
  leaseUntil?: Date;
  finished?: string;
}

export interface Governance {
  repo: Repo;
  head: string;
  /** The commit a saved reading this one went on from was made at (history/saved.ts); undefined for a full reading. */
  savedAt?: string;
  root: TrustRoot;
  rootCommit: Commit;
  /** First-parent commits after the root, oldest first. */
  commits: Commit[];
  /** Every commit that counts, in replay order: the commits a merge brings in come just before it. */
  timeline: Commit[];
  /** Trusted version of each governed path at HEAD. */
  trusted: Map<string, TrustedFile>;
  untrusted: UntrustedChange[];
  /** Files added under proposals/ that are not proposals/<state>/<id>.toml: never executable, always reported. */
  strays: UntrustedChange[];
  findings: ReplayFinding[];
  /** By id; those that have ended may be packed, and are unpacked when asked for (history/book.ts). */
  proposals: ProposalBook;
  markers: Map<string, MarkerState>;
  /** Per ledger path: lines that a merge dropped without counting, so they still count. */
  heldLines: Map<string, { lines: string[]; by: string }>;
  /** By proposal id; `openIds` names those that are not as a saved reading packed them (set or read since). */
  executions: Lookup<ExecutionTrail> & { openIds(): Iterable<string> };
  /** Runs by run id, from their run-started and run-finished commits. */
  runs: Map<string, RunTrail>;
  /** Each run-finished event on the first parents, oldest first: the agent and the commit's time. */
  runsFinished: { agent: string; at: Date }[];
  /** Every change that made a trusted version (the root's files first), in replay order; blob undefined = removed. */
  trustedLog: { commit: string; path: string; blob: string | undefined }[];
  readTrusted(path: string): Promise<Buffer | undefined>;
  policy(): Promise<Policy>;
  policyOf(blob: string | undefined): Promise<Policy>;
  approvers(): Promise<Approver[]>;
  /** A commit's signature judged against the approvers trusted where it counts (its parent; for a commit a merge brought in, also the merge's first parent). */
  signatureOf(commit: Commit): Promise<SignatureResult>;
}

export interface LoadOptions {
  /** Overrides the clone's pin for this reading (ga verify --trust). */
  trust?: string;
  /** Reads history at another commit than HEAD (the tip of a range). */
  at?: string;
  /** Reads all of history afresh: no saved reading is used (ga execute --watch as it starts); the new one is still saved. */
  fresh?: boolean;
  /**
   * Goes on from the reading kept in this place instead of the everyday one
   * (a signed checkpoint's, verify/checkpoint.ts) when it fits, else reads
   * all of history. Nothing is saved: the caller saves with saveReading.
   */
  from?: ReadingPlace;
}

interface ReplayState {
  repo: Repo;
  root: TrustRoot;
  blobs: BlobReader;
  judge: SignatureJudge;
  trusted: Map<string, TrustedFile>;
  tracker: ProposalTracker;
  untrusted: UntrustedChange[];
  strays: UntrustedChange[];
  findings: ReplayFinding[];
  markers: Map<string, MarkerState>;
  heldLines: Map<string, { lines: string[]; by: string }>;
  /** Packed as a saved reading kept them: a trail is read when asked for (a command that runs nothing never asks). */
  executions: PackedMap<ExecutionTrail>;
  runs: Map<string, RunTrail>;
  runsFinished: { agent: string; at: Date }[];
  trustedLog: { commit: string; path: string; blob: string | undefined }[];
  /** Every timeline commit's id, in order (earlier ones included): a place in the timeline without reading older commits. */
  ids: TimelineIds;
  /** The first-parent commits after the root, and the timeline, replayed in this process (after `earlier`'s). */
  commits: Commit[];
  timeline: Commit[];
  /** The approvers a commit is judged against, and those in force after it, by commit id (this process's; see approversAfter, judgedBy). */
  judgedBy: Map<string, ApproverSet>;
  after: Map<string, ApproverSet>;
  rootSet: ApproverSet;
  /** What a saved reading replayed before this process: read only when something asks for it. */
  earlier?: Earlier;
  /** Where that saved reading lives. */
  place?: ReadingPlace;
}

/** The part of a saved reading that grows with every commit: kept as it was saved, read when asked for. */
interface EarlierPart {
  commits: Commit[];
  timeline: Commit[];
  judgedBy: Map<string, ApproverSet>;
  after: Map<string, ApproverSet>;
  verdicts: Map<string, SignatureResult>;
}

interface Earlier {
  head: string;
  /** The approvers in force after `head`: all a commit on the first parents needs to go on. */
  afterHead: ApproverSet;
  timelineCount: number;
  /** How many first-parent commits after the root it replayed. */
  commitCount: number;
  /** The saved chunks' names, oldest first; `load` reads them once. */
  chunks: string[];
  load(): EarlierPart;
}

/** The approvers in force after commit `id`. */
function approversAfter(st: ReplayState, id: string): ApproverSet | undefined {
  return st.after.get(id) ?? (st.earlier && id === st.earlier.head ? st.earlier.afterHead : st.earlier?.load().after.get(id));
}

/** The approvers commit `id` was judged against. */
function judgedBy(st: ReplayState, id: string): ApproverSet | undefined {
  return st.judgedBy.get(id) ?? st.earlier?.load().judgedBy.get(id);
}

const states = new WeakMap<Governance, ReplayState>();
/** Per reading: how long its timeline is, and the part of it this process replayed (after a saved reading's). */
const timelineLengths = new WeakMap<Governance, number>();
const ownTimeline = new WeakMap<Governance, Commit[]>();

/** The latest reading of HEAD made on each Repo (in memory, this process's own): see latestReading. */
const latest = new WeakMap<Repo, Governance>();

/**
 * The latest full reading of HEAD this process made on `repo` (not one at
 * another commit or from another root), for a look that follows a command's
 * own commits (which hub to publish to). Never extended here: a caller that
 * needs the current HEAD checks the commits since (readChainSince).
 */
export function latestReading(repo: Repo): Governance | undefined {
  return latest.get(repo);
}

export async function loadGovernance(repo: Repo, opts: LoadOptions = {}): Promise<Governance> {
  // HEAD (ga verify's tip, too) from the ref files (git is asked when they are not plain); the commit itself is read verified below.
  const head = opts.at && opts.at !== 'HEAD' ? await resolveCommit(repo, opts.at) : await readHead(repo);
  if (!head) throw new GovernanceRefusal(`${repo.root} has no commits: run ga init there first`);
  // Only a reading of HEAD under the clone's own pin is saved, and goes on from the saved one.
  const saves = !opts.at && !opts.trust && !opts.from;
  const place = opts.from ?? (saves ? everydayReading(repo) : undefined);
  if (place && !opts.fresh) {
    // A saved reading that does not fit, or that fails to go on, is dropped for a full reading: that one refuses if history is wrong.
    const gov = await traced('history read from the saved reading', () => fromSaved(repo, head, place, saves)).catch(() => undefined);
    if (gov) {
      if (saves) latest.set(repo, gov);
      return gov;
    }
  }
  await assertHistoryIsWhole(repo, head);
  const root: TrustRoot = opts.trust
    ? { commit: await resolveCommit(repo, opts.trust), source: 'pinned' }
    : await findTrustRoot(repo, opts.at ? undefined : head);
  const [rootCommit, ...commits] = await readChain(repo, head, root.commit);
  const st = newState(repo, root);
  const rootFiles = (await Promise.all([POLICIES_DIR, AGENTS_DIR, PROPOSALS_DIR].map((dir) => listFilesAt(repo, root.commit, dir)))).flat();
  await st.blobs.preload(rootFiles.filter((e) => isUnderProposals(e.path) || e.path === APPROVERS_PATH || e.path === POLICY_PATH).map((e) => e.oid));
  for (const e of rootFiles) {
    if (isGovernedPath(e.path)) {
      st.trusted.set(e.path, { blob: e.oid, mode: e.mode });
      st.trustedLog.push({ commit: root.commit, path: e.path, blob: e.oid });
    } else if (agentOfPausePath(e.path)) st.markers.set(agentOfPausePath(e.path)!, { present: true });
    else await st.tracker.atRoot(e.path, e.oid, e.mode, root.commit);
  }
  st.rootSet = await approverSet(st);
  st.after.set(root.commit, st.rootSet);
  st.judgedBy.set(root.commit, st.rootSet); // the root is trusted by pin: judged by the approvers it itself lists
  await replayCommits(st, commits);
  const gov = governanceOf(st, head, rootCommit!);
  if (saves) {
    latest.set(repo, gov);
    if (save(gov, everydayReading(repo))) savedAfresh.add(gov);
  }
  return gov;
}

function newState(repo: Repo, root: TrustRoot, saved?: SavedState, place?: ReadingPlace): ReplayState {
  const blobs = new BlobReader(repo);
  // Where a record that does not unpack is dropped from (a full reading's records are packed once it is saved there).
  const kept = place ?? everydayReading(repo);
  const settled = saved && { briefs: saved.settled, records: saved.settledRecords.map((n) => savedPart(kept, n, 'records of the proposals that ended')) };
  const executions = saved && { index: saved.executionsIndex, parts: saved.executions.map((n) => savedPart(kept, n, 'record of executions')) };
  const ids = saved && {
    width: saved.ids.width,
    segments: saved.ids.segments.map((g) => ({ part: savedPart(kept, g.part, 'ids of the commits'), count: g.count })),
  };
  return {
    repo,
    root,
    blobs,
    judge: new SignatureJudge(),
    trusted: saved?.trusted ?? new Map(),
    tracker: new ProposalTracker(blobs, new ProposalBook(saved?.records, settled, (what) => savedDamaged(kept, what))),
    untrusted: saved?.untrusted ?? [],
    strays: saved?.strays ?? [],
    findings: saved?.findings ?? [],
    markers: saved?.markers ?? new Map(),
    heldLines: saved?.heldLines ?? new Map(),
    executions: new PackedMap(undefined, executions, isTrail, (id) => savedDamaged(kept, `record of the execution of ${id}`)),
    runs: saved?.runs ?? new Map(),
    runsFinished: saved?.runsFinished ?? [],
    trustedLog: saved?.trustedLog ?? [],
    ids: new TimelineIds(ids, () => savedDamaged(kept, 'ids of the commits')),
    commits: [],
    timeline: [],
    judgedBy: new Map(),
    after: new Map(),
    rootSet: saved?.rootSet ?? NO_APPROVERS,
    place,
  };
}

/**
 * What a saved reading holds besides its chunks: the replay's state at
 * `head`, read by every command (the proposals, the trusted files, the
 * markers ...).
 */
type SavedState = Pick<
  ReplayState,
  'root' | 'trusted' | 'untrusted' | 'strays' | 'findings' | 'markers' | 'heldLines' | 'runs' | 'runsFinished' | 'trustedLog' | 'rootSet'
> & {
  ids: SavedIds;
  head: string;
  rootCommit: Commit;
  afterHead: ApproverSet;
  timelineCount: number;
  commitCount: number;
  /** The live proposals' records; the others are packed: their briefs in `settled` (history/book.ts), their records in the parts `settledRecords`. */
  records: Map<string, ProposalRecord>;
  settled: PackedBriefs;
  settledRecords: string[];
  /** The parts that hold the executions' trails, each serialized on its own (history/packed.ts), and where each one is in them. */
  executions: string[];
  executionsIndex: PackedIndex;
};

const isTrail = (_id: string, x: unknown): x is ExecutionTrail => {
  const t = x as Partial<ExecutionTrail> | null;
  return typeof t === 'object' && t !== null && Array.isArray(t.claims) && Array.isArray(t.outcomes);
};

function isSavedState(x: unknown): x is SavedState {
  const s = x as Partial<SavedState> | undefined;
  const maps = [s?.trusted, s?.markers, s?.heldLines, s?.runs, s?.records];
  const arrays = [s?.untrusted, s?.strays, s?.findings, s?.trustedLog, s?.runsFinished];
  return (
    typeof s === 'object' &&
    typeof s.head === 'string' &&
    typeof s.root?.commit === 'string' &&
    typeof s.rootCommit?.id === 'string' &&
    typeof s.rootSet?.key === 'string' &&
    typeof s.afterHead?.key === 'string' &&
    typeof s.timelineCount === 'number' &&
    typeof s.commitCount === 'number' &&
    isSavedIds(s.ids) &&
    savedIdCount(s.ids) === s.timelineCount &&
    maps.every((m) => m instanceof Map) &&
    isPackedBriefs(s.settled) &&
    [s.settledRecords, s.executions].every((names) => Array.isArray(names) && names.every((n) => typeof n === 'string')) &&
    isPackedIndex(s.executionsIndex) &&
    arrays.every((a) => Array.isArray(a))
  );
}

function isEarlierPart(x: unknown): x is EarlierPart {
  const p = x as Partial<EarlierPart> | undefined;
  return (
    typeof p === 'object' &&
    Array.isArray(p.commits) &&
    Array.isArray(p.timeline) &&
    p.judgedBy instanceof Map &&
    p.after instanceof Map &&
    p.verdicts instanceof Map
  );
}

/**
 * Saved chunks beyond this many are merged: the newest are read and saved
 * again as one (see newestToMerge).
 */
const MAX_CHUNKS = 16;

/**
 * A reading that went on from a saved one is saved again once it has gone
 * on by this many commits: a command that adds one (propose, approve ...)
 * does not pay for writing the state every time; the next one replays a few
 * more commits instead. While history is short (SHORT_HISTORY commits), the
 * state and its chunks are small and writing them costs less than replaying
 * a few commits (some 2 ms each, parsing what they add): it is saved every
 * SAVE_EVERY_SHORT.
 */
const SAVE_EVERY = 16;
const SAVE_EVERY_SHORT = 4;
const SHORT_HISTORY = 4096;

/** Saves `gov`'s reading: its state, the earlier chunks as they were saved, and what this process replayed as one more chunk. Whether it did. */
function save(gov: Governance, place: ReadingPlace): boolean {
  const st = states.get(gov)!;
  const every = st.earlier && st.earlier.timelineCount < SHORT_HISTORY ? SAVE_EVERY_SHORT : SAVE_EVERY;
  if (st.earlier && st.commits.length < every) return false;
  return saveReading(gov, place) !== undefined;
}

/** Full readings of all of history that were saved as they were made: see LiveReading. */
const savedAfresh = new WeakSet<Governance>();

/**
 * Saves `gov`'s reading in `place` now, and says what is there: the sha256
 * of "state" and of each chunk it names (those carried over from the reading
 * it went on from as that place's digests give them). A reading that went on
 * from another place, or from chunks whose digests are not known, is saved
 * with its chunks read and written again as one. Undefined: not saved.
 */
export function saveReading(gov: Governance, place: ReadingPlace): Map<string, string> | undefined {
  const st = states.get(gov)!;
  const head = gov.head;
  const packed = st.tracker.records.pack();
  const executions = st.executions.pack();
  const ids = st.ids.saved();
  const parts = [...packed.packed.records, ...executions.packed.parts, ...ids.segments.map((g) => g.part)];
  const state: SavedState = {
    head,
    root: st.root,
    rootCommit: gov.rootCommit,
    afterHead: approversAfter(st, head)!,
    timelineCount: (st.earlier?.timelineCount ?? 0) + st.timeline.length,
    commitCount: (st.earlier?.commitCount ?? 0) + st.commits.length,
    trusted: st.trusted,
    untrusted: st.untrusted,
    strays: st.strays,
    findings: st.findings,
    markers: st.markers,
    heldLines: st.heldLines,
    executions: executions.packed.parts.map((p) => p.name),
    executionsIndex: executions.packed.index,
    runs: st.runs,
    runsFinished: st.runsFinished,
    trustedLog: st.trustedLog,
    ids: { width: ids.width, segments: ids.segments.map((g) => ({ part: g.part.name, count: g.count })) },
    rootSet: st.rootSet,
    records: packed.open,
    settled: packed.packed.briefs,
    settledRecords: packed.packed.records.map((p) => p.name),
  };
  // What ended, and every trail, leaves memory (save is called before a reading is handed out).
  st.tracker.records.adopt(packed);
  st.executions.adopt(executions);
  const own: EarlierPart = { commits: st.commits, timeline: st.timeline, judgedBy: st.judgedBy, after: st.after, verdicts: st.judge.given };
  const chunks = st.earlier?.chunks ?? [];
  const carried = st.place?.dir === place.dir && (!place.digests || chunks.every((c) => st.place?.digests?.has(c)));
  const sizes = carried && chunks.length + 1 > MAX_CHUNKS ? chunkSizes(place, chunks) : undefined;
  // Carried chunks stay as they are (but the newest, past MAX_CHUNKS); from another place, all are read and written again as one.
  const keep = !carried && st.earlier ? 0 : chunks.length + 1 <= MAX_CHUNKS ? chunks.length : sizes ? chunks.length - newestToMerge(sizes) : 0;
  const kept = chunks.slice(0, keep);
  const newer = keep === chunks.length ? undefined : keep === 0 ? st.earlier!.load() : loadChunks(place, chunks.slice(keep));
  const chunk: EarlierPart = newer
    ? {
        commits: [...newer.commits, ...own.commits],
        timeline: [...newer.timeline, ...own.timeline],
        judgedBy: new Map([...newer.judgedBy, ...own.judgedBy]),
        after: new Map([...newer.after, ...own.after]),
        verdicts: new Map([...newer.verdicts, ...own.verdicts]),
      }
    : own;
  const written = writeSaved(place, head, state, kept, chunk, parts);
  return written && new Map([...kept.map((c): [string, string] => [c, st.place?.digests?.get(c) ?? '']), ...written]);
}

/**
 * The saved reading taken on to `head`: undefined when there is none that
 * fits (another build, another trust root or pin, a history that did not
 * grow from it). The commits added since are read verified and replayed as
 * a daemon's reading replays them (extendGovernance).
 */
async function fromSaved(repo: Repo, head: string, place: ReadingPlace, saves: boolean): Promise<Governance | undefined> {
  const saved = readSaved(place, isSavedState);
  if (!saved) return undefined;
  const { state, chunks } = saved;
  // The commits since, read verified and linked to the saved head (none when HEAD has not moved).
  const since = head === state.head ? [] : await readChainSince(repo, head, state.head);
  if (!since || (head !== state.head && since.length === 0)) return undefined;
  const root = await trustRootAfterGrowth(
    repo,
    state.root,
    head,
    since.map((c) => c.id),
  );
  if (!root) return undefined;
  // What its approvals rest on is checked against the repository itself (history/afresh.ts).
  const st = newState(repo, root, state, place);
  const approvers = await st.blobs.approversOf(state.trusted.get(APPROVERS_PATH)?.blob);
  if (!(await approvalsHoldAfresh(repo, state.head, state.records.values(), approvers, st.ids.places(state.timelineCount)))) return undefined;
  let part: EarlierPart | undefined;
  st.earlier = {
    head: state.head,
    afterHead: state.afterHead,
    timelineCount: state.timelineCount,
    commitCount: state.commitCount,
    chunks,
    load: () => {
      if (!part) {
        part = loadChunks(place, chunks);
        st.judge.seed(part.verdicts);
      }
      return part;
    },
  };
  if (head === state.head) {
    await assertHistoryIsWhole(repo, head, { from: head, merges: false });
    return governanceOf(st, head, state.rootCommit);
  }
  await replayCommits(st, since);
  const gov = governanceOf(st, head, state.rootCommit);
  if (saves) save(gov, place);
  return gov;
}

/**
 * The saved chunks read as one part, when a command first asks for older
 * commits. A chunk that does not read is a saved reading gone wrong after it
 * was trusted: the file is dropped and the command stops with an error (the
 * next one reads afresh).
 */
function loadChunks(place: ReadingPlace, chunks: string[]): EarlierPart {
  const parts = chunks.map((name) => readChunk(place, name, isEarlierPart));
  if (parts.some((p) => p === undefined)) throw savedDamaged(place, 'older part');
  const ok = parts as EarlierPart[];
  return {
    commits: ok.flatMap((p) => p.commits),
    timeline: ok.flatMap((p) => p.timeline),
    judgedBy: new Map(ok.flatMap((p) => [...p.judgedBy])),
    after: new Map(ok.flatMap((p) => [...p.after])),
    verdicts: new Map(ok.flatMap((p) => [...p.verdicts])),
  };
}

async function approverSet(st: ReplayState): Promise<ApproverSet> {
  const blob = st.trusted.get(APPROVERS_PATH)?.blob;
  return blob ? { key: blob, list: await st.blobs.approversOf(blob) } : NO_APPROVERS;
}

async function replayCommits(st: ReplayState, commits: Commit[]): Promise<void> {
  const all = commits.flatMap((c) => [...(c.merge?.brought ?? []), c]);
  // Every blob the replay may parse, read in one go.
  await st.blobs.preload(
    all
      .flatMap((c) => c.changes)
      .filter((ch) => ch.status !== 'D' && (isUnderProposals(ch.path) || ch.path === APPROVERS_PATH || ch.path === POLICY_PATH))
      .map((ch) => ch.newBlob),
  );
  for (const c of commits) {
    st.commits.push(c);
    for (const t of parseTrailers(c.message)) if (t.event === 'run-finished' && t.agent) st.runsFinished.push({ agent: t.agent, at: c.committedAt });
    const mainSet = approversAfter(st, c.parents[0]!) ?? (await approverSet(st));
    for (const b of c.merge?.brought ?? []) {
      const own = approversAfter(st, b.parents[0] ?? '') ?? st.rootSet;
      await applyCommit(st, b, intersect(own, mainSet));
    }
    await applyCommit(st, c, mainSet);
    if (c.merge) await judgeMergeOwn(st, c);
  }
}

/** One commit's changes, judged by a signature against `approvers`. */
async function applyCommit(st: ReplayState, c: Commit, approvers: ApproverSet): Promise<void> {
  st.judgedBy.set(c.id, approvers);
  st.timeline.push(c);
  st.ids.push(c.id);
  const signature = () => st.judge.judge(c, approvers);
  const governed = c.changes.filter((ch) => isGovernedPath(ch.path));
  const policyBefore = st.trusted.get(POLICY_PATH)?.blob;
  if (governed.length) {
    const s = await signature();
    const why =
      s.status !== 'good'
        ? `not signed by a trusted approver (${s.status}${s.detail ? `: ${s.detail}` : ''})`
        : c.changes.some((ch) => isUnderProposals(ch.path))
          ? 'mixed into a commit that also changes proposals/'
          : undefined;
    for (const ch of governed) {
      if (why) {
        st.untrusted.push({ commit: c.id, path: ch.path, why });
        continue;
      }
      if (ch.status === 'D') st.trusted.delete(ch.path);
      else st.trusted.set(ch.path, { blob: ch.newBlob, mode: ch.newMode });
      st.trustedLog.push({ commit: c.id, path: ch.path, blob: ch.status === 'D' ? undefined : ch.newBlob });
    }
    // A commit brought in by a merge changes the approvers on its own line of history too.
    const after = governed.some((ch) => ch.path === APPROVERS_PATH) && !why ? await approverSet(st) : approvers;
    st.after.set(c.id, c.via ? after : await approverSet(st));
  } else {
    st.after.set(c.id, c.via ? approvers : await approverSet(st));
  }
  await st.tracker.apply(c, { signature, policyBlob: policyBefore });
  for (const ch of c.changes) {
    if (ch.status !== 'D' && isStrayProposalPath(ch.path))
      st.strays.push({ commit: c.id, path: ch.path, why: 'not a proposal file: proposals/<state>/<id>.toml with a valid id' });
  }
  await applyMarkers(st, c, signature);
  recordExecutions(st, c);
}

/** Pause markers: present in any form means paused; only an approver's commit removes one. */
async function applyMarkers(st: ReplayState, c: Commit, signature: () => Promise<SignatureResult>): Promise<void> {
  const touched = new Map<string, Change[]>();
  for (const ch of c.changes) {
    const agent = agentOfPausePath(ch.path);
    if (agent) touched.set(agent, [...(touched.get(agent) ?? []), ch]);
  }
  for (const t of parseTrailers(c.message)) {
    if (t.event === 'agent-resumed' && t.agent && !touched.has(t.agent)) touched.set(t.agent, []);
  }
  for (const [agent, changes] of touched) {
    const state = st.markers.get(agent) ?? { present: false };
    const path = pausePath(agent);
    const regularAfter = changes.some((ch) => ch.path === path && ch.status !== 'D' && ch.newMode === '100644');
    const anyAfter = changes.some((ch) => ch.status !== 'D');
    const removed = changes.length > 0 && !anyAfter;
    const resumed = parseTrailers(c.message).some((t) => t.event === 'agent-resumed' && t.agent === agent);
    if (anyAfter) {
      state.present = true;
      if (!regularAfter || changes.some((ch) => ch.path !== path)) {
        const why = 'the pause marker was turned into something other than a regular file (a link, a directory or a gitlink); it still pauses';
        state.invalidRemoval = { commit: c.id, why };
        st.findings.push({ commit: c.id, path, rule: 'pause-removed', why });
      }
    } else if (removed || resumed) {
      const sig = await signature();
      // A resume says so: the agent-resumed trailer, or a commit that only removes markers.
      // A removal slipped into the index before a person signed something else lifts nothing.
      const meant = resumed || c.changes.every((ch) => agentOfPausePath(ch.path));
      if (sig.status === 'good' && meant) {
        state.present = false;
        state.invalidRemoval = undefined;
        if (resumed) state.resumed = { commit: c.id, seq: (st.earlier?.timelineCount ?? 0) + st.timeline.length - 1, at: c.committedAt };
      } else if (removed) {
        const why =
          sig.status === 'good'
            ? 'pause marker removed in a signed commit that is not a resume (no agent-resumed trailer, and it changes other files too); it still pauses: resume with ga resume'
            : `pause marker removed by a commit that is not a signed approver's (${sig.status}); it still pauses`;
        state.present = true;
        state.invalidRemoval = { commit: c.id, why };
        st.findings.push({ commit: c.id, path, rule: 'pause-removed', why });
      }
    }
    st.markers.set(agent, state);
  }
}

function recordExecutions(st: ReplayState, c: Commit): void {
  for (const t of parseTrailers(c.message)) {
    if (t.run && t.agent && t.event === 'run-started' && !st.runs.has(t.run)) {
      const lease = t.lease ? new Date(t.lease) : undefined;
      const reserved = Number(t.reserved ?? 0);
      st.runs.set(t.run, {
        agent: t.agent,
        started: c.id,
        at: c.committedAt,
        reservedUsd: Number.isFinite(reserved) && reserved > 0 ? reserved : 0,
        leaseUntil: lease && !Number.isNaN(lease.getTime()) ? lease : undefined,
      });
    } else if (t.run && t.event === 'run-finished') {
      const trail = st.runs.get(t.run);
      if (trail) trail.finished ??= c.id;
    }
    if (!t.proposal) continue;
    if (t.event !== 'proposal-claimed' && t.event !== 'proposal-executed' && t.event !== 'proposal-failed' && t.event !== 'flag-invalid-approval') continue;
    const trail = st.executions.get(t.proposal) ?? { claims: [], outcomes: [] };
    if (t.event === 'proposal-claimed') {
      const lease = t.lease ? new Date(t.lease) : undefined;
      trail.claims.push({ commit: c.id, at: c.committedAt, leaseUntil: lease && !Number.isNaN(lease.getTime()) ? lease : undefined });
    } else if (t.event === 'flag-invalid-approval') {
      trail.flagged ??= c.id;
    } else {
      const moved = c.changes.some((ch) => ch.status === 'A' && ch.path === proposalPath(t.event === 'proposal-executed' ? 'executed' : 'failed', t.proposal!));
      trail.outcomes.push({ commit: c.id, outcome: t.outcome, event: t.event, movedFile: moved });
    }
    st.executions.set(t.proposal, trail);
  }
}

/**
 * What a merge adds of its own (its tree against the clean merge of its
 * parents) counts only when an approver signed the merge; an unsigned merge
 * that adds anything is a finding, and ledger lines it drops still count.
 */
async function judgeMergeOwn(st: ReplayState, c: Commit): Promise<void> {
  if (!c.merge) return;
  // DESIGN "Merges": an octopus merge is a finding. What it brings in is still judged and counts, and
  // what it adds of its own is judged against its parents merged one at a time, as below.
  if (c.merge.octopus) {
    st.findings.push({
      commit: c.id,
      path: '-',
      rule: 'merge',
      why: `an octopus merge (${c.parents.length} parents): ga takes merges of two parents; what each branch brings in still counts, but merge one branch at a time`,
    });
  }
  if (c.changes.length === 0) return;
  const sig = await st.judge.judge(c, judgedBy(st, c.id)!);
  if (sig.status === 'good') return;
  for (const ch of c.changes) {
    st.findings.push({
      commit: c.id,
      path: ch.path,
      rule: 'merge',
      why: `the merge adds a change of its own (${ch.status === 'D' ? 'removes' : ch.status === 'A' ? 'adds' : 'changes'} it against the clean merge of its parents) without an approver's signature (${sig.status}); the change counts for nothing`,
    });
  }
  // Ledger lines present in the clean merge and missing from the merge's tree still count.
  const drops = c.changes.filter((ch) => agentOfLedgerPath(ch.path) && ch.oldBlob !== ch.newBlob && ch.status !== 'A');
  if (drops.length === 0) return;
  const texts = await readBlobs(
    st.repo,
    drops.flatMap((ch) => [ch.oldBlob, ...(ch.status === 'D' ? [] : [ch.newBlob])]),
  );
  for (const ch of drops) {
    const kept = new Set((ch.status === 'D' ? '' : (texts.get(ch.newBlob)?.toString('utf8') ?? '')).split('\n'));
    const lost = (texts.get(ch.oldBlob)?.toString('utf8') ?? '').split('\n').filter((l) => l && !kept.has(l));
    if (lost.length === 0) continue;
    const held = st.heldLines.get(ch.path) ?? { lines: [], by: c.id };
    held.lines.push(...lost.filter((l) => !held.lines.includes(l)));
    st.heldLines.set(ch.path, held);
  }
}

function governanceOf(st: ReplayState, head: string, rootCommit: Commit): Governance {
  const { repo, root, blobs, trusted } = st;
  // What a saved reading replayed before this process is read only when asked for (the proposals, the trusted files and the markers never need it).
  const own = { commits: [...st.commits], timeline: [...st.timeline] };
  let all: typeof own | undefined = st.earlier ? undefined : own;
  const whole = () => (all ??= ((e) => ({ commits: [...e.commits, ...own.commits], timeline: [...e.timeline, ...own.timeline] }))(st.earlier!.load()));
  const gov: Governance = {
    repo,
    head,
    savedAt: st.earlier?.head,
    root,
    rootCommit,
    get commits() {
      return whole().commits;
    },
    get timeline() {
      return whole().timeline;
    },
    trusted,
    untrusted: st.untrusted,
    strays: st.strays,
    findings: st.findings,
    proposals: st.tracker.records,
    markers: st.markers,
    heldLines: st.heldLines,
    executions: st.executions,
    runs: st.runs,
    runsFinished: [...st.runsFinished],
    trustedLog: st.trustedLog,
    readTrusted: async (path) => {
      const t = trusted.get(path);
      return t ? Buffer.from(await blobs.text(t.blob), 'utf8') : undefined;
    },
    policy: () => blobs.policyOf(trusted.get(POLICY_PATH)?.blob),
    policyOf: (blob) => blobs.policyOf(blob),
    approvers: () => blobs.approversOf(trusted.get(APPROVERS_PATH)?.blob),
    signatureOf: (c) => st.judge.judge(c, judgedBy(st, c.id) ?? NO_APPROVERS),
  };
  states.set(gov, st);
  timelineLengths.set(gov, st.ids.length);
  ownTimeline.set(gov, own.timeline);
  return gov;
}

/** How many first-parent commits after the root the reading holds, without reading older commits. */
export function commitCount(gov: Governance): number {
  const st = states.get(gov);
  return st ? (st.earlier?.commitCount ?? 0) + st.commits.length : gov.commits.length;
}

/**
 * The first-parent commits after commit `id`, oldest first; without reading
 * older commits when `id` is where the saved reading it went on from was
 * made. Undefined when `id` is not one of them (nor the root).
 */
export function commitsAfter(gov: Governance, id: string): Commit[] | undefined {
  const st = states.get(gov);
  if (st?.earlier && id === st.earlier.head) return [...st.commits];
  if (id === gov.rootCommit.id) return gov.commits;
  const at = gov.commits.findIndex((c) => c.id === id);
  return at < 0 ? undefined : gov.commits.slice(at + 1);
}

/**
 * Each commit's place in the timeline, by id, as far as this reading goes
 * (history/ids.ts: no map of all of history for a command that asks for a
 * few).
 */
export function placesInTimeline(gov: Governance): Places {
  const st = states.get(gov);
  return st ? st.ids.places(timelineLength(gov)) : new Map(gov.timeline.map((c, i) => [c.id, i]));
}

/**
 * Commits behind the reading's HEAD, from its timeline; for a commit of this
 * process, those behind the reading's HEAD when the commits it made stand on
 * that HEAD (`below`). Looked up on first need. The high-water checks use it
 * before asking git (merge-base).
 */
export function behindReading(gov: Governance): (mark: string, below?: string) => boolean {
  let places: Places | undefined;
  return (mark, below = gov.head) => below === gov.head && (places ??= placesInTimeline(gov)).has(mark);
}

/** How many commits the timeline holds, without reading older commits. */
export function timelineLength(gov: Governance): number {
  return timelineLengths.get(gov) ?? gov.timeline.length;
}

/** The ids of the timeline's commits, in order, from place `from` on, without reading older commits. */
export function timelineIds(gov: Governance, from = 0): readonly string[] {
  const st = states.get(gov);
  return st ? st.ids.slice(from, timelineLength(gov)) : gov.timeline.slice(from).map((c) => c.id);
}

/** A timeline commit as far as its id, time and message go. */
export type CommitHeader = Pick<Commit, 'id' | 'committedAt' | 'message'>;

/**
 * The timeline's commits from place `from` on, as far as their ids, times
 * and messages go. Those this process did not replay (older than a saved
 * reading it went on from) are read from git by id, a commit each, not from
 * the saved reading's chunks: a few commits before the reading was saved
 * cost a few commits, not all of history.
 */
export async function timelineHeadersFrom(gov: Governance, from: number): Promise<CommitHeader[]> {
  const st = states.get(gov);
  const earlier = st?.earlier?.timelineCount ?? 0;
  const own = ownTimeline.get(gov);
  from = Math.max(0, from);
  if (!st || !own) return gov.timeline.slice(from);
  if (from >= earlier) return own.slice(from - earlier);
  const older = await gov.repo.objects.commitsOf(st.ids.slice(from, earlier));
  return [...older.map((c) => ({ id: c.oid, committedAt: c.committedAt, message: c.message })), ...own];
}

/**
 * Goes on from an earlier reading to the current HEAD (for daemons, which
 * read after every event): only the new commits are read and replayed. Falls
 * back to a full reading when HEAD did not simply grow. The earlier reading
 * must not be used afterwards.
 */
export async function extendGovernance(prev: Governance, reload: () => Promise<Governance>): Promise<Governance> {
  const st = states.get(prev);
  const head = await readHead(prev.repo); // from the ref files, as a daemon's watch does; the commit is read verified below
  if (!st || !head) return reload();
  if (head === prev.head) return prev;
  const commits = await readChainSince(prev.repo, head, prev.head); // checked whole as it grew
  if (!commits || commits.length === 0) return reload();
  // Read verified and linked to the earlier reading: the root found then still stands, unless the pin changed or a new commit takes over.
  if (
    !(await trustRootAfterGrowth(
      prev.repo,
      st.root,
      head,
      commits.map((c) => c.id),
    ))
  )
    return reload();
  await replayCommits(st, commits);
  return governanceOf(st, head, prev.rootCommit);
}

/**
 * A daemon's reading of history (the watchdog, ga execute --watch, a run
 * waiting on its proposal): read once (from the saved reading, unless
 * `fresh`), then extended by the commits added since at each look, in the
 * daemon's memory. A look that fails drops the reading, so that a replay
 * left half-done is never extended again: the next look reads afresh.
 */
export class LiveReading {
  private gov: Governance | undefined;
  /** `fresh`: every full reading reads all of history, never a saved reading (the executor's, which runs hooks). */
  constructor(
    private readonly repo: Repo,
    private readonly opts: { fresh?: boolean } = {},
  ) {}

  async current(): Promise<Governance> {
    const prev = this.gov;
    this.gov = undefined;
    const read = async () => {
      const gov = await loadGovernance(this.repo, { fresh: this.opts.fresh });
      // A full reading holds every commit of history in memory (some 260 MB at 100,000 events), which a daemon would
      // carry, and collect garbage through, for days; the reading it saved holds what is asked for. Go on from that.
      return !this.opts.fresh && savedAfresh.has(gov) ? await loadGovernance(this.repo) : gov;
    };
    const next = prev ? await extendGovernance(prev, read) : await read();
    this.gov = next;
    keepInUse(next);
    return next;
  }
}

/** When each daemon's reading last marked its saved files in use. */
const markedInUse = new WeakMap<ReplayState, number>();
/** How often: well within the time after which files no saved state names are removed (history/saved.ts). */
const MARK_EVERY_MS = 60 * 1000;

/** Marks the saved files a daemon's reading still reads from (its chunks and parts) as in use, once a minute at most. */
function keepInUse(gov: Governance): void {
  const st = states.get(gov);
  if (!st?.place || Date.now() - (markedInUse.get(st) ?? 0) < MARK_EVERY_MS) return;
  markedInUse.set(st, Date.now());
  keepFresh(st.place, [...(st.earlier?.chunks ?? []), ...st.tracker.records.partNames(), ...st.executions.partNames(), ...st.ids.partNames]);
}
