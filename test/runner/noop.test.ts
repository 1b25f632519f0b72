// `ga run noop` end to end with the real binary: the agent proposes, the run
// waits for a decision that another process makes, and the executor runs the
// trusted hook once the approval is valid (DESIGN.md "Commands", "Execution,
// exactly once").
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTrailers } from '../../src/audit/events.js';
import { ga, gaProcess, git, initRepo, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

/** Polls `ga list --state pending --json` until a proposal appears; returns its id. */
async function pendingId(repo: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await ga(['-C', repo, '--json', 'list', '--state', 'pending']);
    if (r.code === 0) {
      const rows = JSON.parse(r.out) as { id: string; agent?: string }[];
      if (rows.length > 0) {
        expect(rows).toHaveLength(1);
        expect(rows[0]!.agent).toBe('noop');
        return rows[0]!.id;
      }
    }
    if (Date.now() > until) throw new Error('no pending proposal appeared');
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** The trailers of the newest run-finished commit. */
function lastRunFinished(repo: string): Partial<Record<string, string>> | undefined {
  const log = git(repo, 'log', '--format=%H');
  for (const c of log.split('\n')) {
    const t = parseTrailers(git(repo, 'log', '-1', '--format=%B', c)).find((e) => e.event === 'run-finished');
    if (t) return t;
  }
  return undefined;
}

/** Proposal files (not .gitkeep) in proposals/<state>/ at HEAD. */
const inState = (repo: string, state: string) =>
  git(repo, 'ls-tree', '--name-only', 'HEAD', `proposals/${state}/`)
    .split('\n')
    .filter((p) => p.endsWith('.toml'));

describe('ga run noop (the real binary)', () => {
  it('proposes, waits, and has the hook run once a second process approves', async () => {
    const repo = await initRepo(sb);
    const running = gaProcess(['-C', repo, 'run', 'noop']);
    const id = await pendingId(repo);
    const a = await ga(['-C', repo, 'approve', id]);
    expect(a.code, a.err).toBe(0);
    // the waiting run executes it: the person is not sent to ga execute
    expect(a.out).toMatch(/the waiting run .* executes it now/);
    expect(a.out).not.toMatch(/ga execute/);
    const r = await running;
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.out).toContain(`proposed ${id}; waiting for your decision: ga approve ${id} (this run then executes it), or ga reject ${id} --reason`);
    expect(r.out).toMatch(/^success: run /m);
    expect(r.out).toMatch(/published: /);
    expect(r.out).toMatch(new RegExp(`proposal ${id} approved and executed`));
    expect(inState(repo, 'executed')).toEqual([`proposals/executed/${id}.toml`]);
    expect(lastRunFinished(repo)).toMatchObject({ outcome: 'success', agent: 'noop', actor: 'runner' });
    // The proposal was submitted by the agent, not by the runner or a human.
    const submitted = git(repo, 'log', '--format=%H%x00%B', '--grep', 'Ga-Event: proposal-submitted')
      .split('\n')
      .filter((l) => l.includes('\0')).length;
    expect(submitted).toBe(1);
  });

  it('finishes cleanly when the proposal is rejected', async () => {
    const repo = await initRepo(sb);
    const running = gaProcess(['-C', repo, 'run', 'noop']);
    const id = await pendingId(repo);
    const rj = await ga(['-C', repo, 'reject', id, '--reason', 'not now']);
    expect(rj.code, rj.err).toBe(0);
    const r = await running;
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.out).toMatch(/^success: run /m);
    expect(r.out).toMatch(new RegExp(`proposal ${id} was rejected`));
    expect(r.out).not.toMatch(/published: /);
    expect(inState(repo, 'rejected')).toEqual([`proposals/rejected/${id}.toml`]);
    expect(inState(repo, 'executed')).toEqual([]);
    expect(lastRunFinished(repo)).toMatchObject({ outcome: 'success', agent: 'noop' });
  });

  it('fails with outcome wall-clock when no decision comes before the timeout', async () => {
    const repo = await initRepo(sb);
    write(
      repo,
      'agents/noop/agent.toml',
      // long enough for the agent's ga propose to land on a loaded machine, short enough to wait for
      'adapter = "noop"\ntimeout = "8s"\n[budget]\nusd = 1.0\ntokens = 100000\nwindow = "day"\nwarn_at = 0.8\nmax_run_usd = 0.0\n',
    );
    git(repo, 'add', 'agents/noop/agent.toml');
    git(repo, 'commit', '-S', '-qm', 'noop: 8s timeout');
    const t0 = Date.now();
    const r = await gaProcess(['-C', repo, 'run', 'noop']);
    const elapsed = Date.now() - t0;
    expect(r.code, `${r.out}\n${r.err}`).toBe(1);
    expect(r.out).toMatch(/^wall-clock: run /m);
    expect(r.out).toMatch(/still pending when the run was stopped/);
    expect(elapsed).toBeGreaterThanOrEqual(8000);
    expect(elapsed).toBeLessThan(40_000); // the run stopped at its 8 s limit, not at the 60 s test timeout
    expect(lastRunFinished(repo)).toMatchObject({ outcome: 'wall-clock', agent: 'noop' });
    expect(inState(repo, 'pending')).toHaveLength(1);
  });
});
