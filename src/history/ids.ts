// The ids of a reading's timeline, in order: a commit's place in history
// without reading older commits. A saved reading keeps them as raw ids in a
// part of their own (history/saved.ts), not in the state every command reads
// (at 100,000 commits they are 2 MB, which cost every command some 10 ms to
// read): they are read from the end, a range at a time, as far back as a
// command asks (most ask for recent commits: the high-water mark, the
// approvals of the proposals still waiting); a place is found by scanning
// them until enough are asked for that a map is cheaper. An id becomes a
// string only when it is asked for. The ids added since (a command's few, a
// daemon's weeks of them) are kept as strings, with their places. A save
// writes the ids added since as one more part, so that it never writes
// again the 2 MB of all of them: past MAX_SEGMENTS parts, the newest are
// written again as one (saved.ts newestToMerge, as for chunks).
import { newestToMerge, partOf, type SavedPart } from './saved.js';

/**
 * How many times over the saved ids may be scanned for places, in all,
 * before they are put in a map: a command that asks for old commits by the
 * thousand (ga verify, ga audit) would scan them all each time, while the
 * watchdog's loop rule asks for every proposal of its last minutes, each a
 * scan of a few recent ids. A scan is a native search (2 MB in some 0.5
 * ms); a map of 100,000 ids, each made a string, cost a sweep 150 ms.
 */
const SCAN_BUDGET = 64;
/** The fewest ids read at a time from a saved part, going back from the end (each read at least doubles what is held). */
const FIRST_READ = 4096;
/** Parts beyond this many are merged: the newest are written again as one. */
const MAX_SEGMENTS = 16;

/** A commit's place in the timeline, by id. */
export interface Places {
  get(id: string): number | undefined;
  has(id: string): boolean;
}

/** What a saved reading's state keeps of them: `width` bytes each, in parts, oldest first, each named with how many ids it holds. */
export interface SavedIds {
  width: number;
  segments: { part: string; count: number }[];
}

/** The saved ids as a reading takes them on (or saves them): how wide, and their bytes as parts. */
export interface IdBytes {
  width: number;
  segments: { part: SavedPart; count: number }[];
}

export function isSavedIds(x: unknown): x is SavedIds {
  const s = x as Partial<SavedIds> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    (s.width === 20 || s.width === 32) &&
    Array.isArray(s.segments) &&
    s.segments.every((g: unknown) => {
      const { part, count } = (g ?? {}) as { part?: unknown; count?: unknown };
      return typeof part === 'string' && Number.isSafeInteger(count) && (count as number) > 0;
    })
  );
}

/** How many ids they hold in all. */
export const savedIdCount = (s: { segments: { count: number }[] }): number => s.segments.reduce((n, g) => n + g.count, 0);

export class TimelineIds {
  /** The saved ids from place `heldFrom` on, as read so far. */
  private held: Buffer = Buffer.alloc(0);
  private heldFrom: number;
  private readonly savedCount: number;
  private readonly width: number;
  private readonly own: string[] = [];
  private readonly ownPlaces = new Map<string, number>();
  private rawPlaces: Map<string, number> | undefined;
  private scannedBytes = 0;

  /** `damaged` is thrown when the part's bytes are not as many as `source` says. */
  constructor(
    private readonly source?: IdBytes,
    private readonly damaged: () => Error = () => new Error('the saved ids of the commits are damaged'),
  ) {
    this.savedCount = source ? savedIdCount(source) : 0;
    this.heldFrom = this.savedCount;
    this.width = source?.width ?? 0;
  }

  /** The names of the parts the saved ids are read from. */
  get partNames(): string[] {
    return this.source?.segments.map((g) => g.part.name) ?? [];
  }

  get length(): number {
    return this.savedCount + this.own.length;
  }

  push(id: string): void {
    this.ownPlaces.set(id, this.length);
    this.own.push(id);
  }

  /** Reads the saved ids back to place `from` (at least), unless they are held already. */
  private hold(from: number): void {
    if (from >= this.heldFrom) return;
    const to = this.heldFrom;
    // Parts read whole (a checkpoint's, whose digests are checked) are read back to the start at once.
    const ranged = this.source!.segments.every((g) => g.part.range);
    const start = ranged ? Math.max(0, Math.min(from, to - Math.max(FIRST_READ, this.savedCount - to))) : 0;
    const bytes = this.bytesOf(start, to);
    this.held = this.held.length ? Buffer.concat([bytes, this.held]) : bytes;
    this.heldFrom = start;
  }

  /** The saved ids' bytes from place `from` to `to`, from the parts that hold them. */
  private bytesOf(from: number, to: number): Buffer {
    const w = this.width;
    const pieces: Buffer[] = [];
    let first = 0;
    for (const { part, count } of this.source!.segments) {
      const [a, b] = [Math.max(from, first), Math.min(to, first + count)];
      if (a < b) {
        let piece: Buffer;
        if (part.range) piece = part.range((a - first) * w, (b - first) * w);
        else {
          const all = part.bytes();
          if (all.length !== count * w) throw this.damaged();
          piece = all.subarray((a - first) * w, (b - first) * w);
        }
        if (piece.length !== (b - a) * w) throw this.damaged();
        pieces.push(piece);
      }
      first += count;
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  at(i: number): string | undefined {
    if (i < 0) return undefined;
    if (i < this.savedCount) {
      this.hold(i);
      const at = (i - this.heldFrom) * this.width;
      return this.held.toString('hex', at, at + this.width);
    }
    return this.own[i - this.savedCount];
  }

  /** The ids from place `from` to `to` (not included). */
  slice(from: number, to: number): string[] {
    const out: string[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.length); i++) out.push(this.at(i)!);
    return out;
  }

  /** The place of `id`, if it is one of these. */
  placeOf(id: string): number | undefined {
    const own = this.ownPlaces.get(id);
    if (own !== undefined) return own;
    if (this.rawPlaces) return this.rawPlaces.get(id);
    if (!this.savedCount || id.length !== this.width * 2 || !/^[0-9a-f]+$/.test(id)) return undefined;
    if (this.scannedBytes > SCAN_BUDGET * this.savedCount * this.width) {
      this.hold(0);
      this.rawPlaces = new Map();
      for (let i = 0; i < this.savedCount; i++) this.rawPlaces.set(this.at(i)!, i);
      return this.rawPlaces.get(id);
    }
    // From the end, a read at a time: what is asked for is mostly recent (the high-water mark, the last commit a notification covered).
    const needle = Buffer.from(id, 'hex');
    let searched = this.savedCount; // the ids from here on have been searched
    if (this.heldFrom === searched) this.hold(searched - 1);
    for (;;) {
      const from = this.heldFrom;
      const region = this.held.subarray(0, (searched - from) * this.width);
      for (let at = region.lastIndexOf(needle); at >= 0; at = at > 0 ? region.lastIndexOf(needle, at - 1) : -1) {
        if (at % this.width !== 0) continue;
        const place = from + at / this.width;
        this.scannedBytes += (this.savedCount - place) * this.width;
        return place;
      }
      if (from === 0) {
        this.scannedBytes += this.savedCount * this.width;
        return undefined;
      }
      searched = from;
      this.hold(from - 1);
    }
  }

  /** The places of the first `end` ids. */
  places(end: number): Places {
    const get = (id: string) => {
      const p = this.placeOf(id);
      return p !== undefined && p < end ? p : undefined;
    };
    return { get, has: (id) => get(id) !== undefined };
  }

  /**
   * All of them as a saved reading keeps them: the parts they were read
   * from, and those added since as one more (past MAX_SEGMENTS, the newest
   * parts written again as one with them).
   */
  saved(): IdBytes {
    const before = this.source?.segments ?? [];
    if (!this.own.length) return { width: this.source?.width ?? 20, segments: before };
    const width = this.savedCount ? this.width : this.own[0]!.length / 2;
    const added = this.own.map((id) => Buffer.from(id, 'hex'));
    if (before.length + 1 <= MAX_SEGMENTS) return { width, segments: [...before, { part: partOf(Buffer.concat(added)), count: this.own.length }] };
    const k = newestToMerge(before.map((g) => g.count));
    const kept = before.slice(0, before.length - k);
    const from = savedIdCount({ segments: kept });
    this.hold(from);
    const bytes = Buffer.concat([this.held.subarray((from - this.heldFrom) * this.width), ...added]);
    return { width, segments: [...kept, { part: partOf(bytes), count: this.length - from }] };
  }
}
