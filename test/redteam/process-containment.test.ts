// Class: when ga stops an agent, everything it started stops with it. A
// process that leaves the agent's process group (setsid) or its session, or
// double-forks away from its parent, is still stopped: the runner runs the
// agent in a PID namespace where the system allows it, and otherwise walks
// the process tree and the run's marker.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, processesWith, sleep, until } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

describe('class: process containment', () => {
  it('a setsid loop and a double-forked orphan started by the agent die with the run when it is paused', async () => {
    const repo = await initRepo(sb);
    const beat = join(sb.dir, 'beat');
    const orphan = join(sb.dir, 'orphan');
    const token = `ga-escape-${Math.random().toString(36).slice(2)}`;
    const script = [
      `setsid sh -c 'while :; do echo ${token} >> "${beat}"; sleep 0.05; done' &`,
      `( ( sh -c 'while :; do echo ${token}-orphan >> "${orphan}"; sleep 0.05; done' ) & ) `,
      'sleep 30',
    ].join('\n');
    commitGoverned(
      sb,
      repo,
      {
        'agents/worker/agent.toml': `adapter = "command"\ncommand = ["sh", "-c", ${JSON.stringify(script)}]\ntimeout = "60s"\n[budget]\nmax_run_usd = 0\n`,
        'agents/worker/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n',
        'agents/worker/tasks/smoke.md': 'escape\n',
      },
      'add worker',
    );
    const run = background(['-C', repo, '--json', 'run', 'worker']);
    try {
      await until(() => existsSync(beat) && existsSync(orphan), 15_000, 'the escapees to start').catch((e: Error) => {
        throw new Error(`${e.message}: ${run.out()} ${run.err()}`);
      });
      expect((await ga(['-C', repo, 'pause', 'worker', '--reason', 'stop everything'])).code).toBe(0);
      expect(await run.exited).toBe(1);
      await sleep(400);
      const sizes = () => [statSync(beat).size, statSync(orphan).size];
      const before = sizes();
      await sleep(600);
      expect(sizes(), 'an escaped process kept writing after the run stopped').toEqual(before);
      expect(processesWith(token)).toEqual([]);
      expect(JSON.parse(run.out()).outcome).toBe('paused');
    } finally {
      await run.stop();
    }
  });
});
