// Class: an agent cannot stop being an agent (red team #58). ga never
// signs (approve, reject, resume, commit) inside an agent process, and an
// agent process is one the runner marked: GA_AGENT or GA_RUN in its
// environment, or in that of any process it descends from, or of its
// session's or process group's leader. An agent that runs
// `unset GA_AGENT; ga approve` (or env -u, or a shell in between, or
// GA_RUN alone) is still refused, and nothing is signed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { containment } from '../../src/runtime/process.js';
import { BIN, gaProcess, git, initRepo, propose, PUBLISH, sandbox, type GaResult, type Sandbox } from '../helpers/fixture.js';
import { background, commitGoverned, until } from '../helpers/scene.js';

let sb: Sandbox;
let repo: string;
let id: string;

beforeEach(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
  const p = await propose(repo, PUBLISH);
  expect(p.code, p.err).toBe(0);
  id = p.last;
  sb.as('alice'); // a working signing setup: only the agent check stands between the command and a signature
});
afterEach(() => sb.cleanup());

const stillPending = () => git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/').includes(`${id}.toml`);

/** `sh -c script` with `env` added to this process's environment, as a process; its stdout and stderr together. */
function startSh(script: string, env: NodeJS.ProcessEnv, opts: { detached?: boolean } = {}): { child: ChildProcess; done: Promise<GaResult> } {
  const child = spawn('/bin/sh', ['-c', script], { env: { ...process.env, ...env }, detached: opts.detached ?? false, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const done = new Promise<GaResult>((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? -1, out, err: out, last: out.trim().split('\n').pop() ?? '' })),
  );
  return { child, done };
}

const sh = (script: string, env: NodeJS.ProcessEnv) => startSh(script, env).done;

const approve = `"${process.execPath}" "${BIN}" -C "$REPO" approve "$ID"`;
const marked = { GA_AGENT: 'noop', GA_RUN: 'run-20260101-000000-abcdef' };

describe('class: an agent process stays one', () => {
  it('control: the same ga approve from a clean process signs', async () => {
    const r = await gaProcess(['-C', repo, 'approve', id]);
    expect(r.code, r.err).toBe(0);
    expect(stillPending()).toBe(false);
  });

  it('GA_RUN without GA_AGENT is an agent process: ga approve refuses, nothing is signed', async () => {
    const r = await gaProcess(['-C', repo, 'approve', id], { env: { GA_RUN: marked.GA_RUN } });
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/agent process/);
    expect(r.err).toContain('GA_RUN=');
    expect(stillPending()).toBe(true);
  });

  it('unset GA_AGENT GA_RUN in a shell, then ga approve: the shell above still carries them', async () => {
    const r = await sh(`unset GA_AGENT GA_RUN; ${approve}; exit $?`, { ...marked, REPO: repo, ID: id });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/agent process .*ancestor process \d+ \(sh\)/);
    expect(stillPending()).toBe(true);
  });

  it('env -u and a clean shell in between: the grandparent still carries them', async () => {
    const inner = `${approve}; exit $?`;
    const r = await sh(`env -u GA_AGENT -u GA_RUN /bin/sh -c '${inner}'; exit $?`, { ...marked, REPO: repo, ID: id });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/agent process .*ancestor process/);
    expect(stillPending()).toBe(true);
  });

  it('ga reject refuses the same way', async () => {
    const reject = await sh(`unset GA_AGENT GA_RUN; "${process.execPath}" "${BIN}" -C "$REPO" reject "$ID" --reason no; exit $?`, {
      ...marked,
      REPO: repo,
      ID: id,
    });
    expect(reject.code, reject.out).toBe(1);
    expect(reject.out).toMatch(/agent process/);
    expect(stillPending()).toBe(true);
  });

  it('a double-forked orphan with a clean environment is still in the session the runner gave the agent', async () => {
    const out = join(sb.dir, 'orphan.out');
    // The shell is a session leader (detached, as the runner starts agents); the orphan
    // (exec'd, so no marked subshell stays above it) outlives its parent and is adopted by init.
    const script = `( ( exec env -u GA_AGENT -u GA_RUN ${approve} > "${out}" 2>&1 ) & ); sleep 30`;
    const shell = startSh(script, { ...marked, REPO: repo, ID: id }, { detached: true });
    try {
      await until(() => existsSync(out) && /ga: |approved/.test(readFileSync(out, 'utf8')), 20_000, 'the orphan');
      const text = readFileSync(out, 'utf8');
      expect(text).toMatch(/agent process .*session or process group leader/);
      expect(stillPending()).toBe(true);
    } finally {
      try {
        process.kill(-shell.child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      await shell.done;
    }
  });
});

describe('class: inside a real run', () => {
  it('an agent that unsets GA_AGENT and GA_RUN, even from a setsid double-forked orphan, is refused as an agent', async () => {
    const out = join(sb.dir, 'approve.out');
    const orphanOut = join(sb.dir, 'orphan.out');
    const plain = `unset GA_AGENT GA_RUN; ga -C "${repo}" approve ${id} > "${out}" 2>&1; echo "exit $?" >> "${out}"`;
    const escape = `( ( exec env -i PATH="$PATH" setsid ga -C "${repo}" approve ${id} > "${orphanOut}" 2>&1 ) & )`;
    const namespaced = containment().containment === 'pid-namespace';
    const script = namespaced ? `${plain}; ${escape}; while ! grep -q "ga: " "${orphanOut}" 2>/dev/null; do sleep 0.1; done` : plain;
    commitGoverned(
      sb,
      repo,
      {
        'agents/sly/agent.toml': `adapter = "command"\ncommand = ["sh", "-c", ${JSON.stringify(script)}]\ntimeout = "60s"\n[budget]\nmax_run_usd = 0\n`,
        'agents/sly/tool_allowlist.toml': 'allowed_tools = []\nenv = []\n',
        'agents/sly/tasks/smoke.md': 'approve it\n',
      },
      'add sly',
    );
    const run = background(['-C', repo, '--json', 'run', 'sly']);
    try {
      await until(() => existsSync(out) && readFileSync(out, 'utf8').includes('exit '), 30_000, 'the agent’s ga approve').catch((e: Error) => {
        throw new Error(`${e.message}: ${run.out()} ${run.err()}`);
      });
      const text = readFileSync(out, 'utf8');
      expect(text).toContain('exit 1');
      expect(text).toMatch(/agent process/);
      if (namespaced) {
        // In the PID namespace, the orphan is adopted by the namespace's first process, which the runner marked.
        await until(() => existsSync(orphanOut) && readFileSync(orphanOut, 'utf8').includes('ga: '), 30_000, 'the orphan’s ga approve');
        expect(readFileSync(orphanOut, 'utf8')).toMatch(/agent process .*ancestor process/);
      }
      await run.exited;
      expect(stillPending()).toBe(true);
    } finally {
      await run.stop();
    }
  });
});
