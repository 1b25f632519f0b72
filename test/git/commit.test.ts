// After an event commit, the person's index and work tree follow it, so
// `git status` stays clean and their next commit does not undo ga's. Another
// git process holding index.lock at that moment (a person's git status, an
// editor's background refresh) is waited for, not given up on.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the index after an event commit', () => {
  it('waits for another git process that holds index.lock, then updates it: git status is clean', async () => {
    const repo = await initRepo(sb);
    const before = git(repo, 'rev-parse', 'HEAD');
    const lock = join(repo, '.git', 'index.lock');
    writeFileSync(lock, ''); // another git process is refreshing the index
    const file = join(sb.dir, 'p.toml');
    writeFileSync(file, PUBLISH);
    const proposing = ga(['-C', repo, 'propose', '--file', file]);
    // The lock is let go only once ga's commit has landed, so ga meets it when it updates the index.
    const released = (async () => {
      while (git(repo, 'rev-parse', 'HEAD') === before) await sleep(10);
      await sleep(200);
      rmSync(lock);
    })();
    const r = await proposing;
    await released;
    expect(r.code).toBe(0);
    const id = r.last;
    expect(git(repo, 'ls-files', '--', `proposals/pending/${id}.toml`)).toBe(`proposals/pending/${id}.toml`);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });
});
