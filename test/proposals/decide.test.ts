import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, ga, git, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

const trailer = (repo: string, key: string) => git(repo, 'log', '-1', `--format=%(trailers:key=${key},valueonly)`);

describe('ga reject', () => {
  it('moves the file to rejected/ in a signed commit carrying the reason, and execution is refused', async () => {
    const repo = await initRepo(sb);
    const id = (await propose(repo, PUBLISH)).last;
    const missing = await ga(['-C', repo, 'reject', id]);
    expect(missing.code).toBe(2);
    const r = await ga(['-C', repo, 'reject', id, '--reason', 'wrong audience']);
    expect(r.code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/rejected/')).toContain(`${id}.toml`);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    expect(trailer(repo, 'Ga-Reason')).toBe('wrong audience');
    expect(trailer(repo, 'Ga-Event')).toBe('proposal-rejected');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(1);
    expect((await ga(['-C', repo, 'execute', id])).code).toBe(1);
    const shown = JSON.parse((await ga(['-C', repo, 'show', id, '--json'])).out);
    expect(shown.state).toBe('rejected');
    expect(shown.history.map((s: { kind: string }) => s.kind)).toEqual(['submitted', 'rejected']);
  });
});

describe('ga expire', () => {
  it('moves only proposals past expires_at to expired/, in one commit, and they can no longer be approved', async () => {
    const repo = await initRepo(sb);
    const clock = fixedClock('2026-11-24T10:00:00Z');
    const early = (await propose(repo, PUBLISH + 'x = 1\n', clock)).last;
    clock.set('2026-11-24T20:00:00Z');
    const late = (await propose(repo, PUBLISH + 'x = 2\n', clock)).last;
    clock.set('2026-11-25T12:00:00Z'); // past the first's 24 h, not the second's
    const before = git(repo, 'rev-list', '--count', 'HEAD');
    const r = await ga(['-C', repo, 'expire', '--json'], clock);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).expired).toEqual([early]);
    expect(Number(git(repo, 'rev-list', '--count', 'HEAD'))).toBe(Number(before) + 1);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/expired/')).toContain(`${early}.toml`);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${late}.toml`);
    expect((await ga(['-C', repo, 'approve', early], clock)).code).toBe(1);
    expect((await ga(['-C', repo, 'expire'], clock)).out).toContain('nothing to expire');
  });
});

describe('ga list and ga show', () => {
  it('lists proposals by state and agent, as text and JSON', async () => {
    const repo = await initRepo(sb);
    const a = (await propose(repo, PUBLISH)).last;
    const b = (await propose(repo, PUBLISH.replace('Publish the launch post', 'Second post'))).last;
    await ga(['-C', repo, 'approve', a]);
    const pending = JSON.parse((await ga(['-C', repo, 'list', '--state', 'pending', '--json'])).out);
    expect(pending.map((p: { id: string }) => p.id)).toEqual([b]);
    const all = await ga(['-C', repo, 'list']);
    expect(all.out).toContain(a);
    expect(all.out).toContain('Second post');
    expect(JSON.parse((await ga(['-C', repo, 'list', '--agent', 'other', '--json'])).out)).toEqual([]);
    const shown = await ga(['-C', repo, 'show', a]);
    expect(shown.out).toMatch(/approval: valid \(approved by alice@example\.com\)/);
    expect(shown.out).toContain('submitted');
  });
});
