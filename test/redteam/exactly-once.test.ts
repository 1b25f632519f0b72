// Class: exactly once. A hook runs at most once per proposal, whatever an
// agent does to the history (a reset that drops the claim), to the runtime
// files (a lock that vanishes mid-hook), or to other refs (forged outcomes on
// a tag or a side branch): only the governed branch's history counts, every
// decision that lets a hook run checks that HEAD contains everything this
// clone has seen, and a live claim is never declared dead.
import { join } from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventCommits, ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import {
  background,
  blobAt,
  commitGoverned,
  commitUnsigned,
  countingHook,
  expectFinding,
  HOOK,
  pendingPath,
  runsOf,
  sleep,
  submit,
  until,
} from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

async function scene(hook?: string): Promise<{ repo: string; id: string; counter: string }> {
  const repo = await initRepo(sb);
  const counter = join(sb.dir, 'runs');
  commitGoverned(sb, repo, { [HOOK]: hook ?? countingHook(counter) }, 'a counting hook');
  const id = await submit(repo);
  return { repo, id, counter };
}

describe('class: exactly once', () => {
  it('a git reset that drops the claim and outcome does not let the hook run again', async () => {
    const { repo, id, counter } = await scene();
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const approval = git(repo, 'rev-parse', 'HEAD');
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(0);
    expect(runsOf(counter)).toBe(1);
    git(repo, 'reset', '-q', '--hard', approval);
    const again = await ga(['-C', repo, 'execute', id]);
    expect(again.code, again.out + again.err).toBe(1);
    expect(again.out + again.err).toMatch(/history was reset or rewritten|no longer contains/);
    expect(runsOf(counter)).toBe(1);
    const all = await ga(['-C', repo, 'execute', '--all']);
    expect(all.code).toBe(1);
    expect(runsOf(counter)).toBe(1);
    await expectFinding(repo, 'history-rewritten');
  });

  it('a running ga execute --watch does not re-run a hook after the claim is reset away', async () => {
    const { repo, id, counter } = await scene();
    const watch = background(['-C', repo, 'execute', '--watch']);
    try {
      await until(() => /executing approvals/.test(watch.out()), 10_000, 'the watcher to start');
      sb.as('alice');
      expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
      const approval = git(repo, 'rev-parse', 'HEAD');
      await until(() => runsOf(counter) === 1 && eventCommits(repo, 'proposal-executed', id).length === 1, 10_000, 'the hook to run once');
      // The watcher updates the index right after its commit: a person's reset that meets its index.lock is tried again, as a person would.
      await until(
        () => {
          try {
            git(repo, 'reset', '-q', '--hard', approval);
            return true;
          } catch (e) {
            if (/index\.lock/.test(String(e))) return false;
            throw e;
          }
        },
        10_000,
        'the reset',
      );
      await sleep(2500);
      expect(runsOf(counter)).toBe(1);
      expect(watch.child.exitCode).toBe(null); // it refuses and keeps watching
    } finally {
      await watch.stop();
    }
  });

  it('a lock deleted during a slow hook does not let a second executor fail the live claim', async () => {
    const counter = join(sb.dir, 'runs');
    const { repo, id } = await scene(`#!/bin/sh\nsleep 3\necho ran >> "${counter}"\necho "slow hook done"\n`);
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const first = background(['-C', repo, 'execute', id]);
    await until(() => eventCommits(repo, 'proposal-claimed', id).length === 1, 10_000, 'the claim');
    rmSync(join(repo, '.ga/exec'), { recursive: true, force: true });
    const second = await ga(['-C', repo, 'execute', id]);
    expect(second.code, second.out + second.err).toBe(1);
    expect(second.out + second.err).toMatch(/claimed .*(lease|running|live)/);
    expect(await first.exited, first.out() + first.err()).toBe(0);
    expect(eventCommits(repo, 'proposal-failed', id), git(repo, 'log', '-3', '--format=%B')).toEqual([]);
    expect(runsOf(counter)).toBe(1);
    expect(eventCommits(repo, 'proposal-executed', id)).toHaveLength(1);
    expect(git(repo, 'log', '-1', '--format=%B')).toContain('slow hook done');
  });

  it('forged outcomes and claims on a tag or a side ref neither block nor fail an approved proposal', async () => {
    const { repo, id, counter } = await scene();
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const forge = (event: string) =>
      git(
        repo,
        'commit-tree',
        'HEAD^{tree}',
        '-p',
        'HEAD',
        '-m',
        `forged\n\nGa-Event: ${event}\nGa-Proposal: ${id}\nGa-Agent: noop\nGa-Actor: executor\nGa-Outcome: success`,
      );
    git(repo, 'tag', 'fake-outcome', forge('proposal-executed'));
    git(repo, 'update-ref', 'refs/heads/side', forge('proposal-claimed'));
    git(repo, 'update-ref', 'refs/notes/x', forge('proposal-failed'));
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(0);
    expect(runsOf(counter)).toBe(1);
  });

  it('ga verify reports a claim that no executor could have made (a proposal that was never approved)', async () => {
    const { repo, id } = await scene();
    writeFileSync(join(sb.dir, 'msg'), `claim ${id}\n\nGa-Event: proposal-claimed\nGa-Proposal: ${id}\nGa-Agent: noop\nGa-Actor: executor\n`);
    git(repo, 'commit', '-q', '--allow-empty', '-F', join(sb.dir, 'msg'));
    await expectFinding(repo, 'execution', new RegExp(`${id}.*not (validly )?approved`));
    // and it did not make the pending proposal undecidable
    expect(blobAt(repo, 'HEAD', pendingPath(id))).toMatch(/^[0-9a-f]{40}$/);
    commitUnsigned(repo, 'noop', '--allow-empty');
  });
});
