// How a run ends, told to the person who started it (issue 10): why it
// failed (in the terminal, the commit and the audit record) and what to do;
// a run that never started costs nothing; Ctrl-C leaves no debris; a
// `command` agent reports its spend on file descriptor 3 and is held to its caps.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTrailers } from '../../src/audit/events.js';
import { auditRecords, FAKE_CLAUDE, ga, gaProcess, git, initRepo, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { pidsCarrying, sleep, until } from '../helpers/scene.js';

let sb: Sandbox;
let saved: Record<string, string | undefined>;
const ENV_KEYS = ['GA_CLAUDE_BIN', 'FAKE_CLAUDE_SCENARIO'];
beforeEach(() => {
  sb = sandbox(['alice']);
  saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  process.env.GA_CLAUDE_BIN = FAKE_CLAUDE;
});
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  sb.cleanup();
});

function addAgent(repo: string, id: string, lines: string[], budget = { usd: 1, max_run_usd: 0.3 }, env: string[] = ['FAKE_CLAUDE_SCENARIO']): void {
  write(
    repo,
    `agents/${id}/agent.toml`,
    [
      ...lines,
      'timeout = "30s"',
      '[budget]',
      `usd = ${budget.usd}`,
      'tokens = 1000000',
      'window = "day"',
      'warn_at = 0.8',
      `max_run_usd = ${budget.max_run_usd}`,
      '',
    ].join('\n'),
  );
  write(repo, `agents/${id}/tool_allowlist.toml`, `allowed_tools = ["Read"]\nenv = ${JSON.stringify(env)}\n`);
  write(repo, `agents/${id}/tasks/smoke.md`, 'do the thing\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-S', '-qm', `add agent ${id}`);
}

const lastFinished = (repo: string) => {
  for (const c of git(repo, 'log', '--format=%H').split('\n')) {
    const body = git(repo, 'log', '-1', '--format=%B', c);
    if (parseTrailers(body).some((e) => e.event === 'run-finished')) return { body, trailers: parseTrailers(body) };
  }
  throw new Error('no run-finished commit');
};
const auditRecord = (repo: string, agent: string) =>
  auditRecords(repo, agent)
    .filter((e) => e.event === 'run-finished')
    .pop()!;
const ledgerUsd = (repo: string, agent: string) =>
  existsSync(join(repo, 'ledger', `${agent}.jsonl`))
    ? readFileSync(join(repo, 'ledger', `${agent}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .reduce((n, l) => n + (JSON.parse(l) as { usd: number }).usd, 0)
    : 0;

describe('why a run ended, and what to do', () => {
  it('a claude that is not logged in: the result text and the variable to allow, in the terminal, the commit and the audit record', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, 'writer', ['adapter = "claude"']);
    process.env.FAKE_CLAUDE_SCENARIO = 'not-logged-in';
    const r = await ga(['-C', repo, 'run', 'writer']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^agent-error: run /m);
    expect(r.out).toContain('result: Not logged in · Please run /login');
    expect(r.out).toMatch(/what to do: claude could not authenticate: .*add "ANTHROPIC_API_KEY" to env in agents\/writer\/tool_allowlist\.toml/);
    const { body } = lastFinished(repo);
    expect(body).toMatch(/^Result:\n {2}Not logged in · Please run \/login$/m);
    expect(body).toMatch(/^What to do: claude could not authenticate/m);
    const rec = auditRecord(repo, 'writer');
    expect(rec.result).toBe('Not logged in · Please run /login');
    expect(rec.hint).toMatch(/ANTHROPIC_API_KEY/);
  });

  it('a claude binary that does not exist or cannot run: not-started, charged nothing, and how to fix it', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, 'writer', ['adapter = "claude"']);
    const notExecutable = join(sb.dir, 'claude-not-executable');
    writeFileSync(notExecutable, '#!/bin/sh\necho hi\n');
    chmodSync(notExecutable, 0o644);
    for (const bin of [join(sb.dir, 'no-such-claude'), notExecutable]) {
      process.env.GA_CLAUDE_BIN = bin;
      const r = await ga(['-C', repo, '--json', 'run', 'writer']);
      expect(r.code, bin).toBe(1);
      const rec = JSON.parse(r.out) as Record<string, any>;
      expect(rec).toMatchObject({ outcome: 'not-started', usd: 0, tokens: 0 });
      expect(rec.hint).toMatch(/install claude|GA_CLAUDE_BIN/);
      expect(lastFinished(repo).trailers.find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'not-started' });
    }
    expect(ledgerUsd(repo, 'writer')).toBe(0);
    // nothing stays reserved either: a run that fits the whole cap still starts
    const board = JSON.parse((await ga(['-C', repo, '--json', 'scoreboard'])).out) as { agent: string; budget: { usd: number; reserved_usd: number } }[];
    expect(board.find((b) => b.agent === 'writer')!.budget).toMatchObject({ usd: 0, reserved_usd: 0 });
  });
});

describe('a command agent reports its spend on fd 3', () => {
  it('charges what it reports, as reported, with its result text', async () => {
    const repo = await initRepo(sb);
    const script = `echo '{"usd": 0.02, "input_tokens": 100}' >&3; echo 'not json' >&3; echo '{"usd": 0.01, "output_tokens": 50}' >&3; echo '{"result": "wrote the draft"}' >&3`;
    addAgent(repo, 'shell', ['adapter = "command"', `command = ["sh", "-c", ${JSON.stringify(script)}]`]);
    const r = await ga(['-C', repo, '--json', 'run', 'shell']);
    expect(r.code, r.err).toBe(0);
    const rec = JSON.parse(r.out) as Record<string, any>;
    expect(rec).toMatchObject({ outcome: 'success', source: 'reported', tokens: 150, result_text: 'wrote the draft' });
    expect(rec.usd).toBeCloseTo(0.03, 9);
    expect(ledgerUsd(repo, 'shell')).toBeCloseTo(0.03, 9);
  });

  it('is stopped the moment its reports cross a cap, and paused', async () => {
    const repo = await initRepo(sb);
    const script = `echo "$GA_RUN" > run; i=0; while [ $i -lt 100 ]; do echo '{"usd": 0.1}' >&3; i=$((i+1)); sleep 0.05; done`;
    addAgent(repo, 'spender', ['adapter = "command"', `command = ["sh", "-c", ${JSON.stringify(script)}]`], { usd: 0.35, max_run_usd: 0.35 });
    const r = await ga(['-C', repo, '--json', 'run', 'spender']);
    expect(r.code).toBe(1);
    const rec = JSON.parse(r.out) as Record<string, any>;
    expect(rec.outcome).toBe('over-budget');
    expect(rec.usd).toBeGreaterThanOrEqual(0.35);
    expect(rec.usd).toBeLessThan(1); // stopped long before its hundred reports
    expect(existsSync(join(repo, 'agents/spender/PAUSED'))).toBe(true);
  });

  it('is stopped at its own reservation, so that runs in flight together stay under the cap', async () => {
    const repo = await initRepo(sb);
    const script = `i=0; while [ $i -lt 100 ]; do echo '{"usd": 0.1}' >&3; i=$((i+1)); sleep 0.05; done`;
    addAgent(repo, 'spender', ['adapter = "command"', `command = ["sh", "-c", ${JSON.stringify(script)}]`], { usd: 1, max_run_usd: 0.3 });
    const runs = await Promise.all([0, 1, 2].map(() => gaProcess(['-C', repo, '--json', 'run', 'spender'])));
    const recs = runs.filter((r) => r.out).map((r) => JSON.parse(r.out) as Record<string, any>);
    for (const rec of recs) {
      expect(rec.outcome).toBe('over-budget');
      expect(rec.usd).toBeGreaterThanOrEqual(0.3);
      expect(rec.usd).toBeLessThan(0.6); // stopped at its $0.30, not left to run on
    }
    expect(ledgerUsd(repo, 'spender')).toBeLessThan(1 + 0.3); // three runs, each held to what it reserved: the cap plus at most one report's overshoot per run
    expect(existsSync(join(repo, 'agents/spender/PAUSED'))).toBe(ledgerUsd(repo, 'spender') >= 1);
  });

  it('reports nothing: unmetered, and the record says so', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, 'quiet', ['adapter = "command"', 'command = ["true"]']);
    const rec = JSON.parse((await ga(['-C', repo, '--json', 'run', 'quiet'])).out) as Record<string, any>;
    expect(rec).toMatchObject({ outcome: 'success', source: 'unmetered', usd: 0 });
    expect(rec.note).toMatch(/unmetered: the command reported no spend on fd 3/);
  });
});

describe('Ctrl-C', () => {
  it('records the run as interrupted, releases its reservation, removes its scratch HOME and leaves the watchdog nothing', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, 'sleeper', [
      'adapter = "command"',
      `command = ["sh", "-c", "echo \\"$HOME\\" > home.tmp; mv home.tmp home; echo '{\\"usd\\": 0.05}' >&3; sleep 30"]`,
    ]);
    const running = gaProcess(['-C', repo, 'run', 'sleeper']);
    const homeFile = join(repo, 'agents/sleeper/workspace/home');
    await until(() => existsSync(homeFile), 10_000, 'the agent to start');
    const home = readFileSync(homeFile, 'utf8').trim();
    expect(existsSync(home)).toBe(true);
    await sleep(300); // its report has arrived
    const run = parseTrailers(git(repo, 'log', '-1', '--format=%B')).find((e) => e.event === 'run-started')!.run!;
    expect(pidsCarrying(`GA_RUN=${run}`).length).toBeGreaterThan(0);
    // Ctrl-C in a terminal: SIGINT to the runner (the agent runs in a group of its own)
    const runners = execFileSync('pgrep', ['-f', `${repo} run sleeper`])
      .toString()
      .trim()
      .split('\n')
      .map(Number);
    expect(runners).toHaveLength(1);
    process.kill(runners[0]!, 'SIGINT');
    const r = await running;
    expect(r.code, `${r.out}\n${r.err}`).toBe(130);
    expect(r.out).toMatch(/^interrupted: run /m);
    const finished = lastFinished(repo).trailers.find((e) => e.event === 'run-finished')!;
    expect(finished).toMatchObject({ outcome: 'interrupted', run });
    expect(ledgerUsd(repo, 'sleeper')).toBeCloseTo(0.05, 9); // what it spent is still charged
    expect(existsSync(home)).toBe(false);
    expect(pidsCarrying(`GA_RUN=${run}`)).toEqual([]);
    expect(readdirSync(join(repo, '.ga/runs')).filter((n) => n.startsWith(run))).toEqual([]);
    const board = JSON.parse((await ga(['-C', repo, '--json', 'scoreboard'])).out) as { agent: string; budget: { reserved_usd: number } }[];
    expect(board.find((b) => b.agent === 'sleeper')!.budget.reserved_usd).toBe(0);
    expect((await ga(['-C', repo, 'watchdog', '--once'])).out).toMatch(/nothing to do/);
  });
});
