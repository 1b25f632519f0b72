// Class: a person signs exactly the governed files they mean. An agent can
// stage anything in the index (git update-index), so ga status reports
// staged as well as unstaged changes to governed files, and `ga commit
// <paths>` shows the diff of just those paths and signs just those.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, expectClean, HOOK } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

/** Mallory stages her approvers line and hook without touching the work tree. */
function poisonIndex(repo: string): void {
  const text = readFileSync(join(repo, APPROVERS), 'utf8') + sb.approverLine('mallory');
  writeFileSync(join(sb.dir, 'approvers'), text);
  writeFileSync(join(sb.dir, 'hook'), '#!/bin/sh\necho EVIL\n');
  const a = git(repo, 'hash-object', '-w', join(sb.dir, 'approvers'));
  const h = git(repo, 'hash-object', '-w', join(sb.dir, 'hook'));
  git(repo, 'update-index', '--cacheinfo', `100644,${a},${APPROVERS}`);
  git(repo, 'update-index', '--cacheinfo', `100755,${h},${HOOK}`);
}

describe('class: staged governed files', () => {
  it('ga status names governed files staged in the index that differ from their trusted version', async () => {
    const repo = await initRepo(sb);
    poisonIndex(repo);
    expect(readFileSync(join(repo, APPROVERS), 'utf8')).not.toContain('mallory'); // the work tree is clean
    const s = await ga(['-C', repo, 'status']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(new RegExp(`${APPROVERS}.*staged`));
    expect(s.out).toMatch(new RegExp(`${HOOK.replace(/\./g, '\\.')}.*staged`));
    const j = await ga(['-C', repo, '--json', 'status']);
    const untrusted = (JSON.parse(j.out) as { untrusted: { path: string; kind: string }[] }).untrusted;
    expect(
      untrusted
        .filter((u) => u.kind === 'staged')
        .map((u) => u.path)
        .sort(),
    ).toEqual([HOOK, APPROVERS].sort());
  });

  it('ga commit <paths> signs exactly the named governed files, leaving what else is staged alone', async () => {
    const repo = await initRepo(sb);
    poisonIndex(repo);
    const toml = join(repo, 'agents/noop/agent.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('timeout = "30m"', 'timeout = "20m"'));
    sb.as('alice');
    const c = await ga(['-C', repo, 'commit', 'agents/noop/agent.toml', '--message', 'shorter timeout', '--yes']);
    expect(c.code, c.out + c.err).toBe(0);
    expect(c.out).toContain('-timeout = "30m"');
    expect(c.out).toContain('+timeout = "20m"');
    const changed = git(repo, 'show', '--name-only', '--format=', 'HEAD')
      .split('\n')
      .filter((p) => !p.startsWith('audit/'));
    expect(changed).toEqual(['agents/noop/agent.toml']);
    expect(git(repo, 'show', `HEAD:${APPROVERS}`)).not.toContain('mallory');
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    // Mallory's staging is still there, still reported, never trusted.
    expect(git(repo, 'diff', '--cached', '--name-only')).toContain(APPROVERS);
    await expectClean(repo);
    const list = await ga(['-C', repo, '--json', 'status']);
    expect(list.out).toContain('staged');
  });

  it('ga commit refuses paths that are not governed, and needs --yes when not asked on a terminal', async () => {
    const repo = await initRepo(sb);
    sb.as('alice');
    const notGoverned = await ga(['-C', repo, 'commit', 'ledger/noop.jsonl', '--yes']);
    expect(notGoverned.code).toBe(2);
    expect(notGoverned.err).toMatch(/not a governed file/);
    const toml = join(repo, 'agents/noop/agent.toml');
    writeFileSync(toml, readFileSync(toml, 'utf8').replace('timeout = "30m"', 'timeout = "20m"'));
    const head = git(repo, 'rev-parse', 'HEAD');
    const noYes = await ga(['-C', repo, 'commit', 'agents/noop/agent.toml', '-m', 'x']);
    expect(noYes.code).toBe(2);
    expect(noYes.err).toMatch(/--yes/);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  });
});
