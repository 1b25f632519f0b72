import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

describe('the governance loop', () => {
  it('proposes, waits, approves with a signed commit, and executes the hook exactly once', async () => {
    const repo = await initRepo(sb);
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    const id = p.last;
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);

    const refused = await ga(['-C', repo, 'execute', id]);
    expect(refused.code).toBe(1);

    const approved = await ga(['-C', repo, 'approve', id.slice(0, 22)]);
    expect(approved.code).toBe(0);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('-----BEGIN SSH SIGNATURE-----');

    const executed = await ga(['-C', repo, 'execute', id]);
    expect(executed.code).toBe(0);
    expect(executed.out).toContain('published: Publish the launch post');
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')).toContain(`${id}.toml`);

    const again = await ga(['-C', repo, 'execute', id]);
    expect(again.code).toBe(1);
    expect(again.out).toContain('never executed twice');
    expect(git(repo, 'status', '--porcelain')).toBe('');
    const events = git(repo, 'log', '--format=%(trailers:key=Ga-Event,valueonly)').split('\n').filter(Boolean);
    expect(events).toEqual(['proposal-executed', 'proposal-claimed', 'proposal-approved', 'proposal-submitted', 'policy-changed']);
  });
});
