// Trees in process against git's own: the diff (src/git/diff.ts) must find
// exactly the changes `git diff-tree -r --no-renames` prints for random pairs
// of trees (files, executables, symlinks, gitlinks, a file turned into a
// directory and back, wide directories that gain one entry) and for a chain
// of versions of one directory read as a history reads them, and refuse a
// tree whose entries are out of order (git never writes one); the tree
// editor (src/git/tree-edit.ts) must build, for random edits, the very tree
// git builds from an index (read-tree, update-index --replace, write-tree).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffTrees, type Change } from '../../src/git/diff.js';
import { CorruptObjectError, ObjectStore } from '../../src/git/objects.js';
import { objectWriter } from '../../src/git/loose.js';
import { editTree, type TreeEdit } from '../../src/git/tree-edit.js';

let dir: string;
let store: ObjectStore;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_INDEX_FILE: '' };
const run = (args: string[], input?: string | Buffer): string =>
  execFileSync('git', args, { cwd: dir, env: { ...env, GIT_INDEX_FILE: join(dir, '.git', 'test-index') }, input, encoding: 'utf8' }).trim();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-diff-'));
  run(['init', '-q']);
  store = new ObjectStore(dir);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Blob contents by a small number, written once. */
const blobs = new Map<number, string>();
function blob(n: number): string {
  let oid = blobs.get(n);
  if (!oid) {
    oid = run(['hash-object', '-w', '--stdin'], `content ${n}\n`);
    blobs.set(n, oid);
  }
  return oid;
}

type Files = Map<string, { mode: string; n: number }>;

/** A tree holding exactly `files`, written by git (update-index into a private index, write-tree). */
function treeOf(files: Files): string {
  run(['read-tree', '--empty']);
  const lines = [...files].map(
    ([path, f]) => `${f.mode} ${f.mode === '160000' ? 'commit' : 'blob'} ${f.mode === '160000' ? blob(f.n).replace(/^./, 'c') : blob(f.n)}\t${path}`,
  );
  if (lines.length) run(['update-index', '--index-info'], lines.join('\n') + '\n');
  return run(['write-tree']);
}

function gitDiff(a: string, b: string): string[] {
  const out = run(['diff-tree', '-r', '--no-renames', '--raw', '--abbrev=40', a, b]);
  return out
    ? out.split('\n').map((l) => {
        const [meta, path] = l.split('\t') as [string, string];
        const [oldMode, newMode, oldBlob, newBlob, status] = meta.slice(1).split(' ');
        return `${status} ${path} ${oldMode} ${newMode} ${oldBlob} ${newBlob}`;
      })
    : [];
}
const ours = (c: Change[]) => c.map((x) => `${x.status} ${x.path} ${x.oldMode} ${x.newMode} ${x.oldBlob} ${x.newBlob}`);
const sorted = (xs: string[]) => [...xs].sort();

// Names chosen so that git's order (a directory sorts as "name/") differs from plain order: "a", "a-b", "a.c", "a/…".
const NAMES = ['a', 'a-b', 'a.c', 'b', 'z'];
const MODES = ['100644', '100644', '100755', '120000', '160000'];
const pathArb = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const filesArb = fc.array(fc.tuple(pathArb, fc.constantFrom(...MODES), fc.integer({ min: 0, max: 3 })), { maxLength: 12 }).map((entries) => {
  const files: Files = new Map();
  for (const [path, mode, n] of entries) {
    // A path cannot be both a file and a directory: keep the first.
    const clash = [...files.keys()].some((p) => p === path || p.startsWith(`${path}/`) || path.startsWith(`${p}/`));
    if (!clash) files.set(path, { mode, n });
  }
  return files;
});

describe('diffTrees', () => {
  it('agrees with git diff-tree on random pairs of trees', async () => {
    const cases = fc.sample(fc.tuple(filesArb, filesArb), { numRuns: 150, seed: 1305 });
    const pairs = cases.map(([x, y]) => ({ old: treeOf(x), new: treeOf(y) }));
    const got = await diffTrees(store, pairs);
    pairs.forEach((p, i) => expect(sorted(ours(got[i]!)), `case ${i}`).toEqual(sorted(gitDiff(p.old, p.new))));
    expect(got.filter((c) => c.length > 0).length).toBeGreaterThan(100);
  });

  it('finds the one entry a wide directory gained, changed or lost', async () => {
    const wide: Files = new Map(Array.from({ length: 3000 }, (_, i) => [`audit/day/${String(i).padStart(5, '0')}.json`, { mode: '100644', n: i % 4 }]));
    const grown = new Map(wide).set('audit/day/03000.json', { mode: '100644', n: 1 }).set('audit/day/01500.json', { mode: '100755', n: 2 });
    const shrunk = new Map(wide);
    shrunk.delete('audit/day/00000.json');
    const trees = [wide, grown, shrunk].map(treeOf);
    const got = await diffTrees(store, [
      { old: trees[0], new: trees[1] },
      { old: trees[0], new: trees[2] },
      { old: undefined, new: trees[2] },
    ]);
    expect(ours(got[0]!)).toEqual(gitDiff(trees[0]!, trees[1]!));
    expect(got[0]!.map((c) => `${c.status} ${c.path}`)).toEqual(['M audit/day/01500.json', 'A audit/day/03000.json']);
    expect(got[1]!.map((c) => `${c.status} ${c.path}`)).toEqual(['D audit/day/00000.json']);
    expect(got[2]!.length).toBe(2999);
  });

  it('follows a directory through a chain of versions, as a history reads it', async () => {
    // Each version is compared with the one before, reusing where its entries start: names share long prefixes and
    // suffixes (and one is a file in some versions, a directory in others), so the bytes two versions share at either
    // end cut through entries.
    const nameArb = fc.constantFrom('a', 'aa', 'ab', 'a-b', 'a.b', 'b', 'ba', 'b100644 a', 'b100644 c', 'c', 'cc', 'zz');
    const editArb = fc.tuple(nameArb, fc.constantFrom('100644', '100755', '120000', 'dir', 'remove'), fc.integer({ min: 0, max: 3 }));
    const edits = fc.sample(editArb, { numRuns: 90, seed: 1307 });
    let files: Files = new Map(Array.from({ length: 40 }, (_, i) => [`d/f${String(i).padStart(3, '0')}`, { mode: '100644', n: i % 4 }]));
    const versions = [treeOf(files)];
    for (const [name, mode, n] of edits) {
      files = new Map([...files].filter(([p]) => p !== `d/${name}` && !p.startsWith(`d/${name}/`)));
      if (mode === 'dir') files.set(`d/${name}/x`, { mode: '100644', n });
      else if (mode !== 'remove') files.set(`d/${name}`, { mode, n });
      versions.push(treeOf(files));
    }
    const pairs = versions.slice(1).map((v, i) => ({ old: versions[i], new: v }));
    const got = await diffTrees(store, pairs);
    pairs.forEach((p, i) => expect(sorted(ours(got[i]!)), `version ${i + 1}`).toEqual(sorted(gitDiff(p.old!, p.new))));
    expect(got.filter((c) => c.length > 0).length).toBeGreaterThan(60);
  });

  it('reads a new entry whole when the bytes both versions end with begin inside it', async () => {
    // "b100644 c" ends with the bytes of the entry "c" it replaces: the shared end starts in the middle of the new entry.
    const before = treeOf(
      new Map([
        ['a', { mode: '100644', n: 0 }],
        ['c', { mode: '100644', n: 1 }],
        ['d', { mode: '100644', n: 2 }],
      ]),
    );
    const after = treeOf(
      new Map([
        ['a', { mode: '100644', n: 0 }],
        ['b100644 c', { mode: '100644', n: 1 }],
        ['d', { mode: '100644', n: 2 }],
      ]),
    );
    const [there, back] = await diffTrees(store, [
      { old: before, new: after },
      { old: after, new: before },
    ]);
    expect(ours(there!)).toEqual(gitDiff(before, after));
    expect(there!.map((c) => `${c.status} ${c.path}`)).toEqual(['A b100644 c', 'D c']);
    expect(ours(back!)).toEqual(gitDiff(after, before));
  });

  it('refuses a tree whose entries are out of order', async () => {
    const entry = (name: string, n: number) => Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.from(blob(n), 'hex')]);
    const write = (...entries: Buffer[]) => run(['hash-object', '-t', 'tree', '-w', '--literally', '--stdin'], Buffer.concat(entries));
    const good = write(entry('a', 0), entry('b', 1), entry('c', 2));
    const bad = write(entry('a', 0), entry('c', 2), entry('b', 3));
    await expect(diffTrees(store, [{ old: good, new: bad }])).rejects.toThrow(/out of order/);
    await expect(diffTrees(store, [{ old: good, new: bad }])).rejects.toBeInstanceOf(CorruptObjectError);
  });
});

/** The tree git builds from `base` with `edits`, through an index. */
function gitEdit(base: string, edits: TreeEdit[]): string {
  run(['read-tree', base]);
  for (const e of edits) {
    if ('remove' in e) run(['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', e.path]);
    else {
      // A directory where the file goes, or a file where a directory is needed, is replaced.
      run(['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', e.path]);
      const parts = e.path.split('/');
      for (let i = 1; i < parts.length; i++) run(['update-index', '--force-remove', '--', parts.slice(0, i).join('/')]);
      run(['update-index', '--add', '--cacheinfo', `${e.mode},${e.blob},${e.path}`]);
    }
  }
  return run(['write-tree']);
}

/** The object writer an event commit uses: in process, or (in a shared repository) git hash-object. */
const writer = (shared = false) =>
  objectWriter(
    { root: dir, commonDir: join(dir, '.git'), local: new Map(shared ? [['core.sharedrepository', { value: 'group', scope: 'local' }]] : []) },
    join(dir, '.git'),
    40,
  );

describe('objects written in process', () => {
  it('are loose objects git reads and fsck accepts, with the ids git gives them; one already there is left, its time refreshed', async () => {
    // A repository of its own: fsck reads every object, and the others here include a tree written out of order on purpose.
    const own = mkdtempSync(join(tmpdir(), 'ga-loose-'));
    try {
      const git = (args: string[], input?: Buffer) => execFileSync('git', args, { cwd: own, env, input });
      git(['init', '-q']);
      const write = objectWriter({ root: own, commonDir: join(own, '.git'), local: new Map() }, join(own, '.git'), 40);
      const bodies = [Buffer.from('in process\n'), Buffer.alloc(0), Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251))];
      const ours = await write('blob', bodies);
      expect(ours).toEqual(bodies.map((b) => git(['hash-object', '--stdin'], b).toString().trim()));
      for (const [i, oid] of ours.entries()) {
        expect(git(['cat-file', 'blob', oid]).equals(bodies[i]!)).toBe(true);
        expect(statSync(join(own, '.git', 'objects', oid.slice(0, 2), oid.slice(2))).mode & 0o777).toBe(0o444);
      }
      const tree = await write('tree', [Buffer.concat([Buffer.from('100644 a\0', 'utf8'), Buffer.from(ours[0]!, 'hex')])]);
      expect(git(['ls-tree', tree[0]!]).toString().trim()).toBe(`100644 blob ${ours[0]}\ta`);
      // Written again: the file stays, a day older no more.
      const file = join(own, '.git', 'objects', ours[0]!.slice(0, 2), ours[0]!.slice(2));
      utimesSync(file, new Date(Date.now() - 86_400_000), new Date(Date.now() - 86_400_000));
      expect(await write('blob', [bodies[0]!])).toEqual([ours[0]]);
      expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(60_000);
      expect(readdirSync(join(own, '.git', 'objects', ours[0]!.slice(0, 2))).filter((n) => n.startsWith('tmp_'))).toEqual([]);
      git(['fsck', '--strict', '--no-dangling', tree[0]!]); // every object in the repository read and checked
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe('editTree', () => {
  const editArb = fc.array(
    fc.oneof(
      fc
        .tuple(pathArb, fc.constantFrom('100644', '100755'), fc.integer({ min: 0, max: 3 }))
        .map(([path, mode, n]): TreeEdit => ({ path, mode, blob: blob(n) })),
      pathArb.map((path): TreeEdit => ({ path, remove: true })),
    ),
    { minLength: 1, maxLength: 6 },
  );

  it('builds the tree git builds from an index, for random edits', async () => {
    const cases = fc.sample(fc.tuple(filesArb, editArb), { numRuns: 100, seed: 1306 });
    let changed = 0;
    for (const [i, [files, edits]] of cases.entries()) {
      const base = treeOf(files);
      const ours = await editTree(store, writer(i % 2 === 1), base, edits, 40);
      expect(ours, JSON.stringify(edits)).toBe(gitEdit(base, edits));
      if (ours !== base) changed++;
    }
    expect(changed).toBeGreaterThan(50);
    // Some 800 git processes: on two busy cores this takes minutes, not the default one.
  }, 240_000);

  it('rewrites only the directories on the changed paths', async () => {
    const wide: Files = new Map(Array.from({ length: 2000 }, (_, i) => [`audit/a/${String(i).padStart(5, '0')}.json`, { mode: '100644', n: i % 4 }]));
    wide.set('ledger/noop.jsonl', { mode: '100644', n: 1 });
    const base = treeOf(wide);
    const edits: TreeEdit[] = [{ path: 'audit/b/x.json', mode: '100644', blob: blob(2) }];
    const tree = await editTree(store, writer(), base, edits, 40);
    expect(tree).toBe(gitEdit(base, edits));
    expect(run(['rev-parse', `${tree}:audit/a`])).toBe(run(['rev-parse', `${base}:audit/a`]));
    // Inside the wide directory: one entry in, one out, one changed, one turned into a directory; the rest copied as it is.
    const inside: TreeEdit[] = [
      { path: 'audit/a/00999x.json', mode: '100644', blob: blob(3) },
      { path: 'audit/a/01000.json', remove: true },
      { path: 'audit/a/00000.json', mode: '100755', blob: blob(1) },
      { path: 'audit/a/01999.json/y', mode: '100644', blob: blob(2) },
    ];
    expect(await editTree(store, writer(), base, inside, 40)).toBe(gitEdit(base, inside));
    expect(
      await editTree(
        store,
        writer(),
        base,
        [
          { path: 'audit', remove: true },
          { path: 'ledger/noop.jsonl', remove: true },
        ],
        40,
      ),
    ).toBe(run(['mktree'], ''));
  });
});
