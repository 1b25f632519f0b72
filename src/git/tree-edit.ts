// A commit's tree built from its parent's by rewriting only the trees on the
// changed paths: each directory that holds a change is read (verified), its
// bytes copied around the entries that change (a wide directory, such as
// proposals/executed/, is never parsed into entries), and the new trees
// written bottom-up (loose.ts: in process, or by one `git hash-object -t
// tree`). The cost is the size of the directories on those paths, not of
// the repository: building an event commit's tree costs the same at 100,000
// audit files as at none (the index update that follows is index-file.ts's).
import { InternalError } from '../errors.js';
import type { ObjectWriter } from './loose.js';
import { CorruptObjectError, indexOfByte, objectId, treeEntryStarts, type ObjectStore, type TreeEntry } from './objects.js';

const TREE = '40000';
const TREE_MODE = Buffer.from(TREE, 'latin1');
const SLASH = 0x2f;

/** A change to one path: a blob with its mode, or the removal of whatever is there (a file or a whole directory). */
export type TreeEdit = { path: string; blob: string; mode: string } | { path: string; remove: true };

interface Dir {
  /** The directory's tree as it was read (its entries in git's order), or nothing for a new one. */
  body: Buffer;
  oid: string | undefined;
  /** Entries set (or, null, removed) by name: the rest is copied from `body` as it is. */
  changes: Map<string, TreeEntry | null>;
  /** Subdirectories with edits under them, by name. */
  subdirs: Map<string, Dir>;
}

/**
 * The id of `base` (a root tree; undefined = empty) with `edits` applied,
 * every new tree written to the object store. `idLength` is the length of
 * the repository's ids: 40 (sha1) or 64 (sha256).
 */
export async function editTree(store: ObjectStore, write: ObjectWriter, base: string | undefined, edits: TreeEdit[], idLength: number): Promise<string> {
  const root = await load(store, base);
  for (const e of edits) {
    const parts = e.path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git')) throw new InternalError(`not a path ga commits: ${e.path}`);
    const dir = await directoryOf(store, root, parts.slice(0, -1), 'remove' in e, idLength / 2);
    if (!dir) continue;
    const name = parts.at(-1)!;
    dir.subdirs.delete(name);
    dir.changes.set(name, 'remove' in e ? null : { mode: e.mode, name, oid: e.blob });
  }
  const written: { oid: string; body: Buffer }[] = [];
  const top = serialize(root, idLength, written);
  if (top === undefined) written.push({ oid: objectId('tree', Buffer.alloc(0), idLength), body: Buffer.alloc(0) }); // everything removed: the empty tree
  const got = await write(
    'tree',
    written.map((t) => t.body),
  );
  written.forEach((t, i) => {
    if (got[i] !== t.oid) throw new InternalError(`tree ${got[i] ?? '(none)'} was written where ga computed ${t.oid}`);
  });
  return top ?? written.at(-1)!.oid;
}

/**
 * The directory an edit lands in, loaded on the way. Nothing is removed under
 * a path that is not a directory (undefined); a file where a written file
 * needs a directory is replaced by one, as update-index --replace would.
 */
async function directoryOf(store: ObjectStore, root: Dir, names: string[], removing: boolean, idBytes: number): Promise<Dir | undefined> {
  let dir = root;
  for (const name of names) {
    let sub = dir.subdirs.get(name);
    if (!sub) {
      const at = dir.changes.has(name) ? dir.changes.get(name) : find(dir, name, idBytes);
      if (removing && at?.mode !== TREE) return undefined;
      sub = await load(store, at?.mode === TREE ? at.oid : undefined);
      dir.subdirs.set(name, sub);
    }
    dir = sub;
  }
  return dir;
}

async function load(store: ObjectStore, tree: string | undefined): Promise<Dir> {
  // Kept as read, not parsed: a wide directory (proposals/executed/ holds every proposal ever executed) is edited by copying around the change.
  const body = tree ? (await store.rawTrees([tree]))[0]! : Buffer.alloc(0);
  return { body, oid: tree, changes: new Map(), subdirs: new Map() };
}

/** One entry of a tree body: where it starts, its name's bytes, whether it is a directory, where the next one starts. */
interface At {
  start: number;
  nameStart: number;
  nameEnd: number;
  tree: boolean;
  end: number;
}

/**
 * The entry of `body` at `pos` ("<mode> <name>\0<id>"); a malformed one is a
 * corrupt tree. It runs over every entry of a wide directory (tens of
 * thousands) in a short-lived process: the mode's few bytes are read in a
 * plain loop, the name's end found by V8's own search (indexOfByte), never
 * by Buffer's methods (a plain loop over the name took three times as long).
 */
function entryAt(body: Buffer, pos: number, idBytes: number, oid: string | undefined): At {
  let sp = pos;
  while (sp < body.length && body[sp] !== 0x20 && body[sp] !== 0) sp++;
  const nul = sp < body.length ? indexOfByte(body, 0, sp + 1) : -1;
  if (sp === pos || body[sp] !== 0x20 || nul < 0 || nul + 1 + idBytes > body.length)
    throw new CorruptObjectError(oid ?? '(new tree)', 'is not a well-formed tree');
  const tree =
    sp - pos === TREE_MODE.length && body[pos] === 0x34 && body[pos + 1] === 0x30 && body[pos + 2] === 0x30 && body[pos + 3] === 0x30 && body[pos + 4] === 0x30;
  return { start: pos, nameStart: sp + 1, nameEnd: nul, tree, end: nul + 1 + idBytes };
}

/** Whether the entry's name is `name`'s bytes. */
function named(body: Buffer, e: At, name: Buffer): boolean {
  if (e.nameEnd - e.nameStart !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (body[e.nameStart + i] !== name[i]) return false;
  return true;
}

/** The entry named `name` in the directory as it was read. */
function find(dir: Dir, name: string, idBytes: number): TreeEntry | undefined {
  const want = Buffer.from(name, 'utf8');
  for (let pos = 0; pos < dir.body.length;) {
    const e = entryAt(dir.body, pos, idBytes, dir.oid);
    if (named(dir.body, e, want)) {
      return {
        mode: dir.body.toString('latin1', e.start, e.nameStart - 1),
        name,
        oid: dir.body.toString('hex', e.nameEnd + 1, e.end),
      };
    }
    pos = e.end;
  }
  return undefined;
}

/** git's order of tree entries: by name, a directory's name read as "name/". The sign of the entry against `key`. */
function compareKey(body: Buffer, e: At, key: Buffer): number {
  const n = e.nameEnd - e.nameStart;
  for (let i = 0; ; i++) {
    const a = i < n ? body[e.nameStart + i]! : i === n && e.tree ? SLASH : -1;
    const b = i < key.length ? key[i]! : -1;
    if (a !== b) return a - b;
    if (a === -1) return 0;
  }
}

/**
 * Queues the edited subdirectories first (children before parents), then
 * this one unless it ends up empty; returns its id, or undefined when it is
 * empty. The new body is the old one with the changed entries taken out and
 * the new ones put in their places in git's order, the rest copied as it
 * is.
 */
function serialize(dir: Dir, idLength: number, written: { oid: string; body: Buffer }[]): string | undefined {
  for (const [name, sub] of dir.subdirs) {
    const oid = serialize(sub, idLength, written);
    // git never keeps an empty directory: a directory whose last file went goes too.
    dir.changes.set(name, oid === undefined ? null : { mode: TREE, name, oid });
  }
  const idBytes = idLength / 2;
  const added = [...dir.changes.values()]
    .filter((e): e is TreeEntry => e !== null)
    .map((e) => ({
      key: Buffer.from(e.mode === TREE ? `${e.name}/` : e.name, 'utf8'),
      bytes: Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex')]),
    }))
    .sort((a, b) => Buffer.compare(a.key, b.key));
  const body = dir.body;
  // Each entry is read (entryAt, checked) only where a binary search lands.
  const starts = treeEntryStarts(body, dir.oid, idBytes);
  const n = starts.length - 1;
  /** The first old entry not below `key` in git's order (n when there is none): a binary search. */
  const lowerBound = (key: Buffer): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKey(body, entryAt(body, starts[mid]!, idBytes, dir.oid), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // The old entry each changed name takes out (it is removed, or replaced by one of `added`): a file or a directory of that name.
  const dropped = new Set<number>();
  for (const name of dir.changes.keys()) {
    const bytes = Buffer.from(name, 'utf8');
    for (const key of [bytes, Buffer.concat([bytes, Buffer.from('/')])]) {
      const i = lowerBound(key);
      if (i < n && compareKey(body, entryAt(body, starts[i]!, idBytes, dir.oid), key) === 0) {
        dropped.add(i);
        break;
      }
    }
  }
  // Each added entry goes before the first old entry not below it (`added` is in order, so these are too).
  const inserts = added.map((a) => ({ at: lowerBound(a.key), bytes: a.bytes }));
  const parts: Buffer[] = [];
  let from = 0; // the start of the old bytes not yet copied
  let next = 0; // the next insert
  const insertUpTo = (i: number) => {
    for (; next < inserts.length && inserts[next]!.at <= i; next++) {
      parts.push(body.subarray(from, starts[inserts[next]!.at]), inserts[next]!.bytes);
      from = starts[inserts[next]!.at]!;
    }
  };
  for (const i of [...dropped].sort((a, b) => a - b)) {
    insertUpTo(i);
    parts.push(body.subarray(from, starts[i]));
    from = starts[i + 1]!;
  }
  insertUpTo(n);
  parts.push(body.subarray(from));
  const out = Buffer.concat(parts);
  if (out.length === 0) return undefined;
  const oid = objectId('tree', out, idLength);
  written.push({ oid, body: out });
  return oid;
}
