// Class: a pause marker present in any form means paused, and a pause reaches
// a running agent whatever it does to the paths under agents/. Anything but a
// regular file at a governance path (a gitlink, a symlink, a directory) is
// tampering; the runner follows the committed state and stops the agent when
// it cannot tell; `ga pause` never crashes after its commit landed.
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, commitSigned, commitUnsigned, expectClean, expectFinding, PAUSED, submit, until } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

async function pausedRepo(): Promise<string> {
  const repo = await initRepo(sb);
  expect((await ga(['-C', repo, 'pause', 'noop', '--reason', 'hold'])).code).toBe(0);
  return repo;
}

async function expectStillPaused(repo: string): Promise<void> {
  const r = await ga(['-C', repo, 'run', 'noop']);
  expect(r.code, r.out + r.err).toBe(1);
  expect(r.err).toMatch(/paused/);
  const s = await ga(['-C', repo, '--json', 'status']);
  expect(s.out).toContain('noop');
}

describe('class: pause markers in any form', () => {
  it('PAUSED replaced by a gitlink (a type change, not a deletion) still pauses, and is reported', async () => {
    const repo = await pausedRepo();
    git(repo, 'rm', '-q', '--cached', PAUSED);
    rmSync(join(repo, PAUSED));
    git(repo, 'update-index', '--add', '--cacheinfo', `160000,${'1234567890'.repeat(4)},${PAUSED}`);
    const tamper = commitUnsigned(repo, 'not a file any more');
    await expectStillPaused(repo);
    const hits = await expectFinding(repo, 'pause-removed', /PAUSED/);
    expect(hits.map((h) => h.commit)).toContain(tamper);
  });

  it('PAUSED replaced by a symlink still pauses', async () => {
    const repo = await pausedRepo();
    git(repo, 'rm', '-q', PAUSED);
    symlinkSync('/dev/null', join(repo, PAUSED));
    git(repo, 'add', PAUSED);
    commitUnsigned(repo, 'a link now');
    await expectStillPaused(repo);
    await expectFinding(repo, 'pause-removed', /PAUSED/);
  });

  it('PAUSED replaced by a directory still pauses', async () => {
    const repo = await pausedRepo();
    git(repo, 'rm', '-q', PAUSED);
    mkdirSync(join(repo, PAUSED));
    writeFileSync(join(repo, PAUSED, 'x'), '');
    git(repo, 'add', PAUSED);
    commitUnsigned(repo, 'a directory now');
    await expectStillPaused(repo);
    await expectFinding(repo, 'pause-removed', /PAUSED/);
  });

  it('an agent that moves its own directory away and leaves a symlink cannot escape a pause, and ga pause does not crash', async () => {
    const repo = await initRepo(sb);
    const script = 'R=$(cd ../../.. && pwd); mv "$R/agents/worker" "$R/agents/.w" && ln -s /dev/null "$R/agents/worker"; sleep 30';
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
      await until(
        () => existsSync(join(repo, 'agents/.w')) && lstatSync(join(repo, 'agents/worker'), { throwIfNoEntry: false })?.isSymbolicLink() === true,
        15_000,
        'the agent to move its directory',
      );
      const p = await ga(['-C', repo, 'pause', 'worker', '--reason', 'stop it']);
      expect(p.code, p.out + p.err).toBe(0);
      expect(p.err).not.toMatch(/internal error/);
      expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'agents/worker/')).toContain('agents/worker/PAUSED');
      const started = Date.now();
      expect(await run.exited).toBe(1);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(JSON.parse(run.out()).outcome).toBe('paused');
    } finally {
      await run.stop();
    }
  });

  it('a marker removal slipped into the index before a person signs an approval by hand lifts nothing', async () => {
    const repo = await pausedRepo();
    const id = await submit(repo);
    // The agent stages the removal; the person moves the proposal and signs what is staged.
    git(repo, 'rm', '-q', PAUSED);
    git(repo, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    sb.as('alice');
    const approval = commitSigned(repo, `approve ${id}`);
    await expectStillPaused(repo);
    expect((JSON.parse((await ga(['-C', repo, '--json', 'status'])).out).paused as { agent: string }[]).map((p) => p.agent)).toContain('noop');
    const hits = await expectFinding(repo, 'pause-removed', /not a resume/);
    expect(hits.map((h) => h.commit)).toContain(approval);
  });

  it('a person who removes only the marker in a signed commit resumes the agent', async () => {
    const repo = await pausedRepo();
    git(repo, 'rm', '-q', PAUSED);
    sb.as('alice');
    commitSigned(repo, 'resume noop by hand');
    const s = await ga(['-C', repo, '--json', 'status']);
    expect(JSON.parse(s.out).paused).toEqual([]);
    await expectClean(repo);
  });
});
