// ga writes its unsigned event commits itself (git/commit-object.ts) and
// moves the branch itself (git/ref-swap.ts). The commit must be the very
// object `git commit-tree` writes for the same tree, parent, identity, time
// and message; an identity git would change is left to git; the ref moves
// only from the commit it names, under git's own lock, with git's reflog
// lines, and against real git processes racing for it exactly one wins.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitBody, gitKeepsMessage, identities, zoneOf } from '../../src/git/commit-object.js';
import { objectId } from '../../src/git/objects.js';
import { swapRef } from '../../src/git/ref-swap.js';
import { openRepo, type Repo } from '../../src/git/repo.js';
import { BIN, PUBLISH, initRepo, propose, sandbox } from '../helpers/fixture.js';

let dir: string;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent' };
const run = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}): string =>
  execFileSync('git', args, { cwd: dir, env: { ...env, ...opts.env }, input: opts.input, encoding: 'utf8' }).trim();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-commit-'));
  run(['init', '-q', '-b', 'main']);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A commit on main, by git. */
function gitCommit(message: string, parent?: string): string {
  const tree = run(['mktree'], { input: `100644 blob ${run(['hash-object', '-w', '--stdin'], { input: message })}\tf\n` });
  const who = { GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@x' };
  return run(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], { env: who });
}

/** A name or an email: mostly ones git keeps as they are (the ends plain), some it would change (a blank, a dot or < at an end). */
const end = fc.constantFrom(...'abcdefghijkl', 'é', '名', ' ', '.', '<', '"');
const namePart = fc
  .tuple(end, fc.string({ unit: fc.constantFrom(...'abXY é.,:;"\'\\-_@'.split(''), 'ü', '名'), maxLength: 10 }), end)
  .map(([a, b, c]) => a + b + c);

describe('commits written in process', () => {
  it('are the very objects git commit-tree writes, for any message and any identity git keeps as it is', async () => {
    const repo = await openRepo(dir);
    const tree = run(['mktree'], { input: '' });
    const parent = gitCommit('base');
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        namePart,
        namePart,
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.boolean(),
        async (name, email, message, seconds, withParent) => {
          const idents = await identities(repo, { name, email }, new Date(seconds * 1000));
          if (!idents || !gitKeepsMessage(message)) return;
          compared++;
          const date = `@${seconds} ${zoneOf(seconds)}`;
          const who = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
          const byGit = run(['-c', 'i18n.commitEncoding=UTF-8', 'commit-tree', tree, ...(withParent ? ['-p', parent] : []), '-F', '-'], {
            input: message,
            env: { ...who, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
          });
          expect(objectId('commit', commitBody(tree, withParent ? parent : undefined, idents, message))).toBe(byGit);
        },
      ),
      { numRuns: 300 },
    );
    expect(compared).toBeGreaterThan(50);
  });

  it('leave to git an identity it would change (a blank or . at an end, < > or a newline inside)', async () => {
    const repo = await openRepo(dir);
    for (const name of [' Alice', 'Alice.', 'A <b>', 'Al\nice', '', 'Alice;'])
      expect(await identities(repo, { name, email: 'alice@example.com' }), JSON.stringify(name)).toBeUndefined();
    expect(await identities(repo, { name: 'J. R. Smith-Ünal', email: 'jr@example.com' })).toBeDefined();
    // and a message git would rewrite (its UTF-8 check) or refuse
    for (const m of ['a\0b', 'x\uFFFE', 'x\uFDD0', 'x\u{10FFFF}']) expect(gitKeepsMessage(m), JSON.stringify(m)).toBe(false);
    expect(gitKeepsMessage('Publish ✓ 名前 \u{1F600}\n\nGa-Event: x\n')).toBe(true);
  });

  it('carry the zone of the process, as git writes it (ga propose under TZ=Asia/Kathmandu and America/St_Johns)', async () => {
    const sb = sandbox(['alice']);
    try {
      const gov = await initRepo(sb);
      writeFileSync(join(sb.dir, 'p.toml'), PUBLISH);
      for (const [tz, zone] of [
        ['Asia/Kathmandu', '+0545'],
        ['America/St_Johns', execFileSync('date', ['+%z'], { env: { TZ: 'America/St_Johns' }, encoding: 'utf8' }).trim()],
      ]) {
        execFileSync(process.execPath, [BIN, '-C', gov, 'propose', '--file', join(sb.dir, 'p.toml')], { env: { ...process.env, TZ: tz } });
        const line = execFileSync('git', ['cat-file', 'commit', 'HEAD'], { cwd: gov, encoding: 'utf8' })
          .split('\n')
          .find((l) => l.startsWith('committer '));
        expect(line).toMatch(new RegExp(`^committer alice <alice@example\\.com> \\d+ \\${zone}$`));
        expect(execFileSync('git', ['fsck', '--strict'], { cwd: gov, encoding: 'utf8' })).toBe('');
      }
    } finally {
      sb.cleanup();
    }
  });
});

describe('the branch moved in process', () => {
  let repo: Repo;
  let first: string;
  let second: string;
  const swap = (from: string, to: string) =>
    swapRef(repo, { ref: 'refs/heads/main', from, to, message: 'ga', who: 'Alice <alice@example.com> 1796128322 +0000' });
  beforeEach(async () => {
    first = gitCommit('first');
    second = gitCommit('second', first);
    run(['update-ref', 'refs/heads/main', first]);
    repo = await openRepo(dir);
  });

  it('moves only from the commit the ref names, and writes the reflog lines git writes', async () => {
    expect(await swap(second, first)).toBe('moved');
    expect(run(['rev-parse', 'main'])).toBe(first);
    expect(await swap(first, second)).toBe('swapped');
    expect(run(['rev-parse', 'main'])).toBe(second);
    expect(existsSync(join(dir, '.git/refs/heads/main.lock'))).toBe(false);
    const line = `${first} ${second} Alice <alice@example.com> 1796128322 +0000\tga\n`;
    expect(readFileSync(join(dir, '.git/logs/refs/heads/main'), 'utf8').endsWith(line)).toBe(true);
    expect(readFileSync(join(dir, '.git/logs/HEAD'), 'utf8').endsWith(line)).toBe(true);
    expect(run(['reflog', '-1', '--format=%H %gs', 'main'])).toBe(`${second} ga`);
  });

  it('reads a packed ref, waits for another holder of the lock and then leaves the ref to it', async () => {
    run(['pack-refs', '--all']);
    expect(existsSync(join(dir, '.git/refs/heads/main'))).toBe(false);
    writeFileSync(join(dir, '.git/refs/heads/main.lock'), '');
    expect(await swap(first, second)).toBe('locked');
    expect(readFileSync(join(dir, '.git/refs/heads/main.lock'), 'utf8')).toBe(''); // the other holder's lock, left alone
    rmSync(join(dir, '.git/refs/heads/main.lock'));
    expect(await swap(first, second)).toBe('swapped');
    expect(run(['rev-parse', 'main'])).toBe(second);
  });

  it('a lock a killed process left on the branch: ga refuses with exit 1 naming the file, and commits once it is gone', async () => {
    const sb = sandbox(['alice']);
    try {
      const gov = await initRepo(sb);
      const lock = join(gov, '.git/refs/heads/main.lock');
      writeFileSync(lock, '');
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: gov, encoding: 'utf8' }).trim();
      const refused = await propose(gov, PUBLISH);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(`${lock} stayed in place while ga tried to commit`);
      expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: gov, encoding: 'utf8' }).trim()).toBe(head);
      rmSync(lock);
      expect((await propose(gov, PUBLISH)).code).toBe(0);
      expect(execFileSync('git', ['log', '-1', '--format=%s'], { cwd: gov, encoding: 'utf8' })).toMatch(/^propose /);
    } finally {
      sb.cleanup();
    }
  });

  it('leaves to git what it does not do: a symbolic ref, a name git would refuse, a shared repository', async () => {
    run(['symbolic-ref', 'refs/heads/alias', 'refs/heads/main']);
    expect(await swapRef(repo, { ref: 'refs/heads/alias', from: first, to: second, message: 'ga', who: 'A <a@x> 1 +0000' })).toBeUndefined();
    expect(await swapRef(repo, { ref: 'refs/heads/a..b', from: first, to: second, message: 'ga', who: 'A <a@x> 1 +0000' })).toBeUndefined();
    run(['config', 'core.sharedRepository', 'group']);
    repo = await openRepo(dir);
    expect(await swap(first, second)).toBeUndefined();
    expect(run(['rev-parse', 'main'])).toBe(first);
  });

  it('against git update-ref processes racing from the same commit: exactly one move lands', async () => {
    for (let round = 0; round < 5; round++) {
      const base = run(['rev-parse', 'main']);
      const targets = Array.from({ length: 6 }, (_, i) => gitCommit(`race ${round} ${i}`, base));
      const racers = targets
        .slice(1)
        .map(
          (to) =>
            new Promise<boolean>((resolve) =>
              spawn('git', ['update-ref', 'refs/heads/main', to, base], { cwd: dir, env }).on('close', (code) => resolve(code === 0)),
            ),
        );
      const mine = swap(base, targets[0]!);
      const results = [(await mine) === 'swapped', ...(await Promise.all(racers))];
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(run(['rev-parse', 'main'])).toBe(targets[results.indexOf(true)]);
      expect(existsSync(join(dir, '.git/refs/heads/main.lock'))).toBe(false);
    }
  });
});
