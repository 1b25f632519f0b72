// ga agent new: an agent's governed files in one commit signed by the person,
// trusted by the replay, nothing overwritten; the command template runs as
// written (it proposes, and reports its spend on fd 3).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRepo } from '../../src/git/repo.js';
import { loadGovernance } from '../../src/history/replay.js';
import { ga, git, initRepo, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
let repo: string;
beforeEach(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
});
afterEach(() => {
  delete process.env.GA_AGENT;
  sb.cleanup();
});

const FILES = (id: string) => [
  `agents/${id}/CLAUDE.md`,
  `agents/${id}/agent.toml`,
  `agents/${id}/hooks/publish_content.sh`,
  `agents/${id}/tasks/smoke.md`,
  `agents/${id}/tool_allowlist.toml`,
];

describe('ga agent new', () => {
  it("writes a claude agent's five governed files in one commit signed by the person, which the replay trusts", async () => {
    const r = await ga(['-C', repo, 'agent', 'new', 'writer']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('added agent writer (adapter claude)');
    expect(r.out).toContain('ANTHROPIC_API_KEY');
    expect(
      git(repo, 'show', '--name-only', '--format=', 'HEAD')
        .split('\n')
        .filter((p) => !p.startsWith('audit/')),
    ).toEqual(FILES('writer'));
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'ls-tree', 'HEAD', 'agents/writer/hooks/publish_content.sh').split(' ')[0]).toBe('100755');
    const gov = await loadGovernance(await openRepo(repo));
    for (const f of FILES('writer')) expect(gov.trusted.has(f), f).toBe(true);
    expect(gov.untrusted).toEqual([]);
    expect(readFileSync(join(repo, 'agents/writer/agent.toml'), 'utf8')).toMatch(/^adapter = "claude"$/m);
    expect(readFileSync(join(repo, 'agents/writer/tool_allowlist.toml'), 'utf8')).toMatch(
      /^allowed_tools = \["Read", "Glob", "Grep", "Bash\(ga propose:\*\)"\]$/m,
    );
  });

  it('a command agent from the template runs: it proposes, and its spend reported on fd 3 is charged', async () => {
    expect((await ga(['-C', repo, 'agent', 'new', 'poster', '--adapter', 'command'])).code).toBe(0);
    const r = await ga(['-C', repo, '--json', 'run', 'poster', 'smoke']);
    expect(r.code, r.err).toBe(0);
    const rec = JSON.parse(r.out) as Record<string, unknown>;
    expect(rec).toMatchObject({ adapter: 'command', outcome: 'success', source: 'reported', usd: 0.001 });
    const list = JSON.parse((await ga(['-C', repo, '--json', 'list'])).out) as { agent: string; title: string; state: string }[];
    expect(list).toContainEqual(expect.objectContaining({ agent: 'poster', title: 'Publish the launch post', state: 'pending' }));
  });

  it('overwrites nothing: an agent that exists, or a file already in the work tree, refuses the whole scaffold (exit 2)', async () => {
    expect((await ga(['-C', repo, 'agent', 'new', 'writer'])).code).toBe(0);
    const head = git(repo, 'rev-parse', 'HEAD');
    const again = await ga(['-C', repo, 'agent', 'new', 'writer', '--adapter', 'noop']);
    expect(again.code).toBe(2);
    expect(again.err.trim().split('\n')).toHaveLength(1);
    expect(again.err).toMatch(/agent writer already has agents\/writer\/agent\.toml.*nothing was written/);
    write(repo, 'agents/other/CLAUDE.md', 'my own prompt\n');
    const other = await ga(['-C', repo, 'agent', 'new', 'other']);
    expect(other.code).toBe(2);
    expect(other.err).toContain('agents/other/CLAUDE.md');
    expect(readFileSync(join(repo, 'agents/other/CLAUDE.md'), 'utf8')).toBe('my own prompt\n');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('refuses a bad id (exit 2), and inside an agent process (exit 1): an agent never signs', async () => {
    const bad = await ga(['-C', repo, 'agent', 'new', 'Bad Id']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/agent id "Bad Id" is not valid/);
    process.env.GA_AGENT = 'noop';
    const inside = await ga(['-C', repo, 'agent', 'new', 'sneaky']);
    expect(inside.code).toBe(1);
    expect(inside.err).toMatch(/GA_AGENT is set/);
    expect(() => execFileSync('git', ['-C', repo, 'cat-file', '-e', 'HEAD:agents/sneaky/agent.toml'], { stdio: 'ignore' })).toThrow();
  });
});
