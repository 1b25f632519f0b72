// The append-only check's diffs made in process (verify/appended.ts) against
// git's own (git log -p, git/log.ts), on random histories of ledgers and
// audit files: lines appended (repeating the last one, so that git could
// slide the insertion up), files added with and without a last newline,
// empty, deleted, edited at the start, rewritten, made executable, given a
// NUL. For
// every commit the in-process diffs do not leave to git, they must be
// exactly git's; and most commits of a plain history are not left to git.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstParentPatches } from '../../src/git/log.js';
import { openRepo } from '../../src/git/repo.js';
import { readChain } from '../../src/history/chain.js';
import { appendDiffs } from '../../src/verify/appended.js';
import { sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox([]);
});
afterEach(() => sb.cleanup());

const DIRS = ['ledger', 'audit'];
/** GA_APPENDED_RUNS=500 for a longer search. */
const RUNS = Number(process.env.GA_APPENDED_RUNS ?? 40);
const FILES = ['ledger/a.jsonl', 'ledger/b.jsonl', 'audit/x/2026-01-01/00/e1.json', 'audit/x/2026-01-01/00/e2.json', 'audit/y.jsonl', 'other/z.txt'];
const line = fc.constantFrom('x', 'y', 'z', '{"a":1}', 'é', 'x\r');
type Op =
  | { kind: 'append'; file: number; lines: string[]; newline: boolean }
  | { kind: 'create' | 'rewrite'; file: number; lines: string[]; newline: boolean }
  | { kind: 'delete' | 'edit' | 'nul' | 'exec'; file: number };
const fileArb = fc.integer({ min: 0, max: FILES.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('append' as const), file: fileArb, lines: fc.array(line, { minLength: 1, maxLength: 3 }), newline: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), file: fileArb, lines: fc.array(line, { maxLength: 3 }), newline: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rewrite' as const), file: fileArb, lines: fc.array(line, { maxLength: 4 }), newline: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'edit' as const, 'nul' as const, 'exec' as const), file: fileArb }) },
);
const historyArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 6 });

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' }).trim();
}

/** A new repository in `dir` with one commit (a README): its id. */
function rootCommit(dir: string): string {
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  for (const [k, v] of [
    ['user.name', 'T'],
    ['user.email', 't@example.com'],
    ['commit.gpgSign', 'false'],
  ])
    git(dir, 'config', k!, v!);
  writeFileSync(join(dir, 'README'), 'root\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'root');
  return git(dir, 'rev-parse', 'HEAD');
}

function apply(dir: string, op: Op): void {
  const path = join(dir, FILES[op.file]!);
  const there = existsSync(path);
  const text = (lines: string[], newline: boolean) => lines.join('\n') + (newline && lines.length ? '\n' : '');
  mkdirSync(dirname(path), { recursive: true });
  if (op.kind === 'append') writeFileSync(path, (there ? readFileSync(path, 'utf8') : '') + text(op.lines, op.newline));
  else if (op.kind === 'create' && !there) writeFileSync(path, text(op.lines, op.newline));
  else if (op.kind === 'rewrite' && there) writeFileSync(path, text(op.lines, op.newline));
  else if (op.kind === 'delete' && there) rmSync(path);
  else if (op.kind === 'edit' && there) writeFileSync(path, `edited\n${readFileSync(path, 'utf8').split('\n').slice(1).join('\n')}`);
  else if (op.kind === 'nul' && there) writeFileSync(path, `${readFileSync(path, 'utf8')}a\0b\n`);
  else if (op.kind === 'exec' && there) chmodSync(path, 0o755);
}

describe('the append-only diffs made in process', () => {
  it(
    "are git's, for every commit they do not leave to git",
    async () => {
      let made = 0;
      let commits = 0;
      let run = 0;
      await fc.assert(
        fc.asyncProperty(historyArb, async (history) => {
          const dir = join(sb.dir, `r${run++}`);
          const root = rootCommit(dir);
          for (const ops of history) {
            for (const op of ops) apply(dir, op);
            git(dir, 'add', '-A');
            git(dir, 'commit', '-q', '--allow-empty', '-m', 'change');
          }
          const repo = await openRepo(dir);
          const [, ...chain] = await readChain(repo, git(dir, 'rev-parse', 'HEAD'), root);
          const theirs = await firstParentPatches(repo, ['HEAD', `^${root}`], DIRS);
          for (const c of chain) {
            commits++;
            const ours = await appendDiffs(repo, [c], DIRS);
            if (!ours) continue;
            made++;
            expect(ours.get(c.id), `commit ${c.id} of ${JSON.stringify(history)}`).toEqual(theirs.get(c.id) ?? []);
          }
          repo.objects.close();
          rmSync(dir, { recursive: true, force: true });
        }),
        { numRuns: RUNS },
      );
      // Not a test that passes by leaving everything to git.
      expect(made / commits).toBeGreaterThan(0.3);
    },
    60_000 + RUNS * 1000,
  );

  it('a gitattributes file in the work tree on the way to a path leaves the diffs to git', async () => {
    const dir = join(sb.dir, 'attrs');
    const root = rootCommit(dir);
    mkdirSync(join(dir, 'ledger'));
    writeFileSync(join(dir, 'ledger', 'a.jsonl'), 'x\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'a ledger line');
    const repo = await openRepo(dir);
    const [, c] = await readChain(repo, git(dir, 'rev-parse', 'HEAD'), root);
    expect(await appendDiffs(repo, [c!], DIRS)).toBeDefined();
    // Untracked: git log -p still reads it, and would call the file binary.
    writeFileSync(join(dir, 'ledger', '.gitattributes'), '* -diff\n');
    expect(await appendDiffs(repo, [c!], DIRS)).toBeUndefined();
    expect((await firstParentPatches(repo, ['HEAD', `^${root}`], DIRS)).get(c!.id)?.[0]?.binary).toBe(true);
    repo.objects.close();
  });
});
