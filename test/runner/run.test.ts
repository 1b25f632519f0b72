// `ga run`: one agent, one task, under every control (DESIGN.md "What ga
// defends against", "Ledger and budgets", "Agent files", "Pauses"). The
// claude adapter runs test/helpers/fake-claude.mjs in place of `claude`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTrailers } from '../../src/audit/events.js';
import { verifyLedger } from '../../src/ledger/ledger.js';
import { CLAUDE_ENV, MCP_TOOL_NAMES } from '../../src/runner/adapters/claude.js';
import { auditRecords, fixedClock, ga, gaProcess, git, initRepo, sandbox, write, type GaResult, type Sandbox } from '../helpers/fixture.js';
import { pidsCarrying } from '../helpers/scene.js';

const FAKE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');
const ENV_KEYS = ['GA_CLAUDE_BIN', 'FAKE_CLAUDE_SCENARIO', 'FAKE_CLAUDE_RECORD', 'SOME_ALLOWED', 'SECRET_TOKEN', 'SSH_AUTH_SOCK', 'NOT_LISTED'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const CLAUDE_MD = 'You are the tester agent.\nPropose; never act on the world yourself.\n';
const TASK = 'Read TASK.md and propose a small change.\nKeep it short.\n';
const BASE_TOOLS = ['Read', 'Grep'];
const BASE_ENV = ['SOME_ALLOWED', 'FAKE_CLAUDE_SCENARIO', 'FAKE_CLAUDE_RECORD'];

// The fake's `workflow()` usage (three API messages) and its result line.
const WF = { input: 4 + 6 + 5, output: 96 + 142 + 41, cacheWrite: 5120 + 310 + 180, cacheRead: 13870 + 18990 + 19300 };
const SONNET_MAIN = (WF.input * 3 + WF.output * 15 + WF.cacheWrite * 3.75 + WF.cacheRead * 0.3) / 1e6;
const SIDE = (412 * 1 + 37 * 5) / 1e6;
const REPORTED = SONNET_MAIN + SIDE; // total_cost_usd of the result line
const OPUS_METERED = (WF.input * 15 + WF.output * 75 + WF.cacheWrite * 18.75 + WF.cacheRead * 1.5) / 1e6;
const WF_TOKENS = WF.input + WF.output + WF.cacheWrite + WF.cacheRead + 412 + 37; // modelUsage incl. the side request

let sb: Sandbox;
let saved: Record<string, string | undefined>;
beforeEach(() => {
  sb = sandbox(['alice']);
  saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  process.env.GA_CLAUDE_BIN = FAKE;
});
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  sb.cleanup();
});

interface AgentOpts {
  id?: string;
  adapter?: 'claude' | 'command';
  command?: string[];
  model?: string;
  timeout?: string;
  budget?: Partial<{ usd: number; tokens: number; window: string; warn_at: number; max_run_usd: number }>;
  tools?: string[];
  env?: string[];
}

function agentToml(o: AgentOpts): string {
  const b = { usd: 5, tokens: 2_000_000, window: 'day', warn_at: 0.8, max_run_usd: 0.5, ...o.budget };
  return [
    `adapter = "${o.adapter ?? 'claude'}"`,
    ...(o.command ? [`command = ${JSON.stringify(o.command)}`] : []),
    ...(o.model ? [`model = "${o.model}"`] : []),
    `timeout = "${o.timeout ?? '30s'}"`,
    '[budget]',
    `usd = ${b.usd}`,
    `tokens = ${b.tokens}`,
    `window = "${b.window}"`,
    `warn_at = ${b.warn_at}`,
    `max_run_usd = ${b.max_run_usd}`,
    '',
  ].join('\n');
}

const allowlistToml = (tools: string[], env: string[]) => `allowed_tools = ${JSON.stringify(tools)}\nenv = ${JSON.stringify(env)}\n`;

/** Writes an agent's governed files and commits them signed by alice. */
function addAgent(repo: string, o: AgentOpts = {}): string {
  const id = o.id ?? 'tester';
  write(repo, `agents/${id}/agent.toml`, agentToml(o));
  write(repo, `agents/${id}/tool_allowlist.toml`, allowlistToml(o.tools ?? BASE_TOOLS, o.env ?? BASE_ENV));
  if ((o.adapter ?? 'claude') === 'claude') write(repo, `agents/${id}/CLAUDE.md`, CLAUDE_MD);
  write(repo, `agents/${id}/tasks/smoke.md`, TASK);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-S', '-qm', `add agent ${id}`);
  return id;
}

interface Recorded {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  pid: number;
  stdin?: string;
}

/** Points the fake's FAKE_CLAUDE_RECORD at a fresh file and returns its path. */
function recordFile(): string {
  const f = join(sb.dir, `record-${Math.random().toString(36).slice(2)}.json`);
  process.env.FAKE_CLAUDE_RECORD = f;
  return f;
}
const readRecord = (f: string): Recorded => JSON.parse(readFileSync(f, 'utf8')) as Recorded;
/** Whether the fake has finished writing its record (it may exist before it is whole). */
const recordReady = (f: string): boolean => {
  try {
    readRecord(f);
    return true;
  } catch {
    return false;
  }
};
const flag = (argv: string[], name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

async function runJson(repo: string, id: string, clock?: ReturnType<typeof fixedClock>): Promise<{ r: GaResult; rec: Record<string, any> }> {
  const r = await ga(['-C', repo, '--json', 'run', id], clock);
  let rec: Record<string, any> = {};
  try {
    rec = JSON.parse(r.out) as Record<string, any>;
  } catch {
    // a refusal prints nothing on stdout
  }
  return { r, rec };
}

const trailers = (repo: string, rev = 'HEAD') => parseTrailers(git(repo, 'log', '-1', '--format=%B', rev));
const changed = (repo: string, rev = 'HEAD') => git(repo, 'show', '--name-only', '--format=', rev).split('\n').filter(Boolean);
const ledgerFile = (repo: string, id: string) => join(repo, 'ledger', `${id}.jsonl`);
const ledgerLines = (repo: string, id: string) =>
  readFileSync(ledgerFile(repo, id), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
const auditLines = auditRecords;
const commitCount = (repo: string) => Number(git(repo, 'rev-list', '--count', 'HEAD'));

async function waitFor(pred: () => boolean, timeoutMs: number, what: string, stepMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

const PAUSE_MARKER = 'reason = "manual"\ndetail = "stop it"\nby = "human:alice@example.com"\nat = 2026-01-01T00:00:00Z\n';

describe('ga run, claude adapter: what the agent process gets', () => {
  it('passes the default-deny argv, the task on stdin, and the workspace as cwd', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { budget: { max_run_usd: 0.25 } });
    const f = recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    expect(rec.outcome).toBe('success');
    const { argv, stdin, cwd } = readRecord(f);
    expect(argv[0]).toBe('-p');
    expect(flag(argv, '--output-format')).toBe('stream-json');
    expect(argv).toContain('--verbose');
    expect(flag(argv, '--permission-mode')).toBe('dontAsk');
    const tools = flag(argv, '--allowedTools')!.split(',');
    expect(tools).toEqual(expect.arrayContaining(['Read', 'Grep', 'Bash(ga propose:*)', ...MCP_TOOL_NAMES]));
    expect(tools).toHaveLength(3 + 4);
    // ga's own MCP server, bound to the agent by its environment, and no other.
    expect(JSON.parse(flag(argv, '--mcp-config')!)).toEqual({ mcpServers: { ga: { command: 'ga', args: ['-C', realpathSync(repo), 'mcp'] } } });
    expect(argv).toContain('--strict-mcp-config');
    expect(Number(flag(argv, '--max-budget-usd'))).toBe(0.25);
    expect(flag(argv, '--session-id')).toMatch(UUID);
    expect(flag(argv, '--system-prompt')).toBe(CLAUDE_MD);
    expect(argv).not.toContain('--dangerously-skip-permissions');
    expect(argv.join(' ')).not.toMatch(/bypassPermissions|dangerously/);
    expect(argv).not.toContain('--model'); // none configured
    // The prompt goes on stdin only, never as an argument a flag could swallow.
    expect(argv.some((a) => a.includes('Read TASK.md'))).toBe(false);
    expect(stdin).toBe(TASK);
    expect(realpathSync(cwd)).toBe(realpathSync(join(repo, 'agents/tester/workspace')));
  });

  it('passes --model when agent.toml names one', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { model: 'claude-opus-4-1' });
    const f = recordFile();
    const { r } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    expect(flag(readRecord(f).argv, '--model')).toBe('claude-opus-4-1');
  });

  it('scrubs the environment: no parent secret, no SSH_AUTH_SOCK, a scratch HOME, GA_AGENT and GA_RUN', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    process.env.SECRET_TOKEN = 'sk-very-secret-123';
    process.env.SSH_AUTH_SOCK = join(sb.dir, 'agent.sock');
    process.env.NOT_LISTED = 'not-for-agents';
    process.env.SOME_ALLOWED = 'allowed-value';
    const f = recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    const { env } = readRecord(f);
    expect(env.SECRET_TOKEN).toBeUndefined();
    expect(env.SSH_AUTH_SOCK).toBeUndefined();
    expect(env.NOT_LISTED).toBeUndefined();
    expect(env.GIT_CONFIG_GLOBAL).toBeUndefined(); // the approver's git config (and signing key) stays out
    expect(Object.values(env)).not.toContain('sk-very-secret-123');
    expect(env.SOME_ALLOWED).toBe('allowed-value');
    expect(env.GA_AGENT).toBe('tester');
    expect(env.GA_RUN).toBe(rec.run);
    expect(env.HOME).toBeDefined();
    expect(env.HOME).not.toBe(process.env.HOME);
    expect(resolve(env.HOME!).startsWith(resolve(tmpdir()) + '/')).toBe(true);
    expect(basename(env.HOME!)).toMatch(/^ga-home-tester-/);
    expect(existsSync(env.HOME!)).toBe(false); // removed after the run
    expect(env.PATH!.split(':')[0]).toBe(join(env.HOME!, 'bin'));
    // Nothing but PATH, HOME, GA_*, locale, the allowlist's variables, and ga's own setting for Claude Code.
    expect(env.MCP_CONNECTION_NONBLOCKING).toBe('false'); // it waits for ga's MCP server before the first turn
    const allowed = new Set(['PATH', 'HOME', 'GA_AGENT', 'GA_RUN', ...BASE_ENV, ...Object.keys(CLAUDE_ENV)]);
    for (const k of Object.keys(env)) {
      if (!allowed.has(k)) expect(k).toMatch(/^(LANG|LANGUAGE|LC_[A-Z_]+|TZ)$/);
    }
  });
});

describe('ga run, claude adapter: charging and recording', () => {
  it('records run-finished with its trailers in the commit that carries the ledger line (usd = the reported cost when larger)', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    expect(rec).toMatchObject({
      agent: 'tester',
      task: 'smoke',
      adapter: 'claude',
      outcome: 'success',
      exit_code: 0,
      source: 'reported',
      permission_denials: 0,
    });
    expect(rec.usd).toBeCloseTo(REPORTED, 9);
    expect(rec.tokens).toBe(WF_TOKENS);

    expect(git(repo, 'rev-parse', 'HEAD')).toBe(rec.commit);
    const t = trailers(repo);
    const finished = t.find((e) => e.event === 'run-finished');
    expect(finished).toMatchObject({ event: 'run-finished', outcome: 'success', run: rec.run, agent: 'tester', actor: 'runner' });
    expect(t.find((e) => e.event === 'charge')).toMatchObject({ run: rec.run, agent: 'tester' });
    expect(changed(repo)).toEqual(expect.arrayContaining(['ledger/tester.jsonl']));
    // one audit file for each of its events, the charge and run-finished
    expect(changed(repo).filter((p) => p.startsWith('audit/'))).toEqual([expect.stringMatching(/^audit\/tester\//), expect.stringMatching(/^audit\/tester\//)]);
    // A run-started commit before it.
    expect(trailers(repo, 'HEAD~1').find((e) => e.event === 'run-started')).toMatchObject({ run: rec.run, agent: 'tester' });

    const working = readFileSync(ledgerFile(repo, 'tester'), 'utf8');
    expect(git(repo, 'show', 'HEAD:ledger/tester.jsonl') + '\n').toBe(working);
    expect(verifyLedger(working).ok).toBe(true);
    const [line] = ledgerLines(repo, 'tester');
    expect(line).toMatchObject({ run: rec.run, source: 'reported', window: 'day', prev: '' });
    expect(line!.usd).toBeCloseTo(REPORTED, 9);
    expect(line!.usd).toBeGreaterThan(SONNET_MAIN); // larger than the metered estimate
    expect(line!.window_usd).toBeCloseTo(REPORTED, 9);
    expect(line!.input_tokens + line!.output_tokens).toBe(WF_TOKENS);
    const audit = auditLines(repo, 'tester').find((a) => a.event === 'run-finished');
    expect(audit).toMatchObject({ run: rec.run, outcome: 'success', permission_denials: 0 });
  });

  it('charges the metered usage when it is larger than the reported cost', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { model: 'claude-opus-4-1' }); // the fake reports at sonnet prices; ga meters at opus prices
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    expect(rec.source).toBe('metered');
    expect(rec.usd).toBeCloseTo(OPUS_METERED, 9);
    expect(rec.usd).toBeGreaterThan(REPORTED);
    const [line] = ledgerLines(repo, 'tester');
    expect(line).toMatchObject({ source: 'metered', run: rec.run });
    expect(line!.usd).toBeCloseTo(OPUS_METERED, 9);
  });

  it('counts permission denials in the record', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    process.env.FAKE_CLAUDE_SCENARIO = 'denials';
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    expect(rec.outcome).toBe('success');
    expect(rec.permission_denials).toBe(2);
    expect(auditLines(repo, 'tester').find((a) => a.event === 'run-finished')).toMatchObject({ permission_denials: 2 });
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/2 permission denials/);
  });

  it('charges the reservation for a run with no result, outcome no-result', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { budget: { max_run_usd: 0.5 } });
    process.env.FAKE_CLAUDE_SCENARIO = 'no-result';
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code).toBe(1);
    expect(rec).toMatchObject({ outcome: 'no-result', source: 'reservation', usd: 0.5 });
    expect(ledgerLines(repo, 'tester')[0]).toMatchObject({ usd: 0.5, source: 'reservation', run: rec.run });
    expect(trailers(repo).find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'no-result' });
  });

  it('records an error result as agent-error', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    process.env.FAKE_CLAUDE_SCENARIO = 'error';
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code).toBe(1);
    expect(rec).toMatchObject({ outcome: 'agent-error', exit_code: 1 });
    expect(rec.usd).toBeGreaterThan(0);
    expect(trailers(repo).find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'agent-error' });
  });

  it('stops a stream with two results as tampering', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    process.env.FAKE_CLAUDE_SCENARIO = 'two-results';
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code).toBe(1);
    expect(rec.outcome).toBe('agent-error');
    expect(rec.note).toMatch(/stopped: .*second result/);
    // The first result counts, not the second one's zero.
    expect(rec.usd).toBeCloseTo(REPORTED, 9);
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/second result/);
  });

  it('tolerates garbage lines in the stream and says how many', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    process.env.FAKE_CLAUDE_SCENARIO = 'garbage';
    recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(0);
    expect(rec.outcome).toBe('success');
    expect(rec.note).toMatch(/^7 lines of the stream were not JSON/);
    expect(rec.usd).toBeGreaterThan(0);
  });

  it('adapter = "command" records nonzero-exit and an unmetered charge', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { id: 'shell', adapter: 'command', command: ['sh', '-c', 'echo hi; exit 3'] });
    const { r, rec } = await runJson(repo, 'shell');
    expect(r.code).toBe(1);
    expect(rec).toMatchObject({ adapter: 'command', outcome: 'nonzero-exit', exit_code: 3, source: 'unmetered', usd: 0 });
    expect(rec.note).toMatch(/unmetered/);
    expect(rec.tail).toContain('hi');
    expect(ledgerLines(repo, 'shell')[0]).toMatchObject({ source: 'unmetered', usd: 0 });
    expect(trailers(repo).find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'nonzero-exit', agent: 'shell' });
  });
});

describe('ga run: governed files only in their trusted version', () => {
  it("ignores an unsigned commit that raises the agent's own cap and widens its allowlist", async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { budget: { usd: 0.08, max_run_usd: 0.05 } });
    // What an agent with git could do: raise its cap, add tools and a variable, commit unsigned.
    write(repo, 'agents/tester/agent.toml', agentToml({ budget: { usd: 1000, max_run_usd: 0.05 } }));
    write(repo, 'agents/tester/tool_allowlist.toml', allowlistToml([...BASE_TOOLS, 'Bash', 'WebFetch'], [...BASE_ENV, 'SECRET_TOKEN']));
    git(repo, 'add', '-A');
    git(repo, '-c', 'user.name=tester', '-c', 'user.email=tester@agents.ga.invalid', 'commit', '--no-gpg-sign', '-qm', 'raise my cap');
    process.env.SECRET_TOKEN = 'sk-very-secret-123';

    const f = recordFile();
    const first = await runJson(repo, 'tester');
    expect(first.r.code, first.r.err).toBe(0);
    const { argv, env } = readRecord(f);
    expect(flag(argv, '--allowedTools')!.split(',').sort()).toEqual(['Bash(ga propose:*)', 'Grep', 'Read', ...MCP_TOOL_NAMES].sort());
    expect(env.SECRET_TOKEN).toBeUndefined();

    // $0.0415 spent; the trusted cap of $0.08 cannot hold another $0.05 reservation (the unsigned $1000 could).
    rmSync(f);
    const second = await runJson(repo, 'tester');
    expect(second.r.code).toBe(1);
    expect(second.r.err).toMatch(/over budget/);
    expect(existsSync(f)).toBe(false);

    const status = JSON.parse((await ga(['-C', repo, '--json', 'status'])).out) as { untrusted: { path: string }[] };
    expect(status.untrusted.map((u) => u.path)).toEqual(expect.arrayContaining(['agents/tester/agent.toml', 'agents/tester/tool_allowlist.toml']));
  });
});

describe('ga run: budgets', () => {
  it('refuses, naming the cause, an agent.toml whose max_run_usd is above its usd cap', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { budget: { usd: 0.1, max_run_usd: 0.2 } });
    const f = recordFile();
    const before = commitCount(repo);
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/run refused: max_run_usd \(\$0\.2\) in agents\/tester\/agent\.toml is larger than its usd cap \(\$0\.1\)/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(f)).toBe(false);
    expect(commitCount(repo)).toBe(before + 1);
    const s = await ga(['-C', repo, 'status']);
    expect(s.out).toMatch(/max_run_usd \(\$0\.2\) in agents\/tester\/agent\.toml is larger than its usd cap/);
  });

  it('refuses before starting when the reservation would cross the cap', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { budget: { usd: 0.28, max_run_usd: 0.25 } });
    expect((await runJson(repo, 'tester')).rec.outcome).toBe('success'); // spends about $0.04
    const f = recordFile();
    const before = commitCount(repo);
    const ledgerBefore = readFileSync(ledgerFile(repo, 'tester'), 'utf8');
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/run refused: over budget/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(f)).toBe(false); // the fake never started
    expect(commitCount(repo)).toBe(before + 1);
    expect(trailers(repo)).toEqual([expect.objectContaining({ event: 'run-refused', agent: 'tester', actor: 'runner' })]);
    expect(readFileSync(ledgerFile(repo, 'tester'), 'utf8')).toBe(ledgerBefore);
  });

  async function overspend(repo: string): Promise<{ rec: Record<string, any>; run: string }> {
    addAgent(repo, { budget: { usd: 100, tokens: 250_000, max_run_usd: 1 } });
    process.env.FAKE_CLAUDE_SCENARIO = 'overspend';
    const f = recordFile();
    const { r, rec } = await runJson(repo, 'tester');
    expect(r.code, r.err).toBe(1);
    return { rec, run: readRecord(f).env.GA_RUN! };
  }

  it('stops the agent when a cap is crossed mid-run and pauses it in the same commit as run-finished', async () => {
    const repo = await initRepo(sb);
    const { rec, run } = await overspend(repo);
    expect(rec.outcome).toBe('over-budget');
    expect(rec.paused_for_budget).toBe(true);
    expect(pidsCarrying(`GA_RUN=${run}`)).toEqual([]);
    // Stopped early: the whole scenario would meter 2,000,000 tokens.
    expect(rec.tokens).toBeGreaterThanOrEqual(250_000);
    expect(rec.tokens).toBeLessThan(1_000_000);

    expect(git(repo, 'rev-parse', 'HEAD')).toBe(rec.commit);
    expect(changed(repo)).toEqual(expect.arrayContaining(['agents/tester/PAUSED', 'ledger/tester.jsonl']));
    const t = trailers(repo);
    expect(t.find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'over-budget', run: rec.run });
    expect(t.find((e) => e.event === 'agent-paused')).toMatchObject({ agent: 'tester', actor: 'runner' });
    expect(git(repo, 'show', 'HEAD:agents/tester/PAUSED')).toMatch(/^reason = "over-budget"$/m);
    expect(existsSync(join(repo, 'agents/tester/PAUSED'))).toBe(true);
    expect(ledgerLines(repo, 'tester')[0]!.window_tokens).toBe(rec.tokens);

    const f = recordFile();
    const next = await ga(['-C', repo, 'run', 'tester']);
    expect(next.code).toBe(1);
    expect(next.err).toMatch(/paused/);
    expect(existsSync(f)).toBe(false);
    expect(trailers(repo)[0]).toMatchObject({ event: 'run-refused', agent: 'tester' });
  });

  it('refuses ga resume while over the cap, and resumes with --force in a commit signed by alice', async () => {
    const repo = await initRepo(sb);
    await overspend(repo);
    const head = git(repo, 'rev-parse', 'HEAD');
    const refused = await ga(['-C', repo, 'resume', 'tester', '--reason', 'looked at it']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/resume refused: .*over its cap/);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);

    const forced = await ga(['-C', repo, 'resume', 'tester', '--reason', 'looked at it', '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toMatch(/forced/);
    const t = trailers(repo);
    expect(t[0]).toMatchObject({ event: 'agent-resumed', agent: 'tester', actor: 'human:alice@example.com' });
    expect(t[0]!.reason).toMatch(/forced/);
    expect(git(repo, 'log', '-1', '--format=%ae')).toBe('alice@example.com');
    const signers = join(sb.dir, 'allowed_signers');
    writeFileSync(signers, `alice@example.com ${sb.people.alice!.pub}\n`);
    // Throws unless HEAD is signed by alice's key.
    execFileSync('git', ['-c', `gpg.ssh.allowedSignersFile=${signers}`, 'verify-commit', 'HEAD'], { cwd: repo, stdio: 'pipe' });
    expect(existsSync(join(repo, 'agents/tester/PAUSED'))).toBe(false);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'agents/tester/')).not.toMatch(/PAUSED/);
    const audit = auditLines(repo, 'tester').find((a) => a.event === 'agent-resumed');
    expect(audit).toMatchObject({ forced: true });

    // No longer paused, but still over the token cap: the budget refuses.
    const f = recordFile();
    const next = await ga(['-C', repo, 'run', 'tester']);
    expect(next.code).toBe(1);
    expect(next.err).toMatch(/over budget/);
    expect(existsSync(f)).toBe(false);
  });

  it('resets a day window at 00:00 UTC (injected clock)', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { budget: { usd: 0.1, max_run_usd: 0.06, window: 'day' } });
    recordFile();
    const clock = fixedClock('2026-03-10T22:00:00Z');
    const first = await runJson(repo, 'tester', clock);
    expect(first.r.code, first.r.err).toBe(0); // $0.0415 of $0.10

    clock.set('2026-03-10T23:59:59Z');
    const f = recordFile();
    const refused = await runJson(repo, 'tester', clock);
    expect(refused.r.code).toBe(1);
    expect(refused.r.err).toMatch(/over budget/);
    expect(existsSync(f)).toBe(false);

    clock.set('2026-03-11T00:00:00Z');
    const next = await runJson(repo, 'tester', clock);
    expect(next.r.code, next.r.err).toBe(0);
    const lines = ledgerLines(repo, 'tester');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ window_start: '2026-03-10T00:00:00Z', at: '2026-03-10T22:00:00Z' });
    expect(lines[1]).toMatchObject({ window_start: '2026-03-11T00:00:00Z', at: '2026-03-11T00:00:00Z' });
    expect(lines[1]!.window_usd).toBeCloseTo(lines[1]!.usd, 12);
    expect(verifyLedger(readFileSync(ledgerFile(repo, 'tester'), 'utf8')).ok).toBe(true);

    const board = JSON.parse((await ga(['-C', repo, '--json', 'scoreboard'], clock)).out) as { agent: string; budget: { usd: number; window_start: string } }[];
    const row = board.find((b) => b.agent === 'tester')!;
    expect(row.budget.window_start).toBe('2026-03-11T00:00:00Z');
    expect(row.budget.usd).toBeCloseTo(lines[1]!.usd, 12);
  });
});

describe('ga run: the ledger', () => {
  it('refuses (exit 1) when the working ledger is truncated below the committed one', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    // Drop the last line: the chain of what is left is fine, but it no longer extends the committed file.
    const text = readFileSync(ledgerFile(repo, 'tester'), 'utf8');
    const kept = text.split('\n').filter(Boolean).slice(0, 1).join('\n') + '\n';
    writeFileSync(ledgerFile(repo, 'tester'), kept);
    expect(verifyLedger(kept).ok).toBe(true);

    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ledger\/tester\.jsonl/);
    expect(r.err).toMatch(/does not match the committed ledger/);
    expect(existsSync(f)).toBe(false);
    expect(trailers(repo)[0]).toMatchObject({ event: 'run-refused', agent: 'tester' });
    expect(readFileSync(ledgerFile(repo, 'tester'), 'utf8')).toBe(kept); // nothing appended
  });

  it('refuses when the truncation was committed: a rewritten ledger is not a new baseline', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    const text = readFileSync(ledgerFile(repo, 'tester'), 'utf8');
    writeFileSync(ledgerFile(repo, 'tester'), text.split('\n').filter(Boolean).slice(0, 1).join('\n') + '\n');
    git(repo, 'commit', '-qam', 'a refund, the agent says'); // unsigned, as an agent would

    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/committed ledger was rewritten/);
    expect(existsSync(f)).toBe(false);
    expect(trailers(repo)[0]).toMatchObject({ event: 'run-refused', agent: 'tester' });
  });

  it('remembers where it found the ledger had only grown, and checks the commits since; a remembered commit gone from history means all of it again', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    const checked = join(repo, '.git', 'ga', 'ledger-checked', 'tester.json');
    const before = git(repo, 'rev-parse', 'HEAD');
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    // Checked before the second run started: through the HEAD it started at, with the lines the ledger had there.
    const at = JSON.parse(readFileSync(checked, 'utf8')) as { through: string; lines: number };
    expect(at.through).toBe(before);
    expect(at.lines).toBe(git(repo, 'show', `${before}:ledger/tester.jsonl`).split('\n').filter(Boolean).length);
    expect(at.lines).toBeGreaterThan(0);
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0); // checked from there on: the lines since were appended after those
    const text = readFileSync(ledgerFile(repo, 'tester'), 'utf8');
    writeFileSync(ledgerFile(repo, 'tester'), text.split('\n').filter(Boolean).slice(0, 1).join('\n') + '\n');
    git(repo, 'commit', '-qam', 'a refund, the agent says');
    // A remembered commit that is no longer in history (a rewrite), or of another root: the whole history is read, and the truncation found.
    for (const planted of [
      { ...at, through: '0'.repeat(40), lines: 99 },
      { ...at, root: '1'.repeat(40), through: git(repo, 'rev-parse', 'HEAD'), lines: 1 },
    ]) {
      writeFileSync(checked, JSON.stringify(planted));
      const r = await ga(['-C', repo, 'run', 'tester']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/committed ledger was rewritten/);
    }
  });

  it('refuses a ledger that is a symbolic link', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    const elsewhere = join(sb.dir, 'elsewhere.jsonl');
    const text = readFileSync(ledgerFile(repo, 'tester'), 'utf8');
    writeFileSync(elsewhere, text);
    unlinkSync(ledgerFile(repo, 'tester'));
    symlinkSync(elsewhere, ledgerFile(repo, 'tester'));

    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/symbolic link/);
    expect(existsSync(f)).toBe(false);
    expect(readFileSync(elsewhere, 'utf8')).toBe(text);
  });

  it('refuses a symlinked ledger before any charge was committed', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    const elsewhere = join(sb.dir, 'elsewhere.jsonl');
    writeFileSync(elsewhere, '');
    symlinkSync(elsewhere, ledgerFile(repo, 'tester'));
    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/symbolic link/);
    expect(existsSync(f)).toBe(false);
    expect(readFileSync(elsewhere, 'utf8')).toBe('');
  });
});

describe('ga run: pauses and the wall clock', () => {
  it('stops the whole process within a second of a PAUSED marker appearing', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    process.env.FAKE_CLAUDE_SCENARIO = 'hang';
    const f = recordFile();
    const running = runJson(repo, 'tester');
    await waitFor(() => recordReady(f), 10_000, 'the fake to start');
    const marker = `GA_RUN=${readRecord(f).env.GA_RUN}`;
    expect(pidsCarrying(marker).length).toBeGreaterThan(0);
    writeFileSync(join(repo, 'agents/tester/PAUSED'), PAUSE_MARKER);
    // How fast is bench/'s business; here: the marker alone stops it, well before its wall clock.
    await waitFor(() => pidsCarrying(marker).length === 0, 10_000, 'the agent to stop');
    const { r, rec } = await running;
    expect(r.code).toBe(1);
    expect(rec.outcome).toBe('paused');
    expect(trailers(repo).find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'paused', run: rec.run });
  });

  it("ends the agent's whole process group, children included, on a PAUSED marker", async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { id: 'shell', adapter: 'command', command: ['sh', '-c', 'echo "$GA_RUN" > run.tmp; sleep 30 & mv run.tmp run; wait'] });
    const runFile = join(repo, 'agents/shell/workspace/run');
    const running = runJson(repo, 'shell');
    await waitFor(() => existsSync(runFile), 10_000, 'the agent to start');
    const marker = `GA_RUN=${readFileSync(runFile, 'utf8').trim()}`;
    await waitFor(() => pidsCarrying(marker).length >= 2, 3000, 'the shell and its child');
    writeFileSync(join(repo, 'agents/shell/PAUSED'), PAUSE_MARKER);
    await waitFor(() => pidsCarrying(marker).length === 0, 10_000, 'the group to stop');
    const { r, rec } = await running;
    expect(r.code).toBe(1);
    expect(rec.outcome).toBe('paused');
  });

  it('stops a silent agent at its wall-clock limit', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { timeout: '1s' });
    process.env.FAKE_CLAUDE_SCENARIO = 'hang';
    const f = recordFile();
    const t0 = Date.now();
    const { r, rec } = await runJson(repo, 'tester');
    const elapsed = Date.now() - t0;
    expect(r.code).toBe(1);
    expect(rec.outcome).toBe('wall-clock');
    expect(elapsed).toBeLessThan(25_000); // stopped at its 1 s limit, not at the 30 s wall clock of the fake
    expect(pidsCarrying(`GA_RUN=${readRecord(f).env.GA_RUN}`)).toEqual([]);
    expect(trailers(repo).find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'wall-clock' });
  });

  it('ga pause stops a local run directly even when the agent made the repository unopenable', async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { id: 'shell', adapter: 'command', command: ['sh', '-c', 'echo "$GA_RUN" > run.tmp; mv run.tmp run; sleep 30'] });
    const runFile = join(repo, 'agents/shell/workspace/run');
    const running = gaProcess(['-C', repo, '--json', 'run', 'shell']);
    await waitFor(() => existsSync(runFile), 10_000, 'the agent to start');
    const marker = `GA_RUN=${readFileSync(runFile, 'utf8').trim()}`;
    // The agent's move: a config key ga refuses, so that no ga command (ga pause included) opens the repository.
    const config = join(repo, '.git/config');
    const before = readFileSync(config, 'utf8');
    writeFileSync(config, `${before}[include]\n\tpath = elsewhere.cfg\n`);
    const p = await gaProcess(['-C', repo, 'pause', 'shell', '--reason', 'stop now']);
    expect(p.code).not.toBe(0);
    expect(p.err).toMatch(/stopped 1 local run\(s\) of shell directly; no pause could be committed/);
    await waitFor(() => pidsCarrying(marker).length === 0, 10_000, 'the agent to stop');
    writeFileSync(config, before); // what a person does next; the run then records its end
    const done = await running;
    expect(JSON.parse(done.out).outcome).toBe('paused');
    expect(trailers(repo).find((e) => e.event === 'run-finished')).toMatchObject({ outcome: 'paused' });
    expect(existsSync(join(repo, 'agents/shell/PAUSED'))).toBe(true);
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/ga pause stopped this run directly/);
  });

  it("ga pause signals the local run after its commit; the run records the person's pause, not a second one", async () => {
    const repo = await initRepo(sb);
    addAgent(repo, { id: 'shell', adapter: 'command', command: ['sh', '-c', 'echo "$GA_RUN" > run.tmp; mv run.tmp run; sleep 30'] });
    const runFile = join(repo, 'agents/shell/workspace/run');
    const running = gaProcess(['-C', repo, '--json', 'run', 'shell']);
    await waitFor(() => existsSync(runFile), 10_000, 'the agent to start');
    const p = await gaProcess(['-C', repo, '--json', 'pause', 'shell', '--reason', 'stop now']);
    expect(p.code, p.err).toBe(0);
    expect(JSON.parse(p.out)).toMatchObject({ paused: ['shell'], stopped_runs: [{ agent: 'shell' }] });
    const done = await running;
    expect(JSON.parse(done.out).outcome).toBe('paused');
    const pauses = git(repo, 'log', '--format=%H', '--grep=^Ga-Event: agent-paused$').split('\n').filter(Boolean);
    expect(pauses).toHaveLength(1);
    expect(readFileSync(join(repo, 'agents/shell/PAUSED'), 'utf8')).toMatch(/stop now/);
  });

  it('refuses unknown agents in pause, resume and run (exit 2, naming the known ones) and commits nothing', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    const n = commitCount(repo);
    for (const args of [
      ['pause', 'ghost', '--reason', 'x'],
      ['resume', 'ghost', '--reason', 'x'],
      ['run', 'ghost'],
    ]) {
      const r = await ga(['-C', repo, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/no agent "ghost".*known agents: .*tester/);
    }
    expect(commitCount(repo)).toBe(n);
    expect(existsSync(join(repo, 'agents/ghost'))).toBe(false);
  });

  it('still counts an agent as paused after a git reset drops the pause commit', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    const p = await ga(['-C', repo, 'pause', 'tester', '--reason', 'hold on']);
    expect(p.code, p.err).toBe(0);
    expect(trailers(repo)[0]).toMatchObject({ event: 'agent-paused', agent: 'tester' });
    git(repo, 'reset', '-q', '--hard', 'HEAD~1');
    expect(existsSync(join(repo, 'agents/tester/PAUSED'))).toBe(false);

    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code, r.out).toBe(1);
    expect(r.err).toMatch(/paused/);
    expect(existsSync(f)).toBe(false);
  });

  it('still counts an agent as paused after a reset drops the pause commit that followed a run', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    expect((await ga(['-C', repo, 'pause', 'tester', '--reason', 'hold on'])).code).toBe(0);
    git(repo, 'reset', '-q', '--hard', 'HEAD~1');
    expect(existsSync(join(repo, 'agents/tester/PAUSED'))).toBe(false);

    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code, r.out).toBe(1);
    expect(r.err).toMatch(/paused/);
    expect(existsSync(f)).toBe(false);
  });

  it('counts an agent as paused after a git reset drops the commits of its last run (the high-water mark)', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    git(repo, 'reset', '-q', '--hard', 'HEAD~2'); // drops run-started and run-finished
    const f = recordFile();
    const r = await ga(['-C', repo, 'run', 'tester']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/history was reset or rewritten/);
    expect(existsSync(f)).toBe(false);
  });

  it('asks git whether HEAD holds the high-water mark only when the reading does not show it: ga status after a run starts no merge-base, after a reset it does and says paused', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(0);
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', 'a note after the run'); // HEAD is past the mark
    const status = () => gaProcess(['-C', repo, 'status'], { env: { GA_TRACE: '1' } });
    const held = await status();
    expect(held.code).toBe(0);
    expect(held.err).not.toMatch(/merge-base/);
    expect(held.out).not.toMatch(/history was reset or rewritten/);
    git(repo, 'reset', '-q', '--hard', 'HEAD~3');
    const lost = await status();
    expect(lost.err).toMatch(/merge-base --is-ancestor/);
    expect(lost.out).toMatch(/history was reset or rewritten/);
  });

  it('refuses ga run inside an agent process (GA_AGENT set)', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    const f = recordFile();
    process.env.GA_AGENT = 'tester';
    try {
      const r = await ga(['-C', repo, 'run', 'tester']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/GA_AGENT/);
    } finally {
      delete process.env.GA_AGENT;
    }
    expect(existsSync(f)).toBe(false);
  });

  it('ga pause --all pauses every agent in one commit', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    const before = commitCount(repo);
    const r = await ga(['-C', repo, 'pause', '--all', '--reason', 'incident']);
    expect(r.code, r.err).toBe(0);
    expect(commitCount(repo)).toBe(before + 1);
    const t = trailers(repo).filter((e) => e.event === 'agent-paused');
    expect(t.map((e) => e.agent).sort()).toEqual(['noop', 'tester']);
    expect(changed(repo)).toEqual(expect.arrayContaining(['agents/noop/PAUSED', 'agents/tester/PAUSED']));
    const again = await ga(['-C', repo, 'pause', '--all', '--reason', 'incident']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already paused/);
    expect(commitCount(repo)).toBe(before + 1);
    const f = recordFile();
    expect((await ga(['-C', repo, 'run', 'tester'])).code).toBe(1);
    expect(existsSync(f)).toBe(false);
  });
});

describe('ga status and ga scoreboard after runs', () => {
  it('report the paused agent, its spend and its runs', async () => {
    const repo = await initRepo(sb);
    addAgent(repo);
    recordFile();
    const run = await runJson(repo, 'tester');
    expect(run.r.code, run.r.err).toBe(0);
    expect((await ga(['-C', repo, 'pause', 'tester', '--reason', 'review spend'])).code).toBe(0);

    const s = await ga(['-C', repo, '--json', 'status']);
    expect(s.code, s.err).toBe(0);
    const status = JSON.parse(s.out) as { paused: { agent: string; why?: string }[]; runs_today: number };
    expect(status.paused.map((p) => p.agent)).toEqual(['tester']);
    expect(status.paused[0]!.why).toMatch(/review spend/);
    expect(status.runs_today).toBe(1);

    const b = await ga(['-C', repo, '--json', 'scoreboard']);
    expect(b.code, b.err).toBe(0);
    const rows = JSON.parse(b.out) as {
      agent: string;
      paused: boolean;
      runs_today: number;
      runs_total: number;
      budget: { usd: number; tokens: number; usd_cap: number; token_cap: number };
    }[];
    const tester = rows.find((r) => r.agent === 'tester')!;
    expect(tester).toMatchObject({ paused: true, runs_today: 1, runs_total: 1 });
    expect(tester.budget.usd).toBeCloseTo(run.rec.usd, 12);
    expect(tester.budget.tokens).toBe(run.rec.tokens);
    expect(tester.budget).toMatchObject({ usd_cap: 5, token_cap: 2_000_000 });
    expect(rows.find((r) => r.agent === 'noop')).toMatchObject({ paused: false, runs_total: 0 });
  });
});
