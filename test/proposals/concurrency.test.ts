// Concurrent writers (DESIGN.md "Commits and the audit trail"): every event
// commit is made under a repository-wide lock, so twenty `ga propose`
// processes at once lose nothing and corrupt nothing.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditRecords, gaProcess, git, initRepo, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const N = 20;
const auditLines = (repo: string) => auditRecords(repo, 'noop').map((r) => JSON.stringify(r));

describe('concurrent ga propose', () => {
  it(`${N} processes at once: all succeed, ${N} ids, ${N} commits of one proposal each, fsck clean`, async () => {
    const repo = await initRepo(sb);
    const before = git(repo, 'rev-parse', 'HEAD');
    const auditBefore = auditLines(repo);
    const files = Array.from({ length: N }, (_, i) => {
      const f = join(sb.dir, `proposal-${i}.toml`);
      writeFileSync(f, PUBLISH.replace('Publish the launch post', `Publish post number ${i}`).replace('/launch', `/post-${i}`));
      return f;
    });

    const results = await Promise.all(files.map((f) => gaProcess(['-C', repo, 'propose', '--file', f])));
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    }
    const ids = results.map((r) => r.last);
    expect(new Set(ids).size).toBe(N);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]{0,79}$/);

    // N new commits on a straight line, each holding exactly one proposal file.
    const commits = git(repo, 'rev-list', '--first-parent', `${before}..HEAD`).split('\n').filter(Boolean);
    expect(commits).toHaveLength(N);
    expect(git(repo, 'rev-list', '--count', `${before}..HEAD`)).toBe(String(N));
    const seen: string[] = [];
    for (const c of commits) {
      const paths = git(repo, 'show', '--name-only', '--format=', c).split('\n').filter(Boolean);
      const proposals = paths.filter((p) => p.startsWith('proposals/'));
      expect(proposals).toHaveLength(1);
      expect(proposals[0]).toMatch(/^proposals\/pending\/[a-z0-9-]+\.toml$/);
      expect(paths.filter((p) => !p.startsWith('proposals/'))).toEqual([expect.stringMatching(/^audit\/noop\/.+\.json$/)]);
      expect(git(repo, 'log', '-1', '--format=%B', c)).toContain('Ga-Event: proposal-submitted');
      seen.push(proposals[0]!.slice('proposals/pending/'.length, -'.toml'.length));
    }
    expect(seen.sort()).toEqual([...ids].sort());
    const pending = git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/').split('\n');
    for (const id of ids) expect(pending).toContain(`proposals/pending/${id}.toml`);

    // Every proposal kept its own content.
    for (let i = 0; i < N; i++) {
      const stored = git(repo, 'show', `HEAD:proposals/pending/${ids[i]}.toml`);
      expect(stored).toContain(`Publish post number ${i}`);
    }

    const fsck = spawnSync('git', ['fsck', '--strict'], { cwd: repo, encoding: 'utf8' });
    expect(fsck.status).toBe(0);
    const problems = `${fsck.stdout}\n${fsck.stderr}`.split('\n').filter((l) => l.trim() && !l.startsWith('dangling') && !/^Checking /.test(l));
    expect(problems).toEqual([]);
    expect(git(repo, 'status', '--porcelain')).toBe('');

    // The audit trail only grew: the old records kept, then one file per proposal.
    const auditAfter = auditLines(repo);
    expect(auditAfter).toHaveLength(auditBefore.length + N);
    for (const r of auditBefore) expect(auditAfter).toContain(r);
    const added = auditAfter.filter((r) => !auditBefore.includes(r)).map((l) => JSON.parse(l));
    expect(added.every((e) => e.event === 'proposal-submitted')).toBe(true);
    expect(added.map((e) => e.proposal).sort()).toEqual([...ids].sort());
    expect(git(repo, 'status', '--porcelain', '--', 'audit')).toBe('');
  }, 180_000);
});
