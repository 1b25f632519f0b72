// A commit's tree built from its parent's by rewriting only the trees on the
// changed paths: each directory that holds a change is read (verified), its
// entries edited, and the new trees written bottom-up (loose.ts: in process,
// or by one `git hash-object -t tree`). The cost is the
// size of the directories on those paths, not of the repository: building
// an event commit's tree costs the same at 100,000 audit files as at none
// (the index update that follows is index-file.ts's).
import { InternalError } from '../errors.js';
import type { ObjectWriter } from './loose.js';
import { objectId, parseTree, type ObjectStore, type TreeEntry } from './objects.js';

const TREE = '40000';

/** A change to one path: a blob with its mode, or the removal of whatever is there (a file or a whole directory). */
export type TreeEdit = { path: string; blob: string; mode: string } | { path: string; remove: true };

interface Dir {
  /** The directory's entries as they will be written, by name. */
  entries: Map<string, TreeEntry>;
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
    const dir = await directoryOf(store, root, parts.slice(0, -1), 'remove' in e);
    if (!dir) continue;
    const name = parts.at(-1)!;
    dir.subdirs.delete(name);
    if ('remove' in e) dir.entries.delete(name);
    else dir.entries.set(name, { mode: e.mode, name, oid: e.blob });
  }
  const written: { oid: string; body: Buffer }[] = [];
  const top = serialize(root, idLength, written);
  if (root.entries.size === 0) written.push({ oid: top, body: Buffer.alloc(0) }); // everything removed: the empty tree
  const got = await write(
    'tree',
    written.map((t) => t.body),
  );
  written.forEach((t, i) => {
    if (got[i] !== t.oid) throw new InternalError(`tree ${got[i] ?? '(none)'} was written where ga computed ${t.oid}`);
  });
  return top;
}

/**
 * The directory an edit lands in, loaded on the way. Nothing is removed under
 * a path that is not a directory (undefined); a file where a written file
 * needs a directory is replaced by one, as update-index --replace would.
 */
async function directoryOf(store: ObjectStore, root: Dir, names: string[], removing: boolean): Promise<Dir | undefined> {
  let dir = root;
  for (const name of names) {
    let sub = dir.subdirs.get(name);
    if (!sub) {
      const at = dir.entries.get(name);
      if (removing && at?.mode !== TREE) return undefined;
      sub = await load(store, at?.mode === TREE ? at.oid : undefined);
      dir.subdirs.set(name, sub);
    }
    dir = sub;
  }
  return dir;
}

async function load(store: ObjectStore, tree: string | undefined): Promise<Dir> {
  // Parsed here and not kept by the store: a daemon commits for weeks, and each version of a wide directory is read once.
  const entries = tree ? parseTree((await store.rawTrees([tree]))[0]!, tree) : [];
  return { entries: new Map(entries.map((e) => [e.name, e])), subdirs: new Map() };
}

/** Queues the edited subdirectories first (children before parents), then this one unless it ends up empty; returns its id. */
function serialize(dir: Dir, idLength: number, written: { oid: string; body: Buffer }[]): string {
  for (const [name, sub] of dir.subdirs) {
    const oid = serialize(sub, idLength, written);
    // git never keeps an empty directory: a directory whose last file went goes too.
    if (sub.entries.size === 0) dir.entries.delete(name);
    else dir.entries.set(name, { mode: TREE, name, oid });
  }
  const key = (e: TreeEntry) => Buffer.from(e.mode === TREE ? `${e.name}/` : e.name, 'utf8');
  const sorted = [...dir.entries.values()].map((e) => ({ e, k: key(e) })).sort((a, b) => Buffer.compare(a.k, b.k));
  const body = Buffer.concat(sorted.flatMap(({ e }) => [Buffer.from(`${e.mode} ${e.name}\0`, 'utf8'), Buffer.from(e.oid, 'hex')]));
  const oid = objectId('tree', body, idLength);
  if (dir.entries.size > 0) written.push({ oid, body });
  return oid;
}
