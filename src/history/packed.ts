// Values by id that a saved reading keeps packed: each serialized on its own,
// one after another in the parts of the reading (history/saved.ts), with an
// index of which part each one is in and where. A part is read when a value
// in it is first asked for, and a value is deserialized only when it is
// asked for by id (or all of them are walked): what grows with history (the
// records of the proposals that ended, the executions) costs a command that
// needs a few of them a few, and one that needs none nothing. Values set or
// unpacked stay open; a save packs them again into one new part, and leaves
// the values still packed where they are, in the parts they are in: what a
// save writes is what changed, not all of history (at 100,000 events the
// records are 35 MB). Parts are merged as a binary counter merges its
// digits: the newest into the one before it once it holds at least half as
// much, so there are about log2 of them, each value is copied about log2
// times over its life, and a part whose values are all gone is dropped.
import { deserialize, serialize } from 'node:v8';
import { partOf, type SavedPart } from './saved.js';

/**
 * Ids in ascending order (as JavaScript compares strings), each once, kept
 * as one string and where each starts (the last start is the string's
 * length): a saved reading deserializes two objects, not one string per id
 * (50,000 of them at 100,000 events took 30 ms of every command).
 */
export interface SortedIds {
  text: string;
  starts: Uint32Array;
}

export function sortedIds(ids: readonly string[]): SortedIds {
  const starts = new Uint32Array(ids.length + 1);
  ids.forEach((id, i) => (starts[i + 1] = starts[i]! + id.length));
  return { text: ids.join(''), starts };
}

export const idCount = (s: SortedIds): number => s.starts.length - 1;

export const idAt = (s: SortedIds, i: number): string => s.text.slice(s.starts[i], s.starts[i + 1]);

/** Every id, in order. */
export const allIds = (s: SortedIds): string[] => Array.from({ length: idCount(s) }, (_, i) => idAt(s, i));

/**
 * Whether `x` has the shape of SortedIds. Only its ends are checked, not
 * the order of every id (idsInOrder): a saved reading's ids are put in
 * order by the writer (sortedIds of sorted entries), and going through
 * 50,000 of them again cost every command 10 ms at 100,000 events. A saved
 * reading is believed for what it shows, never for what it lets run
 * (history/afresh.ts), and ids out of order make lookups miss, never crash:
 * a binary search checks the id it lands on.
 */
export function isSortedIds(x: unknown): x is SortedIds {
  const s = x as Partial<SortedIds> | undefined;
  if (typeof s !== 'object' || s === null || typeof s.text !== 'string' || !(s.starts instanceof Uint32Array) || s.starts.length < 1) return false;
  const { text, starts } = s as SortedIds;
  return starts[0] === 0 && starts[starts.length - 1] === text.length;
}

/** Whether the ids are in ascending order (as JavaScript compares strings), each once and none empty: what sortedIds of a sorted list makes. */
export function idsInOrder(s: SortedIds): boolean {
  const { text, starts } = s;
  for (let i = 0; i + 1 < starts.length; i++) {
    if (starts[i + 1]! <= starts[i]!) return false; // no empty id
    if (i > 0 && !below(text, starts[i - 1]!, starts[i]!, starts[i + 1]!)) return false;
  }
  return true;
}

/** Whether text[a, b) < text[b, c), as JavaScript compares strings (by UTF-16 code units), without making either. */
function below(text: string, a: number, b: number, c: number): boolean {
  const n = Math.min(b - a, c - b);
  for (let k = 0; k < n; k++) {
    const x = text.charCodeAt(a + k);
    const y = text.charCodeAt(b + k);
    if (x !== y) return x < y;
  }
  return b - a < c - b;
}

/** Where each packed value is: the part it is in, and its bytes there. */
export interface PackedIndex {
  /** A value is found by binary search. */
  ids: SortedIds;
  part: Uint16Array;
  start: Uint32Array;
  end: Uint32Array;
}

export interface Packed {
  index: PackedIndex;
  parts: SavedPart[];
}

export function isPackedIndex(x: unknown): x is PackedIndex {
  const p = x as Partial<PackedIndex> | undefined;
  return (
    typeof p === 'object' &&
    p !== null &&
    isSortedIds(p.ids) &&
    p.part instanceof Uint16Array &&
    p.start instanceof Uint32Array &&
    p.end instanceof Uint32Array &&
    p.part.length === idCount(p.ids) &&
    p.start.length === idCount(p.ids) &&
    p.end.length === idCount(p.ids)
  );
}

/** The first place in `ids` whose id is not below `id`. */
export function lowerBound(ids: SortedIds, id: string): number {
  let lo = 0;
  let hi = idCount(ids);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (idAt(ids, mid) < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index's order of ids. */
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What a reader of packed values may do: ask for one, or walk them all. */
export interface Lookup<T> extends Iterable<[string, T]> {
  get(id: string): T | undefined;
  has(id: string): boolean;
}

/**
 * Values read alone before a whole part is: RANGED, or one for every
 * RANGED_BYTES of the part, whichever is more. A read of a value costs tens
 * of microseconds; a whole part costs some 3 ms a megabyte (a full
 * reading's part of ended proposals is hundreds of megabytes at 100,000
 * events, and the loop rule asks for every proposal of the last minutes).
 */
const RANGED = 32;
const RANGED_BYTES = 16 * 1024;
/** More parts than this are merged into the one before, whatever their sizes. */
const MAX_PARTS = 32;

/** A packed value on its way into a new index: where it is, and where it was in the index it was packed at (undefined: packed now). */
interface Entry {
  id: string;
  part: number;
  start: number;
  end: number;
  from: number | undefined;
}

export class PackedMap<T> implements Lookup<T> {
  private open: Map<string, T>;
  private packed: Packed | undefined;
  /** The parts' bytes that were read whole, by name; how many values were read alone before. */
  private bytes = new Map<string, Buffer>();
  private ranged = 0;
  /** Each part's size, for the index `sizesOf` (see partSize). */
  private readonly partSizes = new Map<number, number>();
  private sizesOf: Packed | undefined;
  /** 1 for each value of the index that is no longer packed (set or unpacked since), and how many. */
  private gone: Uint8Array;
  private goneCount = 0;

  /**
   * `fits` says whether what a value unpacked to is one (for `id`); one that
   * does not, or a part that does not read, throws `damaged(id)`.
   */
  constructor(
    open: Map<string, T> | undefined,
    packed: Packed | undefined,
    private readonly fits: (id: string, x: unknown) => x is T,
    private readonly damaged: (id: string) => Error,
  ) {
    this.open = open ?? new Map();
    this.packed = packed;
    this.gone = new Uint8Array(packed ? idCount(packed.index.ids) : 0);
  }

  /** Whether value `i` of the index is still packed. */
  isPacked(i: number): boolean {
    return this.gone[i] === 0;
  }

  /** Where `id` is in the index, if it is still packed there. */
  private placeOf(id: string): number | undefined {
    const ids = this.packed?.index.ids;
    if (!ids) return undefined;
    const i = lowerBound(ids, id);
    return i < idCount(ids) && idAt(ids, i) === id && this.gone[i] === 0 ? i : undefined;
  }

  private unpacked(i: number): void {
    this.gone[i] = 1;
    this.goneCount++;
  }

  /** How many values are still packed. */
  get packedCount(): number {
    return this.gone.length - this.goneCount;
  }

  get size(): number {
    return this.open.size + this.packedCount;
  }

  has(id: string): boolean {
    return this.open.has(id) || this.placeOf(id) !== undefined;
  }

  /** The value of `id`, unpacked if it was packed. */
  get(id: string): T | undefined {
    const v = this.open.get(id);
    if (v !== undefined) return v;
    const i = this.placeOf(id);
    if (i === undefined) return undefined;
    const bytes = this.bytesAt(i); // a part that does not read throws its own error
    let got: unknown;
    try {
      got = deserialize(bytes);
    } catch {
      got = undefined;
    }
    if (!this.fits(id, got)) throw this.damaged(id);
    this.unpacked(i);
    this.open.set(id, got);
    return got;
  }

  set(id: string, v: T): void {
    if (!this.open.has(id)) {
      const i = this.placeOf(id);
      if (i !== undefined) this.unpacked(i);
    }
    this.open.set(id, v);
  }

  /** The names of the parts the packed values are in. */
  partNames(): string[] {
    return this.packed?.parts.map((p) => p.name) ?? [];
  }

  /** The values that are open (set, or unpacked), as they are. */
  openValues(): IterableIterator<T> {
    return this.open.values();
  }

  /** The ids of the open values: all of them but those still as they were packed. */
  openIds(): IterableIterator<string> {
    return this.open.keys();
  }

  /** Every value, unpacking all of them. */
  *[Symbol.iterator](): IterableIterator<[string, T]> {
    const ids = this.packed?.index.ids;
    for (let i = 0; ids && i < idCount(ids); i++) if (this.gone[i] === 0) this.get(idAt(ids, i));
    yield* this.open;
  }

  /**
   * The bytes of packed value `i`: read alone while few are asked for (the
   * watchdog's loop rule asks for the last few minutes' proposals), its
   * whole part once more are. A saved reading's part that does not read, or
   * is shorter than the index says, throws.
   */
  private bytesAt(i: number): Buffer {
    const { index, parts } = this.packed!;
    const part = parts[index.part[i]!];
    const start = index.start[i]!;
    const end = index.end[i]!;
    if (!part) throw this.damaged(idAt(index.ids, i));
    if (!this.bytes.has(part.name) && part.range && this.ranged < Math.max(RANGED, this.partSize(index.part[i]!) / RANGED_BYTES)) {
      this.ranged++;
      return part.range(start, end);
    }
    const bytes = this.whole(part);
    if (end > bytes.length) throw this.damaged(idAt(index.ids, i));
    return bytes.subarray(start, end);
  }

  /** How many bytes part `p` holds, as the index says (the end of its last value). */
  private partSize(p: number): number {
    if (this.sizesOf !== this.packed) {
      this.partSizes.clear();
      this.sizesOf = this.packed;
    }
    let size = this.partSizes.get(p);
    if (size === undefined) {
      const { index } = this.packed!;
      size = 0;
      for (let k = 0; k < index.part.length; k++) if (index.part[k] === p && index.end[k]! > size) size = index.end[k]!;
      this.partSizes.set(p, size);
    }
    return size;
  }

  private whole(part: SavedPart): Buffer {
    let bytes = this.bytes.get(part.name);
    if (!bytes) this.bytes.set(part.name, (bytes = part.bytes()));
    return bytes;
  }

  /**
   * What a saved reading keeps: the open values `keep` accepts as they are,
   * and every other one packed. Those still packed stay where they are; the
   * others are packed now, into a new part after the rest; then the newest
   * parts are merged while the last holds at least half as much as the one
   * before it (see the top of this file). `from` gives each value's place in
   * the index it was packed at before (undefined: packed now). When nothing
   * was set or unpacked since the map was given its packed values, they are
   * those, unread.
   */
  pack(keep: (v: T) => boolean = () => false): { open: Map<string, T>; packed: Packed; from: (number | undefined)[] } {
    const open = new Map<string, T>();
    const fresh: [string, Buffer][] = [];
    for (const [id, v] of this.open) {
      if (keep(v)) open.set(id, v);
      else fresh.push([id, serialize(v)]);
    }
    const before = this.packed;
    if (before && fresh.length === 0 && this.goneCount === 0) {
      return { open, packed: before, from: Array.from({ length: idCount(before.index.ids) }, (_, i) => i) };
    }
    let parts = [...(before?.parts ?? [])];
    let entries: Entry[] = [];
    for (let i = 0; before && i < idCount(before.index.ids); i++) {
      if (this.gone[i] === 0)
        entries.push({ id: idAt(before.index.ids, i), part: before.index.part[i]!, start: before.index.start[i]!, end: before.index.end[i]!, from: i });
    }
    if (fresh.length) {
      fresh.sort(([a], [b]) => byId(a, b));
      let at = 0;
      for (const [id, b] of fresh) entries.push({ id, part: parts.length, start: at, end: (at += b.length), from: undefined });
      parts.push(partOf(Buffer.concat(fresh.map(([, b]) => b))));
    }
    [parts, entries] = this.merged(parts, entries);
    // Two ascending runs, the still packed and the fresh: the sort merges them.
    entries.sort((a, b) => byId(a.id, b.id));
    const index: PackedIndex = {
      ids: sortedIds(entries.map((e) => e.id)),
      part: Uint16Array.from(entries, (e) => e.part),
      start: Uint32Array.from(entries, (e) => e.start),
      end: Uint32Array.from(entries, (e) => e.end),
    };
    return { open, packed: { index, parts }, from: entries.map((e) => e.from) };
  }

  /** Parts no value is in dropped, and the newest merged as a binary counter merges its digits. */
  private merged(parts: SavedPart[], entries: Entry[]): [SavedPart[], Entry[]] {
    for (;;) {
      const live = new Array<number>(parts.length).fill(0);
      for (const e of entries) live[e.part]! += e.end - e.start;
      if (live.some((n) => n === 0)) {
        const renumber = new Map<number, number>();
        live.forEach((n, k) => n > 0 && renumber.set(k, renumber.size));
        parts = parts.filter((_, k) => renumber.has(k));
        for (const e of entries) e.part = renumber.get(e.part)!;
        continue;
      }
      const n = parts.length;
      if (n < 2 || (n <= MAX_PARTS && live[n - 1]! * 2 < live[n - 2]!)) return [parts, entries];
      // The last two become one: the values in them, one after another, in the order they were.
      const moving = entries.filter((e) => e.part >= n - 2).sort((a, b) => a.part - b.part || a.start - b.start);
      const chunks = moving.map((e) => this.whole(parts[e.part]!).subarray(e.start, e.end));
      let at = 0;
      moving.forEach((e, k) => {
        e.part = n - 2;
        e.start = at;
        e.end = at += chunks[k]!.length;
      });
      parts = [...parts.slice(0, n - 2), partOf(Buffer.concat(chunks))];
    }
  }

  /**
   * Takes on what pack() made, once it is saved: the values packed leave
   * memory, to be unpacked again if asked for (a daemon's reading, which
   * goes on for days, keeps only what it walks).
   */
  adopt(p: { open: Map<string, T>; packed: Packed }): void {
    this.open = p.open;
    const names = new Set(p.packed.parts.map((part) => part.name));
    for (const name of [...this.bytes.keys()]) if (!names.has(name)) this.bytes.delete(name);
    this.packed = p.packed;
    this.gone = new Uint8Array(idCount(p.packed.index.ids));
    this.goneCount = 0;
  }
}
