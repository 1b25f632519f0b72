// The objects in a repository's packs, read in process as git reads them:
// the pack's index (objects/pack/pack-*.idx, version 2) gives where an
// object is, the pack holds it deflated, whole or as a delta on another
// object (at an earlier place in the same pack, or named by its id). Only
// what a lookup needs is read from the files (the fan-out, one bucket of
// ids, an offset, the entry), never a whole index: at 100,000 objects an
// index is 3 MB, and fresh memory is slow to map in here.
//
// This reader is what spares a command that needs a few packed objects the
// start of a `git cat-file` process (10 ms and more of the command's own
// time where a process is slow to fork). It answers only what it can build
// within bounds (small objects, short delta chains); the caller checks every
// answer against its id (git/objects.ts) and asks cat-file for anything it
// did not answer, so a pack this reader misreads, a pack replaced under it,
// or a format it does not know costs a process, never a wrong object.
import { closeSync, constants, fstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { readBytesAt } from '../runtime/files.js';

/** The largest object, and delta, built here; a larger one is cat-file's. */
const PACKED_MAX = 1024 * 1024;
/** The longest delta chain followed here (git's default depth is 50). */
const MAX_DEPTH = 64;
/** Delta bases kept for the next object of the same chain, in bytes. */
const BASE_CACHE = 4 * 1024 * 1024;

/** An object's type (git/objects.ts, which reads every object, names it from here). */
export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

const TYPES: (ObjectType | undefined)[] = [undefined, 'commit', 'tree', 'blob', 'tag'];
const OFS_DELTA = 6;
const REF_DELTA = 7;
const IDX_MAGIC = 0xff744f63; // "\377tOc"
/** Bytes before an index's fan-out: its magic and version. */
const IDX_HEAD = 8;

interface Built {
  type: ObjectType;
  content: Buffer;
}

/** One pack: its files, and its index's fan-out once read (undefined: not a version 2 index this reader can use). */
interface Pack {
  idx: string;
  pack: string;
  fanout?: Uint32Array | null;
}

/** Why a read stops: the object is not built here, and cat-file is asked. */
class NotHere extends Error {}
const notHere = (): never => {
  throw new NotHere();
};

export class PackedObjects {
  private packs: Pack[] | undefined;
  private readonly fds = new Map<string, number>();
  private readonly bases = new Map<string, Built>();
  private basesSize = 0;

  constructor(private readonly objectsDir: string) {}

  /**
   * Object `oid` as built from the packs, not yet checked against its id;
   * undefined when no pack has it, or it is not built here. Files stay open
   * until done().
   */
  read(oid: string): Built | undefined {
    try {
      return this.find(Buffer.from(oid, 'hex'), 0);
    } catch {
      return undefined;
    }
  }

  /** Closes the files a batch of reads opened: a pack replaced since is opened anew by the next read. */
  done(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private list(): Pack[] {
    if (!this.packs) {
      const dir = join(this.objectsDir, 'pack');
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        names = [];
      }
      this.packs = names
        .filter((n) => /^pack-[0-9a-f]{40,64}\.idx$/.test(n) && names.includes(n.replace(/\.idx$/, '.pack')))
        .map((n) => ({ idx: join(dir, n), pack: join(dir, n.replace(/\.idx$/, '.pack')) }));
    }
    return this.packs;
  }

  private find(raw: Buffer, depth: number): Built | undefined {
    for (const p of this.list()) {
      const at = this.offsetOf(p, raw);
      if (at !== undefined) return this.entry(p, at, depth, raw.length);
    }
    return undefined;
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      if (!fstatSync(fd).isFile()) {
        closeSync(fd);
        throw new NotHere();
      }
      this.fds.set(file, fd);
    }
    return fd;
  }

  /** Up to `n` bytes of `file` from `at` (fewer at its end). */
  private bytes(file: string, at: number, n: number): Buffer {
    return readBytesAt(this.fd(file), at, n);
  }

  /** Exactly `n` bytes of `file` from `at`. */
  private exactly(file: string, at: number, n: number): Buffer {
    const b = this.bytes(file, at, n);
    if (b.length !== n) throw new NotHere();
    return b;
  }

  /** The pack offset of the object with raw id `raw`, from the index: its fan-out, then one bucket of ids searched. */
  private offsetOf(p: Pack, raw: Buffer): number | undefined {
    if (p.fanout === undefined) {
      const head = this.bytes(p.idx, 0, IDX_HEAD + 256 * 4);
      p.fanout =
        head.length === IDX_HEAD + 1024 && head.readUInt32BE(0) === IDX_MAGIC && head.readUInt32BE(4) === 2
          ? Uint32Array.from({ length: 256 }, (_, i) => head.readUInt32BE(IDX_HEAD + 4 * i))
          : null;
    }
    const fanout = p.fanout;
    if (!fanout) return undefined;
    const width = raw.length;
    const count = fanout[255]!;
    const lo = raw[0]! === 0 ? 0 : fanout[raw[0]! - 1]!;
    const hi = fanout[raw[0]!]!;
    if (hi <= lo || hi > count) return undefined;
    const ids = this.exactly(p.idx, IDX_HEAD + 1024 + lo * width, (hi - lo) * width);
    let a = 0;
    let b = hi - lo;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const c = ids.compare(raw, 0, width, mid * width, (mid + 1) * width);
      if (c === 0) {
        a = mid;
        b = -1;
        break;
      }
      if (c < 0) a = mid + 1;
      else b = mid;
    }
    if (b !== -1) return undefined;
    const i = lo + a;
    const offsets = IDX_HEAD + 1024 + count * (width + 4); // after the ids and their CRCs
    const small = this.exactly(p.idx, offsets + i * 4, 4).readUInt32BE(0);
    if ((small & 0x80000000) === 0) return small;
    const large = this.exactly(p.idx, offsets + count * 4 + (small & 0x7fffffff) * 8, 8).readBigUInt64BE(0);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw new NotHere();
    return Number(large);
  }

  /** The object whose entry is at `at` in pack `p`, its deltas applied (`width`: the bytes of an object id). */
  private entry(p: Pack, at: number, depth: number, width: number): Built {
    if (depth > MAX_DEPTH) throw new NotHere();
    const key = `${p.pack}:${at}`;
    const cached = this.bases.get(key);
    if (cached) return cached;
    const head = this.bytes(p.pack, at, 16 + 32);
    let k = 0;
    let c = head[k++]!;
    const type = (c >> 4) & 7;
    let size = c & 15;
    for (let shift = 4; c & 0x80; shift += 7) {
      if (k >= head.length || shift > 35) throw new NotHere();
      c = head[k++]!;
      size += (c & 0x7f) * 2 ** shift;
    }
    if (size > PACKED_MAX) throw new NotHere();
    let base: (() => Built) | undefined;
    if (type === OFS_DELTA) {
      // The base's distance back, in git's encoding (each further byte adds one before shifting).
      c = head[k++]!;
      let back = c & 0x7f;
      while (c & 0x80) {
        if (k >= head.length || back > 2 ** 45) throw new NotHere();
        c = head[k++]!;
        back = (back + 1) * 128 + (c & 0x7f);
      }
      if (back <= 0 || back > at) throw new NotHere();
      base = () => this.entry(p, at - back, depth + 1, width);
    } else if (type === REF_DELTA) {
      const id = Buffer.from(head.subarray(k, (k += width)));
      if (id.length !== width) throw new NotHere();
      base = () => this.find(id, depth + 1) ?? notHere();
    } else if (!TYPES[type]) throw new NotHere();
    const data = this.inflated(p, at + k, size);
    if (!base) return this.keep(key, depth, { type: TYPES[type]!, content: data });
    const from = base();
    return this.keep(key, depth, { type: from.type, content: applyDelta(from.content, data) });
  }

  /** `size` bytes inflated from the deflated stream at `at` of pack `p`. */
  private inflated(p: Pack, at: number, size: number): Buffer {
    // A deflated stream is never longer than this (zlib's bound), so it is all in what is read.
    const deflated = this.bytes(p.pack, at, size + (size >> 10) + 64);
    let out: Buffer;
    try {
      out = inflateSync(deflated, { chunkSize: Math.max(256, size + 1), maxOutputLength: size + 1 });
    } catch {
      throw new NotHere();
    }
    if (out.length !== size) throw new NotHere();
    return out;
  }

  private keep(key: string, depth: number, built: Built): Built {
    if (depth > 0 && built.content.length <= BASE_CACHE) {
      if (this.basesSize + built.content.length > BASE_CACHE) {
        this.bases.clear();
        this.basesSize = 0;
      }
      this.bases.set(key, built);
      this.basesSize += built.content.length;
    }
    return built;
  }
}

/** `base` with git's delta `delta` applied: its sizes, then copies from the base and bytes inserted. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let k = 0;
  const varint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (k >= delta.length || shift > 35) throw new NotHere();
      const c = delta[k++]!;
      n += (c & 0x7f) * 2 ** shift;
      if (!(c & 0x80)) return n;
    }
  };
  if (varint() !== base.length) throw new NotHere();
  const size = varint();
  if (size > PACKED_MAX) throw new NotHere();
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  while (k < delta.length) {
    const c = delta[k++]!;
    if (c & 0x80) {
      let offset = 0;
      let n = 0;
      for (let bit = 0; bit < 4; bit++) if (c & (1 << bit)) offset += (delta[k++] ?? 0) * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (c & (0x10 << bit)) n += (delta[k++] ?? 0) * 2 ** (8 * bit);
      if (n === 0) n = 0x10000;
      if (k > delta.length || offset + n > base.length || at + n > size) throw new NotHere();
      base.copy(out, at, offset, offset + n);
      at += n;
    } else if (c !== 0) {
      if (k + c > delta.length || at + c > size) throw new NotHere();
      delta.copy(out, at, k, k + c);
      k += c;
      at += c;
    } else throw new NotHere();
  }
  if (at !== size) throw new NotHere();
  return out;
}
