// The person's index after an event commit, updated in process
// (src/git/index-file.ts), against git's own `git reset -q --no-refresh HEAD
// -- <paths>` on the same index: for random trees, staged entries and
// non-overlapping changes (new files, changed modes, removed files and
// directories, a file turned into a directory and back), the index written
// must be byte for byte the one git writes, cache tree included, in sha1 and
// sha256 repositories. An entry whose file changed in the second the index
// was written is smudged, as git does, or git status would take the change
// for clean; an index this module does not know (version 4) is left to
// git, and ga's commit still leaves git status clean. A split index has only
// its front written: the index git reads from it lists, entry for entry and
// stat data and all, what git reset leaves, with the same cache tree, and a
// racy entry (in the front, or in the shared index) is smudged. Read in process,
// the entries under some directories are the ones `git ls-files -s` lists,
// conflicts (stages 1 to 3) included; an index this module does not read is
// left to git.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { commitEvent } from '../../src/git/commit.js';
import { indexChange, indexEntriesUnder, updateIndex, type IndexChange } from '../../src/git/index-file.js';
import { openRepo } from '../../src/git/repo.js';

const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'T',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 'T',
  GIT_COMMITTER_EMAIL: 't@example.com',
};
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repoDir(format: 'sha1' | 'sha256' = 'sha1'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ga-index-'));
  dirs.push(dir);
  git(dir, ['init', '-q', `--object-format=${format}`, '-b', 'main']);
  git(dir, ['config', 'gc.auto', '0']);
  return dir;
}

function git(dir: string, args: string[], input?: string, index?: string, mayFail = false): string {
  try {
    return execFileSync('git', args, { cwd: dir, env: index ? { ...env, GIT_INDEX_FILE: index } : env, input, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch (e) {
    if (mayFail) return '';
    throw e;
  }
}

type Files = Map<string, { mode: '100644' | '100755'; n: number }>;

const content = (n: number) => `content ${n}\n`;
const hashed = new Map<string, string>();
function hash(dir: string, n: number): string {
  const key = `${dir}\0${n}`;
  if (!hashed.has(key)) hashed.set(key, git(dir, ['hash-object', '-w', '--stdin'], content(n)));
  return hashed.get(key)!;
}

/** Commits `files` on HEAD through a private index (git's own way), so the person's index is untouched. */
function commitFiles(dir: string, files: Files, removed: string[] = []): string {
  const priv = join(dir, '.git', 'test-index');
  rmSync(priv, { force: true });
  const head = git(dir, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], undefined, undefined, true);
  if (head) git(dir, ['read-tree', 'HEAD'], undefined, priv);
  for (const p of removed) git(dir, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', p], undefined, priv);
  const lines = [...files].map(([path, f]) => `${f.mode} ${hash(dir, f.n)}\t${path}`);
  if (lines.length) git(dir, ['update-index', '--add', '--replace', '--index-info'], lines.join('\n') + '\n', priv);
  const tree = git(dir, ['write-tree'], undefined, priv);
  const commit = git(dir, ['commit-tree', tree, ...(head ? ['-p', head] : []), '-m', 'c']);
  git(dir, ['update-ref', 'HEAD', commit]);
  return commit;
}

/**
 * Commits one event and has ga update the index: notes.txt, changed where
 * only git's racy rule tells it from clean, must be left smudged (size 0),
 * so that git status still sees the change.
 */
async function expectSmudgedByOneEvent(dir: string): Promise<void> {
  commitFiles(dir, new Map([['audit/e.json', { mode: '100644', n: 1 }]]));
  const repo = await openRepo(dir);
  expect(updateIndex(repo, [indexChange('audit/e.json', content(1), undefined, false, 40)], 40)).toBe('done');
  repo.objects.close();
  expect(git(dir, ['ls-files', '--debug', 'notes.txt'])).toMatch(/size: 0\b/);
  expect(git(dir, ['status', '--porcelain', '--', 'notes.txt'])).toBe('M notes.txt');
}

/** git's index after `git reset -q --no-refresh HEAD -- paths`, and ours from the same starting bytes. */
async function both(dir: string, changes: IndexChange[]): Promise<{ git: Buffer; ours: Buffer; result: string }> {
  const file = join(dir, '.git', 'index');
  const start = readFileSync(file);
  git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', ...changes.map((c) => c.path)]);
  const theirs = readFileSync(file);
  writeFileSync(file, start);
  const repo = await openRepo(dir);
  const idLength = git(dir, ['rev-parse', 'HEAD']).length;
  const result = updateIndex(repo, changes, idLength);
  repo.objects.close();
  return { git: theirs, ours: readFileSync(file), result };
}

// Names whose order differs between plain bytes and trees ("a", "a-b", "a.c", "a/…"): the index sorts by bytes.
const NAMES = ['a', 'a-b', 'a.c', 'b', 'z'];
const pathArb = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const modeArb = fc.constantFrom<'100644' | '100755'>('100644', '100644', '100755');

function noClash(paths: Iterable<string>, path: string): boolean {
  for (const p of paths) if (p === path || p.startsWith(`${path}/`) || path.startsWith(`${p}/`)) return false;
  return true;
}

const caseArb = fc.record({
  base: fc.array(fc.tuple(pathArb, modeArb, fc.integer({ min: 0, max: 3 })), { maxLength: 14 }),
  staged: fc.array(fc.tuple(pathArb, fc.integer({ min: 4, max: 6 })), { maxLength: 3 }),
  changes: fc.array(fc.tuple(pathArb, fc.option(fc.tuple(modeArb, fc.integer({ min: 0, max: 5 })), { nil: undefined })), { minLength: 1, maxLength: 4 }),
  cacheTree: fc.boolean(),
});

/**
 * ga's commit of `changes` on HEAD: the paths that do not overlap one chosen before, each written or removed (a file or
 * a whole directory); a written path where a directory is, or under a file, swaps one for the other (--replace), as
 * ga's tree editor does. The index changes that commit makes.
 */
function commitChanges(dir: string, changes: [string, ['100644' | '100755', number] | undefined][]): IndexChange[] {
  const chosen: { path: string; write?: ['100644' | '100755', number] }[] = [];
  for (const [path, write] of changes)
    if (
      noClash(
        chosen.map((c) => c.path),
        path,
      )
    )
      chosen.push({ path, write });
  const written: Files = new Map(chosen.filter((c) => c.write).map((c) => [c.path, { mode: c.write![0], n: c.write![1] }]));
  commitFiles(
    dir,
    written,
    chosen.filter((c) => !c.write).map((c) => c.path),
  );
  const idLength = git(dir, ['rev-parse', 'HEAD']).length;
  return chosen.map((c) => indexChange(c.path, c.write ? content(c.write[1]) : undefined, c.write?.[0], !c.write, idLength));
}

/** GA_INDEX_RUNS=1000 for a longer search than the suite's. */
const RUNS = Number(process.env.GA_INDEX_RUNS ?? 40);

describe('the index after an event commit, in process', () => {
  it(
    'is byte for byte the index git reset writes, for random trees, staged entries and changes',
    async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ base, staged, changes, cacheTree }) => {
          const dir = repoDir();
          const files: Files = new Map();
          for (const [path, mode, n] of base) if (noClash(files.keys(), path)) files.set(path, { mode, n });
          commitFiles(dir, files);
          git(dir, ['read-tree', 'HEAD']);
          if (cacheTree) git(dir, ['write-tree']); // the index now carries a valid cache tree
          // The person's staged work, which ga's paths must not disturb elsewhere.
          const extra = staged.filter(([p]) => noClash(files.keys(), p));
          const seen = new Set<string>();
          const lines = extra.filter(([p]) => noClash(seen, p) && seen.add(p)).map(([p, n]) => `100644 ${hash(dir, n)}\t${p}`);
          if (lines.length) git(dir, ['update-index', '--add', '--index-info'], lines.join('\n') + '\n');
          const ic = commitChanges(dir, changes);
          const { git: theirs, ours, result } = await both(dir, ic);
          expect(result).toBe('done');
          expect(ours.equals(theirs)).toBe(true);
          rmSync(dir, { recursive: true, force: true });
        }),
        { numRuns: RUNS },
      );
    },
    RUNS * 1_000 + 30_000,
  );

  it(
    'goes on from its note of the index it wrote: each of a chain of updates is byte for byte the index git reset writes',
    async () => {
      const stepArb = fc.array(fc.tuple(pathArb, fc.option(fc.tuple(modeArb, fc.integer({ min: 0, max: 5 })), { nil: undefined })), {
        minLength: 1,
        maxLength: 3,
      });
      await fc.assert(
        fc.asyncProperty(caseArb, fc.array(stepArb, { minLength: 2, maxLength: 4 }), async ({ base, cacheTree }, steps) => {
          const dir = repoDir();
          const files: Files = new Map();
          for (const [path, mode, n] of base) if (noClash(files.keys(), path)) files.set(path, { mode, n });
          commitFiles(dir, files);
          git(dir, ['read-tree', 'HEAD']);
          if (cacheTree) git(dir, ['write-tree']);
          const file = join(dir, '.git', 'index');
          const theirs = join(dir, '.git', 'theirs-index');
          const note = join(dir, '.git', 'ga', 'index-entries');
          for (const [k, step] of steps.entries()) {
            const ic = commitChanges(dir, step);
            // git's answer, from the same bytes in a file of its own.
            copyFileSync(file, theirs);
            git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', ...ic.map((c) => c.path)], undefined, theirs);
            // After the first, each update starts from the file ga wrote, as its note names it.
            const st = statSync(file, { bigint: true });
            if (k > 0) expect(readFileSync(note).toString('utf8').split('\n')[0]).toBe(`${file} ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`);
            const repo = await openRepo(dir);
            expect(updateIndex(repo, ic, 40)).toBe('done');
            expect(readFileSync(file).equals(readFileSync(theirs))).toBe(true);
            // Read in process from the note, the entries are those git lists.
            const listed = indexEntriesUnder(repo, NAMES, 40)!.map((e) => `${e.mode} ${e.oid} ${e.stage}\t${e.path}`);
            expect(listed).toEqual(git(dir, ['ls-files', '-s']).split('\n').filter(Boolean));
            repo.objects.close();
          }
          rmSync(dir, { recursive: true, force: true });
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    },
    RUNS * 2_000 + 30_000,
  );

  it('passes over a note that does not fit the file it names: the entries are walked, and the index is what git writes', async () => {
    const { dir, file } = auditIndexed();
    const note = join(dir, '.git', 'ga', 'index-entries');
    const repo = await openRepo(dir);
    const change = (i: number) => indexChange(`audit/new-${i}.json`, content(i), undefined, false, 40);
    commitFiles(dir, new Map([['audit/new-1.json', { mode: '100644', n: 1 }]]));
    expect(updateIndex(repo, [change(1)], 40)).toBe('done');
    for (const forge of ['no entries', 'entries 8 bytes long']) {
      // The note of the file as it is (its identity, where its entries end), the entries forged.
      const bytes = readFileSync(note);
      const nl = bytes.indexOf(10);
      const real = (deserialize(bytes.subarray(nl + 1)) as { starts: Uint32Array }).starts;
      const starts = forge === 'no entries' ? Uint32Array.from([12]) : real.map((s, k) => (k < real.length - 1 ? 12 + k * 8 : s));
      writeFileSync(note, Buffer.concat([bytes.subarray(0, nl + 1), serialize({ starts, racy: [] })]));
      const i = forge === 'no entries' ? 2 : 3;
      commitFiles(dir, new Map([[`audit/new-${i}.json`, { mode: '100644', n: i }]]));
      const theirs = join(dir, '.git', 'theirs-index');
      copyFileSync(file, theirs);
      git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', `audit/new-${i}.json`], undefined, theirs);
      expect(updateIndex(repo, [change(i)], 40)).toBe('done');
      expect(readFileSync(file).equals(readFileSync(theirs))).toBe(true);
    }
    repo.objects.close();
  });

  it.each([
    ['whole', false],
    ['split (the entry in the front, where git keeps a racy one)', true],
  ])('keeps the racy entries in its note: one whose file changes after ga wrote the index is smudged by the next update (%s)', async (_, split) => {
    const dir = repoDir();
    git(dir, ['config', 'core.trustctime', 'false']);
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'first\n');
    // Its time is ahead of the clock (a skewed clock, a file from elsewhere): racy for every index written before then.
    const ahead = `@${Math.floor(Date.now() / 1000) + 3600}`;
    execFileSync('touch', ['-m', '-d', ahead, notes]);
    // Split, enough other entries that the few added stay within a fifth of them.
    if (split) for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f-${i}.txt`), `${i}\n`);
    git(dir, ['add', '.']);
    git(dir, ['commit', '-q', '-m', 'notes']);
    if (split) git(dir, ['update-index', '--split-index']);
    const repo = await openRepo(dir);
    const event = (i: number) => {
      const path = `audit/e-${i}.json`;
      commitFiles(dir, new Map([[path, { mode: '100644', n: i }]]));
      expect(updateIndex(repo, [indexChange(path, content(i), undefined, false, 40)], 40)).toBe('done');
    };
    event(1); // git wrote the index: walked; notes.txt is racy in the file ga writes, and unchanged (not smudged)
    expect(git(dir, ['ls-files', '--debug', 'notes.txt'])).toMatch(/size: 6\b/);
    // Changed, the same size, its time put back: only the racy rule tells it from clean.
    writeFileSync(notes, 'other\n');
    execFileSync('touch', ['-m', '-d', ahead, notes]);
    event(2); // from the note
    repo.objects.close();
    expect(linkOf(readFileSync(join(dir, '.git', 'index'))) !== undefined).toBe(split);
    expect(git(dir, ['ls-files', '--debug', 'notes.txt'])).toMatch(/size: 0\b/);
    expect(git(dir, ['status', '--porcelain', '--', 'notes.txt'])).toBe('M notes.txt');
  });

  it('is the index git writes in a sha256 repository, with a wide directory gaining one entry', async () => {
    const dir = repoDir('sha256');
    const files: Files = new Map();
    for (let i = 0; i < 300; i++) files.set(`audit/noop/2026-12-01/0${i % 3}/e-${String(i).padStart(4, '0')}.json`, { mode: '100644', n: i % 7 });
    commitFiles(dir, files);
    git(dir, ['read-tree', 'HEAD']);
    git(dir, ['write-tree']);
    const path = 'audit/noop/2026-12-01/01/e-0150a.json';
    commitFiles(dir, new Map([[path, { mode: '100644', n: 999 }]]));
    const { git: theirs, ours, result } = await both(dir, [indexChange(path, content(999), undefined, false, 64)]);
    expect(result).toBe('done');
    expect(ours.equals(theirs)).toBe(true);
    expect(git(dir, ['write-tree'])).toBe(git(dir, ['rev-parse', 'HEAD^{tree}']));
  });

  it('leaves an entry that already says what HEAD says alone, stat data and all, as git does', async () => {
    const dir = repoDir();
    writeFileSync(join(dir, 'ledger.jsonl'), '{"usd":1}\n');
    writeFileSync(join(dir, 'README'), 'hello\n');
    git(dir, ['add', '.']);
    git(dir, ['commit', '-q', '-m', 'first']);
    git(dir, ['write-tree']);
    // ga's commit names the ledger (unchanged: a charge another runner already recorded) and a new audit file.
    commitFiles(dir, new Map([['audit/e.json', { mode: '100644', n: 2 }]]));
    const changes = [indexChange('ledger.jsonl', '{"usd":1}\n', undefined, false, 40), indexChange('audit/e.json', content(2), undefined, false, 40)];
    const { git: theirs, ours, result } = await both(dir, changes);
    expect(result).toBe('done');
    expect(ours.equals(theirs)).toBe(true);
    expect(git(dir, ['ls-files', '--debug', 'ledger.jsonl'])).not.toMatch(/mtime: 0:0/);
  });

  it('smudges an entry whose file changed in the second the index was written, as git does: git status still sees the change', async () => {
    const dir = repoDir();
    git(dir, ['config', 'core.trustctime', 'false']);
    writeFileSync(join(dir, 'notes.txt'), 'first\n');
    git(dir, ['add', 'notes.txt']);
    git(dir, ['commit', '-q', '-m', 'notes']);
    // The file is rewritten (same size, same inode) and its times put back to what the index recorded,
    // in the same second as the index itself: only git's racy-entry rule tells it apart from clean.
    const debug = git(dir, ['ls-files', '--debug', 'notes.txt']);
    const [, sec, nsec] = /mtime: (\d+):(\d+)/.exec(debug)!;
    writeFileSync(join(dir, 'notes.txt'), 'other\n');
    const stamp = `@${sec}.${nsec!.padStart(9, '0')}`;
    execFileSync('touch', ['-m', '-d', stamp, join(dir, 'notes.txt')]);
    execFileSync('touch', ['-m', '-d', stamp, join(dir, '.git', 'index')]);
    // The index is newer than the file after the update; without the smudge, git would take notes.txt for unchanged.
    await expectSmudgedByOneEvent(dir);
  });

  it('leaves an index of version 4 to git, and one git is to split (core.splitIndex): ga commits and git status is clean', async () => {
    for (const setup of [
      ['update-index', '--index-version', '4'],
      ['config', 'core.splitIndex', 'true'],
    ]) {
      const dir = repoDir();
      writeFileSync(join(dir, 'README'), 'hello\n');
      git(dir, ['add', 'README']);
      git(dir, ['commit', '-q', '-m', 'first']);
      git(dir, ['update-index', '--no-split-index']);
      git(dir, setup);
      const repo = await openRepo(dir);
      const change = indexChange('audit/x.json', '{}\n', undefined, false, 40);
      expect(updateIndex(repo, [change], 40)).toBe('declined');
      await commitEvent(repo, async () => ({ message: 'event\n', sign: false, files: [{ path: 'audit/x.json', content: '{}\n' }] }));
      repo.objects.close();
      expect(git(dir, ['ls-files', 'audit'])).toBe('audit/x.json');
      expect(git(dir, ['status', '--porcelain'])).toBe('');
    }
  });

  it(
    'writes only the front of a split index: each of a chain of updates lists, stat data and all, as git reset leaves it, with the same cache tree',
    async () => {
      const stepArb = fc.array(fc.tuple(pathArb, fc.option(fc.tuple(modeArb, fc.integer({ min: 0, max: 5 })), { nil: undefined })), {
        minLength: 1,
        maxLength: 3,
      });
      await fc.assert(
        fc.asyncProperty(caseArb, fc.boolean(), fc.array(stepArb, { minLength: 1, maxLength: 3 }), async ({ base, staged, cacheTree }, after, steps) => {
          const dir = repoDir();
          const files: Files = new Map();
          for (const [path, mode, n] of base) if (noClash(files.keys(), path)) files.set(path, { mode, n });
          commitFiles(dir, files);
          git(dir, ['read-tree', 'HEAD']);
          if (cacheTree) git(dir, ['write-tree']);
          // Staged work in the shared index, or added to the front after the split (and a committed entry replaced there).
          const extra = staged.filter(([p]) => noClash(files.keys(), p));
          const seen = new Set<string>();
          const lines = extra.filter(([p]) => noClash(seen, p) && seen.add(p)).map(([p, n]) => `100644 ${hash(dir, n)}\t${p}`);
          if (!after && lines.length) git(dir, ['update-index', '--add', '--index-info'], lines.join('\n') + '\n');
          git(dir, ['update-index', '--split-index']);
          if (after && lines.length) git(dir, ['update-index', '--add', '--index-info'], lines.join('\n') + '\n');
          const first = [...files][0];
          if (after && first) git(dir, ['update-index', '--cacheinfo', `100755,${hash(dir, first[1].n)},${first[0]}`]);
          const file = join(dir, '.git', 'index');
          const theirs = join(dir, '.git', 'theirs-index');
          copyFileSync(file, theirs);
          const shared = () => readdirSync(join(dir, '.git')).filter((n) => n.startsWith('sharedindex.'));
          for (const step of steps) {
            const ic = commitChanges(dir, step);
            git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', ...ic.map((c) => c.path)], undefined, theirs);
            const before = shared();
            const repo = await openRepo(dir);
            const result = updateIndex(repo, ic, 40);
            repo.objects.close();
            // A front past a fifth of the entries is git's to write (it makes a new shared index); any other is written here.
            if (result === 'declined') {
              git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', ...ic.map((c) => c.path)]);
              continue;
            }
            expect(result).toBe('done');
            expect(shared()).toEqual(before);
            expect(linkOf(readFileSync(file))).toBeDefined();
            // git marks an entry its front replaces in memory (CE_UPDATE_IN_BASE); ga deletes and adds one instead.
            const listed = (index?: string) =>
              git(dir, ['ls-files', '-s', '--debug'], undefined, index).replace(
                /flags: ([0-9a-f]+)/g,
                (_, h: string) => `flags: ${(parseInt(h, 16) & ~0x8000000).toString(16)}`,
              );
            expect(listed()).toBe(listed(theirs));
            expect(extension(readFileSync(file), 'TREE')).toEqual(extension(readFileSync(theirs), 'TREE'));
            expect(git(dir, ['write-tree'])).toBe(git(dir, ['write-tree'], undefined, theirs));
            const reopened = await openRepo(dir);
            const inProcess = indexEntriesUnder(reopened, NAMES, 40)!.map((e) => `${e.mode} ${e.oid} ${e.stage}\t${e.path}`);
            reopened.objects.close();
            expect(inProcess).toEqual(git(dir, ['ls-files', '-s']).split('\n').filter(Boolean));
          }
          rmSync(dir, { recursive: true, force: true });
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    },
    RUNS * 2_000 + 30_000,
  );

  it('smudges a racy entry of the shared index itself: a front older than the file (the clock went back), as git reads it', async () => {
    const dir = repoDir();
    git(dir, ['config', 'core.trustctime', 'false']);
    const now = Math.floor(Date.now() / 1000);
    const notes = join(dir, 'notes.txt');
    const files = ['notes.txt', ...Array.from({ length: 20 }, (_, i) => `f-${i}.txt`)];
    for (const f of files) writeFileSync(join(dir, f), f === 'notes.txt' ? 'first\n' : `${f}\n`);
    // Well in the past: no entry is racy when git splits the index, so all of them go to the shared index.
    execFileSync('touch', ['-m', '-d', `@${now - 100}`, ...files.map((f) => join(dir, f))]);
    git(dir, ['add', '.']);
    git(dir, ['commit', '-q', '-m', 'files']);
    git(dir, ['update-index', '--split-index']);
    expect(readFileSync(join(dir, '.git', 'index')).readUInt32BE(8)).toBe(0);
    // Changed, the same size, its time put back; the front's time put before it: git takes the entry as racy.
    writeFileSync(notes, 'other\n');
    execFileSync('touch', ['-m', '-d', `@${now - 100}`, notes]);
    execFileSync('touch', ['-m', '-d', `@${now - 200}`, join(dir, '.git', 'index')]);
    // (Read only: git status would write the index.)
    expect(git(dir, ['ls-files', '--debug', 'notes.txt'])).toMatch(/size: 6\b/);
    // The new front is newer than the file; without the smudge, git would take notes.txt for unchanged.
    await expectSmudgedByOneEvent(dir);
  });

  it('reads a shared index afresh when its note does not fit it, and leaves a front past a fifth of the entries to git', async () => {
    const dir = repoDir();
    commitFiles(dir, new Map(Array.from({ length: 40 }, (_, i) => [`audit/e-${i}.json`, { mode: '100644' as const, n: i % 3 }])));
    git(dir, ['read-tree', 'HEAD']);
    git(dir, ['update-index', '--split-index']);
    const note = join(dir, '.git', 'ga', 'shared-index-entries');
    const change = (i: number) => indexChange(`audit/new-${i}.json`, content(i), undefined, false, 40);
    for (let i = 1; i <= 11; i++) {
      if (i === 3 || i === 4) {
        // The note of this shared index, its entries forged (too few; as many, 8 bytes long): passed over, the entries walked.
        const bytes = readFileSync(note);
        const nl = bytes.indexOf(10);
        const starts = i === 3 ? Uint32Array.from([12, 80]) : Uint32Array.from({ length: 41 }, (_, k) => 12 + k * 8);
        writeFileSync(note, Buffer.concat([bytes.subarray(0, nl + 1), serialize({ starts, racy: [], floor: 0 })]));
      }
      commitFiles(dir, new Map([[`audit/new-${i}.json`, { mode: '100644', n: i }]]));
      const repo = await openRepo(dir);
      const result = updateIndex(repo, [change(i)], 40);
      repo.objects.close();
      // 40 shared entries: the eleventh added one makes more than a fifth of 51.
      expect(result).toBe(i < 11 ? 'done' : 'declined');
      if (result === 'declined') git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', `audit/new-${i}.json`]);
      expect(git(dir, ['ls-files', 'audit']).split('\n')).toHaveLength(40 + i);
      expect(git(dir, ['diff', '--cached', '--name-only'])).toBe('');
    }
  });

  /** A repository of 40 committed audit files, its index written by git; the index file's path. */
  function auditIndexed(): { dir: string; file: string } {
    const dir = repoDir();
    commitFiles(dir, new Map(Array.from({ length: 40 }, (_, i) => [`audit/e-${i}.json`, { mode: '100644' as const, n: i % 3 }])));
    git(dir, ['read-tree', 'HEAD']);
    return { dir, file: join(dir, '.git', 'index') };
  }

  it('declines a damaged index (cut short, a bit flipped) and leaves it as it was, lock and all', async () => {
    const { dir, file } = auditIndexed();
    const good = readFileSync(file);
    const repo = await openRepo(dir);
    const change = indexChange('audit/new.json', '{}\n', undefined, false, 40);
    for (const bad of [good.subarray(0, 700), good.subarray(0, good.length - 21), Buffer.from(good.map((b, i) => (i === 500 ? b ^ 1 : b)))]) {
      writeFileSync(file, bad);
      expect(updateIndex(repo, [change], 40)).toBe('declined');
      expect(readFileSync(file).equals(bad)).toBe(true);
      expect(existsSync(`${file}.lock`)).toBe(false);
    }
    repo.objects.close();
  });

  it("notes the index it wrote; only that very file's checksum is taken from the note, any other index's is computed and checked", async () => {
    const { dir, file } = auditIndexed();
    const note = join(dir, '.git', 'ga', 'index-written');
    const repo = await openRepo(dir);
    const change = (i: number) => indexChange(`audit/new-${i}.json`, `{"n": ${i}}\n`, undefined, false, 40);
    const damage = () => writeFileSync(file, Buffer.from(readFileSync(file).map((b, i) => (i === 500 ? b ^ 1 : b))));
    const identity = () => {
      const st = statSync(file, { bigint: true });
      return `${file} ${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`;
    };
    const trailer = () => readFileSync(file).subarray(-20).toString('hex');

    // git wrote this one: no note yet. ga's update notes the file it wrote, as it is on disk.
    expect(existsSync(note)).toBe(false);
    expect(updateIndex(repo, [change(1)], 40)).toBe('done');
    expect(readFileSync(note, 'utf8')).toBe(`${identity()}\n${trailer()}`);
    // The note is taken as it stands for that file: a body changed under a note rewritten to match it is not
    // hashed again (what the note saves), and git still reads the index ga writes from it.
    damage();
    writeFileSync(note, `${identity()}\n${trailer()}`);
    expect(updateIndex(repo, [change(2)], 40)).toBe('done');
    git(dir, ['reset', '-q', '--no-refresh', 'HEAD', '--', 'audit']);
    // Any other write makes the note stale (a new inode, size or time, and ctime, which no one can set back):
    // the checksum is computed, the damage found, the index declined and left as it was.
    expect(updateIndex(repo, [change(3)], 40)).toBe('done');
    damage();
    const damaged = readFileSync(file);
    expect(updateIndex(repo, [change(4)], 40)).toBe('declined');
    expect(readFileSync(file).equals(damaged)).toBe(true);
    expect(indexEntriesUnder(repo, ['audit'], 40)).toBeUndefined();
    // An index git rewrote (a good one) is checked and updated.
    git(dir, ['read-tree', 'HEAD']);
    expect(updateIndex(repo, [change(5)], 40)).toBe('done');
    expect(indexEntriesUnder(repo, ['audit'], 40)?.map((e) => e.path)).toContain('audit/new-5.json');
    expect(git(dir, ['ls-files', 'audit/new-5.json'])).toBe('audit/new-5.json');
    repo.objects.close();
  });

  it('declines paths that overlap, and waits on no one: another holder of index.lock is reported', async () => {
    const dir = repoDir();
    writeFileSync(join(dir, 'README'), 'hello\n');
    git(dir, ['add', 'README']);
    git(dir, ['commit', '-q', '-m', 'first']);
    const repo = await openRepo(dir);
    const a = indexChange('a', 'x', undefined, false, 40);
    const under = indexChange('a/b', 'y', undefined, false, 40);
    expect(updateIndex(repo, [a, under], 40)).toBe('declined');
    writeFileSync(join(dir, '.git', 'index.lock'), '');
    expect(updateIndex(repo, [a], 40)).toBe('locked');
    expect(readFileSync(join(dir, '.git', 'index.lock'), 'utf8')).toBe(''); // not ours to remove
    repo.objects.close();
  });
});

/** `git ls-files -s -z -- dirs`, as entries. */
function lsFiles(dir: string, dirs: string[]): { path: string; mode: string; oid: string; stage: number }[] {
  return git(dir, ['ls-files', '-s', '-z', '--', ...dirs])
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\d+) ([0-9a-f]+) (\d)\t(.*)$/s.exec(line)!;
      return { path: m[4]!, mode: m[1]!, oid: m[2]!, stage: Number(m[3]) };
    });
}

describe('the index read in process', () => {
  it(
    'lists under some directories what git ls-files -s lists, conflicts included, for random indexes, whole or split',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(pathArb, modeArb, fc.integer({ min: 0, max: 5 }), fc.constantFrom(0, 0, 0, 1, 2, 3)), { maxLength: 16 }),
          fc.subarray(NAMES, { minLength: 1 }),
          fc.constantFrom<'sha1' | 'sha256'>('sha1', 'sha256'),
          fc.constantFrom('whole', 'split', 'split, then more'),
          async (entries, under, format, split) => {
            const dir = repoDir(format);
            // Staged straight into the index, stages 1 to 3 as a conflict leaves them (git refuses what cannot be, and keeps the rest);
            // split, the later ones are the front's (added, or replacing the shared index's).
            const lines = entries.map(([p, mode, n, stage]) => `${mode} ${hash(dir, n)} ${stage}\t${p}`);
            const cut = split === 'split, then more' ? Math.floor(lines.length / 2) : lines.length;
            const stage = (some: string[]) => some.length && git(dir, ['update-index', '--add', '--index-info'], some.join('\n') + '\n', undefined, true);
            stage(lines.slice(0, cut));
            if (!existsSync(join(dir, '.git', 'index'))) git(dir, ['read-tree', '--empty']);
            if (split !== 'whole') git(dir, ['update-index', '--split-index']);
            stage(lines.slice(cut));
            const repo = await openRepo(dir);
            const ours = indexEntriesUnder(repo, under, format === 'sha256' ? 64 : 40);
            repo.objects.close();
            expect(ours).toEqual(lsFiles(dir, under));
            rmSync(dir, { recursive: true, force: true });
          },
        ),
        { numRuns: RUNS },
      );
    },
    RUNS * 1_000 + 30_000,
  );

  it('leaves an index of version 4 or a damaged one to git, and reads a split one with its shared index', async () => {
    for (const setup of [['update-index', '--index-version', '4'], ['config', 'core.splitIndex', 'true'], ['damage']]) {
      const dir = repoDir();
      const files: Files = new Map(Array.from({ length: 40 }, (_, i) => [`agents/a${i}/agent.toml`, { mode: '100644' as const, n: i % 3 }]));
      commitFiles(dir, files);
      git(dir, ['read-tree', 'HEAD']);
      let repo = await openRepo(dir);
      expect(indexEntriesUnder(repo, ['agents'], 40)).toEqual(lsFiles(dir, ['agents']));
      repo.objects.close();
      const file = join(dir, '.git', 'index');
      if (setup[0] === 'damage') writeFileSync(file, Buffer.from(readFileSync(file).map((b, i) => (i === 500 ? b ^ 1 : b))));
      else git(dir, setup);
      if (setup[0] === 'config') git(dir, ['update-index', '--split-index']);
      repo = await openRepo(dir);
      if (setup[0] === 'config') expect(indexEntriesUnder(repo, ['agents'], 40)).toEqual(lsFiles(dir, ['agents']));
      else expect(indexEntriesUnder(repo, ['agents'], 40)).toBeUndefined();
      repo.objects.close();
    }
  });
});

/** The body of the index extension `sig` (sha1, versions 2 and 3): the entries are walked to where the extensions start. */
function extension(index: Buffer, sig: string): Buffer | undefined {
  const count = index.readUInt32BE(8);
  let at = 12;
  for (let i = 0; i < count; i++) {
    const flags = index.readUInt16BE(at + 60);
    const fixed = 62 + (flags & 0x4000 ? 2 : 0);
    let len = flags & 0xfff;
    if (len === 0xfff) len = index.indexOf(0, at + fixed) - at - fixed;
    at += (fixed + len + 8) & ~7;
  }
  for (const end = index.length - 20; at < end; at += 8 + index.readUInt32BE(at + 4)) {
    if (index.toString('latin1', at, at + 4) === sig) return index.subarray(at + 8, at + 8 + index.readUInt32BE(at + 4));
  }
  return undefined;
}

const linkOf = (index: Buffer) => extension(index, 'link');
