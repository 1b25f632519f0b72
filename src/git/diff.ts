// What a commit changed, computed in process from verified trees: git's own
// diff reads objects without checking them, so a swapped tree could move a
// change from one path to another. Many diffs are computed together, one
// tree level at a time, so that each level is one pipelined read.
import type { ObjectStore, TreeEntry } from './objects.js';

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

/** blob (regular or executable), symlink, gitlink, tree: a change between kinds is a type change (T). */
const kind = (mode: string) => (mode === TREE ? 'tree' : mode === '120000' ? 'link' : mode === '160000' ? 'gitlink' : 'blob');

interface Job {
  out: Change[];
  dir: string;
  old: string | undefined;
  new: string | undefined;
}

/**
 * The changes from `old` to `new` (root trees; undefined = empty) for each
 * pair, recursively, like `git diff-tree -r --no-renames --raw`.
 */
export async function diffTrees(store: ObjectStore, pairs: { old: string | undefined; new: string | undefined }[]): Promise<Change[][]> {
  const results = pairs.map(() => [] as Change[]);
  let level: Job[] = pairs.map((p, i) => ({ out: results[i]!, dir: '', old: p.old, new: p.new })).filter((j) => j.old !== j.new);
  while (level.length) {
    const ids = level.flatMap((j) => [j.old, j.new]).filter((t): t is string => t !== undefined);
    const trees = new Map<string, TreeEntry[]>();
    const read = await store.treesOf(ids);
    ids.forEach((id, i) => trees.set(id, read[i]!));
    const next: Job[] = [];
    for (const j of level) {
      const a = new Map((j.old ? trees.get(j.old)! : []).map((e) => [e.name, e]));
      const b = new Map((j.new ? trees.get(j.new)! : []).map((e) => [e.name, e]));
      const names = [...new Set([...a.keys(), ...b.keys()])].sort();
      for (const name of names) {
        const x = a.get(name);
        const y = b.get(name);
        if (x && y && x.oid === y.oid && x.mode === y.mode) continue;
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
    }
    level = next;
  }
  for (const r of results) r.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
  return results;
}
