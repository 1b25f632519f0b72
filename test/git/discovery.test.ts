// Where the repository is: openRepo finds the nearest plain .git directory
// without a git process, and must answer as `git rev-parse --show-toplevel
// --absolute-git-dir --git-common-dir` does from the same directory. Every
// other case (a worktree's .git file, inside .git, a bare repository, a .git
// that is not a repository) is left to git, and ends as git says.
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRepo, plainRepositoryAbove } from '../../src/git/repo.js';
import { git, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
let top: string;
beforeAll(() => {
  sb = sandbox(['alice']);
  sb.unsigned();
  top = join(sb.dir, 'work');
  mkdirSync(join(top, 'a', 'b'), { recursive: true });
  git(sb.dir, 'init', '-q', '-b', 'main', top);
  git(top, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'first');
});
afterAll(() => sb.cleanup());

/** git's own answer from `cwd`, or undefined where it finds no work tree. */
function gitSays(cwd: string): { root: string; gitDir: string; commonDir: string } | undefined {
  try {
    const [root, gitDir, common] = execFileSync('git', ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n') as [string, string, string];
    return { root, gitDir, commonDir: common.startsWith('/') ? common : join(realpathSync(cwd), common) }; // relative to the real directory
  } catch {
    return undefined;
  }
}

async function opened(cwd: string) {
  try {
    const r = await openRepo(cwd);
    return { root: r.root, gitDir: r.gitDir, commonDir: r.commonDir };
  } catch (e) {
    return (e as Error).message;
  }
}

describe('finding the repository', () => {
  it('in a work tree, a subdirectory and through a symbolic link: found in process, as git finds it', async () => {
    const link = join(sb.dir, 'link');
    symlinkSync(join(top, 'a'), link);
    for (const cwd of [top, join(top, 'a'), join(top, 'a', 'b'), link, join(link, 'b')]) {
      expect(plainRepositoryAbove(cwd), cwd).toEqual(gitSays(cwd));
      expect(await opened(cwd), cwd).toEqual(gitSays(cwd));
    }
  });

  it('a repository nested in another work tree is the nearer one', async () => {
    const inner = join(top, 'a', 'inner');
    git(sb.dir, 'init', '-q', '-b', 'main', inner);
    git(inner, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'inner');
    expect(plainRepositoryAbove(inner)).toEqual(gitSays(inner));
    expect(plainRepositoryAbove(inner)!.root).toBe(inner);
    rmSync(inner, { recursive: true, force: true });
  });

  it('a worktree, the inside of .git, a bare repository and a broken .git are left to git', async () => {
    const wt = join(sb.dir, 'wt');
    git(top, 'worktree', 'add', '-q', wt);
    const bare = join(sb.dir, 'bare.git');
    git(sb.dir, 'init', '-q', '--bare', bare);
    const broken = join(sb.dir, 'broken');
    mkdirSync(join(broken, '.git'), { recursive: true });
    writeFileSync(join(broken, '.git', 'HEAD'), 'ref: refs/heads/main\n'); // no objects, no refs: not a repository to git
    for (const cwd of [wt, join(top, '.git'), join(top, '.git', 'refs'), bare, broken]) {
      expect(plainRepositoryAbove(cwd), cwd).toBeUndefined();
    }
    expect(await opened(wt)).toEqual(gitSays(wt));
    expect((await opened(wt)) as { commonDir: string }).toMatchObject({ commonDir: join(top, '.git') });
    const wtLink = join(sb.dir, 'wt-link'); // and through a link to it
    symlinkSync(wt, wtLink);
    expect(await opened(wtLink)).toEqual(await opened(wt));
    for (const cwd of [join(top, '.git'), bare]) expect(await opened(cwd), cwd).toMatch(/is not inside a git repository/);
  });

  it('a .git/config that makes the repository bare ends as git says: no work tree', async () => {
    const r = join(sb.dir, 'made-bare');
    git(sb.dir, 'init', '-q', '-b', 'main', r);
    git(r, 'config', 'core.bare', 'true');
    expect(gitSays(r)).toBeUndefined();
    expect(await opened(r)).toMatch(/is not inside a git repository/);
  });
});
