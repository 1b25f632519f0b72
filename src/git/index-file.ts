// The person's index brought in step with an event commit, in process: the
// entries at the committed paths are replaced and the cache tree is
// invalidated on those paths, as `git reset -q --no-refresh HEAD -- <paths>`
// would. git reads and writes the whole index for that (110 ms at 100,000
// audit files, most of it parsing and rehashing); here the entries are
// hopped over, not parsed, and the rest is copied as it is. The index is
// taken with git's own lock (index.lock, created exclusively) and read only
// once it is held. Its checksum is checked unless the file is the very one
// ga last wrote (its identity and checksum noted in .git/ga/index-written).
// A split index has only its front written (rewriteSplit). Anything this
// module does not know to be safe to copy (an index version but 2 or 3, a
// sparse index, a mandatory extension it does not know, a shared
// repository or a sparse checkout) is declined, and the caller lets git do
// it.
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeSync,
  type BigIntStats,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { createHash, type Hash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { InternalError } from '../errors.js';
import { readEwah, writeEwah } from './ewah.js';
import { objectId } from './objects.js';
import { localSettingOn, type Repo } from './repo.js';
import { readFullAt, readRegular, writeFileAtomic } from '../runtime/files.js';

/** One committed path as HEAD now has it: a blob with its mode, or nothing (the path, and anything under it, is gone). */
export interface IndexChange {
  path: string;
  blob?: { oid: string; mode: '100644' | '100755' };
}

/** done: the index says what HEAD says at those paths; locked: another git holds index.lock; declined: let git do it. */
export type IndexUpdate = 'done' | 'locked' | 'declined';

const SIGNATURE = 0x44495243; // "DIRC"
const STAT_BYTES = 40; // ctime, mtime (s, ns), dev, ino, mode, uid, gid, size
const EXTENDED = 0x4000;
const NAME_MASK = 0x0fff;
/** A split index's link to its shared index (see rewriteSplit). */
const LINK = 'link';
/** Optional extensions that only speed git up and that git rebuilds when absent; the cache tree (TREE) is kept, edited. */
const DROPPED = new Set(['EOIE', 'IEOT', 'UNTR', 'FSMN']);
const CHUNK = 1 << 20;

interface Parsed {
  version: number;
  /** Where each entry starts, and (last) where the entries end. */
  starts: Uint32Array;
  /** Entries as new as the index (see parse). */
  racy: number[];
  extensions: { sig: string; body: Buffer }[];
}

/**
 * Replaces the index's entries at `changes`' paths with HEAD's, under git's
 * index lock. Paths must not overlap (none equal to, or under, another);
 * overlapping ones are declined.
 */
export function updateIndex(repo: Repo, changes: IndexChange[], idLength: number): IndexUpdate {
  if (!changes.length) return 'done';
  if (overlapping(changes.map((c) => c.path))) return 'declined';
  if (['core.sharedRepository', 'core.sparseCheckout'].some((key) => localSettingOn(repo.local, key))) return 'declined';
  const file = join(repo.gitDir, 'index');
  const lock = `${file}.lock`;
  let out: number;
  try {
    out = openSync(lock, 'wx', 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'locked';
    return 'declined';
  }
  let written = false;
  let input = -1;
  try {
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) return 'declined';
    input = openSync(file, 'r');
    const inputSt = fstatSync(input);
    const { known, note } = notesOf(repo, file, input);
    const made = rewrite(repo, input, inputSt, out, changes, idLength, known, note);
    if (!made) return 'declined';
    closeSync(out);
    out = -1;
    renameSync(lock, file);
    written = true;
    noteWritten(repo, file, made, Math.floor(inputSt.mtimeMs / 1000));
    return 'done';
  } finally {
    if (input >= 0) closeSync(input);
    if (out >= 0) closeSync(out);
    if (!written) rmSync(lock, { force: true });
  }
}

function overlapping(paths: string[]): boolean {
  const all = new Set(paths);
  if (all.size < paths.length) return true;
  return paths.some((p) => p.split('/').some((_, k, parts) => k > 0 && all.has(parts.slice(0, k).join('/'))));
}

/** Where ga notes the index it wrote last: that file's path, identity (device, inode, size, times to the nanosecond) and checksum. */
const stampFile = (repo: Repo) => join(repo.commonDir, 'ga', 'index-written');

function identity(file: string, st: BigIntStats): string {
  return `${file} ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`;
}

/**
 * What ga noted of the index open on `fd`, when the file is still the one
 * it wrote (same inode, size and times: any write or rename changes its
 * ctime, which no one can set): the checksum it wrote into it (`known`),
 * and where its entries start (`note`, see entriesFile). Such a file's
 * checksum need not be computed again: it guards against damage on disk,
 * not against anyone who can write .git/ (who can write a good one).
 */
function notesOf(repo: Repo, file: string, fd: number): { known?: Buffer; note?: EntriesNote } {
  const id = identity(file, fstatSync(fd, { bigint: true }));
  const text = readRegular(stampFile(repo), 4096)?.toString('utf8');
  const nl = text?.lastIndexOf('\n') ?? -1;
  if (!text || nl < 0 || text.slice(0, nl) !== id) return {};
  const trailer = Buffer.from(text.slice(nl + 1), 'hex');
  if (trailer.length !== 20 && trailer.length !== 32) return {};
  return { known: trailer, note: entriesNoted(repo, id) };
}

/**
 * Beside it, where each entry of that file starts and which are racy (see
 * parse): the next update of that very file hops to the entries it needs
 * instead of walking all of them (130,000 at 100,000 events: a read of the
 * 16 MB file and some 15 ms of parsing, in each of ga execute's two
 * updates). Bound to the file's identity as the checksum is, and trusted
 * as far: it guards against nothing that can write .git/.
 */
const entriesFile = (repo: Repo) => join(repo.commonDir, 'ga', 'index-entries');

interface EntriesNote {
  starts: Uint32Array;
  racy: number[];
}

/**
 * A note of where an index's entries start (entriesFile, sharedEntriesFile):
 * its first line the identity of the file it describes, then the note,
 * serialized. Undefined unless that identity is `id` and the note has the
 * shape of one: never more than a note, it only lets a read hop.
 */
function readNote(file: string, id: string): (EntriesNote & Record<string, unknown>) | undefined {
  const bytes = readRegular(file, 1 << 30);
  const nl = bytes?.indexOf(10) ?? -1;
  if (!bytes || nl < 0 || bytes.toString('utf8', 0, nl) !== id) return undefined;
  try {
    const note = deserialize(bytes.subarray(nl + 1)) as (Partial<EntriesNote> & Record<string, unknown>) | null;
    return note && note.starts instanceof Uint32Array && Array.isArray(note.racy) && note.racy.every((i) => Number.isInteger(i))
      ? (note as EntriesNote & Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function writeNote(file: string, id: string, note: EntriesNote): void {
  writeFileAtomic(file, Buffer.from(`${id}\n`, 'utf8'), serialize(note));
}

const entriesNoted = (repo: Repo, id: string): EntriesNote | undefined => readNote(entriesFile(repo), id);

/**
 * Notes the index ga just wrote: its checksum, and its entries (unless
 * its time is before the old file's: then its racy entries cannot be told
 * from the old file's, and the next update walks them all).
 */
function noteWritten(repo: Repo, file: string, made: Written, oldSec: number): void {
  try {
    mkdirSync(join(repo.commonDir, 'ga'), { recursive: true });
    const st = lstatSync(file, { bigint: true });
    const id = identity(file, st);
    writeFileAtomic(stampFile(repo), Buffer.from(`${id}\n${made.digest.toString('hex')}`, 'utf8'));
    const sec = Number(st.mtimeNs / 1_000_000_000n);
    if (sec < oldSec) rmSync(entriesFile(repo), { force: true });
    else writeNote(entriesFile(repo), id, { starts: made.starts, racy: made.racy(sec) });
  } catch {
    // only notes: without them, the next update checks the checksum and walks the entries
    rmSync(stampFile(repo), { force: true });
    rmSync(entriesFile(repo), { force: true });
  }
}

function writeAll(fd: number, buf: Buffer): void {
  for (let at = 0; at < buf.length;) at += writeSync(fd, buf, at);
}

/**
 * A forward-only view of a file through one reused buffer, hashing each byte
 * below `limit` once as the view moves past it. (Reading a 10 MB index into
 * a buffer of its own costs more in page faults, on this kind of machine,
 * than git's whole update.)
 */
class Window {
  buf = Buffer.allocUnsafe(CHUNK);
  start = 0;
  end = 0;
  private hashed = 0;
  constructor(
    private readonly fd: number,
    private readonly limit: number,
    private readonly hash: Hash | undefined,
  ) {}

  /** The buffer offset of file offset `at`, with `n` bytes there; undefined past the end of the file (one that shrank included). */
  at(at: number, n: number): number | undefined {
    if (at >= this.start && at + n <= this.end) return at - this.start;
    if (at < this.start) throw new InternalError('the index is read forward only');
    // What lies between is read only to be hashed: with nothing to hash, the view jumps.
    const from = this.hash ? Math.min(at, this.end) : at;
    this.hashTo(from);
    if (at - from + n > this.buf.length) this.buf = Buffer.allocUnsafe(at - from + n);
    this.end = from + readFullAt(this.fd, this.buf, from, this.buf.length);
    this.start = from;
    return at + n <= this.end ? at - this.start : undefined;
  }

  /** Hashes the rest below the limit; the digest. */
  digest(): Buffer {
    this.at(this.limit, 0);
    this.hashTo(this.limit);
    return this.hash!.digest();
  }

  private hashTo(to: number): void {
    if (!this.hash) return;
    const upTo = Math.min(to, this.limit);
    if (upTo > this.hashed) this.hash.update(this.buf.subarray(this.hashed - this.start, upTo - this.start));
    this.hashed = Math.max(this.hashed, upTo);
  }
}

/** What rewrite made: the new file's checksum, where its entries start, and which of them are racy once its time is known. */
interface Written {
  digest: Buffer;
  starts: Uint32Array;
  racy: (indexSec: number) => number[];
}

/**
 * Writes the new index to `out` and says what it made, or undefined when
 * the old one is not one this module may edit. Two passes over the old file:
 * one that checks its checksum (unless it is `known`, see notesOf) and finds
 * where each entry starts (unless its `note` says), one that copies it with
 * the changes made.
 */
function rewrite(
  repo: Repo,
  input: number,
  st: Stats,
  out: number,
  changes: IndexChange[],
  idLength: number,
  known: Buffer | undefined,
  note: EntriesNote | undefined,
): Written | undefined {
  const idBytes = idLength / 2;
  const algorithm = idLength === 64 ? 'sha256' : 'sha1';
  const read = readChecked(input, st, idLength, known, note);
  if (!read) return undefined;
  const link = read.parsed.extensions.find((e) => e.sig === LINK);
  // An index git would split at its next write (core.splitIndex) is left to git to split; one that is split has only its front written.
  if (!link) {
    if (localSettingOn(repo.local, 'core.splitIndex')) return undefined;
  } else if (!link.body.subarray(0, idBytes).every((b) => b === 0)) {
    return rewriteSplit(repo, read, link.body, Math.floor(st.mtimeMs / 1000), out, changes, idLength);
  } else if (link.body.length !== idBytes) return undefined; // no shared index, yet bitmaps of one
  const root = repo.root;
  const { parsed, window, count, entry, name } = read;
  const { starts } = parsed;

  // Which old entries go, which new ones come in before which old entry, and
  // which paths the cache tree no longer vouches for: as git reset does it,
  // an entry already as HEAD has it is left alone, stat data and all.
  const gone = new Set<number>();
  const added: { at: number; entry: Buffer; path: Buffer }[] = [];
  const invalid: string[] = [];
  for (const c of changes) {
    const path = Buffer.from(c.path, 'utf8');
    const at = lowerBound(name, count, path);
    const here: number[] = [];
    for (let i = at; i < count && name(i).equals(path); i++) here.push(i);
    if (c.blob && here.length === 1 && matches(entry(here[0]!), c.blob, idBytes)) continue;
    here.forEach((i) => gone.add(i));
    const under = Buffer.from(`${c.path}/`, 'utf8');
    for (let i = lowerBound(name, count, under); i < count && startsWith(name(i), under); i++) gone.add(i);
    // A file where a written path needs a directory: HEAD has the directory now. (Nothing is removed under a file.)
    const parts = c.blob ? c.path.split('/') : [];
    for (let k = 1; k < parts.length; k++) {
      const dir = Buffer.from(parts.slice(0, k).join('/'), 'utf8');
      for (let i = lowerBound(name, count, dir); i < count && name(i).equals(dir); i++) gone.add(i);
    }
    if (c.blob) {
      added.push({ at, entry: newEntry(path, c.blob, idBytes), path });
      invalid.push(c.path);
    }
  }
  for (const i of gone) {
    const e = entry(i);
    if (stage(e, idBytes) !== 0) return undefined; // a conflict: git records its resolution (REUC); let git do it
    invalid.push(entryName(e, 0, idBytes, parsed.version).toString('utf8'));
  }
  added.sort((a, b) => a.at - b.at || Buffer.compare(a.path, b.path));
  // What git's write does for an entry as new as the index it was read from: smudge it unless its file is unchanged.
  const smudged = new Map<number, Buffer>();
  for (const i of parsed.racy) {
    if (gone.has(i)) continue;
    const e = entry(i);
    if (
      isRegular(e) &&
      holds(join(root, entryName(e, 0, idBytes, parsed.version).toString('utf8')), e.toString('hex', STAT_BYTES, STAT_BYTES + idBytes), idLength)
    )
      continue;
    e.writeUInt32BE(0, 36); // size 0: git compares the content next time
    smudged.set(i, e);
  }

  const hash = createHash(algorithm);
  const emit = (b: Buffer) => {
    hash.update(b);
    writeAll(out, b);
  };
  const buf = window.buf;
  const copy = (from: number, to: number) => {
    for (let at = from; at < to;) {
      const n = readFullAt(input, buf, at, Math.min(buf.length, to - at));
      if (n === 0) throw new InternalError('the index shrank while ga read it');
      emit(buf.subarray(0, n));
      at += n;
    }
  };
  const header = Buffer.alloc(12);
  readFullAt(input, header, 0, 12);
  header.writeUInt32BE(count - gone.size + added.length, 8);
  emit(header);
  const stops = [...new Set([...added.map((a) => a.at), ...gone, ...smudged.keys()])].sort((a, b) => a - b);
  let from = starts[0]!;
  let next = 0;
  for (const i of stops) {
    copy(from, starts[i]!);
    from = starts[i]!;
    while (next < added.length && added[next]!.at === i) emit(added[next++]!.entry);
    if (i === count) continue;
    if (gone.has(i)) from = starts[i + 1]!;
    else if (smudged.has(i)) {
      emit(smudged.get(i)!);
      from = starts[i + 1]!;
    }
  }
  copy(from, starts[count]!);
  emitExtensions(parsed.extensions, invalid, idBytes, emit);
  const digest = hash.digest();
  writeAll(out, digest);
  // Where the new file's entries start, and which old racy entries it keeps (only those can be racy in it: see noteWritten).
  const goneAt = new Uint8Array(count);
  for (const i of gone) goneAt[i] = 1;
  const racyOld = new Set(parsed.racy);
  const kept: { at: number; entry: Buffer }[] = [];
  const newStarts = new Uint32Array(count - gone.size + added.length + 1);
  let k = 0;
  let pos = 12;
  for (let i = 0, a = 0; i <= count; i++) {
    while (a < added.length && added[a]!.at === i) {
      newStarts[k++] = pos;
      pos += added[a++]!.entry.length;
    }
    if (i === count) break;
    if (goneAt[i]) continue;
    if (racyOld.has(i)) kept.push({ at: k, entry: smudged.get(i) ?? entry(i) });
    newStarts[k++] = pos;
    pos += starts[i + 1]! - starts[i]!;
  }
  newStarts[k] = pos;
  return { digest, starts: newStarts, racy: (sec) => kept.filter((r) => isRacy(r.entry, 0, sec)).map((r) => r.at) };
}

/** Writes the extensions as the new index has them: the cache tree invalidated on `invalid`, those that only speed git up dropped. */
function emitExtensions(extensions: Parsed['extensions'], invalid: string[], idBytes: number, emit: (b: Buffer) => void): void {
  for (const ext of extensions) {
    if (DROPPED.has(ext.sig)) continue;
    const content = ext.sig === 'TREE' ? invalidateCacheTree(ext.body, invalid, idBytes) : ext.body;
    if (!content) continue;
    const head = Buffer.alloc(8);
    head.write(ext.sig, 0, 'latin1');
    head.writeUInt32BE(content.length, 4);
    emit(head);
    emit(content);
  }
}

/** An index as readChecked read it. */
type ReadIndex = NonNullable<ReturnType<typeof readChecked>>;

/**
 * Git keeps a split index from growing new fronts for ever: once more than
 * this share of the entries are not in the shared index, its next write
 * makes a new shared index (splitIndex.maxPercentChange, 20 by default).
 * ga leaves that write to git.
 */
const MAX_PERCENT_CHANGE = 20;

/** An entry of a split index as git reads it: one of the shared index's (its replacement, if the front has one), or one the front adds. */
type SplitAt = { shared: number } | { added: number };

/**
 * A split index as git reads it (its front, and the shared index its link
 * names, open: close view.shared.fd): the shared index's entries less
 * those the front deletes, the front's replacements in their place, and
 * the entries the front adds. Undefined for a link this module does not
 * read, or a shared index missing, not its id or of another version.
 */
function splitView(repo: Repo, front: ReadIndex, link: Buffer, frontSec: number, idLength: number) {
  const idBytes = idLength / 2;
  const version = front.parsed.version;
  const deletes = link.length > idBytes ? readEwah(link, idBytes) : undefined;
  const replaces = deletes && readEwah(link, deletes.end);
  if (!replaces || replaces.end !== link.length) return undefined;
  const base = link.subarray(0, idBytes);
  const path = join(repo.gitDir, `sharedindex.${base.toString('hex')}`);
  const shared = openShared(repo, path, base, idLength, frontSec);
  if (!shared) return undefined;
  const replacing = replaces.positions;
  const n = shared.count;
  const deleted = new Set(deletes.positions);
  if (
    shared.version !== version ||
    replacing.length > front.count ||
    [...deletes.positions, ...replacing].some((p) => p >= n) ||
    replacing.some((p) => deleted.has(p))
  ) {
    closeSync(shared.fd);
    return undefined;
  }
  const replaced = new Map<number, Buffer>(replacing.map((p, k) => [p, front.entry(k)]));
  const added: (Buffer | undefined)[] = [];
  for (let k = replacing.length; k < front.count; k++) added.push(front.entry(k));
  const nameOf = (e: Buffer) => entryName(e, 0, idBytes, version);
  const entryOf = (a: SplitAt) => ('shared' in a ? (replaced.get(a.shared) ?? shared.entry(a.shared)) : added[a.added]!);
  const nameAt = (a: SplitAt) => ('shared' in a ? shared.name(a.shared) : nameOf(added[a.added]!));
  /** The entries named `name` (or, with `under`, whose names start with it). */
  const find = (name: Buffer, under: boolean): SplitAt[] => {
    const hit = (x: Buffer) => (under ? startsWith(x, name) : x.equals(name));
    const found: SplitAt[] = [];
    for (let i = lowerBound(shared.name, n, name); i < n && hit(shared.name(i)); i++) if (!deleted.has(i)) found.push({ shared: i });
    added.forEach((e, k) => {
      if (e && hit(nameOf(e))) found.push({ added: k });
    });
    return found;
  };
  return { version, base, path, shared, replacing, deleted, replaced, added, nameOf, entryOf, nameAt, find };
}

/**
 * Writes the front of a split index (`git update-index --split-index`, or
 * core.splitIndex): the shared index (.git/sharedindex.<its id>, a whole
 * index git wrote once, 16 MB at 100,000 audit files) is left as it is, and
 * the front says which of its entries are deleted (the delete bitmap) or
 * replaced (the replace bitmap, and the replacements, nameless), holds the
 * entries added since, and the extensions. The shared index's entries at
 * the changed paths are marked deleted and HEAD's are added, so an update
 * writes a few kilobytes at 100,000 entries as at ten. Racy entries are
 * smudged as in rewrite; those of the shared index are found from its note
 * (openShared). Undefined (git does it): a link this module does not read,
 * a shared index missing, not its id or of another version, or a front
 * that would hold more than MAX_PERCENT_CHANGE of the entries.
 */
function rewriteSplit(
  repo: Repo,
  front: ReadIndex,
  link: Buffer,
  frontSec: number,
  out: number,
  changes: IndexChange[],
  idLength: number,
): Written | undefined {
  const idBytes = idLength / 2;
  const view = splitView(repo, front, link, frontSec, idLength);
  if (!view) return undefined;
  const { version, base, path, shared, replacing, deleted, replaced, added, nameOf, entryOf, nameAt, find } = view;
  try {
    const n = shared.count;
    const invalid: string[] = [];
    const fresh: Buffer[] = [];
    for (const c of changes) {
      const p = Buffer.from(c.path, 'utf8');
      const here = find(p, false);
      if (c.blob && here.length === 1 && matches(entryOf(here[0]!), c.blob, idBytes)) continue;
      const gone = [...here, ...find(Buffer.from(`${c.path}/`, 'utf8'), true)];
      const parts = c.blob ? c.path.split('/') : [];
      for (let k = 1; k < parts.length; k++) gone.push(...find(Buffer.from(parts.slice(0, k).join('/'), 'utf8'), false));
      for (const a of gone) {
        if (stage(entryOf(a), idBytes) !== 0) return undefined; // a conflict: let git do it
        invalid.push(nameAt(a).toString('utf8'));
        if ('shared' in a) {
          deleted.add(a.shared);
          replaced.delete(a.shared);
        } else added[a.added] = undefined;
      }
      if (c.blob) {
        fresh.push(newEntry(p, c.blob, idBytes));
        invalid.push(c.path);
      }
    }
    // Racy entries, as rewrite smudges them: the front's, and the shared index's that are as new as the front was.
    const smudge = (e: Buffer, name: Buffer): Buffer | undefined => {
      if (isRegular(e) && holds(join(repo.root, name.toString('utf8')), e.toString('hex', STAT_BYTES, STAT_BYTES + idBytes), idLength)) return undefined;
      const copy = Buffer.from(e);
      copy.writeUInt32BE(0, 36);
      return copy;
    };
    for (const k of front.parsed.racy) {
      if (k < replacing.length) {
        const p = replacing[k]!;
        const e = replaced.get(p);
        const s = e && smudge(e, shared.name(p));
        if (s) replaced.set(p, s);
      } else {
        const e = added[k - replacing.length];
        const s = e && smudge(e, nameOf(e));
        if (s) added[k - replacing.length] = s;
      }
    }
    for (const i of shared.late) {
      if (deleted.has(i) || replaced.has(i)) continue;
      const e = shared.entry(i);
      const s = isRacy(e, 0, frontSec) ? smudge(e, shared.name(i)) : undefined;
      if (s) {
        deleted.add(i);
        fresh.push(s);
      }
    }
    const adds = [...added.filter((e): e is Buffer => e !== undefined), ...fresh].sort(
      (x, y) => Buffer.compare(nameOf(x), nameOf(y)) || stage(x, idBytes) - stage(y, idBytes),
    );
    const total = n - deleted.size + adds.length;
    if (adds.length * 100 > MAX_PERCENT_CHANGE * total) return undefined;
    const entries = [...[...replaced.keys()].sort((x, y) => x - y).map((p) => replaced.get(p)!), ...adds];

    const hash = createHash(idLength === 64 ? 'sha256' : 'sha1');
    const emit = (b: Buffer) => {
      hash.update(b);
      writeAll(out, b);
    };
    const header = Buffer.alloc(12);
    header.writeUInt32BE(SIGNATURE, 0);
    header.writeUInt32BE(version, 4);
    header.writeUInt32BE(entries.length, 8);
    emit(header);
    const starts = new Uint32Array(entries.length + 1);
    let pos = 12;
    entries.forEach((e, k) => {
      starts[k] = pos;
      pos += e.length;
      emit(e);
    });
    starts[entries.length] = pos;
    const sorted = (xs: Iterable<number>) => [...xs].sort((x, y) => x - y);
    const extensions = [
      { sig: LINK, body: Buffer.concat([base, writeEwah(sorted(deleted)), writeEwah(sorted(replaced.keys()))]) },
      ...front.parsed.extensions.filter((e) => e.sig !== LINK),
    ];
    emitExtensions(extensions, invalid, idBytes, emit);
    const digest = hash.digest();
    writeAll(out, digest);
    // As git does whenever it writes a front: the shared index is in use, and no expiry of old ones takes it.
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // it was there a moment ago; git's next write of the index says what became of it
    }
    return { digest, starts, racy: (sec) => entries.flatMap((e, k) => (isRacy(e, 0, sec) ? [k] : [])) };
  } finally {
    closeSync(shared.fd);
  }
}

/** Where ga notes, for the shared index it last read, where each entry starts and which may be racy (see openShared). */
const sharedEntriesFile = (repo: Repo) => join(repo.commonDir, 'ga', 'shared-index-entries');

/** A shared index's entries, and (racy) those whose file changed in second `floor` or later. */
interface SharedNote extends EntriesNote {
  floor: number;
}

/**
 * A split index's shared index, open: its version and entries (read from the
 * file where needed), and those entries that may be racy for a front written
 * in second `frontSec`: whose file changed no earlier than the note's floor
 * (the earlier of the shared index's time and the front's when the note was
 * made; a front is written after its shared index, and git touches the
 * shared index at every read). Its entries are walked and its checksum
 * checked the first time, or when the front is older than the floor; then
 * both are taken from ga's note of it, bound to the file's identity: its
 * name (its id), device, inode and size (not its times, which git touches).
 */
function openShared(repo: Repo, path: string, id: Buffer, idLength: number, frontSec: number) {
  const idBytes = idLength / 2;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  let kept = false;
  try {
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    const bodyEnd = size - idBytes;
    const trailer = Buffer.alloc(idBytes);
    if (!st.isFile() || bodyEnd < 12 || readFullAt(fd, trailer, bodyEnd, idBytes) !== idBytes || !trailer.equals(id)) return undefined;
    const identity = `${path} ${st.dev} ${st.ino} ${st.size}`;
    const head = Buffer.alloc(12);
    readFullAt(fd, head, 0, 12);
    const version = head.readUInt32BE(4);
    if (head.readUInt32BE(0) !== SIGNATURE) return undefined;
    let noted = sharedNoted(repo, identity);
    if (noted && (noted.floor > frontSec || !noteFits(noted, head.readUInt32BE(8), bodyEnd, idBytes))) noted = undefined;
    if (!noted) {
      const floor = Math.min(Number(st.mtimeNs / 1_000_000_000n), frontSec);
      const w = new Window(fd, bodyEnd, createHash(idLength === 64 ? 'sha256' : 'sha1'));
      const parsed = parse(w, bodyEnd, idBytes, floor);
      if (!parsed || !w.digest().equals(id)) return undefined;
      noted = { starts: parsed.starts, racy: parsed.racy, floor };
      try {
        mkdirSync(join(repo.commonDir, 'ga'), { recursive: true });
        writeNote(sharedEntriesFile(repo), identity, noted);
      } catch {
        // only a note: the next update walks the entries again
      }
    }
    const { starts, racy: late } = noted;
    const entry = (i: number) => {
      const b = Buffer.allocUnsafe(starts[i + 1]! - starts[i]!);
      readFullAt(fd, b, starts[i]!, b.length);
      return b;
    };
    kept = true;
    return { fd, version, count: starts.length - 1, late, entry, name: (i: number) => entryName(entry(i), 0, idBytes, version) };
  } finally {
    if (!kept) closeSync(fd);
  }
}

function sharedNoted(repo: Repo, identity: string): SharedNote | undefined {
  const note = readNote(sharedEntriesFile(repo), identity);
  return note && Number.isInteger(note.floor) ? { starts: note.starts, racy: note.racy, floor: note.floor as number } : undefined;
}

/**
 * The index open on `input`, parsed (see parse) with its checksum checked
 * (or, for one ga wrote, found to be the `known` one), and its entries and
 * their names by number; undefined for one this module does not read.
 */
function readChecked(input: number, st: Stats, idLength: number, known: Buffer | undefined, note?: EntriesNote) {
  const idBytes = idLength / 2;
  const bodyEnd = st.size - idBytes;
  if (bodyEnd < 12) return undefined;
  let window = new Window(input, bodyEnd, known ? undefined : createHash(idLength === 64 ? 'sha256' : 'sha1'));
  let parsed = known && note && noted(window, bodyEnd, idBytes, note);
  if (!parsed) {
    // A note that does not fit the file is passed over: the entries are walked, from the start.
    if (known && note) window = new Window(input, bodyEnd, undefined);
    parsed = parse(window, bodyEnd, idBytes, Math.floor(st.mtimeMs / 1000));
  }
  if (!parsed) return undefined;
  const checksum = known ?? window.digest();
  const stored = Buffer.alloc(idBytes);
  if (readFullAt(input, stored, bodyEnd, idBytes) !== idBytes || !checksum.equals(stored)) return undefined;
  const { starts } = parsed;
  const entry = (i: number) => {
    const b = Buffer.allocUnsafe(starts[i + 1]! - starts[i]!);
    readFullAt(input, b, starts[i]!, b.length);
    return b;
  };
  return { parsed, window, count: starts.length - 1, entry, name: (i: number) => entryName(entry(i), 0, idBytes, parsed.version) };
}

/** A stage-0 entry with this blob and mode. */
function matches(entry: Buffer, blob: { oid: string; mode: string }, idBytes: number): boolean {
  return (
    stage(entry, idBytes) === 0 && entry.readUInt32BE(24) === parseInt(blob.mode, 8) && entry.toString('hex', STAT_BYTES, STAT_BYTES + idBytes) === blob.oid
  );
}

function stage(entry: Buffer, idBytes: number): number {
  return (entry.readUInt16BE(STAT_BYTES + idBytes) >> 12) & 3;
}

function isRegular(entry: Buffer): boolean {
  return (entry.readUInt32BE(24) & 0o170000) === 0o100000;
}

/**
 * The entries' offsets, the racy ones and the extensions, or undefined for
 * an index this module does not edit. An entry is racy when its file changed
 * no earlier than the index was written (whole seconds: at least as often as
 * git's own check), so git's stat check cannot tell it from a clean one once
 * the index is newer (git's ce_smudge_racily_clean_entry); a submodule never
 * is.
 */
function parse(w: Window, bodyEnd: number, idBytes: number, indexSec: number): Parsed | undefined {
  const h = w.at(0, 12);
  if (h === undefined || w.buf.readUInt32BE(h) !== SIGNATURE) return undefined;
  const version = w.buf.readUInt32BE(h + 4);
  if (version !== 2 && version !== 3) return undefined;
  const count = w.buf.readUInt32BE(h + 8);
  const starts = new Uint32Array(count + 1);
  const racy: number[] = [];
  const fixed = STAT_BYTES + idBytes + 2;
  // Once for each of the index's entries (130,000 at 100,000 events), in a process too short-lived for
  // Buffer's read methods to have been compiled: bytes are read in place (u32), and the window asked only
  // when an entry runs past what it holds.
  let at = 12;
  for (let i = 0; i < count; i++) {
    starts[i] = at;
    if (at + fixed > bodyEnd) return undefined;
    let o = at >= w.start && at + fixed + 2 <= w.end ? at - w.start : w.at(at, fixed + 2);
    if (o === undefined) return undefined;
    let buf = w.buf;
    const flags = (buf[o + STAT_BYTES + idBytes]! << 8) | buf[o + STAT_BYTES + idBytes + 1]!;
    const extended = (flags & EXTENDED) !== 0;
    if (extended && version < 3) return undefined;
    const nameOffset = fixed + (extended ? 2 : 0);
    let len = flags & NAME_MASK;
    if (len === NAME_MASK) {
      o = w.at(at, Math.min(bodyEnd - at, 1 << 16));
      if (o === undefined) return undefined;
      buf = w.buf;
      len = buf.indexOf(0, o + nameOffset) - o - nameOffset;
      if (len < 0) return undefined;
    }
    if (isRacy(buf, o, indexSec)) racy.push(i);
    at += (nameOffset + len + 8) & ~7;
    if (at > bodyEnd) return undefined;
  }
  starts[count] = at;
  const extensions = parseExtensions(w, at, bodyEnd);
  return extensions && { version, starts, racy, extensions };
}

/**
 * Whether the entry at `o` of `buf` is racy for an index written in second
 * `indexSec`: its file changed no earlier (whole seconds), it is not
 * smudged already (size 0), and it is no submodule.
 */
function isRacy(buf: Buffer, o: number, indexSec: number): boolean {
  const mtime = u32(buf, o + 8);
  return mtime >= indexSec && mtime !== 0 && u32(buf, o + 36) !== 0 && (u32(buf, o + 24) & 0o170000) !== 0o160000;
}

/** The big-endian 32-bit number at `o`, read in place. */
function u32(b: Buffer, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

/** The index as ga's note of it says (its entries not walked), or undefined when the note does not fit the file. */
function noted(w: Window, bodyEnd: number, idBytes: number, note: EntriesNote): Parsed | undefined {
  const h = w.at(0, 12);
  if (h === undefined || w.buf.readUInt32BE(h) !== SIGNATURE) return undefined;
  const version = w.buf.readUInt32BE(h + 4);
  const count = w.buf.readUInt32BE(h + 8);
  const { starts, racy } = note;
  if ((version !== 2 && version !== 3) || !noteFits(note, count, bodyEnd, idBytes)) return undefined;
  const extensions = parseExtensions(w, starts[count]!, bodyEnd);
  return extensions && { version, starts, racy, extensions };
}

/** Whether a note's entries fit an index of `count` entries before `bodyEnd`: each as long as one can be (8-byte steps, none shorter than an entry with a one-byte name). */
function noteFits({ starts, racy }: EntriesNote, count: number, bodyEnd: number, idBytes: number): boolean {
  if (starts.length !== count + 1 || starts[0] !== 12 || starts[count]! > bodyEnd) return false;
  const least = (STAT_BYTES + idBytes + 2 + 1 + 8) & ~7;
  for (let i = 0; i < count; i++) {
    const size = starts[i + 1]! - starts[i]!;
    if (size < least || size % 8 !== 0) return false;
  }
  return racy.every((i) => i >= 0 && i < count);
}

/** The extensions from `at` to the end of the body, or undefined for an index this module does not edit. */
function parseExtensions(w: Window, from: number, bodyEnd: number): Parsed['extensions'] | undefined {
  let at = from;
  const extensions: Parsed['extensions'] = [];
  while (at < bodyEnd) {
    if (at + 8 > bodyEnd) return undefined;
    const o = w.at(at, 8);
    if (o === undefined) return undefined;
    const sig = w.buf.toString('latin1', o, o + 4);
    const size = w.buf.readUInt32BE(o + 4);
    if (at + 8 + size > bodyEnd) return undefined;
    // A lowercase first letter marks an extension git must understand: not edited here, but for a split index's link (rewriteSplit).
    if (!/^[A-Z]/.test(sig) && sig !== LINK) return undefined;
    const b = w.at(at + 8, size);
    if (b === undefined) return undefined;
    extensions.push({ sig, body: Buffer.from(w.buf.subarray(b, b + size)) });
    at += 8 + size;
  }
  return extensions;
}

function entryName(body: Buffer, at: number, idBytes: number, version: number): Buffer {
  const flags = body.readUInt16BE(at + STAT_BYTES + idBytes);
  const nameAt = at + STAT_BYTES + idBytes + 2 + (version >= 3 && flags & EXTENDED ? 2 : 0);
  const len = flags & NAME_MASK;
  return body.subarray(nameAt, len === NAME_MASK ? body.indexOf(0, nameAt) : nameAt + len);
}

/** The first entry whose name is not below `path` (git sorts entries by name bytes, then stage). */
function lowerBound(name: (i: number) => Buffer, count: number, path: Buffer): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(name(mid), path) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function startsWith(name: Buffer, prefix: Buffer): boolean {
  return name.length >= prefix.length && name.subarray(0, prefix.length).equals(prefix);
}

/** A stage-0 entry as `git reset --no-refresh` writes one from a tree: no stat data, so git compares the content next time. */
function newEntry(path: Buffer, blob: { oid: string; mode: string }, idBytes: number): Buffer {
  const fixed = STAT_BYTES + idBytes + 2;
  const entry = Buffer.alloc((fixed + path.length + 8) & ~7);
  entry.writeUInt32BE(parseInt(blob.mode, 8), 24);
  entry.write(blob.oid, STAT_BYTES, 'hex');
  entry.writeUInt16BE(Math.min(path.length, NAME_MASK), STAT_BYTES + idBytes);
  path.copy(entry, fixed);
  return entry;
}

function holds(file: string, oid: string, idLength: number): boolean {
  try {
    return objectId('blob', readFileSync(file), idLength) === oid;
  } catch {
    return false;
  }
}

/**
 * The cache tree with each changed entry's path invalidated as git's
 * cache_tree_invalidate_path does it: every directory on the way marked
 * invalid (its entry count -1, its tree id gone), and a subtree of the
 * entry's own name dropped. The rest is copied as it is, a subtree at a
 * time. Undefined drops the extension (one git cannot have written); git
 * rebuilds it at the next write-tree.
 */
function invalidateCacheTree(body: Buffer, paths: string[], idBytes: number): Buffer | undefined {
  const out: Buffer[] = [];
  /**
   * The node at `at` ("<name>\0<entries> <subtrees>\n", then its tree id
   * unless <entries> is negative): where its name ends, where its children
   * start, how many; undefined when it is not one git writes. Read byte by
   * byte: it runs once for each of thousands of directories, in a process
   * too short-lived for a regular expression and two strings a node to pay.
   */
  const header = (at: number) => {
    const nameEnd = body.indexOf(0, at);
    if (nameEnd < 0) return undefined;
    let i = nameEnd + 1;
    const negative = body[i] === 0x2d;
    if (negative) i++;
    const number = (): number | undefined => {
      let n = 0;
      const from = i;
      for (let b = body[i]; b !== undefined && b >= 0x30 && b <= 0x39; b = body[++i]) n = n * 10 + b - 0x30;
      return i > from ? n : undefined;
    };
    const entries = number();
    if (entries === undefined || body[i++] !== 0x20) return undefined;
    const count = number();
    if (count === undefined || body[i++] !== 0x0a) return undefined;
    const children = i + (negative && entries !== 0 ? 0 : idBytes);
    return children > body.length ? undefined : { nameEnd, children, count };
  };
  /** Where the subtree at `at` ends. */
  const skip = (at: number): number | undefined => {
    const h = header(at);
    let next: number | undefined = h?.children;
    for (let k = h?.count ?? 0; k > 0 && next !== undefined; k--) next = skip(next);
    return next;
  };
  /** Writes the subtree at `at` with `through` (the rest of each path that runs through it) invalidated; where it ends. */
  const edit = (at: number, through: string[][]): number | undefined => {
    const h = header(at);
    if (!h) return undefined;
    const kept: Buffer[] = [];
    let kids = 0;
    let next: number | undefined = h.children;
    for (let k = h.count; k > 0; k--) {
      const child = next!;
      const node = header(child);
      const name = node && body.toString('utf8', child, node.nameEnd);
      const mine = through.filter((p) => p[0] === name);
      if (mine.length === 0) {
        next = skip(child);
        if (next !== undefined) kept.push(body.subarray(child, next));
      } else if (mine.some((p) => p.length === 1)) {
        next = skip(child); // the path's own subtree goes
        kids--;
      } else {
        const at = out.length;
        next = edit(
          child,
          mine.map((p) => p.slice(1)),
        );
        kept.push(...out.splice(at));
      }
      if (next === undefined) return undefined;
      kids++;
    }
    out.push(body.subarray(at, h.nameEnd), Buffer.from(`\0-1 ${kids}\n`, 'latin1'), ...kept);
    return next;
  };
  const end = paths.length
    ? edit(
        0,
        paths.map((p) => p.split('/')),
      )
    : skip(0);
  if (end !== body.length) return undefined;
  return paths.length ? Buffer.concat(out) : body;
}

/** The change for a committed file: its blob id computed here, as git hash-object computed it for the commit. */
export function indexChange(
  path: string,
  content: Buffer | string | undefined,
  mode: '100644' | '100755' | undefined,
  remove: boolean | undefined,
  idLength: number,
): IndexChange {
  if (remove) return { path };
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : (content ?? Buffer.alloc(0));
  return { path, blob: { oid: objectId('blob', bytes, idLength), mode: mode ?? '100644' } };
}

/** One entry of the index as `git ls-files -s` prints it. */
export interface IndexEntry {
  path: string;
  mode: string;
  oid: string;
  stage: number;
}

/**
 * The index's entries at or under `dirs` (paths without a trailing slash), as
 * `git ls-files -s -- <dirs>` lists them, read in process: the entries are
 * hopped over, the checksum is checked (see notesOf), and only those under
 * `dirs` are decoded (git parses all of them: 150 ms at 100,000 audit
 * files).
 * Undefined when this module does not read this index (see the top of this
 * file; a missing index included): the caller asks git.
 */
export function indexEntriesUnder(repo: Repo, dirs: string[], idLength: number): IndexEntry[] | undefined {
  if (localSettingOn(repo.local, 'core.sparseCheckout')) return undefined;
  const file = join(repo.gitDir, 'index');
  let input: number;
  try {
    input = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(input);
    if (!st.isFile()) return undefined;
    const { known, note } = notesOf(repo, file, input);
    const read = readChecked(input, st, idLength, known, note);
    if (!read) return undefined;
    const idBytes = idLength / 2;
    // A split index's front holds only some of the entries: read with its shared index.
    const link = read.parsed.extensions.find((e) => e.sig === LINK)?.body;
    if (link && !link.every((b) => b === 0)) return splitEntriesUnder(repo, read, link, Math.floor(st.mtimeMs / 1000), dirs, idLength);
    if (link && link.length !== idBytes) return undefined;
    const { parsed, count, entry, name } = read;
    /** Which entries: from the first not below `from`, while `within` holds of their names. */
    const at = new Set<number>();
    const take = (from: Buffer, within: (path: Buffer) => boolean) => {
      for (let i = lowerBound(name, count, from); i < count && within(name(i)); i++) at.add(i);
    };
    for (const dir of dirs) {
      // As a pathspec matches: the path itself (a file where the directory is meant), and what is under it.
      const self = Buffer.from(dir, 'utf8');
      take(self, (path) => path.equals(self));
      const under = Buffer.from(`${dir}/`, 'utf8');
      take(under, (path) => startsWith(path, under));
    }
    // In the index's order, as git lists them.
    return [...at]
      .sort((a, b) => a - b)
      .map((i) => {
        const e = entry(i);
        return listed(entryName(e, 0, idBytes, parsed.version), e, idBytes);
      });
  } finally {
    closeSync(input);
  }
}

function listed(name: Buffer, e: Buffer, idBytes: number): IndexEntry {
  return {
    path: name.toString('utf8'),
    mode: e.readUInt32BE(24).toString(8),
    oid: e.toString('hex', STAT_BYTES, STAT_BYTES + idBytes),
    stage: stage(e, idBytes),
  };
}

/** indexEntriesUnder for a split index: its entries as git reads them (see splitView), in the same order. */
function splitEntriesUnder(repo: Repo, front: ReadIndex, link: Buffer, frontSec: number, dirs: string[], idLength: number): IndexEntry[] | undefined {
  const idBytes = idLength / 2;
  const view = splitView(repo, front, link, frontSec, idLength);
  if (!view) return undefined;
  try {
    const at = new Map<string, SplitAt>();
    for (const dir of dirs) {
      const found = [...view.find(Buffer.from(dir, 'utf8'), false), ...view.find(Buffer.from(`${dir}/`, 'utf8'), true)];
      for (const a of found) at.set('shared' in a ? `s${a.shared}` : `a${a.added}`, a);
    }
    return [...at.values()]
      .map((a) => ({ name: view.nameAt(a), e: view.entryOf(a) }))
      .sort((x, y) => Buffer.compare(x.name, y.name) || stage(x.e, idBytes) - stage(y.e, idBytes))
      .map(({ name, e }) => listed(name, e, idBytes));
  } finally {
    closeSync(view.shared.fd);
  }
}
