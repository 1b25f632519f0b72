// The ids of a reading's timeline, in order: a commit's place in history
// without reading older commits. A saved reading keeps them as one buffer of
// raw ids (history/saved.ts), which deserializes as one object however long
// history is; an id becomes a string only when it is asked for, and a place
// is found by scanning the buffer until enough are asked for that a map is
// cheaper. The ids added since (a command's few, a daemon's weeks of them)
// are kept as strings, with their places.

/** Places looked up by scanning before the saved ids are put in a map. */
const SCANNED = 64;

/** A commit's place in the timeline, by id. */
export interface Places {
  get(id: string): number | undefined;
  has(id: string): boolean;
}

/** What a saved reading keeps: the raw ids, `width` bytes each. */
export interface SavedIds {
  width: number;
  raw: Uint8Array;
}

export function isSavedIds(x: unknown): x is SavedIds {
  const s = x as Partial<SavedIds> | null;
  return typeof s === 'object' && s !== null && (s.width === 20 || s.width === 32) && s.raw instanceof Uint8Array && s.raw.length % s.width === 0;
}

export class TimelineIds {
  private readonly raw: Buffer;
  private readonly width: number;
  private readonly own: string[] = [];
  private readonly ownPlaces = new Map<string, number>();
  private rawPlaces: Map<string, number> | undefined;
  private scanned = 0;

  constructor(saved?: SavedIds) {
    this.raw = saved ? Buffer.from(saved.raw.buffer, saved.raw.byteOffset, saved.raw.length) : Buffer.alloc(0);
    this.width = saved?.width ?? 0;
  }

  private get savedCount(): number {
    return this.width ? this.raw.length / this.width : 0;
  }

  get length(): number {
    return this.savedCount + this.own.length;
  }

  push(id: string): void {
    this.ownPlaces.set(id, this.length);
    this.own.push(id);
  }

  at(i: number): string | undefined {
    const saved = this.savedCount;
    if (i < saved) return i < 0 ? undefined : this.raw.toString('hex', i * this.width, (i + 1) * this.width);
    return this.own[i - saved];
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
    if (!this.width || id.length !== this.width * 2 || !/^[0-9a-f]+$/.test(id)) return undefined;
    if (++this.scanned > SCANNED) {
      this.rawPlaces = new Map();
      for (let i = 0; i < this.savedCount; i++) this.rawPlaces.set(this.at(i)!, i);
      return this.rawPlaces.get(id);
    }
    // From the end: what is asked for is mostly recent (the high-water mark, the last commit a notification covered).
    const needle = Buffer.from(id, 'hex');
    for (let at = this.raw.lastIndexOf(needle); at >= 0; at = at > 0 ? this.raw.lastIndexOf(needle, at - 1) : -1)
      if (at % this.width === 0) return at / this.width;
    return undefined;
  }

  /** The places of the first `end` ids. */
  places(end: number): Places {
    const get = (id: string) => {
      const p = this.placeOf(id);
      return p !== undefined && p < end ? p : undefined;
    };
    return { get, has: (id) => get(id) !== undefined };
  }

  /** All of them as a saved reading keeps them. */
  saved(): SavedIds {
    const width = this.raw.length ? this.width : this.own.length ? this.own[0]!.length / 2 : 20;
    return { width, raw: Buffer.concat([this.raw, ...this.own.map((id) => Buffer.from(id, 'hex'))]) };
  }
}
