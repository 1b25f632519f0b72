// The proposals a reading holds, by id. Most proposals of a long history have
// ended (executed, rejected, expired, failed, or gone from the tree), and
// most commands ask only for those still alive (pending or approved): a saved
// reading keeps the ended ones packed, each serialized on its own with a
// brief beside it (where it is, whose it is, when it was made, its last
// commit) and the records together in a part of the saved reading of their
// own (history/saved.ts), read only when a command asks for a record by id
// or for all of them. A command that walks only the live proposals never
// reads the ended ones. What a record holds is named here;
// history/proposals.ts tells each proposal's life into it.
import { isLiveState, PROPOSAL_STATES, type LiveState, type ProposalState } from '../layout/layout.js';
import type { Proposal } from '../schema/proposal.js';
import { idAt, idCount, isPackedIndex, lowerBound, PackedMap, type PackedIndex } from './packed.js';
import type { SavedPart } from './saved.js';

export interface ProposalStep {
  commit: string;
  at: Date;
  kind: 'submitted' | 'auto-approved' | 'approval-recorded' | 'approved' | 'rejected' | 'expired' | 'executed' | 'failed' | 'changed';
  /** Signer's principal when the commit is validly signed. */
  principal?: string;
  /** For approvals: whether it counts. */
  valid?: boolean;
  why?: string;
}

export interface ProposalRecord {
  id: string;
  /** Where the file is at HEAD, if anywhere. */
  state?: ProposalState;
  blob?: string;
  mode?: string;
  submittedBlob?: string;
  submittedPolicyBlob?: string;
  proposal?: Proposal;
  parseError?: string;
  steps: ProposalStep[];
  /** Distinct valid approvals so far: principal and key. */
  approvals: { principal: string; key: string; commit: string }[];
  approval?: { valid: boolean; why: string; by: string[]; commit: string };
  decided: boolean;
  /**
   * Submitted the way ga submits (a well-formed id, added alone to pending/
   * or auto-approved, a readable regular file whose id is its name). Only
   * these can be named by a prefix or decided; anything else is a stray.
   */
  submittedValid: boolean;
  /** Why it is not validly submitted. */
  notSubmittedWhy?: string;
}

/** What is known of a proposal without unpacking it. */
export interface ProposalBrief {
  id: string;
  state?: ProposalState;
  agent?: string;
  /** The proposal's created_at, in ms. */
  createdAt?: number;
  /** The commit of its last step. */
  lastCommit?: string;
  submittedValid: boolean;
}

/**
 * Ended proposals as a saved reading keeps them: each one's brief and place
 * among the records, column by column, in numbers where they can be (a few
 * typed arrays deserialize in no time; as many strings as proposals, some
 * milliseconds a column at 30,000).
 */
export interface PackedBriefs extends PackedIndex {
  /** Each one's state: 1 + its place in PROPOSAL_STATES, 0 when it is in none. */
  states: Uint8Array;
  /** The agents named, and each one's: 1 + its place among them, 0 when unknown. */
  agentNames: string[];
  agents: Uint32Array;
  /** created_at in ms, NaN when unknown. */
  created: Float64Array;
  /** The places whose created_at is known, from the oldest: the watchdog's "proposed in the last minutes" is a binary search, not a walk over every proposal that ever ended. */
  byCreated: Uint32Array;
  /** Each one's last commit as raw bytes, `width` apiece (all zero when it has none). */
  last: Buffer;
  width: number;
  /** 1 when validly submitted. */
  valid: Uint8Array;
}

/** Which proposals a query asks for; every field given must hold. */
export interface BriefQuery {
  /** Ids that start with this. */
  idPrefix?: string;
  agent?: string;
  /** One state; live (pending or approved); ended (in the tree in another state); present (anywhere in the tree). */
  state?: ProposalState | 'live' | 'ended' | 'present';
  /** created_at at or after this (ms). */
  createdSince?: number;
  /** The commit of its last step is one of these. */
  lastIn?: ReadonlySet<string>;
}

export function briefOf(r: ProposalRecord): ProposalBrief {
  return {
    id: r.id,
    state: r.state,
    agent: r.proposal?.agent,
    createdAt: r.proposal?.created_at.getTime(),
    lastCommit: r.steps.at(-1)?.commit,
    submittedValid: r.submittedValid,
  };
}

/**
 * Whether record `r` matches `q`, looking at what it proposes only when `q`
 * asks about that (a waiting proposal is parsed when first looked at:
 * history/afresh.ts; ga approve of one id must not parse all the others).
 */
function recordMatches(r: ProposalRecord, q: BriefQuery): boolean {
  if (q.idPrefix !== undefined && !r.id.startsWith(q.idPrefix)) return false;
  if (!stateMatches(r.state, q.state)) return false;
  const last = r.steps.at(-1)?.commit;
  if (q.lastIn !== undefined && (last === undefined || !q.lastIn.has(last))) return false;
  return (q.agent === undefined && q.createdSince === undefined) || briefMatches(briefOf(r), q);
}

function briefMatches(b: ProposalBrief, q: BriefQuery): boolean {
  return (
    (q.idPrefix === undefined || b.id.startsWith(q.idPrefix)) &&
    (q.agent === undefined || b.agent === q.agent) &&
    stateMatches(b.state, q.state) &&
    (q.createdSince === undefined || (b.createdAt !== undefined && b.createdAt >= q.createdSince)) &&
    (q.lastIn === undefined || (b.lastCommit !== undefined && q.lastIn.has(b.lastCommit)))
  );
}

function stateMatches(s: ProposalState | undefined, want: BriefQuery['state']): boolean {
  if (want === undefined) return true;
  if (want === 'live') return isLiveState(s);
  if (want === 'ended') return s !== undefined && !isLiveState(s);
  if (want === 'present') return s !== undefined;
  return s === want;
}

/** `briefs` (one for each id of `index`, in its order) as columns beside it. */
export function packBriefs(index: PackedIndex, briefs: ProposalBrief[]): PackedBriefs {
  const agentNames = [...new Set(briefs.flatMap((b) => (b.agent === undefined ? [] : [b.agent])))];
  const agentCode = new Map(agentNames.map((a, k) => [a, k + 1]));
  const width = (briefs.find((b) => b.lastCommit !== undefined)?.lastCommit!.length ?? 40) / 2;
  const last = Buffer.alloc(briefs.length * width);
  briefs.forEach((b, i) => {
    if (b.lastCommit?.length === width * 2) last.write(b.lastCommit, i * width, 'hex');
  });
  return {
    ...index,
    states: Uint8Array.from(briefs, (b) => (b.state === undefined ? 0 : PROPOSAL_STATES.indexOf(b.state) + 1)),
    agentNames,
    agents: Uint32Array.from(briefs, (b) => (b.agent === undefined ? 0 : agentCode.get(b.agent)!)),
    created: Float64Array.from(briefs, (b) => b.createdAt ?? NaN),
    byCreated: Uint32Array.from(
      briefs
        .flatMap((b, i) => (b.createdAt === undefined || Number.isNaN(b.createdAt) ? [] : [i]))
        .sort((a, b) => briefs[a]!.createdAt! - briefs[b]!.createdAt! || a - b),
    ),
    last,
    width,
    valid: Uint8Array.from(briefs, (b) => (b.submittedValid ? 1 : 0)),
  };
}

/** The packed proposals: their briefs, and their records one after another in parts (made here, or a saved reading's, read when asked for). */
export interface PackedProposals {
  briefs: PackedBriefs;
  records: SavedPart[];
}

export function isPackedBriefs(x: unknown): x is PackedBriefs {
  if (!isPackedIndex(x)) return false;
  const p = x as PackedIndex & Partial<PackedBriefs>;
  const n = idCount(p.ids);
  return (
    p.states instanceof Uint8Array &&
    p.agents instanceof Uint32Array &&
    p.created instanceof Float64Array &&
    p.byCreated instanceof Uint32Array &&
    p.byCreated.length <= n &&
    p.valid instanceof Uint8Array &&
    [p.states, p.agents, p.created, p.valid].every((a) => a.length === n) &&
    Array.isArray(p.agentNames) &&
    p.agentNames.every((a) => typeof a === 'string') &&
    below(p.agents, p.agentNames.length + 1) &&
    below(p.states, PROPOSAL_STATES.length + 1) &&
    Buffer.isBuffer(p.last) &&
    Number.isInteger(p.width) &&
    p.width! > 0 &&
    p.last.length === n * p.width!
  );
}

/** Whether every code in `codes` is below `n`: a plain loop (30,000 codes a column at 100,000 events, checked by every command, in a process too short-lived for a callback per element to be compiled). */
function below(codes: Uint8Array | Uint32Array, n: number): boolean {
  for (let i = 0; i < codes.length; i++) if (codes[i]! >= n) return false;
  return true;
}

const isRecordOf = (id: string, x: unknown): x is ProposalRecord => {
  const r = x as Partial<ProposalRecord> | null;
  return typeof r === 'object' && r !== null && r.id === id && Array.isArray(r.steps);
};

export class ProposalBook {
  private records: PackedMap<ProposalRecord>;
  /** The briefs of the records packed when the book was given them (the same index as the records'). */
  private packedAt: PackedBriefs | undefined;

  /**
   * `open`: records as they are; `packed`: ended ones, unpacked on demand.
   * `damaged` gives the error a record that does not unpack throws (history/saved.ts drops the saved reading).
   */
  constructor(open?: Map<string, ProposalRecord>, packed?: PackedProposals, damaged: (what: string) => Error = (what) => new Error(`the ${what} is damaged`)) {
    this.records = new PackedMap(open, packed && { index: packed.briefs, parts: packed.records }, isRecordOf, (id) => damaged(`record of proposal ${id}`));
    this.packedAt = packed?.briefs;
  }

  private briefAt(i: number): ProposalBrief {
    const p = this.packedAt!;
    const created = p.created[i]!;
    const state = p.states[i]!;
    const agent = p.agents[i]!;
    return {
      id: idAt(p.ids, i),
      state: state ? PROPOSAL_STATES[state - 1] : undefined,
      agent: agent ? p.agentNames[agent - 1] : undefined,
      createdAt: Number.isNaN(created) ? undefined : created,
      lastCommit: this.lastAt(i),
      submittedValid: p.valid[i] === 1,
    };
  }

  private lastAt(i: number): string | undefined {
    const { last, width } = this.packedAt!;
    for (let k = i * width; k < (i + 1) * width; k++) if (last[k] !== 0) return last.toString('hex', i * width, (i + 1) * width);
    return undefined;
  }

  /**
   * Where the packed proposals `q` asks for are (still packed), each given
   * to `visit` in order, tested on the columns: no brief is made for one
   * that does not match.
   */
  private packedMatching(q: BriefQuery, visit: (i: number) => void): void {
    const p = this.packedAt;
    if (!p) return;
    const n = idCount(p.ids);
    let from = 0;
    let to = n;
    if (q.idPrefix !== undefined) {
      from = lowerBound(p.ids, q.idPrefix);
      to = from;
      while (to < n && idAt(p.ids, to).startsWith(q.idPrefix)) to++;
    }
    const agent = q.agent === undefined ? undefined : p.agentNames.indexOf(q.agent) + 1;
    if (agent === 0) return; // no packed proposal is that agent's
    const states = new Uint8Array(PROPOSAL_STATES.length + 1);
    states.forEach((_, code) => (states[code] = stateMatches(code ? PROPOSAL_STATES[code - 1] : undefined, q.state) ? 1 : 0));
    // Last steps among a few commits: where those commits are in the column (a native search), not every brief's read.
    const places = q.lastIn ? this.lastPlaces(q.lastIn) : q.createdSince !== undefined ? this.createdPlaces(q.createdSince) : undefined;
    // Plain loops, no iterator: a count over the 30,000 ended proposals at 100,000 events runs in V8's interpreter.
    const test = (i: number) => {
      if (i < from || i >= to || !this.records.isPacked(i) || states[p.states[i]!] === 0) return;
      if (agent !== undefined && p.agents[i] !== agent) return;
      if (q.createdSince !== undefined && !(p.created[i]! >= q.createdSince)) return;
      visit(i);
    };
    if (places) for (const i of places) test(i);
    else for (let i = from; i < to; i++) test(i);
  }

  /** The places created at or after `since` (ms), in order. */
  private createdPlaces(since: number): number[] {
    const { created, byCreated } = this.packedAt!;
    let lo = 0;
    let hi = byCreated.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (created[byCreated[mid]!]! >= since) hi = mid;
      else lo = mid + 1;
    }
    return Array.from(byCreated.subarray(lo)).sort((a, b) => a - b);
  }

  /** The places whose last commit is one of `commits`, in order. */
  private lastPlaces(commits: ReadonlySet<string>): number[] {
    const { last, width } = this.packedAt!;
    const out: number[] = [];
    for (const c of commits) {
      if (c.length !== width * 2 || !/^[0-9a-f]+$/.test(c)) continue;
      const needle = Buffer.from(c, 'hex');
      for (let at = last.indexOf(needle); at >= 0; at = last.indexOf(needle, at + 1)) if (at % width === 0) out.push(at / width);
    }
    return out.sort((a, b) => a - b);
  }

  get size(): number {
    return this.records.size;
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** The names of the parts the packed records are in. */
  partNames(): string[] {
    return this.records.partNames();
  }

  /** The record of `id`, unpacked if it was packed. */
  get(id: string): ProposalRecord | undefined {
    return this.records.get(id);
  }

  set(id: string, r: ProposalRecord): void {
    this.records.set(id, r);
  }

  /** What is known of the proposals `q` asks for (all of them by default), without unpacking any. */
  briefs(q: BriefQuery = {}): ProposalBrief[] {
    const out: ProposalBrief[] = [];
    for (const r of this.records.openValues()) if (recordMatches(r, q)) out.push(briefOf(r));
    this.packedMatching(q, (i) => out.push(this.briefAt(i)));
    return out;
  }

  /** How many proposals `q` asks for: briefs(q).length, without making them. */
  count(q: BriefQuery = {}): number {
    let n = 0;
    for (const r of this.records.openValues()) if (recordMatches(r, q)) n++;
    this.packedMatching(q, () => n++);
    return n;
  }

  /** The proposals in pending/ or approved/, or in `state` only (never packed). */
  live(state?: LiveState): ProposalRecord[] {
    return [...this.records.openValues()].filter((r) => (state ? r.state === state : isLiveState(r.state)));
  }

  /** The ids of the records that are open: the live ones, and each one set or unpacked since the book was given its packed records. */
  openIds(): IterableIterator<string> {
    return this.records.openIds();
  }

  /** The records of `ids` that exist, unpacked as needed. */
  pick(ids: Iterable<string>): ProposalRecord[] {
    return [...ids].flatMap((id) => this.get(id) ?? []);
  }

  /** Every record, unpacking all of them: for the commands whose answer is about every proposal (verify, a report). */
  all(): ProposalRecord[] {
    return [...this.records].map(([, r]) => r);
  }

  /**
   * The live records as they are, and every other one packed: what a saved
   * reading keeps. When nothing has ended or been unpacked since the book
   * was given its packed records, they are those, unread.
   */
  pack(): { open: Map<string, ProposalRecord>; packed: PackedProposals } {
    const p = this.records.pack((r) => isLiveState(r.state));
    if (p.packed.index === this.packedAt) return { open: p.open, packed: { briefs: this.packedAt, records: p.packed.parts } };
    const briefs = p.from.map((from, k) => (from === undefined ? briefOf(this.records.get(idAt(p.packed.index.ids, k))!) : this.briefAt(from)));
    return { open: p.open, packed: { briefs: packBriefs(p.packed.index, briefs), records: p.packed.parts } };
  }

  /**
   * Takes on what pack() made, once it is saved: the records that ended
   * leave memory, to be unpacked again if asked for (a daemon's reading,
   * which goes on for days, walks only the live ones at each sweep).
   */
  adopt(p: { open: Map<string, ProposalRecord>; packed: PackedProposals }): void {
    this.records.adopt({ open: p.open, packed: { index: p.packed.briefs, parts: p.packed.records } });
    this.packedAt = p.packed.briefs;
  }
}
