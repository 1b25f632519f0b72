// The watchdog's rules, one sweep at a time (`ga watchdog --once`, in
// process, with the clock injected where a rule depends on time): every rule
// fires, and does not fire on the near miss; each pause is idempotent and
// comes back after a premature resume; bad files never stop a sweep and are
// flagged once (DESIGN.md "Pauses", "The watchdog's settings", "Ledger and
// budgets").
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTrailers } from '../../src/audit/events.js';
import type { Clock } from '../../src/clock.js';
import { openRepo } from '../../src/git/repo.js';
import { appendCharge } from '../../src/ledger/ledger.js';
import { parsePause } from '../../src/schema/pause.js';
import { auditRecords, clearOfUtcMidnight, fixedClock, ga, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
let repo: string;
let T0: number;
const MIN = 60_000;
beforeEach(
  async () => {
    // Every spend here and the sweep that counts it fall within T0 + 3 minutes: one budget day. (T0 is now, not some
    // fixed noon: the rules also read the commits' own times, and the clock must not run behind them.)
    await clearOfUtcMidnight(6 * MIN);
    sb = sandbox(['alice']);
    repo = await initRepo(sb);
    T0 = Math.floor(Date.now() / 1000) * 1000;
  },
  60_000 + 6 * MIN,
);
afterEach(() => sb.cleanup());

const at = (offsetMs: number) => fixedClock(new Date(T0 + offsetMs).toISOString());

/** Commits on the branch with their parsed trailers, newest first. */
function commits(): { id: string; subject: string; body: string; events: ReturnType<typeof parseTrailers> }[] {
  const raw = git(repo, 'log', '--format=%H%x00%s%x00%B%x1e');
  return raw
    .split('\x1e')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [id, subject, body] = s.split('\x00') as [string, string, string];
      return { id, subject, body, events: parseTrailers(body) };
    });
}
const withEvent = (event: string, agent?: string) =>
  commits().filter((c) => c.events.some((e) => e.event === event && (agent === undefined || e.agent === agent)));
const head = () => git(repo, 'rev-parse', 'HEAD');

async function sweep(clock: Clock): Promise<string> {
  const r = await ga(['-C', repo, 'watchdog', '--once'], clock);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return r.out;
}

async function charge(usd: number, clock: Clock, agent = 'noop', tokens = 0): Promise<void> {
  await appendCharge(
    await openRepo(repo),
    agent,
    { run: `run-${Math.random().toString(36).slice(2, 8)}`, input_tokens: tokens, output_tokens: 0, usd, source: 'reported' },
    { window: 'day', clock },
  );
}

function commitSigned(path: string, content: string, msg: string): void {
  write(repo, path, content);
  git(repo, 'add', path);
  git(repo, 'commit', '-S', '-qm', msg);
}

const marker = (agent = 'noop') => join(repo, 'agents', agent, 'PAUSED');

/** The pause is a watchdog commit with the right trailers and a well-formed marker. */
function expectPausedBy(reason: string, agent = 'noop'): void {
  const paused = withEvent('agent-paused', agent);
  expect(paused.length).toBeGreaterThanOrEqual(1);
  const last = paused[0]!;
  expect(last.body).toMatch(/^Ga-Event: agent-paused$/m);
  expect(last.body).toMatch(/^Ga-Actor: watchdog$/m);
  expect(last.body).toMatch(new RegExp(`^Ga-Agent: ${agent}$`, 'm'));
  expect(last.body).toMatch(new RegExp(`^Ga-Reason: ${reason}: `, 'm'));
  const text = readFileSync(marker(agent), 'utf8');
  expect(git(repo, 'show', `HEAD:agents/${agent}/PAUSED`)).toBe(text.trim());
  const m = parsePause(text, 'PAUSED');
  expect(m.reason).toBe(reason);
  expect(m.by).toBe('watchdog');
  expect(m.detail.length).toBeGreaterThan(0);
  expect(git(repo, 'status', '--porcelain', '--', `agents/${agent}`, 'audit')).toBe('');
  // the event's audit file rides in the same commit
  const audit = auditRecords(repo, agent);
  expect(audit.at(-1)).toMatchObject({ event: 'agent-paused', actor: 'watchdog', agent });
}

/**
 * Idempotence; then a forced resume by alice while the evidence is still on
 * record, which holds (the watchdog does not pause again over what she
 * resumed over); then new evidence of the same kind, which pauses again.
 */
async function idempotentHoldsAndComesBack(clock: Clock, reason: string, newCause: () => Promise<Clock>): Promise<void> {
  const before = head();
  const out = await sweep(clock);
  expect(out).toMatch(/nothing to do/);
  expect(head()).toBe(before);
  expect(withEvent('agent-paused', 'noop')).toHaveLength(1);

  sb.as('alice');
  const r = await ga(['-C', repo, 'resume', 'noop', '--reason', 'looked at it, carry on', '--force'], clock);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(existsSync(marker())).toBe(false);
  expect(withEvent('agent-resumed', 'noop')).toHaveLength(1);

  expect(await sweep(clock)).toMatch(/nothing to do/);
  expect(withEvent('agent-paused', 'noop')).toHaveLength(1);
  expect(existsSync(marker())).toBe(false);

  await sweep(await newCause());
  expect(withEvent('agent-paused', 'noop')).toHaveLength(2);
  expectPausedBy(reason);
}

const NOOP_AGENT = (usd: number) => `adapter = "noop"
timeout = "30m"

[budget]
usd = ${usd}
tokens = 100000
window = "day"
warn_at = 0.8
max_run_usd = 0.0
`;

describe('over-budget', () => {
  it('pauses an agent whose spend reaches the cap in its window; idempotent; a forced resume holds; back on new evidence', async () => {
    const clock = at(0);
    await charge(0.6, clock);
    await charge(0.4, clock); // 1.0 of a 1.0 cap
    const out = await sweep(clock);
    expect(out).toMatch(/paused noop \(over-budget\)/);
    expectPausedBy('over-budget');
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/\$1\.0000 of \$1/);
    await idempotentHoldsAndComesBack(clock, 'over-budget', async () => (await charge(0.01, at(MIN)), at(MIN)));
  });

  it('near miss: just under the cap, or over it in an earlier day window, does nothing', async () => {
    await charge(0.99, at(0));
    const before = head();
    expect(await sweep(at(0))).toMatch(/nothing to do/);
    expect(head()).toBe(before);
    // yesterday's spend does not count today
    const yesterday = fixedClock(new Date(Date.UTC(2020, 0, 1, 12)).toISOString());
    const other = fixedClock(new Date(Date.UTC(2020, 0, 2, 12)).toISOString());
    writeFileSync(join(repo, 'ledger', 'noop.jsonl'), '');
    await charge(5, yesterday);
    expect(await sweep(other)).toMatch(/nothing to do/);
    expect(withEvent('agent-paused')).toHaveLength(0);
  });

  it('the token cap counts as well', async () => {
    await charge(0, at(0), 'noop', 100_000);
    await sweep(at(0));
    expectPausedBy('over-budget');
  });

  it('a cap lowered by an alice-signed commit of agents/noop/agent.toml pauses; an unsigned one does not', async () => {
    await charge(0.5, at(0));
    expect(await sweep(at(0))).toMatch(/nothing to do/);

    // an unsigned edit of a governed file is ignored for trust
    write(repo, 'agents/noop/agent.toml', NOOP_AGENT(0.25));
    git(repo, 'add', 'agents/noop/agent.toml');
    git(repo, 'commit', '--no-gpg-sign', '-qm', 'lower the cap (unsigned)');
    expect(await sweep(at(0))).toMatch(/nothing to do/);
    expect(withEvent('agent-paused')).toHaveLength(0);

    commitSigned('agents/noop/agent.toml', NOOP_AGENT(0.4), 'lower the noop cap to $0.4');
    await sweep(at(0));
    expectPausedBy('over-budget');
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/of \$0\.4\b/);
    await idempotentHoldsAndComesBack(at(0), 'over-budget', async () => (await charge(0.01, at(MIN)), at(MIN)));
  });
});

describe('stuck', () => {
  const heartbeat = (run: string, updatedAt: number, pid: number) => {
    write(
      repo,
      `.ga/runs/${run}.json`,
      JSON.stringify({
        run,
        agent: 'noop',
        task: 'smoke',
        adapter: 'noop',
        runner_pid: pid,
        started_at: new Date(updatedAt - MIN).toISOString(),
        updated_at: new Date(updatedAt).toISOString(),
      }) + '\n',
    );
  };
  const DEAD_PID = 2 ** 22 - 3; // above the default pid_max of most systems: no such process

  it('a heartbeat older than heartbeat_timeout with a dead runner pauses once and is retired', async () => {
    heartbeat('run-old', T0 - 2 * MIN, DEAD_PID);
    const out = await sweep(at(0));
    expect(out).toMatch(/paused noop \(stuck\)/);
    expectPausedBy('stuck');
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/run run-old .*gone/);
    expect(existsSync(join(repo, '.ga/runs/run-old.json'))).toBe(false);
    expect(existsSync(join(repo, '.ga/runs/run-old.json.stale'))).toBe(true);
    const before = head();
    await sweep(at(0));
    expect(head()).toBe(before);
  });

  it('a dead run, once acted on, does not undo a resume (its heartbeat is retired)', async () => {
    heartbeat('run-dead', T0 - 2 * MIN, DEAD_PID);
    await sweep(at(0));
    expectPausedBy('stuck');
    const r = await ga(['-C', repo, 'resume', 'noop', '--reason', 'the run is gone', '--force'], at(MIN));
    expect(r.code).toBe(0);
    expect(await sweep(at(MIN))).toMatch(/nothing to do/);
    expect(withEvent('agent-paused')).toHaveLength(1);
  });

  it('a runner that is alive but silent pauses; a resume holds until another run goes silent', async () => {
    heartbeat('run-silent', T0 - 2 * MIN, process.pid);
    await sweep(at(0));
    expectPausedBy('stuck');
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/silent/);
    await idempotentHoldsAndComesBack(at(MIN), 'stuck', async () => (heartbeat('run-silent-2', T0 + 3 * MIN, process.pid), at(5 * MIN)));
  });

  it('near miss: a heartbeat just inside heartbeat_timeout does nothing', async () => {
    heartbeat('run-fresh', T0 - 50_000, DEAD_PID);
    const before = head();
    expect(await sweep(at(0))).toMatch(/nothing to do/);
    expect(head()).toBe(before);
    expect(existsSync(join(repo, '.ga/runs/run-fresh.json'))).toBe(true);
  });

  it('an approved proposal not executed within stuck_after pauses its agent; not at 29 minutes', async () => {
    const p = await propose(repo, PUBLISH, at(0));
    expect(p.code).toBe(0);
    const a = await ga(['-C', repo, 'approve', p.last], at(0));
    expect(a.code).toBe(0);
    const before = head();
    expect(await sweep(at(29 * MIN))).toMatch(/nothing to do/);
    expect(head()).toBe(before);
    const out = await sweep(at(31 * MIN));
    expect(out).toMatch(/paused noop \(stuck\)/);
    expectPausedBy('stuck');
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toContain(p.last);
    await idempotentHoldsAndComesBack(at(32 * MIN), 'stuck', async () => {
      const q = await propose(repo, PUBLISH.replace('launch"', 'second"'), at(33 * MIN));
      expect((await ga(['-C', repo, 'approve', q.last], at(33 * MIN))).code).toBe(0);
      return at(64 * MIN);
    });
  });

  it('a hand-made approval (git mv + git commit -S) counts for stuck_after too', async () => {
    const p = await propose(repo, PUBLISH, at(0));
    git(repo, 'mv', `proposals/pending/${p.last}.toml`, `proposals/approved/${p.last}.toml`);
    git(repo, 'commit', '-S', '-qm', `approve ${p.last}`);
    expect(await sweep(at(29 * MIN))).toMatch(/nothing to do/);
    await sweep(at(31 * MIN));
    expectPausedBy('stuck');
  });
});

describe('looping', () => {
  const OTHER = PUBLISH.replace('launch"', 'other"');

  it('loop_count identical proposals within loop_window pause; idempotent; a forced resume holds; back on new evidence', async () => {
    for (let i = 0; i < 3; i++) expect((await propose(repo, PUBLISH, at(i * MIN))).code).toBe(0);
    const out = await sweep(at(3 * MIN));
    expect(out).toMatch(/paused noop \(looping\)/);
    expectPausedBy('looping');
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/^3 identical proposals/);
    await idempotentHoldsAndComesBack(at(4 * MIN), 'looping', async () => {
      for (let i = 5; i < 8; i++) expect((await propose(repo, PUBLISH, at(i * MIN))).code).toBe(0);
      return at(8 * MIN);
    });
  });

  it('rejecting the looping proposals and resuming (no --force) lifts the pause for good', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await propose(repo, PUBLISH, at(i * MIN))).last);
    await sweep(at(3 * MIN));
    expectPausedBy('looping');
    sb.as('alice');
    for (const id of ids) expect((await ga(['-C', repo, 'reject', id, '--reason', 'loop'], at(4 * MIN))).code).toBe(0);
    const r = await ga(['-C', repo, 'resume', 'noop', '--reason', 'rejected the loop'], at(4 * MIN));
    expect(r.code, r.err).toBe(0);
    expect(await sweep(at(4 * MIN))).toMatch(/nothing to do/);
    expect(await sweep(at(5 * MIN))).toMatch(/nothing to do/);
    expect(existsSync(marker())).toBe(false);
    expect(withEvent('agent-paused')).toHaveLength(1);
  });

  it('the same payload in another key order is the same proposal', async () => {
    const a = 'agent = "noop"\naction_type = "publish_content"\ntitle = "T"\n[payload]\nx = 1\ny = "b"\n';
    const b = 'agent = "noop"\naction_type = "publish_content"\ntitle = "Another title"\n[payload]\ny = "b"\nx = 1\n';
    await propose(repo, a, at(0));
    await propose(repo, b, at(MIN));
    await propose(repo, a, at(2 * MIN));
    await sweep(at(3 * MIN));
    expectPausedBy('looping');
  });

  it('near miss: one fewer', async () => {
    await propose(repo, PUBLISH, at(0));
    await propose(repo, PUBLISH, at(MIN));
    expect(await sweep(at(2 * MIN))).toMatch(/nothing to do/);
    expect(withEvent('agent-paused')).toHaveLength(0);
  });

  it('near miss: one different proposal in between', async () => {
    await propose(repo, PUBLISH, at(0));
    await propose(repo, PUBLISH, at(MIN));
    await propose(repo, OTHER, at(2 * MIN));
    await propose(repo, PUBLISH, at(3 * MIN));
    expect(await sweep(at(4 * MIN))).toMatch(/nothing to do/);
    // a different action type with the same payload is different work too
    const p = await propose(repo, PUBLISH.replace('publish_content', 'send_email'), at(5 * MIN));
    expect(p.code).toBe(0);
    await propose(repo, PUBLISH, at(6 * MIN));
    expect(await sweep(at(7 * MIN))).toMatch(/nothing to do/);
    expect(withEvent('agent-paused')).toHaveLength(0);
  });

  it('a streak that began more than loop_window before the sweep still counts, when it spans less and its last is within it', async () => {
    // Proposals long before (one of them the same) neither join nor break it.
    await propose(repo, PUBLISH, at(-60 * MIN));
    await propose(repo, OTHER, at(-50 * MIN));
    for (const m of [0, 4, 9]) expect((await propose(repo, PUBLISH, at(m * MIN))).code).toBe(0);
    const out = await sweep(at(18 * MIN));
    expect(out).toMatch(/paused noop \(looping\)/);
    expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/^3 identical proposals/);
  });

  it('near miss: three identical spread wider than loop_window', async () => {
    await propose(repo, PUBLISH, at(0));
    await propose(repo, PUBLISH, at(5 * MIN));
    await propose(repo, PUBLISH, at(11 * MIN));
    expect(await sweep(at(11 * MIN))).toMatch(/nothing to do/);
    expect(withEvent('agent-paused')).toHaveLength(0);
  });

  describe('tool loop', () => {
    const tools = (run: string, calls: { name: string; input: unknown }[]) =>
      write(repo, `.ga/runs/${run}.tools.jsonl`, calls.map((c, i) => JSON.stringify({ at: new Date(T0 + i * 1000).toISOString(), ...c }) + '\n').join(''));
    const live = (run: string) =>
      write(
        repo,
        `.ga/runs/${run}.json`,
        JSON.stringify({
          run,
          agent: 'noop',
          task: 'smoke',
          adapter: 'claude',
          runner_pid: process.pid,
          started_at: new Date(T0 - MIN).toISOString(),
          updated_at: new Date(T0).toISOString(),
        }) + '\n',
      );
    const read = { name: 'Read', input: { file_path: '/tmp/x', limit: 10 } };

    it("tool_loop_count identical consecutive calls in a run pause the run's agent", async () => {
      live('run-1');
      tools('run-1', [{ name: 'Grep', input: { pattern: 'a' } }, read, read, read, read, { name: 'Read', input: { limit: 10, file_path: '/tmp/x' } }]);
      const out = await sweep(at(5000));
      expect(out).toMatch(/paused noop \(looping\)/);
      expectPausedBy('looping');
      expect(parsePause(readFileSync(marker(), 'utf8'), 'PAUSED').detail).toMatch(/run run-1 made the same tool call 5 times/);
      await idempotentHoldsAndComesBack(at(6000), 'looping', async () => {
        const later = (run: string) =>
          write(
            repo,
            `.ga/runs/${run}.json`,
            JSON.stringify({
              run,
              agent: 'noop',
              task: 'smoke',
              adapter: 'claude',
              runner_pid: process.pid,
              started_at: new Date(T0 + 10_000).toISOString(),
              updated_at: new Date(T0 + 20_000).toISOString(),
            }) + '\n',
          );
        later('run-2');
        tools('run-2', [read, read, read, read, read]);
        return at(20_000);
      });
    });

    it('near miss: one fewer, or one different call in between', async () => {
      live('run-2');
      tools('run-2', [read, read, read, read]);
      live('run-3');
      tools('run-3', [read, read, { name: 'Read', input: { file_path: '/tmp/y', limit: 10 } }, read, read, read]);
      const before = head();
      expect(await sweep(at(5000))).toMatch(/nothing to do/);
      expect(head()).toBe(before);
    });
  });
});

describe('expiry', () => {
  it('the sweep expires due proposals, once; not before expires_at', async () => {
    const p = await propose(repo, PUBLISH, at(0));
    expect(p.code).toBe(0);
    let before = head();
    expect(await sweep(at(23 * 60 * MIN))).toMatch(/nothing to do/);
    expect(head()).toBe(before);
    const out = await sweep(at(24 * 60 * MIN + 1000));
    expect(out).toContain(`expired ${p.last}`);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/expired/')).toContain(p.last);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).not.toContain(p.last);
    const c = withEvent('proposal-expired');
    expect(c).toHaveLength(1);
    expect(c[0]!.body).toMatch(/^Ga-Actor: watchdog$/m);
    expect(c[0]!.body).toContain(`Ga-Proposal: ${p.last}`);
    before = head();
    expect(await sweep(at(25 * 60 * MIN))).toMatch(/nothing to do/);
    expect(head()).toBe(before);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });
});

describe('bad files do not stop it', () => {
  it('a malformed policies/watchdog.toml (alice-signed): defaults apply, one flag-bad-file commit, not one per sweep', async () => {
    commitSigned('policies/watchdog.toml', 'loop_count = [\nsweep_interval = "5s"\n', 'break the watchdog settings');
    const first = await sweep(at(0));
    expect(first).toMatch(/flagged bad file policies\/watchdog\.toml/);
    const flags = withEvent('flag-bad-file');
    expect(flags).toHaveLength(1);
    expect(flags[0]!.body).toMatch(/^Ga-Actor: watchdog$/m);
    expect(flags[0]!.body).toMatch(/^Ga-Reason: policies\/watchdog\.toml: /m);
    const before = head();
    await sweep(at(0));
    await sweep(at(1000));
    expect(head()).toBe(before);
    expect(withEvent('flag-bad-file')).toHaveLength(1);

    // the defaults are in force: three identical proposals (loop_count 3) still pause
    for (let i = 0; i < 3; i++) await propose(repo, PUBLISH, at(i * MIN));
    await sweep(at(3 * MIN));
    expectPausedBy('looping');
    expect(withEvent('flag-bad-file')).toHaveLength(1);
  });

  it('a torn last ledger line: no throw, flagged once; restored plus a valid over-cap charge pauses normally', async () => {
    await charge(0.3, at(0));
    const ledger = join(repo, 'ledger', 'noop.jsonl');
    const good = readFileSync(ledger);
    appendFileSync(ledger, '{"at": ');
    const first = await sweep(at(0));
    expect(first).toMatch(/flagged bad file ledger\/noop\.jsonl/);
    const flags = withEvent('flag-bad-file', 'noop');
    expect(flags).toHaveLength(1);
    expect(flags[0]!.body).toMatch(/^Ga-Actor: watchdog$/m);
    const before = head();
    await sweep(at(0));
    await sweep(at(1000));
    expect(head()).toBe(before);
    expect(withEvent('flag-bad-file')).toHaveLength(1);
    expect(withEvent('agent-paused')).toHaveLength(0);

    writeFileSync(ledger, good);
    await charge(0.8, at(2000));
    const out = await sweep(at(3000));
    expect(out).toMatch(/paused noop \(over-budget\)/);
    expectPausedBy('over-budget');
    expect(withEvent('flag-bad-file')).toHaveLength(1);
  });

  it('a bad file that is mended and breaks again is flagged again', async () => {
    await charge(0.1, at(0));
    const ledger = join(repo, 'ledger', 'noop.jsonl');
    const good = readFileSync(ledger);
    appendFileSync(ledger, '{"at": ');
    await sweep(at(0));
    await sweep(at(1000));
    expect(withEvent('flag-bad-file', 'noop')).toHaveLength(1);
    writeFileSync(ledger, good);
    await sweep(at(2000)); // mended: nothing to flag, and it is forgotten
    expect(withEvent('flag-bad-file', 'noop')).toHaveLength(1);
    appendFileSync(ledger, '{"at": ');
    await sweep(at(3000));
    expect(withEvent('flag-bad-file', 'noop')).toHaveLength(2);
  });

  it('a torn tool-call line that is not the last is flagged once; the rule still reads the rest', async () => {
    write(repo, '.ga/runs/run-t.json', JSON.stringify({ run: 'run-t', agent: 'noop', runner_pid: process.pid, updated_at: new Date(T0).toISOString() }) + '\n');
    const line = JSON.stringify({ at: new Date(T0).toISOString(), name: 'Bash', input: { command: 'ls' } }) + '\n';
    write(repo, '.ga/runs/run-t.tools.jsonl', '{"at": \n' + line.repeat(5));
    const out = await sweep(at(1000));
    expect(out).toMatch(/flagged bad file \.ga\/runs\/run-t\.tools\.jsonl/);
    expectPausedBy('looping');
    const before = head();
    await sweep(at(2000));
    expect(head()).toBe(before);
  });
});

describe('several causes at once', () => {
  it('one pause per agent, whichever rules fire', async () => {
    await charge(2, at(0));
    for (let i = 0; i < 3; i++) await propose(repo, PUBLISH, at(i * MIN));
    await sweep(at(3 * MIN));
    expect(withEvent('agent-paused')).toHaveLength(1);
    const before = head();
    await sweep(at(3 * MIN));
    expect(head()).toBe(before);
  });
});
