// Names and values at the command line: bad ids, names and files are
// refused with exit 2 and one stderr line; governance refusals exit 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, ga, gaProcess, git, initRepo, propose, PUBLISH, sandbox, write, type GaResult, type Sandbox } from './helpers/fixture.js';

let sb: Sandbox;
let repo: string;
beforeAll(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
});
afterAll(() => sb.cleanup());
afterEach(() => {
  delete process.env.GA_AGENT;
});

/** Exit `code`, and exactly one stderr line that starts with "ga: " and carries no stack trace. */
function oneLine(r: GaResult, code: number): string {
  expect(r.code).toBe(code);
  const lines = r.err.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ga: \S/);
  expect(r.err).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(r.err).not.toContain('internal error');
  return lines[0]!;
}

function toFile(name: string, text: string): string {
  const file = join(sb.dir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs `f` and checks that it made no commit and left the tree clean. */
async function noChange(f: () => Promise<GaResult>): Promise<GaResult> {
  const head = git(repo, 'rev-parse', 'HEAD');
  const r = await f();
  expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  expect(git(repo, 'status', '--porcelain', '--', 'proposals', 'audit')).toBe('');
  return r;
}

describe('bad proposal ids', () => {
  it('ga show ../../etc: exit 2, one line', async () => {
    const line = oneLine(await ga(['-C', repo, 'show', '../../etc']), 2);
    expect(line).toContain('proposal id "../../etc" is not valid');
  });

  it('ga show ../../etc through the built binary: exit status 2, one stderr line', async () => {
    const r = await gaProcess(['-C', repo, 'show', '../../etc']);
    oneLine(r, 2);
    expect(r.out).toBe('');
  });

  it.each([['x y'], ['../x'], ['ABC'], ['.hidden'], ['a_b'], ['a'.repeat(81)]])("ga approve '%s': exit 2, one line, nothing signed", async (id) => {
    const r = await noChange(() => ga(['-C', repo, 'approve', id]));
    expect(oneLine(r, 2)).toContain(`proposal id "${id}" is not valid`);
  });

  it('ga reject with a bad id: exit 2', async () => {
    expect(oneLine(await noChange(() => ga(['-C', repo, 'reject', 'x y', '--reason', 'no'])), 2)).toContain('proposal id "x y" is not valid');
  });
});

describe('bad names in a submission', () => {
  it('agent "Bad Agent" (flags): exit 2, naming the field', async () => {
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'Bad Agent', '--type', 'draft_content', '--title', 't'])), 2);
    expect(line).toContain('agent: expected an agent id');
  });

  it('agent "Bad Agent" (file): exit 2, naming the file, line and field', async () => {
    const file = toFile('bad-agent.toml', PUBLISH.replace('agent = "noop"', 'agent = "Bad Agent"'));
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', file])), 2);
    expect(line).toContain(`${file}:1: agent: `);
  });

  it('action_type "../x": exit 2, nothing written anywhere', async () => {
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'noop', '--type', '../x', '--title', 't'])), 2);
    expect(line).toContain('action_type: expected an action type');
    const file = toFile('bad-type.toml', PUBLISH.replace('"publish_content"', '"../x"'));
    expect(oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', file])), 2)).toContain(`${file}:2: action_type: `);
  });

  it('an agent with no trusted agents/<id>/agent.toml: exit 2', async () => {
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'ghost', '--type', 'draft_content', '--title', 't'])), 2);
    expect(line).toContain('agents/ghost/agent.toml');
  });

  it('an agent whose agent.toml is only in the working tree, or only in an unsigned commit: exit 2', async () => {
    write(repo, 'agents/ghost/agent.toml', 'adapter = "noop"\n');
    oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'ghost', '--type', 'draft_content', '--title', 't'])), 2);
    git(repo, 'add', 'agents/ghost/agent.toml');
    git(repo, 'commit', '-q', '--no-gpg-sign', '-m', 'add ghost (unsigned)');
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'ghost', '--type', 'draft_content', '--title', 't'])), 2);
    expect(line).toContain('agents/ghost/agent.toml');
  });

  it('malformed TOML in --file: exit 2, naming file:line:col', async () => {
    const file = toFile('broken.toml', 'agent = "noop"\naction_type = "publish_content"\ntitle = = "x"\n[payload]\n');
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', file])), 2);
    expect(line).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: `));
  });

  it('a submitted id or created_at: exit 2', async () => {
    const withId = toFile('with-id.toml', `id = "20261124-100000-000-abcde"\n${PUBLISH}`);
    expect(oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', withId])), 2)).toMatch(/id: .*assigned by ga/);
    const withCreated = toFile('with-created.toml', `created_at = 2026-11-24T10:00:00Z\n${PUBLISH}`);
    expect(oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', withCreated])), 2)).toMatch(/created_at: .*assigned by ga/);
  });

  it('a --file that does not exist: exit 2', async () => {
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', join(sb.dir, 'nope.toml')])), 2);
    expect(line).toContain('nope.toml');
  });

  it('--payload that is not JSON: exit 2', async () => {
    const line = oneLine(
      await noChange(() => ga(['-C', repo, 'propose', '--agent', 'noop', '--type', 'draft_content', '--title', 't', '--payload', '{url: nope'])),
      2,
    );
    expect(line).toMatch(/--payload/);
  });

  it('--payload that is JSON but not an object: exit 2', async () => {
    expect(
      oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'noop', '--type', 'draft_content', '--title', 't', '--payload', '42'])), 2),
    ).toMatch(/payload/);
  });

  it('a valid flag submission works (control for the cases above)', async () => {
    const r = await ga(['-C', repo, 'propose', '--agent', 'noop', '--type', 'draft_content', '--title', 't', '--payload', '{"a": 1}']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${r.last}.toml`);
  });
});

describe('inside an agent process (GA_AGENT set)', () => {
  it('proposing as another agent: exit 1, nothing stored', async () => {
    process.env.GA_AGENT = 'noop';
    const line = oneLine(await noChange(() => ga(['-C', repo, 'propose', '--agent', 'ghost', '--type', 'draft_content', '--title', 't'])), 1);
    expect(line).toMatch(/noop may only propose as itself/);
    const file = toFile('as-other.toml', PUBLISH.replace('agent = "noop"', 'agent = "other"'));
    oneLine(await noChange(() => ga(['-C', repo, 'propose', '--file', file])), 1);
  });

  it('proposing as itself works and is recorded as the agent', async () => {
    process.env.GA_AGENT = 'noop';
    const r = await ga(['-C', repo, 'propose', '--type', 'publish_content', '--title', 'as itself']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(git(repo, 'log', '-1', '--format=%B')).toContain('Ga-Actor: agent:noop');
  });

  it('ga approve and ga reject refuse: exit 1, nothing signed, the proposal stays pending', async () => {
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    process.env.GA_AGENT = 'noop';
    const line = oneLine(await noChange(() => ga(['-C', repo, 'approve', p.last])), 1);
    expect(line).toMatch(/GA_AGENT/);
    oneLine(await noChange(() => ga(['-C', repo, 'reject', p.last, '--reason', 'no'])), 1);
    delete process.env.GA_AGENT;
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${p.last}.toml`);
  });
});

describe('proposal id prefixes', () => {
  it('a prefix that matches several proposals: exit 2; a unique one works', async () => {
    const clock = fixedClock(new Date(Math.floor(Date.now() / 1000) * 1000).toISOString());
    const a = await propose(repo, PUBLISH, clock);
    const b = await propose(repo, PUBLISH, clock);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    let common = 0;
    while (a.last[common] === b.last[common]) common++;
    expect(common).toBeGreaterThan(8);
    const shared = a.last.slice(0, common);

    const show = oneLine(await ga(['-C', repo, 'show', shared]), 2);
    expect(show).toContain(`"${shared}" matches 2 proposals`);
    oneLine(await noChange(() => ga(['-C', repo, 'approve', shared])), 2);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${a.last}.toml`);

    const unique = await ga(['-C', repo, 'show', a.last.slice(0, common + 1)]);
    expect(unique.code).toBe(0);
    expect(unique.out).toContain(a.last);
    expect(unique.out).not.toContain(b.last);
  });

  it('a prefix that matches nothing: exit 2', async () => {
    expect(oneLine(await ga(['-C', repo, 'show', '19990101']), 2)).toContain('no proposal id starts with "19990101"');
  });
});
