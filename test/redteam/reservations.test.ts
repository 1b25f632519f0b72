// Class: a run's reservation is evidence in history, not a runtime file. The
// run-started commit carries the reserved USD and a lease; runs in flight
// hold their reservations until their run-finished commit or the lease's end,
// so deleting .ga/ cannot let a second run of the same agent start when
// together they would cross the cap.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearOfUtcMidnight, fixedClock, ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, until } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

// Waits in its workspace until a file named "go" appears; no usable report, so it is charged its reservation.
const WORKER = `adapter = "command"
command = ["sh", "-c", "touch started; while [ ! -e go ]; do sleep 0.05; done"]
timeout = "60s"
[budget]
usd = 1.0
tokens = 1000000
window = "day"
warn_at = 0.8
max_run_usd = 0.6
`;

async function workerRepo(): Promise<{ repo: string; workspace: string }> {
  const repo = await initRepo(sb);
  commitGoverned(
    sb,
    repo,
    { 'agents/worker/agent.toml': WORKER, 'agents/worker/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n', 'agents/worker/tasks/smoke.md': 'work\n' },
    'add worker',
  );
  return { repo, workspace: join(repo, 'agents/worker/workspace') };
}

describe('class: reservations are history', () => {
  it('a second run cannot start while the first holds its reservation, even with .ga deleted', async () => {
    const { repo, workspace } = await workerRepo();
    const first = background(['-C', repo, '--json', 'run', 'worker']);
    try {
      await until(() => existsSync(join(workspace, 'started')), 30_000, 'the first run to start').catch((e: Error) => {
        throw new Error(`${e.message}: ${first.out()} ${first.err()}`);
      });
      const started = git(repo, 'log', '-1', '--format=%B', '--grep=Ga-Event: run-started');
      expect(started).toMatch(/^Ga-Reserved-Usd: 0\.6$/m);
      expect(started).toMatch(/^Ga-Lease-Until: \d{4}-\d\d-\d\dT/m);
      rmSync(join(repo, '.ga'), { recursive: true, force: true }); // what the agent does
      const second = await ga(['-C', repo, 'run', 'worker']);
      expect(second.code, second.out + second.err).toBe(1);
      expect(second.err).toMatch(/over budget: .*\$0\.6000 reserved/);
      const board = JSON.parse((await ga(['-C', repo, '--json', 'scoreboard'])).out) as { agent: string; budget: { reserved_usd: number } }[];
      expect(board.find((r) => r.agent === 'worker')!.budget.reserved_usd).toBeCloseTo(0.6, 6);
      writeFileSync(join(workspace, 'go'), '');
      expect(await first.exited).toBe(0);
    } finally {
      await first.stop();
    }
    // Finished: its reservation is released, and the next run may start.
    const board = JSON.parse((await ga(['-C', repo, '--json', 'scoreboard'])).out) as { agent: string; budget: { reserved_usd: number } }[];
    expect(board.find((r) => r.agent === 'worker')!.budget.reserved_usd).toBe(0);
    const next = await ga(['-C', repo, 'run', 'worker']);
    expect(next.code, next.out + next.err).toBe(0);
  });

  it(
    'the reservation of a runner that died holds until its lease runs out, then counts as spent in full',
    async () => {
      await clearOfUtcMidnight(5 * 60_000); // the run's reservation and the look 125 s ahead in one budget day
      const { repo, workspace } = await workerRepo();
      const first = background(['-C', repo, 'run', 'worker']);
      await until(() => existsSync(join(workspace, 'started')), 30_000, 'the first run to start');
      first.child.kill('SIGKILL');
      await first.exited;
      writeFileSync(join(workspace, 'go'), ''); // let the orphaned agent end
      const during = await ga(['-C', repo, 'run', 'worker']);
      expect(during.code, during.out + during.err).toBe(1);
      expect(during.err).toMatch(/reserved/);
      // After the lease (the 60 s time limit plus the grace) nothing is reserved any more, but the run never said what it
      // spent: it counts as having spent its whole reservation, so deleting an uncommitted ledger line frees nothing.
      const later = fixedClock(new Date(Date.now() + 125_000).toISOString());
      const board = JSON.parse((await ga(['-C', repo, '--json', 'scoreboard'], later)).out) as {
        agent: string;
        budget: { usd: number; reserved_usd: number };
      }[];
      expect(board.find((r) => r.agent === 'worker')!.budget).toMatchObject({ reserved_usd: 0, usd: 0.6 });
      const after = await ga(['-C', repo, '--json', 'run', 'worker'], later);
      expect(after.code, after.out + after.err).toBe(1);
      expect(after.err).toMatch(/over budget: \$0\.6000 spent and \$0\.0000 reserved/);
    },
    60_000 + 5 * 60_000,
  );
});
