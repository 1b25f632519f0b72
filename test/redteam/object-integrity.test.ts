// Class: every object ga trusts is checked against its id when read.
// git's object reader does not check content against the id, so an agent
// that rewrites a loose object (or serves one through alternates) could
// otherwise change a trusted file without changing its id.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import {
  APPROVERS,
  approvedPath,
  blobAt,
  commitGoverned,
  commitSigned,
  countingHook,
  expectFinding,
  HOOK,
  pendingPath,
  runsOf,
  submit,
  swapLooseObject,
  writeLooseObject,
} from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

/** A repository whose publish hook counts its runs, and one pending proposal. */
async function scene(): Promise<{ repo: string; id: string; counter: string }> {
  const repo = await initRepo(sb);
  const counter = join(sb.dir, 'runs');
  commitGoverned(sb, repo, { [HOOK]: countingHook(counter) }, 'a counting hook');
  const id = await submit(repo);
  return { repo, id, counter };
}

describe('class: object integrity', () => {
  it("a rewritten approvers blob (same id, mallory's key added) does not make her approval count", async () => {
    const { repo, id, counter } = await scene();
    const approvers = blobAt(repo, 'HEAD', APPROVERS);
    swapLooseObject(repo, approvers, 'blob', sb.approverLine('alice') + sb.approverLine('mallory'));
    sb.as('mallory');
    git(repo, 'mv', pendingPath(id), approvedPath(id));
    commitSigned(repo, `approve ${id}`);
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(1);
    expect(x.err).toMatch(new RegExp(`${approvers.slice(0, 12)}.*(does not match its id|corrupt)`));
    expect(runsOf(counter)).toBe(0);
    await expectFinding(repo, 'history', /does not match its id|corrupt/, '--no-cache');
  });

  it('a rewritten hook blob does not run in place of the trusted hook', async () => {
    const { repo, id, counter } = await scene();
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const hook = blobAt(repo, 'HEAD', HOOK);
    const evil = join(sb.dir, 'evil-ran');
    swapLooseObject(repo, hook, 'blob', `#!/bin/sh\ntouch "${evil}"\n`);
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(1);
    expect(x.out + x.err).toMatch(/does not match its id|corrupt/);
    expect(runsOf(counter)).toBe(0);
    expect(runsOf(evil)).toBe(0);
    expect(git(repo, 'log', '--format=%B', '-1')).not.toMatch(/proposal-claimed/);
  });

  it('a rewritten tree cannot move a change of one path onto another', async () => {
    const { repo } = await scene();
    // The root tree of HEAD, rewritten to point policies/ at a tree of mallory's making.
    const tree = git(repo, 'rev-parse', 'HEAD^{tree}');
    const raw = execFileSync('git', ['cat-file', 'tree', tree], { cwd: repo });
    const policies = git(repo, 'rev-parse', 'HEAD:policies');
    const agents = git(repo, 'rev-parse', 'HEAD:agents');
    // Same entries, but "policies" now names the agents/ tree: a different listing under the same id.
    swapLooseObject(
      repo,
      tree,
      'tree',
      Buffer.from(raw.toString('latin1').replace(Buffer.from(policies, 'hex').toString('latin1'), Buffer.from(agents, 'hex').toString('latin1')), 'latin1'),
    );
    const s = await ga(['-C', repo, 'status']);
    expect(s.code, s.out + s.err).toBe(1);
    expect(s.err).toMatch(/does not match its id|corrupt/);
  });

  it('objects served through .git/objects/info/alternates are refused', async () => {
    const { repo, id, counter } = await scene();
    const approvers = blobAt(repo, 'HEAD', APPROVERS);
    // Mallory's object store holds another body under the approvers' id; the real one is moved away.
    const elsewhere = join(sb.dir, 'objects');
    writeLooseObject(elsewhere, approvers, 'blob', sb.approverLine('alice') + sb.approverLine('mallory'));
    rmSync(join(repo, '.git/objects', approvers.slice(0, 2), approvers.slice(2)), { force: true });
    writeFileSync(join(repo, '.git/objects/info/alternates'), `${elsewhere}\n`);
    expect(git(repo, 'cat-file', 'blob', approvers)).toContain('mallory');
    sb.as('mallory');
    git(repo, 'mv', pendingPath(id), approvedPath(id));
    commitSigned(repo, `approve ${id}`);
    for (const args of [['execute', id], ['status'], ['list']]) {
      const r = await ga(['-C', repo, ...args]);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.err).toMatch(/alternates/);
    }
    expect(runsOf(counter)).toBe(0);
    await expectFinding(repo, 'history', /alternates/);
  });
});
