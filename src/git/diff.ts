// What a commit changed, computed in process from verified trees: git's own
// diff reads objects without checking them, so a swapped tree could move a
// change from one path to another. Many diffs are computed together, one
// tree level at a time, so that each level is one pipelined read; commits are
// taken a chunk at a time, so memory stays bounded on any history.
//
// Two versions of a directory are compared on their raw bytes: what both
// share at the start and at the end is skipped by native comparison, cut back
// to whole entries, and only the entries between are decoded. Where each
// version's entries start is kept for the next version of the same
// directory, so a directory that gains one file in each of n commits costs n
// comparisons of its bytes, not n steps per entry.
import { CorruptObjectError, indexOfByte, treeEntryStarts, type ObjectStore } from './objects.js';

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
/**
 * Chunks read at the same time: each reads one tree level at a time, and
 * while ga compares one chunk's level, cat-file reads another's (one lane
 * left the two processes waiting on each other by turns).
 */
const LANES = 3;

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
}

function decodeAt(raw: Buffer, start: number, end: number, oid: string, idLength: number): Entry {
  const sp = indexOfByte(raw, 32, start);
  const nul = end - 1 - idLength;
  if (sp < 0 || sp >= nul || raw[nul] !== 0) throw new CorruptObjectError(oid, 'is not a well-formed tree');
  const mode = raw.subarray(start, sp).toString('latin1');
  const nameBytes = raw.subarray(sp + 1, nul);
  return {
    mode,
    name: nameBytes.toString('utf8'),
    key: mode === TREE ? Buffer.concat([nameBytes, Buffer.from('/')]) : nameBytes,
    oid: raw.subarray(nul + 1, end).toString('hex'),
  };
}

/**
 * How long a run of bytes two buffers share from one end, at most `limit`;
 * `same(x, y)` says whether bytes x to y from that end agree. Native
 * comparisons of growing blocks, then a search inside the first block that
 * differs.
 */
function sharedRun(limit: number, same: (x: number, y: number) => boolean): number {
  let p = 0;
  let step = 256;
  while (p < limit) {
    const e = Math.min(limit, p + step);
    if (same(p, e)) {
      p = e;
      step = Math.min(step * 2, 1 << 16);
      continue;
    }
    // The first byte that differs is in [p, hi).
    let hi = e;
    while (hi - p > 1) {
      const mid = (p + hi) >>> 1;
      if (same(p, mid)) p = mid;
      else hi = mid;
    }
    return p;
  }
  return limit;
}

/** How many leading bytes `a` and `b` share, at most `limit`. */
const commonPrefix = (a: Buffer, b: Buffer, limit: number): number => sharedRun(limit, (x, y) => a.compare(b, x, y, x, y) === 0);

/** How many trailing bytes `a` and `b` share, at most `limit`. */
const commonSuffix = (a: Buffer, b: Buffer, limit: number): number =>
  sharedRun(limit, (x, y) => a.compare(b, b.length - y, b.length - x, a.length - y, a.length - x) === 0);

/** The first index whose start is greater than `x` (starts ascend). */
function upperBound(starts: Int32Array, x: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The entries of `raw` from `from` up to `until`, decoded and checked to be
 * strictly sorted from the key before them to the key after them (a tree in
 * another order, which git never writes, could pair the wrong entries).
 * Returns their starts too; `end` is where the last one ends, which may pass
 * `until` when the entries do not fall on it.
 */
function decodeRange(
  raw: Buffer,
  oid: string,
  idLength: number,
  from: number,
  until: number,
  before: Buffer | undefined,
): { entries: Entry[]; starts: number[]; end: number } {
  const entries: Entry[] = [];
  const starts: number[] = [];
  let pos = from;
  let prev = before;
  while (pos < until) {
    const nul = indexOfByte(raw, 0, pos);
    const end = nul + 1 + idLength;
    if (nul < 0 || end > raw.length) throw new CorruptObjectError(oid, 'is not a well-formed tree');
    const e = decodeAt(raw, pos, end, oid, idLength);
    if (prev && Buffer.compare(prev, e.key) >= 0) throw new CorruptObjectError(oid, 'is not a well-formed tree (entries out of order)');
    entries.push(e);
    starts.push(pos);
    prev = e.key;
    pos = end;
  }
  return { entries, starts, end: pos };
}

/**
 * Compares two versions of a directory. The bytes both share at the start and
 * at the end are skipped by native comparison, cut back to whole entries
 * (known from `oldStarts`), and only the entries between are decoded: a
 * directory that gains one file costs a few comparisons of its bytes, not a
 * step per entry. Returns where the new version's entries start, for the
 * next version's comparison.
 */
function diffDir(j: Job, a: Buffer, oldStarts: Int32Array, b: Buffer, newOid: string, idLength: number, next: Job[]): Int32Array {
  const n = oldStarts.length - 1;
  const p = commonPrefix(a, b, Math.min(a.length, b.length));
  // Entries of the old version that end inside the shared start are the same entries in the new one.
  const i = Math.max(0, upperBound(oldStarts, p) - 1);
  const head = oldStarts[i]!;
  const q = commonSuffix(a, b, Math.min(a.length, b.length) - head);
  // The first old entry wholly inside the shared end, and where it would start in the new version.
  let k = Math.max(i, upperBound(oldStarts, a.length - q - 1));
  if (k > n) k = n;
  const delta = b.length - a.length;
  const tailAt = oldStarts[k]! + delta;
  const before = i > 0 ? entryKey(a, oldStarts[i - 1]!, head, idLength) : undefined;
  const after = k < n ? entryKey(a, oldStarts[k]!, oldStarts[k + 1]!, idLength) : undefined;
  let added = decodeRange(b, newOid, idLength, head, tailAt, before);
  let tail = k;
  if (added.end !== tailAt) {
    // The new entries do not fall on the shared end (a coincidence of bytes): read the rest of the new version whole.
    const rest = decodeRange(b, newOid, idLength, added.end, b.length, added.entries.at(-1)?.key ?? before);
    added = { entries: [...added.entries, ...rest.entries], starts: [...added.starts, ...rest.starts], end: rest.end };
    tail = n;
  } else if (after && added.entries.length && Buffer.compare(added.entries.at(-1)!.key, after) >= 0) {
    throw new CorruptObjectError(newOid, 'is not a well-formed tree (entries out of order)');
  }
  const removed = decodeRange(a, j.old ?? '', idLength, head, oldStarts[tail]!, before).entries;
  merge(j, removed, added.entries, next);
  const starts = new Int32Array(i + added.starts.length + (n - tail) + 1);
  starts.set(oldStarts.subarray(0, i), 0);
  starts.set(added.starts, i);
  for (let x = tail, at = i + added.starts.length; x <= n; x++, at++) starts[at] = oldStarts[x]! + delta;
  return starts;
}

/** The sort key of the entry at `start` (its name, with "/" for a directory). */
function entryKey(raw: Buffer, start: number, end: number, idLength: number): Buffer {
  const sp = indexOfByte(raw, 32, start);
  const nameBytes = raw.subarray(sp + 1, end - 1 - idLength);
  return raw.subarray(start, sp).toString('latin1') === TREE ? Buffer.concat([nameBytes, Buffer.from('/')]) : nameBytes;
}

/** Pairs two sorted runs of entries by key and emits what changed. */
function merge(j: Job, xs: Entry[], ys: Entry[], next: Job[]): void {
  let x = 0;
  let y = 0;
  while (x < xs.length || y < ys.length) {
    const order = x >= xs.length ? 1 : y >= ys.length ? -1 : Buffer.compare(xs[x]!.key, ys[y]!.key);
    if (order === 0) emit(j, xs[x++], ys[y++], next);
    else if (order < 0) emit(j, xs[x++], undefined, next);
    else emit(j, undefined, ys[y++], next);
  }
}

/**
 * The changes from `old` to `new` (root trees; undefined = empty) for each
 * pair, recursively, like `git diff-tree -r --no-renames --raw`.
 */
export async function diffTrees(store: ObjectStore, pairs: { old: string | undefined; new: string | undefined }[]): Promise<Change[][]> {
  const results = pairs.map(() => [] as Change[]);
  // A few commits' worth to each lane at least: consecutive commits share a version of each tree they both read.
  const size = Math.min(CHUNK, Math.max(16, Math.ceil(pairs.length / LANES)));
  let next = 0;
  const lane = async () => {
    for (let from = next; from < pairs.length; from = next) {
      next = from + size;
      let level: Job[] = [];
      for (let i = from; i < Math.min(pairs.length, from + size); i++) {
        const p = pairs[i]!;
        if (p.old !== p.new) level.push({ out: results[i]!, dir: '', old: p.old, new: p.new });
      }
      // Where each version's entries start, kept while the chunk is read: a directory's next version is compared against it.
      const starts = new Map<string, Int32Array>();
      while (level.length) level = await diffLevel(store, level, starts);
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  for (const r of results) r.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
  return results;
}

const EMPTY = Buffer.alloc(0);
const NO_ENTRIES = Int32Array.from([0]);

async function diffLevel(store: ObjectStore, level: Job[], starts: Map<string, Int32Array>): Promise<Job[]> {
  const ids = [...new Set(level.flatMap((j) => [j.old, j.new]).filter((t): t is string => t !== undefined))];
  const raw = new Map<string, Buffer>();
  const read = await store.rawTrees(ids);
  ids.forEach((id, i) => raw.set(id, read[i]!));
  const next: Job[] = [];
  for (const j of level) {
    const idLength = (j.old ?? j.new!).length / 2;
    const a = j.old ? raw.get(j.old)! : EMPTY;
    const b = j.new ? raw.get(j.new)! : EMPTY;
    let oldStarts = j.old ? starts.get(j.old) : NO_ENTRIES;
    if (!oldStarts) {
      oldStarts = treeEntryStarts(a, j.old!, idLength);
      starts.set(j.old!, oldStarts);
    }
    const newStarts = diffDir(j, a, oldStarts, b, j.new ?? '', idLength, next);
    if (j.new) starts.set(j.new, newStarts);
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
