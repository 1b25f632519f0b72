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
import { isLiveState, type LiveState, type ProposalState } from '../layout/layout.js';
import type { Proposal } from '../schema/proposal.js';
import { isPackedIndex, PackedMap, type PackedIndex } from './packed.js';
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
 * among the records, column by column (a few arrays of strings and numbers
 * deserialize some twenty times faster than as many objects).
 */
export interface PackedBriefs extends PackedIndex {
  states: (ProposalState | undefined)[];
  agents: (string | undefined)[];
  /** created_at in ms, NaN when unknown. */
  created: Float64Array;
  last: (string | undefined)[];
  /** 1 when validly submitted. */
  valid: Uint8Array;
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

/** The packed proposals: their briefs, and their records one after another in parts (made here, or a saved reading's, read when asked for). */
export interface PackedProposals {
  briefs: PackedBriefs;
  records: SavedPart[];
}

export function isPackedBriefs(x: unknown): x is PackedBriefs {
  if (!isPackedIndex(x)) return false;
  const p = x as PackedIndex & Partial<PackedBriefs>;
  const n = p.ids.length;
  return (
    [p.states, p.agents, p.last].every((a) => Array.isArray(a) && a.length === n) &&
    [p.created, p.valid].every((a) => ArrayBuffer.isView(a) && (a as Uint8Array).length === n)
  );
}

const isRecordOf = (id: string, x: unknown): x is ProposalRecord => {
  const r = x as Partial<ProposalRecord> | null;
  return typeof r === 'object' && r !== null && r.id === id && Array.isArray(r.steps);
};

export class ProposalBook {
  private records: PackedMap<ProposalRecord>;
  /** The briefs of the records packed when the book was given them. */
  private packedAt: PackedBriefs | undefined;
  /** Those briefs as objects: built when first asked. */
  private packedBriefs: ProposalBrief[] | undefined;

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
    return {
      id: p.ids[i]!,
      state: p.states[i],
      agent: p.agents[i],
      createdAt: Number.isNaN(created) ? undefined : created,
      lastCommit: p.last[i],
      submittedValid: p.valid[i] === 1,
    };
  }

  get size(): number {
    return this.records.size;
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** The record of `id`, unpacked if it was packed. */
  get(id: string): ProposalRecord | undefined {
    return this.records.get(id);
  }

  set(id: string, r: ProposalRecord): void {
    this.records.set(id, r);
  }

  /** What is known of every proposal without unpacking it. */
  *briefs(): IterableIterator<ProposalBrief> {
    for (const r of this.records.openValues()) yield briefOf(r);
    const still = this.records.stillPacked;
    this.packedBriefs ??= [...still.values()].map((i) => this.briefAt(i));
    for (const b of this.packedBriefs) if (still.has(b.id)) yield b;
  }

  /** The proposals in pending/ or approved/, or in `state` only (never packed). */
  live(state?: LiveState): ProposalRecord[] {
    return [...this.records.openValues()].filter((r) => (state ? r.state === state : isLiveState(r.state)));
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
    const briefs = p.packed.index.ids.map((id, k) => (p.from[k] === undefined ? briefOf(this.records.get(id)!) : this.briefAt(p.from[k])));
    return {
      open: p.open,
      packed: {
        briefs: {
          ...p.packed.index,
          states: briefs.map((b) => b.state),
          agents: briefs.map((b) => b.agent),
          created: Float64Array.from(briefs, (b) => b.createdAt ?? NaN),
          last: briefs.map((b) => b.lastCommit),
          valid: Uint8Array.from(briefs, (b) => (b.submittedValid ? 1 : 0)),
        },
        records: p.packed.parts,
      },
    };
  }

  /**
   * Takes on what pack() made, once it is saved: the records that ended
   * leave memory, to be unpacked again if asked for (a daemon's reading,
   * which goes on for days, walks only the live ones at each sweep).
   */
  adopt(p: { open: Map<string, ProposalRecord>; packed: PackedProposals }): void {
    this.records.adopt({ open: p.open, packed: { index: p.packed.briefs, parts: p.packed.records } });
    this.packedAt = p.packed.briefs;
    this.packedBriefs = undefined;
  }
}
