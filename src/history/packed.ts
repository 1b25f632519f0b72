// Values by id that a saved reading keeps packed: each serialized on its own,
// one after another in a part of the reading (history/saved.ts), with an
// index of where each one is. The part is read when a value is first asked
// for, and a value is deserialized only when it is asked for by id (or all
// of them are walked): what grows with history (the records of the
// proposals that ended, the executions) costs a command that needs a few of
// them a few, and one that needs none nothing. Values set or unpacked stay
// open; a save packs them again, copying those still packed as they are.
import { deserialize, serialize } from 'node:v8';
import { partOf, type SavedPart } from './saved.js';

/** Where each packed value is among the bytes of the part. */
export interface PackedIndex {
  ids: string[];
  start: Uint32Array;
  end: Uint32Array;
}

export interface Packed {
  index: PackedIndex;
  part: SavedPart;
}

export function isPackedIndex(x: unknown): x is PackedIndex {
  const p = x as Partial<PackedIndex> | undefined;
  return (
    typeof p === 'object' &&
    p !== null &&
    Array.isArray(p.ids) &&
    p.start instanceof Uint32Array &&
    p.end instanceof Uint32Array &&
    p.start.length === p.ids.length &&
    p.end.length === p.ids.length
  );
}

/** What a reader of packed values may do: ask for one, or walk them all. */
export interface Lookup<T> extends Iterable<[string, T]> {
  get(id: string): T | undefined;
  has(id: string): boolean;
}

/** Values read alone before the whole part is. */
const RANGED = 32;

export class PackedMap<T> implements Lookup<T> {
  private open: Map<string, T>;
  private packed: Packed | undefined;
  /** The part's bytes, once read; how many values were read alone before. */
  private bytes: Buffer | undefined;
  private ranged = 0;
  /** Where each value still packed is in the index, by id: built when first asked. */
  private where: Map<string, number> | undefined;

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
  }

  /** The values still packed: each id and its place in the index. */
  get stillPacked(): Map<string, number> {
    return (this.where ??= new Map(this.packed?.index.ids.map((id, i) => [id, i])));
  }

  get size(): number {
    return this.open.size + this.stillPacked.size;
  }

  has(id: string): boolean {
    return this.open.has(id) || this.stillPacked.has(id);
  }

  /** The value of `id`, unpacked if it was packed. */
  get(id: string): T | undefined {
    const v = this.open.get(id);
    if (v !== undefined) return v;
    const i = this.stillPacked.get(id);
    if (i === undefined) return undefined;
    const bytes = this.bytesAt(i);
    let got: unknown;
    try {
      got = deserialize(bytes);
    } catch {
      got = undefined;
    }
    if (!this.fits(id, got)) throw this.damaged(id);
    this.stillPacked.delete(id);
    this.open.set(id, got);
    return got;
  }

  set(id: string, v: T): void {
    this.stillPacked.delete(id);
    this.open.set(id, v);
  }

  /** The values that are open (set, or unpacked), as they are. */
  openValues(): IterableIterator<T> {
    return this.open.values();
  }

  /** Every value, unpacking all of them. */
  *[Symbol.iterator](): IterableIterator<[string, T]> {
    for (const id of [...this.stillPacked.keys()]) this.get(id);
    yield* this.open;
  }

  /**
   * The bytes of packed value `i`: read alone while few are asked for (the
   * watchdog's loop rule asks for the last few minutes' proposals), the
   * whole part once more are. A saved reading's part that does not read
   * throws.
   */
  private bytesAt(i: number): Buffer {
    const { index, part } = this.packed!;
    if (!this.bytes && part.range && this.ranged < RANGED) {
      this.ranged++;
      return part.range(index.start[i]!, index.end[i]!);
    }
    this.bytes ??= part.bytes();
    return this.bytes.subarray(index.start[i], index.end[i]);
  }

  /**
   * What a saved reading keeps: the open values `keep` accepts as they are,
   * and every other one packed, in `ids` order with `from` giving each one's
   * place in the index it was packed at before (undefined: packed now).
   * When nothing was set or unpacked since the map was given its packed
   * values, they are those, unread.
   */
  pack(keep: (v: T) => boolean = () => false): { open: Map<string, T>; packed: Packed; from: (number | undefined)[] } {
    const open = new Map<string, T>();
    const fresh: [string, Buffer][] = [];
    for (const [id, v] of this.open) {
      if (keep(v)) open.set(id, v);
      else fresh.push([id, serialize(v)]);
    }
    const before = this.packed;
    if (before && fresh.length === 0 && this.stillPacked.size === before.index.ids.length) {
      return { open, packed: before, from: before.index.ids.map((_, i) => i) };
    }
    const still = [...this.stillPacked];
    const ids = [...fresh.map(([id]) => id), ...still.map(([id]) => id)];
    const chunks = [...fresh.map(([, b]) => b), ...still.map(([, i]) => this.bytesAt(i))];
    const start = new Uint32Array(ids.length);
    const end = new Uint32Array(ids.length);
    let at = 0;
    chunks.forEach((b, k) => {
      start[k] = at;
      end[k] = at += b.length;
    });
    return {
      open,
      packed: { index: { ids, start, end }, part: partOf(Buffer.concat(chunks)) },
      from: [...fresh.map(() => undefined), ...still.map(([, i]) => i)],
    };
  }

  /**
   * Takes on what pack() made, once it is saved: the values packed leave
   * memory, to be unpacked again if asked for (a daemon's reading, which
   * goes on for days, keeps only what it walks).
   */
  adopt(p: { open: Map<string, T>; packed: Packed }): void {
    this.open = p.open;
    if (p.packed.part.name !== this.packed?.part.name) {
      this.bytes = undefined;
      this.ranged = 0;
    }
    this.packed = p.packed;
    this.where = undefined;
  }
}
