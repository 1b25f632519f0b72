// Class: only well-formed ids of validly submitted proposals can be named by
// a prefix or decided. Files an agent commits under proposals/ by hand, with
// names that are prefixes of a real id, are strays: reported, never
// approvable. A proposal that is not a regular, readable file is never signed.
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { commitUnsigned, expectFinding, pendingPath, submit, verify } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

const evil = (id: string) => `id = "${id}"
agent = "noop"
action_type = "publish_content"
title = "Publish the launch post"
rationale = ""
expected_outcome = ""
reversible = true
requires_approval = true
created_at = 2026-11-29T05:06:00Z
expires_at = 2099-01-01T00:00:00Z

[expected_cost]
tokens = 0
usd = 0.0

[payload]
url = "https://evil.example/steal"
`;

describe('class: proposal ids', () => {
  it('pending files named after prefixes of a real id are strays: the prefix approves the real proposal', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    const prefixes = [8, 13, 15, 17, 19].map((n) => id.slice(0, n));
    for (const p of [...prefixes, 'zz-stray']) write(repo, pendingPath(p), evil(p));
    git(repo, 'add', 'proposals');
    commitUnsigned(repo, 'squat');
    sb.as('alice');
    for (const p of prefixes) {
      const refused = await ga(['-C', repo, 'approve', p, '--reason', 'typed a prefix']);
      // Either the prefix names the one real proposal, or the person is told which ids there are.
      if (refused.code === 0) {
        expect(refused.out).toContain(id);
        break;
      }
      expect(refused.code).not.toBe(0);
      expect(refused.err).not.toMatch(/approved/);
    }
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${id}.toml`);
    expect(git(repo, 'show', `HEAD:proposals/approved/${id}.toml`)).toContain('https://example.com/launch');
    for (const p of prefixes) expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).not.toContain(`${p}.toml`);
    // The exact name of a stray is never approvable either.
    const stray = await ga(['-C', repo, 'approve', 'zz-stray']);
    expect(stray.code).not.toBe(0);
    expect(stray.err).toMatch(/stray|not a (validly submitted|well-formed)/);
    await expectFinding(repo, 'proposal-file', new RegExp(prefixes[0]!));
    const list = await ga(['-C', repo, 'list']);
    expect(list.out).toMatch(/stray/);
  });

  it('ga approve refuses a pending proposal that is a symlink or unparseable, and signs nothing', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    const target = join(sb.dir, 'target.toml');
    writeFileSync(target, PUBLISH);
    const linked = `${id.slice(0, -5)}zzzzz`;
    symlinkSync(target, join(repo, pendingPath(linked)));
    write(repo, pendingPath(`${id.slice(0, -5)}yyyyy`), 'this is = = not toml');
    git(repo, 'add', 'proposals');
    commitUnsigned(repo, 'odd files');
    sb.as('alice');
    const head = git(repo, 'rev-parse', 'HEAD');
    for (const bad of [linked, `${id.slice(0, -5)}yyyyy`]) {
      const r = await ga(['-C', repo, 'approve', bad]);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('proposals already in the trust root are reported with why, never "undefined"', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    // A root after ga init's own commit can no longer be pinned (trust-pin.test.ts); given on the command line, it can.
    const v = await verify(repo, '--trust', git(repo, 'rev-parse', 'HEAD'));
    expect(JSON.stringify(v.findings)).not.toContain('undefined');
  });
});
