// What a commit changed, computed in process from verified trees: git's own
// diff reads objects without checking them, so a swapped tree could move a
// change from one path to another. Many diffs are computed together, one
// tree level at a time, so that each level is one pipelined read; commits are
// taken a chunk at a time, so memory stays bounded on any history.
//
// Two versions of a directory are compared on their raw bytes, entry by
// entry: an entry whose bytes are the same in both (mode, name, id) is
// skipped without being decoded, so a directory that gains one file costs a
// few native comparisons per entry, not an object per entry.
import { CorruptObjectError, type ObjectStore } from './objects.js';

export type ChangeStatus = 'A' | 'M' | 'D' | 'T';

export interface Change {
  status: ChangeStatus;
  path: string;
  oldMode: string;
  newMode: string;
  oldBlob: string;
  newBlob: string;
}

const TREE = '40000';
export const NONE = '000000';
const NULL_OID = '0000000000000000000000000000000000000000';
/** Commits whose trees are read at once: enough to pipeline, few enough that a wide directory's versions fit in memory. */
const CHUNK = 128;

/** blob (regular or executable), symlink, gitlink, tree: a change between kinds is a type change (T). */
const kind = (mode: string) => (mode === TREE ? 'tree' : mode === '120000' ? 'link' : mode === '160000' ? 'gitlink' : 'blob');

interface Job {
  out: Change[];
  dir: string;
  old: string | undefined;
  new: string | undefined;
}

/** One entry of a raw tree, decoded only where the two sides differ. */
interface Entry {
  mode: string;
  name: string;
  /** The name as git sorts it: a directory's name ends in "/". */
  key: Buffer;
  oid: string;
  end: number;
}

/** Cursor over a raw tree: `<mode> <name>\0<raw id>` entries, sorted by key. */
class Cursor {
  pos = 0;
  private prevKey: Buffer | undefined;
  private prevStart = -1;
  constructor(
    readonly raw: Buffer,
    private readonly oid: string,
    private readonly idLength: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.raw.length;
  }

  /** Where the entry at the cursor ends. */
  end(): number {
    const nul = this.raw.indexOf(0, this.pos);
    const end = nul + 1 + this.idLength;
    if (nul < 0 || end > this.raw.length) throw new CorruptObjectError(this.oid, 'is not a well-formed tree');
    return end;
  }

  /** Skips an entry known to equal the other side's. */
  skip(end: number): void {
    this.prevStart = this.pos;
    this.prevKey = undefined;
    this.pos = end;
  }

  decode(end: number): Entry {
    const e = decodeAt(this.raw, this.pos, end, this.oid, this.idLength);
    // Entries must be strictly sorted: a tree in another order (which git never writes) could pair the wrong entries.
    const prev = this.prevKey ?? (this.prevStart >= 0 ? decodeAt(this.raw, this.prevStart, this.pos, this.oid, this.idLength).key : undefined);
    if (prev && Buffer.compare(prev, e.key) >= 0) throw new CorruptObjectError(this.oid, 'is not a well-formed tree (entries out of order)');
    return e;
  }

  take(e: Entry): void {
    this.prevStart = this.pos;
    this.prevKey = e.key;
    this.pos = e.end;
  }
}

function decodeAt(raw: Buffer, start: number, end: number, oid: string, idLength: number): Entry {
  const sp = raw.indexOf(32, start);
  const nul = end - 1 - idLength;
  if (sp < 0 || sp >= nul) throw new CorruptObjectError(oid, 'is not a well-formed tree');
  const mode = raw.subarray(start, sp).toString('latin1');
  const nameBytes = raw.subarray(sp + 1, nul);
  return {
    mode,
    name: nameBytes.toString('utf8'),
    key: mode === TREE ? Buffer.concat([nameBytes, Buffer.from('/')]) : nameBytes,
    oid: raw.subarray(nul + 1, end).toString('hex'),
    end,
  };
}

/**
 * The changes from `old` to `new` (root trees; undefined = empty) for each
 * pair, recursively, like `git diff-tree -r --no-renames --raw`.
 */
export async function diffTrees(store: ObjectStore, pairs: { old: string | undefined; new: string | undefined }[]): Promise<Change[][]> {
  const results = pairs.map(() => [] as Change[]);
  for (let from = 0; from < pairs.length; from += CHUNK) {
    let level: Job[] = [];
    for (let i = from; i < Math.min(pairs.length, from + CHUNK); i++) {
      const p = pairs[i]!;
      if (p.old !== p.new) level.push({ out: results[i]!, dir: '', old: p.old, new: p.new });
    }
    while (level.length) level = await diffLevel(store, level);
  }
  for (const r of results) r.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
  return results;
}

async function diffLevel(store: ObjectStore, level: Job[]): Promise<Job[]> {
  const ids = [...new Set(level.flatMap((j) => [j.old, j.new]).filter((t): t is string => t !== undefined))];
  const raw = new Map<string, Buffer>();
  const read = await store.rawTrees(ids);
  ids.forEach((id, i) => raw.set(id, read[i]!));
  const next: Job[] = [];
  const empty = Buffer.alloc(0);
  for (const j of level) {
    const some = j.old ?? j.new!;
    const idLength = some.length / 2;
    const a = new Cursor(j.old ? raw.get(j.old)! : empty, j.old ?? '', idLength);
    const b = new Cursor(j.new ? raw.get(j.new)! : empty, j.new ?? '', idLength);
    while (!a.done || !b.done) {
      if (!a.done && !b.done) {
        const ea = a.end();
        const eb = b.end();
        if (ea - a.pos === eb - b.pos && a.raw.compare(b.raw, b.pos, eb, a.pos, ea) === 0) {
          a.skip(ea);
          b.skip(eb);
          continue;
        }
        const x = a.decode(ea);
        const y = b.decode(eb);
        const order = Buffer.compare(x.key, y.key);
        if (order === 0) {
          a.take(x);
          b.take(y);
          emit(j, x, y, next);
        } else if (order < 0) {
          a.take(x);
          emit(j, x, undefined, next);
        } else {
          b.take(y);
          emit(j, undefined, y, next);
        }
      } else if (!a.done) {
        const x = a.decode(a.end());
        a.take(x);
        emit(j, x, undefined, next);
      } else {
        const y = b.decode(b.end());
        b.take(y);
        emit(j, undefined, y, next);
      }
    }
  }
  return next;
}

/** The change one pair of entries (or a lone entry) makes; a directory becomes a job on the next level. */
function emit(j: Job, x: Entry | undefined, y: Entry | undefined, next: Job[]): void {
  if (x && y && x.oid === y.oid && x.mode === y.mode) return;
  const name = (x ?? y)!.name;
  const path = j.dir ? `${j.dir}/${name}` : name;
  const xTree = x?.mode === TREE ? x.oid : undefined;
  const yTree = y?.mode === TREE ? y.oid : undefined;
  if (xTree || yTree) next.push({ out: j.out, dir: path, old: xTree, new: yTree });
  const xFile = x && x.mode !== TREE ? x : undefined;
  const yFile = y && y.mode !== TREE ? y : undefined;
  if (xFile && yFile) {
    j.out.push({
      status: kind(xFile.mode) === kind(yFile.mode) ? 'M' : 'T',
      path,
      oldMode: xFile.mode,
      newMode: yFile.mode,
      oldBlob: xFile.oid,
      newBlob: yFile.oid,
    });
  } else if (xFile) {
    j.out.push({ status: 'D', path, oldMode: xFile.mode, newMode: NONE, oldBlob: xFile.oid, newBlob: NULL_OID });
  } else if (yFile) {
    j.out.push({ status: 'A', path, oldMode: NONE, newMode: yFile.mode, oldBlob: NULL_OID, newBlob: yFile.oid });
  }
}
