// Hardened git (DESIGN.md "Hardened git", "Commits and the audit trail"):
// event commits hold only their own paths, nothing planted in .git runs
// inside ga, and a repository whose history could be hidden is refused.
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const names = (repo: string, rev = 'HEAD') => git(repo, 'show', '--name-only', '--format=', rev).split('\n').filter(Boolean);

describe('event commits', () => {
  it('contain only their own paths and leave what the user staged staged', async () => {
    const repo = await initRepo(sb);
    write(repo, 'other.txt', 'unrelated work in progress\n');
    git(repo, 'add', 'other.txt');

    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    const id = p.last;
    expect(names(repo)).not.toContain('other.txt');
    expect(names(repo)).toContain(`proposals/pending/${id}.toml`);
    expect(git(repo, 'diff', '--cached', '--name-only')).toBe('other.txt');

    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    expect(names(repo)).not.toContain('other.txt');
    expect(git(repo, 'diff', '--cached', '--name-only')).toBe('other.txt');

    expect((await ga(['-C', repo, 'execute', id])).code).toBe(0);
    expect(names(repo)).not.toContain('other.txt');
    expect(git(repo, 'diff', '--cached', '--name-only')).toBe('other.txt');
    expect(git(repo, 'log', '--format=%H', '--', 'other.txt')).toBe('');
    expect(git(repo, 'status', '--porcelain')).toBe('A  other.txt');
  });

  it('leave git status clean after propose, approve and execute', async () => {
    const repo = await initRepo(sb);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect((await ga(['-C', repo, 'approve', p.last])).code).toBe(0);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect((await ga(['-C', repo, 'execute', p.last])).code).toBe(0);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    // The working tree matches HEAD exactly for the moved file.
    expect(existsSync(join(repo, `proposals/executed/${p.last}.toml`))).toBe(true);
    expect(existsSync(join(repo, `proposals/approved/${p.last}.toml`))).toBe(false);
    expect(existsSync(join(repo, `proposals/pending/${p.last}.toml`))).toBe(false);
  });
});

describe('programs planted in .git', () => {
  it('do not run during ga propose, approve and execute (hooks, fsmonitor, signing program)', async () => {
    const repo = await initRepo(sb);
    const marks = join(sb.dir, 'marks');
    mkdirSync(marks);
    const hooks = join(repo, '.git', 'hooks');
    mkdirSync(hooks, { recursive: true });
    for (const h of [
      'pre-commit',
      'post-commit',
      'commit-msg',
      'prepare-commit-msg',
      'post-checkout',
      'post-index-change',
      'reference-transaction',
      'post-rewrite',
    ]) {
      writeFileSync(join(hooks, h), `#!/bin/sh\ntouch '${marks}/hook-${h}'\n`);
      chmodSync(join(hooks, h), 0o755);
    }
    const fsmonitor = join(sb.dir, 'fsmonitor.sh');
    writeFileSync(fsmonitor, `#!/bin/sh\ntouch '${marks}/fsmonitor'\n`);
    chmodSync(fsmonitor, 0o755);
    git(repo, 'config', 'core.fsmonitor', fsmonitor);
    git(repo, 'config', 'gpg.ssh.program', join(sb.dir, 'evil-keygen'));
    writeFileSync(join(sb.dir, 'evil-keygen'), `#!/bin/sh\ntouch '${marks}/ssh-program'\nexit 1\n`);
    chmodSync(join(sb.dir, 'evil-keygen'), 0o755);
    mkdirSync(join(repo, '.git', 'info'), { recursive: true });
    writeFileSync(join(repo, '.git', 'info', 'attributes'), '* filter=evil\n');

    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    expect(readdirSync(marks)).toEqual([]);
    const a = await ga(['-C', repo, 'approve', p.last]);
    expect(a.code).toBe(0);
    expect(readdirSync(marks)).toEqual([]);
    const e = await ga(['-C', repo, 'execute', p.last]);
    expect(e.code).toBe(0);
    expect(e.out).toContain('published: Publish the launch post');
    expect(readdirSync(marks)).toEqual([]);
    // The decision really was signed, with the real ssh-keygen.
    expect(git(repo, 'cat-file', '-p', 'HEAD~2')).toContain('BEGIN SSH SIGNATURE');
    // Control: the planted programs are live for plain git.
    git(repo, 'status', '--porcelain');
    git(repo, 'commit', '--allow-empty', '--no-gpg-sign', '-qm', 'plain commit');
    expect(readdirSync(marks)).toEqual(expect.arrayContaining(['hook-post-commit', 'hook-pre-commit', 'fsmonitor']));
  });

  it('a filter planted in .git/config makes ga refuse the repository, naming the key, and nothing runs', async () => {
    const repo = await initRepo(sb);
    const marks = join(sb.dir, 'marks');
    mkdirSync(marks);
    git(repo, 'config', 'filter.evil.clean', `sh -c 'touch ${marks}/clean; cat'`);
    mkdirSync(join(repo, '.git', 'info'), { recursive: true });
    writeFileSync(join(repo, '.git', 'info', 'attributes'), '* filter=evil\n');
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/filter\.evil\.clean/);
    expect(readdirSync(marks)).toEqual([]);
  });
});

describe('a repository whose history could be hidden', () => {
  async function expectRefused(repo: string): Promise<void> {
    const head = git(repo, 'rev-parse', 'HEAD');
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/^ga: /);
    expect(p.err).not.toMatch(/internal error|\n\s+at /);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    const l = await ga(['-C', repo, 'list']);
    expect(l.code).toBe(1);
    const x = await ga(['-C', repo, 'execute', '--all']);
    expect(x.code).toBe(1);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  }

  it('is refused with .git/shallow', async () => {
    const repo = await initRepo(sb);
    expect((await propose(repo, PUBLISH)).code).toBe(0);
    writeFileSync(join(repo, '.git', 'shallow'), `${git(repo, 'rev-parse', 'HEAD~1')}\n`);
    await expectRefused(repo);
  });

  it('is refused with .git/info/grafts', async () => {
    const repo = await initRepo(sb);
    expect((await propose(repo, PUBLISH)).code).toBe(0);
    mkdirSync(join(repo, '.git', 'info'), { recursive: true });
    writeFileSync(join(repo, '.git', 'info', 'grafts'), `${git(repo, 'rev-parse', 'HEAD')}\n`);
    await expectRefused(repo);
  });

  it('is refused with a refs/replace/* ref', async () => {
    const repo = await initRepo(sb);
    expect((await propose(repo, PUBLISH)).code).toBe(0);
    expect((await propose(repo, PUBLISH.replace('launch post', 'second post'))).code).toBe(0);
    git(repo, 'replace', git(repo, 'rev-parse', 'HEAD~1'), git(repo, 'rev-parse', 'HEAD~2'));
    expect(git(repo, 'for-each-ref', 'refs/replace/')).not.toBe('');
    await expectRefused(repo);
  });

  it('is refused when a second root was merged in', async () => {
    const repo = await initRepo(sb);
    expect((await propose(repo, PUBLISH)).code).toBe(0);
    git(repo, 'checkout', '-q', '--orphan', 'other');
    git(repo, 'rm', '-rqf', '.');
    write(repo, 'elsewhere.txt', 'another history\n');
    git(repo, 'add', 'elsewhere.txt');
    git(repo, 'commit', '--no-gpg-sign', '-qm', 'another root');
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'merge', '-q', '--no-gpg-sign', '--no-edit', '--allow-unrelated-histories', 'other');
    expect(git(repo, 'rev-list', '--max-parents=0', 'HEAD').split('\n')).toHaveLength(2);
    await expectRefused(repo);
  });
});
