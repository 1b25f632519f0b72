// Class: spend is what the runner wrote, counted in the trusted window. A
// line in the working ledger that the runner did not write is refused, and
// the window and totals come from the trusted agent.toml and are recomputed
// from the lines, never taken from a line: a schema-valid, correctly chained
// line that claims `"window": "month"` and a zero total resets nothing.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendCharge } from '../../src/ledger/ledger.js';
import { openRepo } from '../../src/git/repo.js';
import { fixedClock, ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { commitGoverned, commitUnsigned, expectFinding } from '../helpers/scene.js';

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
max_run_usd = 0.4
`;

/** A line that chains to the ledger's last one and claims a fresh month window with nothing spent. */
function forgedLine(ledger: string, now: Date): string {
  const text = readFileSync(ledger, 'utf8');
  const last = text.trimEnd().split('\n').pop()!;
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().replace('.000Z', 'Z');
  return (
    JSON.stringify({
      at: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      run: 'refund',
      input_tokens: 0,
      output_tokens: 0,
      usd: 0,
      source: 'reported',
      window: 'month',
      window_start: month,
      window_usd: 0,
      window_tokens: 0,
      prev: createHash('sha256').update(last).digest('hex'),
    }) + '\n'
  );
}

async function scene(spent: number): Promise<{ repo: string; ledger: string }> {
  const repo = await initRepo(sb);
  commitGoverned(
    sb,
    repo,
    { 'agents/worker/agent.toml': WORKER, 'agents/worker/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n', 'agents/worker/tasks/smoke.md': 'work\n' },
    'add worker',
  );
  const r = await openRepo(repo);
  const clock = fixedClock(new Date().toISOString());
  for (let i = 0; i < spent; i++) {
    await appendCharge(r, 'worker', { run: `run-${i}`, input_tokens: 10, output_tokens: 10, usd: 0.4, source: 'reported' }, { window: 'day', clock });
  }
  git(repo, 'add', 'ledger/worker.jsonl');
  commitUnsigned(repo, 'charges');
  return { repo, ledger: join(repo, 'ledger/worker.jsonl') };
}

describe('class: ledger forgery', () => {
  it('an uncommitted forged line in the working ledger is refused by the runner', async () => {
    const { repo, ledger } = await scene(1); // $0.40 spent: a $0.40 reservation fits the $1 cap
    appendFileSync(ledger, forgedLine(ledger, new Date()));
    const r = await ga(['-C', repo, 'run', 'worker']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toMatch(/ledger/);
  });

  it('a committed forged window line resets nothing: the run is refused over budget and the watchdog pauses', async () => {
    const { repo, ledger } = await scene(2);
    appendFileSync(ledger, forgedLine(ledger, new Date()));
    git(repo, 'add', 'ledger/worker.jsonl');
    commitUnsigned(repo, 'a refund');
    const r = await ga(['-C', repo, 'run', 'worker']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toMatch(/budget|cap/);
    const board = await ga(['-C', repo, '--json', 'scoreboard']);
    const row = (JSON.parse(board.out) as { agent: string; budget: { usd: number; window: string } }[]).find((x) => x.agent === 'worker')!;
    expect(row.budget.usd).toBeCloseTo(0.8, 6);
    expect(row.budget.window).toBe('day');
    await expectFinding(repo, 'ledger-chain', /window/);
  });

  it('the watchdog pauses an agent over its trusted cap whatever its last line claims', async () => {
    const { repo, ledger } = await scene(3);
    appendFileSync(ledger, forgedLine(ledger, new Date()));
    git(repo, 'add', 'ledger/worker.jsonl');
    commitUnsigned(repo, 'a refund');
    const w = await ga(['-C', repo, 'watchdog', '--once']);
    expect(w.code, w.out + w.err).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'agents/worker/')).toContain('agents/worker/PAUSED');
  });
});
