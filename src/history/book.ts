// The proposals a reading holds, by id. Most proposals of a long history have
// ended (executed, rejected, expired, failed, or gone from the tree), and
// most commands ask only for those still alive (pending or approved): a saved
// reading keeps the ended ones packed, each serialized on its own with a
// brief beside it (where it is, whose it is, when it was made, its last
// commit), and a record is unpacked only when a command asks for it by id or
// asks for all of them. A command that walks only the live proposals never
// pays for the ended ones (history/saved.ts).
import { deserialize, serialize } from 'node:v8';
import type { ProposalState } from '../layout/layout.js';
import type { Proposal } from '../schema/proposal.js';

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

/** Ended proposals as a saved reading keeps them: one buffer, and each record's brief and place in it. */
export interface PackedProposals {
  bytes: Uint8Array;
  index: Map<string, ProposalBrief & { start: number; end: number }>;
}

const isLive = (r: { state?: ProposalState }) => r.state === 'pending' || r.state === 'approved';

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

export function isPackedProposals(x: unknown): x is PackedProposals {
  const p = x as Partial<PackedProposals> | undefined;
  return typeof p === 'object' && p.bytes instanceof Uint8Array && p.index instanceof Map;
}

export class ProposalBook {
  private readonly open: Map<string, ProposalRecord>;
  private readonly packed: PackedProposals;

  /**
   * `open`: records as they are; `packed`: ended ones, unpacked on demand.
   * `damaged` is called before the error a record that does not unpack throws.
   */
  constructor(
    open?: Map<string, ProposalRecord>,
    packed?: PackedProposals,
    private readonly damaged: () => void = () => {},
  ) {
    this.open = open ?? new Map();
    this.packed = packed ? { bytes: packed.bytes, index: new Map(packed.index) } : { bytes: new Uint8Array(0), index: new Map() };
  }

  get size(): number {
    return this.open.size + this.packed.index.size;
  }

  has(id: string): boolean {
    return this.open.has(id) || this.packed.index.has(id);
  }

  /** The record of `id`, unpacked if it was packed. */
  get(id: string): ProposalRecord | undefined {
    const r = this.open.get(id);
    if (r) return r;
    const at = this.packed.index.get(id);
    if (!at) return undefined;
    let got: ProposalRecord;
    try {
      got = deserialize(this.packed.bytes.subarray(at.start, at.end)) as ProposalRecord;
    } catch {
      got = undefined as unknown as ProposalRecord;
    }
    if (typeof got !== 'object' || got === null || got.id !== id || !Array.isArray(got.steps)) {
      this.damaged();
      throw new Error(`the saved reading's record of proposal ${id} is damaged: run the command again (it reads all of history)`);
    }
    this.packed.index.delete(id);
    this.open.set(id, got);
    return got;
  }

  set(id: string, r: ProposalRecord): void {
    this.packed.index.delete(id);
    this.open.set(id, r);
  }

  /** Every id, without unpacking. */
  *ids(): IterableIterator<string> {
    yield* this.open.keys();
    yield* this.packed.index.keys();
  }

  /** What is known of every proposal without unpacking it. */
  *briefs(): IterableIterator<ProposalBrief> {
    for (const r of this.open.values()) yield briefOf(r);
    yield* this.packed.index.values();
  }

  /** The proposals in pending/ or approved/ (never packed). */
  live(): ProposalRecord[] {
    return [...this.open.values()].filter(isLive);
  }

  /** The records of `ids` that exist, unpacked as needed. */
  pick(ids: Iterable<string>): ProposalRecord[] {
    return [...ids].flatMap((id) => this.get(id) ?? []);
  }

  /** Every record, unpacking all of them: for the commands whose answer is about every proposal (verify, a report). */
  all(): ProposalRecord[] {
    for (const id of [...this.packed.index.keys()]) this.get(id);
    return [...this.open.values()];
  }

  /** The live records as they are, and every other one packed: what a saved reading keeps. */
  pack(): { open: Map<string, ProposalRecord>; packed: PackedProposals } {
    const open = new Map<string, ProposalRecord>();
    const parts: Uint8Array[] = [];
    const index: PackedProposals['index'] = new Map();
    let at = 0;
    const add = (brief: ProposalBrief, bytes: Uint8Array) => {
      parts.push(bytes);
      index.set(brief.id, { ...brief, start: at, end: at + bytes.length });
      at += bytes.length;
    };
    for (const [id, r] of this.open) {
      if (isLive(r)) open.set(id, r);
      else add(briefOf(r), serialize(r));
    }
    for (const { start, end, ...brief } of this.packed.index.values()) add(brief, this.packed.bytes.subarray(start, end));
    return { open, packed: { bytes: Buffer.concat(parts), index } };
  }
}
