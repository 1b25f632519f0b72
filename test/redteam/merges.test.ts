// Class: a merge is judged by what it brings in and by what it adds of its
// own (DESIGN "Merges"). An unsigned `git merge -s ours` whose first parent
// predates a pause and some ledger lines adds of its own the removal of both:
// that counts for nothing, so the pause and the spend still count, and
// ga verify reports the merge.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendCharge } from '../../src/ledger/ledger.js';
import { openRepo } from '../../src/git/repo.js';
import { fixedClock, ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { commitGoverned, expectFinding } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

const WORKER = `adapter = "command"
command = ["sh", "-c", "echo working"]
timeout = "30s"
[budget]
usd = 1.0
tokens = 1000000
window = "day"
warn_at = 0.8
max_run_usd = 0.3
`;

/** Two committed charges of $0.40 for worker, as the runner writes them. */
async function charge(repo: string, clock: ReturnType<typeof fixedClock>): Promise<void> {
  const r = await openRepo(repo);
  for (const run of ['run-1', 'run-2']) {
    await appendCharge(r, 'worker', { run, input_tokens: 10, output_tokens: 10, usd: 0.4, source: 'reported' }, { window: 'day', clock });
  }
  git(repo, 'add', 'ledger/worker.jsonl');
  git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '-m', 'charge worker');
}

describe('class: merges', () => {
  it('an unsigned -s ours merge that drops a pause and ledger lines lifts neither', async () => {
    const clock = fixedClock(new Date().toISOString());
    const repo = await initRepo(sb);
    commitGoverned(
      sb,
      repo,
      { 'agents/worker/agent.toml': WORKER, 'agents/worker/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n', 'agents/worker/tasks/smoke.md': 'work\n' },
      'add worker',
    );
    const fork = git(repo, 'rev-parse', 'HEAD');
    await charge(repo, clock);
    expect((await ga(['-C', repo, 'pause', 'worker', '--reason', 'checking its spend'])).code).toBe(0);
    // The agent: a side branch at the fork, "merged" with main keeping only its own tree, then fast-forwarded.
    git(repo, 'checkout', '-q', '-b', 'side', fork);
    git(repo, '-c', 'commit.gpgSign=false', 'merge', '-q', '-s', 'ours', 'main', '-m', 'merge main');
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'merge', '-q', '--ff-only', 'side');
    expect(git(repo, 'ls-files', 'agents/worker/PAUSED')).toBe('');
    expect(git(repo, 'ls-files', 'ledger/worker.jsonl')).toBe('');
    const merge = git(repo, 'rev-parse', 'HEAD');

    const r = await ga(['-C', repo, 'run', 'worker']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toMatch(/paused/);
    const board = await ga(['-C', repo, '--json', 'scoreboard']);
    const row = (JSON.parse(board.out) as { agent: string; budget: { usd: number } }[]).find((x) => x.agent === 'worker')!;
    expect(row.budget.usd).toBeCloseTo(0.8, 6);
    const hits = await expectFinding(repo, 'merge', /PAUSED|ledger/);
    expect(hits.map((h) => h.commit)).toContain(merge);
  });

  it('a clean merge made by someone else, unsigned, is accepted: what it brings in counts', async () => {
    const repo = await initRepo(sb);
    const base = git(repo, 'rev-parse', 'HEAD');
    commitGoverned(sb, repo, { 'agents/noop/tasks/smoke.md': 'a better task\n' }, 'reword the task');
    git(repo, 'checkout', '-q', '-b', 'side', base);
    const propose = await ga(['-C', repo, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', 'side work', '--payload', '{}']);
    expect(propose.code, propose.err).toBe(0);
    git(repo, 'checkout', '-q', 'main');
    git(
      repo,
      '-c',
      'commit.gpgSign=false',
      '-c',
      'user.name=someone',
      '-c',
      'user.email=someone@example.com',
      'merge',
      '-q',
      '--no-ff',
      'side',
      '-m',
      'merge side',
    );
    expect(git(repo, 'rev-list', '--parents', '-1', 'HEAD').split(' ')).toHaveLength(3);
    const v = await ga(['-C', repo, '--json', 'verify']);
    expect(JSON.parse(v.out).findings, v.out).toEqual([]);
    expect(v.code).toBe(0);
    expect((await ga(['-C', repo, 'list', '--state', 'pending'])).out).toContain('side work');
    const s = await ga(['-C', repo, '--json', 'status']);
    expect(JSON.parse(s.out).untrusted).toEqual([]);
  });

  it('an unsigned octopus -s ours merge lifts neither the pause nor the spend', async () => {
    const clock = fixedClock(new Date().toISOString());
    const repo = await initRepo(sb);
    commitGoverned(
      sb,
      repo,
      { 'agents/worker/agent.toml': WORKER, 'agents/worker/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n', 'agents/worker/tasks/smoke.md': 'work\n' },
      'add worker',
    );
    const fork = git(repo, 'rev-parse', 'HEAD');
    await charge(repo, clock);
    expect((await ga(['-C', repo, 'pause', 'worker', '--reason', 'checking its spend'])).code).toBe(0);
    git(repo, 'checkout', '-q', '-b', 'other', fork);
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', 'other work');
    git(repo, 'checkout', '-q', '-b', 'side', fork);
    git(repo, '-c', 'commit.gpgSign=false', 'merge', '-q', '-s', 'ours', 'main', 'other', '-m', 'octopus');
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'merge', '-q', '--ff-only', 'side');
    expect(git(repo, 'rev-list', '--parents', '-1', 'HEAD').split(' ')).toHaveLength(4);
    expect(git(repo, 'ls-files', 'agents/worker/PAUSED')).toBe('');
    const octopus = git(repo, 'rev-parse', 'HEAD');

    const r = await ga(['-C', repo, 'run', 'worker']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toMatch(/paused/);
    const board = await ga(['-C', repo, '--json', 'scoreboard']);
    const row = (JSON.parse(board.out) as { agent: string; budget: { usd: number } }[]).find((x) => x.agent === 'worker')!;
    expect(row.budget.usd).toBeCloseTo(0.8, 6);
    const hits = await expectFinding(repo, 'merge', /PAUSED|ledger/);
    expect(hits.map((h) => h.commit)).toContain(octopus);
  });

  it('a clean octopus merge made by someone else, unsigned: what each branch brings counts, and verify names the octopus', async () => {
    const repo = await initRepo(sb);
    const base = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', '-b', 'one', base);
    const p = await ga(['-C', repo, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', 'work on one', '--payload', '{}']);
    expect(p.code, p.err).toBe(0);
    git(repo, 'checkout', '-q', '-b', 'two', base);
    commitGoverned(sb, repo, { 'agents/noop/tasks/smoke.md': 'a better task\n' }, 'reword the task');
    git(repo, 'checkout', '-q', 'main');
    git(
      repo,
      '-c',
      'commit.gpgSign=false',
      '-c',
      'user.name=someone',
      '-c',
      'user.email=someone@example.com',
      'merge',
      '-q',
      '--no-ff',
      'one',
      'two',
      '-m',
      'octopus',
    );
    expect(git(repo, 'rev-list', '--parents', '-1', 'HEAD').split(' ')).toHaveLength(4);
    const v = await ga(['-C', repo, '--json', 'verify']);
    const octopus = git(repo, 'rev-parse', 'HEAD');
    expect(JSON.parse(v.out).findings, v.out).toEqual([
      expect.objectContaining({
        commit: octopus,
        rule: 'merge',
        explanation: expect.stringMatching(/an octopus merge \(3 parents\).*merge one branch at a time/),
      }),
    ]);
    expect((await ga(['-C', repo, 'list', '--state', 'pending'])).out).toContain('work on one');
    const s = await ga(['-C', repo, '--json', 'status']);
    expect(JSON.parse(s.out).untrusted).toEqual([]);
  });
});
