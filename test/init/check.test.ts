// The pull-request check that ga init writes (DESIGN "Pull requests"): its
// shell steps, run against a local hub the way the workflow runs them (a
// clone at the base commit, ga installed from the base, the pull request's
// commits fetched as data). A malicious pull request whose package.json,
// lockfile and committed node_modules point `ga` at a fake that prints "ok"
// still fails the check, and the fake never runs. `npm ci` from the base's
// lockfile is the one thing emulated (no registry here): the base's
// node_modules/.bin/ga is this checkout's ga.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, gaProcess, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { CHECK_SCRIPT, GITLAB_VERIFY, VERIFY_WORKFLOW } from '../../src/init/templates.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

interface Hub {
  hubDir: string;
  base: string;
}

async function hubWithGovernance(): Promise<Hub> {
  const alice = await initRepo(sb);
  const hubDir = join(sb.dir, 'hub.git');
  git(sb.dir, 'init', '-q', '--bare', '-b', 'main', hubDir);
  git(alice, 'push', '-q', hubDir, 'HEAD:main');
  return { hubDir, base: git(alice, 'rev-parse', 'HEAD') };
}

/** An agent's pull request: a submission, then whatever `extra` commits; pushed as refs/pull/<n>/head. */
async function pullRequest(h: Hub, n: number, extra: (clone: string, id: string) => void): Promise<string> {
  const c = join(sb.dir, `agent-${n}`);
  git(sb.dir, 'clone', '-q', h.hubDir, c);
  git(c, 'config', 'commit.gpgSign', 'false');
  const p = await gaProcess(['-C', c, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', `pull request ${n}`, '--payload', '{}'], {
    env: { GA_AGENT: 'noop' },
  });
  expect(p.code, p.err).toBe(0);
  extra(c, p.last);
  git(c, 'push', '-q', 'origin', `HEAD:refs/pull/${n}/head`);
  return git(c, 'rev-parse', 'HEAD');
}

/** The workflow's steps: a clone at the base, ga from the base, then the check script. */
function runCheck(h: Hub, env: Record<string, string>): { code: number; out: string } {
  const ci = join(sb.dir, `ci-${Math.random().toString(36).slice(2)}`);
  git(sb.dir, 'clone', '-q', '--no-checkout', h.hubDir, ci);
  git(ci, 'checkout', '-q', '--detach', h.base);
  mkdirSync(join(ci, 'node_modules/.bin'), { recursive: true });
  symlinkSync(BIN, join(ci, 'node_modules/.bin/ga')); // what npm ci installs from the base's lockfile
  const r = spawnSync('bash', ['-c', CHECK_SCRIPT], { cwd: ci, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? 128, out: `${r.stdout}\n${r.stderr}` };
}

describe('the pull-request check', () => {
  it('a malicious pull request that points ga at a fake printing "ok" fails, and the fake never runs; a clean one passes', async () => {
    const h = await hubWithGovernance();
    const marker = join(sb.dir, 'the-fake-ran');
    const fake = `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\nconsole.log('ok');\n`;
    const head = await pullRequest(h, 1, (c, id) => {
      writeFileSync(join(c, 'package.json'), JSON.stringify({ name: 'governance', bin: { ga: 'fake.js' }, scripts: { preinstall: 'node fake.js' } }));
      writeFileSync(join(c, 'package-lock.json'), JSON.stringify({ name: 'governance', lockfileVersion: 3, packages: { '': { bin: { ga: 'fake.js' } } } }));
      writeFileSync(join(c, 'fake.js'), fake);
      mkdirSync(join(c, 'node_modules/.bin'), { recursive: true });
      writeFileSync(join(c, 'node_modules/.bin/ga'), fake);
      chmodSync(join(c, 'node_modules/.bin/ga'), 0o755);
      git(c, 'add', '-f', 'package.json', 'package-lock.json', 'fake.js', 'node_modules/.bin/ga');
      git(c, 'commit', '-q', '-m', 'tooling');
      // and the approval it wants: an unsigned move of its own proposal
      git(c, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
      git(c, 'commit', '-q', '-m', `approve ${id}`);
    });
    const bad = runCheck(h, { BASE: h.base, HEAD_SHA: head, FETCH_REF: 'refs/pull/1/head' });
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toMatch(/approval/);
    expect(bad.out).not.toMatch(/^ok$/m);
    expect(existsSync(marker)).toBe(false);

    const good = await pullRequest(h, 2, () => undefined);
    const ok = runCheck(h, { BASE: h.base, HEAD_SHA: good, FETCH_REF: 'refs/pull/2/head' });
    expect(ok.code, ok.out).toBe(0);
    // a push to the governed branch: the whole history
    const push = runCheck(h, { BASE: '0000000000000000000000000000000000000000', HEAD_SHA: h.base, FETCH_REF: '' });
    expect(push.code, push.out).toBe(0);
    expect(existsSync(marker)).toBe(false);
  }, 120_000);

  it('the workflows check out the base, never the pull request, run no install scripts, hold no secrets, and run the same script', () => {
    expect(VERIFY_WORKFLOW).toContain('pull_request_target:');
    expect(VERIFY_WORKFLOW).toContain('ref: ${{ github.event.pull_request.base.sha || github.sha }}');
    expect(VERIFY_WORKFLOW).not.toMatch(/pull_request\.head\.(sha|ref) *}}\s*\n\s*fetch-depth/);
    expect(VERIFY_WORKFLOW).not.toMatch(/secrets\./);
    expect(VERIFY_WORKFLOW).toMatch(/permissions:\n {2}contents: read\n/);
    expect(VERIFY_WORKFLOW).toContain('npm ci --ignore-scripts');
    expect(VERIFY_WORKFLOW).toContain('persist-credentials: false');
    for (const line of CHECK_SCRIPT.trim().split('\n')) {
      expect(VERIFY_WORKFLOW).toContain(line);
      expect(GITLAB_VERIFY).toContain(line);
    }
    expect(GITLAB_VERIFY).toContain('GIT_STRATEGY: none');
    expect(GITLAB_VERIFY).toContain('npm ci --ignore-scripts');
  });

  it('ga init writes both', async () => {
    const repo = await initRepo(sb);
    expect(readFileSync(join(repo, '.github/workflows/ga-verify.yml'), 'utf8')).toBe(VERIFY_WORKFLOW);
    expect(readFileSync(join(repo, '.gitlab/ga-verify.yml'), 'utf8')).toBe(GITLAB_VERIFY);
  });
});
