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
import { deserialize, serialize } from 'node:v8';
import { isLiveState, type LiveState, type ProposalState } from '../layout/layout.js';
import type { Proposal } from '../schema/proposal.js';
import { partOf, type SavedPart } from './saved.js';

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
export interface PackedBriefs {
  ids: string[];
  states: (ProposalState | undefined)[];
  agents: (string | undefined)[];
  /** created_at in ms, NaN when unknown. */
  created: Float64Array;
  last: (string | undefined)[];
  /** 1 when validly submitted. */
  valid: Uint8Array;
  start: Uint32Array;
  end: Uint32Array;
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

/** The packed proposals: their briefs, and their records one after another in a part (made here, or a saved reading's, read when asked for). */
export interface PackedProposals {
  briefs: PackedBriefs;
  records: SavedPart;
}

export function isPackedBriefs(x: unknown): x is PackedBriefs {
  const p = x as Partial<PackedBriefs> | undefined;
  if (typeof p !== 'object' || !Array.isArray(p.ids)) return false;
  const n = p.ids.length;
  return (
    [p.states, p.agents, p.last].every((a) => Array.isArray(a) && a.length === n) &&
    [p.created, p.valid, p.start, p.end].every((a) => ArrayBuffer.isView(a) && (a as Uint8Array).length === n)
  );
}

function packedOf(briefs: (ProposalBrief & { bytes: Uint8Array })[]): PackedProposals {
  const n = briefs.length;
  const p: PackedBriefs = {
    ids: briefs.map((b) => b.id),
    states: briefs.map((b) => b.state),
    agents: briefs.map((b) => b.agent),
    created: Float64Array.from(briefs, (b) => b.createdAt ?? NaN),
    last: briefs.map((b) => b.lastCommit),
    valid: Uint8Array.from(briefs, (b) => (b.submittedValid ? 1 : 0)),
    start: new Uint32Array(n),
    end: new Uint32Array(n),
  };
  let at = 0;
  briefs.forEach((b, i) => {
    p.start[i] = at;
    p.end[i] = at += b.bytes.length;
  });
  return { briefs: p, records: partOf(Buffer.concat(briefs.map((b) => b.bytes))) };
}

export class ProposalBook {
  private open: Map<string, ProposalRecord>;
  private packed: PackedProposals | undefined;
  /** The packed records' bytes, once read. */
  private bytes: Uint8Array | undefined;
  /** Where each record still packed is, by id, and the briefs of all that were packed: built when first asked. */
  private where: Map<string, number> | undefined;
  private packedBriefs: ProposalBrief[] | undefined;

  /**
   * `open`: records as they are; `packed`: ended ones, unpacked on demand.
   * `damaged` gives the error a record that does not unpack throws (history/saved.ts drops the saved reading).
   */
  constructor(
    open?: Map<string, ProposalRecord>,
    packed?: PackedProposals,
    private readonly damaged: (what: string) => Error = (what) => new Error(`the ${what} is damaged`),
  ) {
    this.open = open ?? new Map();
    this.packed = packed;
  }

  private get places(): Map<string, number> {
    return (this.where ??= new Map(this.packed?.briefs.ids.map((id, i) => [id, i])));
  }

  private briefAt(i: number): ProposalBrief {
    const p = this.packed!.briefs;
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
    return this.open.size + this.places.size;
  }

  has(id: string): boolean {
    return this.open.has(id) || this.places.has(id);
  }

  /** The record of `id`, unpacked if it was packed. */
  get(id: string): ProposalRecord | undefined {
    const r = this.open.get(id);
    if (r) return r;
    const i = this.places.get(id);
    if (i === undefined) return undefined;
    let got: ProposalRecord | undefined;
    try {
      got = deserialize(this.recordBytes(i)) as ProposalRecord;
    } catch {
      got = undefined;
    }
    if (typeof got !== 'object' || got === null || got.id !== id || !Array.isArray(got.steps)) {
      throw this.damaged(`record of proposal ${id}`);
    }
    this.places.delete(id);
    this.open.set(id, got);
    return got;
  }

  /** The bytes of packed record `i` (the records are read first, if they were not: a saved reading's part that does not read throws). */
  private recordBytes(i: number): Uint8Array {
    const { briefs, records } = this.packed!;
    this.bytes ??= records.bytes();
    return this.bytes.subarray(briefs.start[i], briefs.end[i]);
  }

  set(id: string, r: ProposalRecord): void {
    this.places.delete(id);
    this.open.set(id, r);
  }

  /** What is known of every proposal without unpacking it. */
  *briefs(): IterableIterator<ProposalBrief> {
    for (const r of this.open.values()) yield briefOf(r);
    const places = this.places;
    this.packedBriefs ??= [...places.values()].map((i) => this.briefAt(i));
    for (const b of this.packedBriefs) if (places.has(b.id)) yield b;
  }

  /** The proposals in pending/ or approved/, or in `state` only (never packed). */
  live(state?: LiveState): ProposalRecord[] {
    return [...this.open.values()].filter((r) => (state ? r.state === state : isLiveState(r.state)));
  }

  /** The records of `ids` that exist, unpacked as needed. */
  pick(ids: Iterable<string>): ProposalRecord[] {
    return [...ids].flatMap((id) => this.get(id) ?? []);
  }

  /** Every record, unpacking all of them: for the commands whose answer is about every proposal (verify, a report). */
  all(): ProposalRecord[] {
    for (const id of [...this.places.keys()]) this.get(id);
    return [...this.open.values()];
  }

  /**
   * The live records as they are, and every other one packed: what a saved
   * reading keeps. When nothing has ended or been unpacked since the book
   * was given its packed records, they are those, unread.
   */
  pack(): { open: Map<string, ProposalRecord>; packed: PackedProposals } {
    const open = new Map<string, ProposalRecord>();
    const ended: (ProposalBrief & { bytes: Uint8Array })[] = [];
    for (const [id, r] of this.open) {
      if (isLiveState(r.state)) open.set(id, r);
      else ended.push({ ...briefOf(r), bytes: serialize(r) });
    }
    if (this.packed && ended.length === 0 && this.places.size === this.packed.briefs.ids.length) return { open, packed: this.packed };
    for (const i of this.places.values()) ended.push({ ...this.briefAt(i), bytes: this.recordBytes(i) });
    return { open, packed: packedOf(ended) };
  }

  /**
   * Takes on what pack() made, once it is saved: the records that ended
   * leave memory, to be unpacked again if asked for (a daemon's reading,
   * which goes on for days, walks only the live ones at each sweep).
   */
  adopt(p: { open: Map<string, ProposalRecord>; packed: PackedProposals }): void {
    this.open = p.open;
    if (p.packed !== this.packed) this.bytes = undefined;
    this.packed = p.packed;
    this.where = undefined;
    this.packedBriefs = undefined;
  }
}
