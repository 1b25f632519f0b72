// What a new user tripped over at the command line (issue 10): each test
// runs ga as a person would (in process, or the real binary where stdin or
// the exit matters) and reads what it printed.
import { appendFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, ga, gaProcess, git, initRepo, propose, PUBLISH, ROOT, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, commitGoverned, commitSigned, POLICY } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'bob', 'carol']);
});
afterEach(() => sb.cleanup());

const oneLine = (text: string) => expect(text.trim().split('\n'), text).toHaveLength(1);

/** Every key of a JSON value (outside proposal payloads), at any depth. */
function keysOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => keysOf(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      if (k !== 'payload' && k !== 'detail') keysOf(v, out);
    }
  }
  return out;
}

describe('the command line speaks clearly', () => {
  it('ga --version prints the package version', async () => {
    const r = await gaProcess(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('suggests the command or the option meant, in one line, once', async () => {
    const cmd = await ga(['aprove', 'x']);
    expect(cmd.code).toBe(2);
    oneLine(cmd.err);
    expect(cmd.err).toMatch(/unknown command "aprove"; did you mean ga approve\?/);
    expect(cmd.err.match(/see ga --help/g) ?? []).toHaveLength(1);
    const flag = await ga(['list', '--jsn']);
    expect(flag.code).toBe(2);
    oneLine(flag.err);
    expect(flag.err).toMatch(/Unknown argument: jsn; --jsn: did you mean --json\?/);
    const none = await ga([]);
    expect(none.err.match(/see ga --help/g) ?? []).toHaveLength(1);
  });

  it('ga --help, printed from the page the build wrote, is the page yargs renders, in any locale', () => {
    const page = readFileSync(join(ROOT, 'dist', 'help.txt'), 'utf8');
    expect(page).toMatch(/^ga: a governance harness/);
    const german = { ...process.env, LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' };
    // yargs rendering it, in a process of its own (it prints help with console.log)
    const main = pathToFileURL(join(ROOT, 'dist', 'cli', 'main.js')).href;
    const rendered = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const { run } = await import(${JSON.stringify(main)}); process.exitCode = await run(['--help']);`],
      {
        encoding: 'utf8',
        env: german,
      },
    );
    expect(rendered.status).toBe(0);
    expect(rendered.stdout).toBe(page);
    for (const flag of ['--help', '-h']) {
      const printed = spawnSync(process.execPath, [join(ROOT, 'bin', 'ga.js'), flag], { encoding: 'utf8', env: german });
      expect(printed.status).toBe(0);
      expect(printed.stdout).toBe(page);
    }
  });

  it('--help names the environment variables and the exit codes; every option of every command is described', async () => {
    const top = await gaProcess(['--help']);
    for (const v of ['GA_CLAUDE_BIN', 'GA_TRACE', 'NO_COLOR']) expect(top.out).toContain(v);
    expect(top.out).toMatch(/Exit codes: 0 ok, 1 refused by governance, 2 bad input/);
    const commands = [...top.out.matchAll(/^\s+ga (\w+)/gm)].map((m) => m[1]!);
    expect(commands).toEqual(expect.arrayContaining(['propose', 'approve', 'run', 'pause', 'audit', 'trust']));
    for (const c of new Set(commands)) {
      const h = await gaProcess([c, '--help']);
      expect(h.code, c).toBe(0);
      // an option line: "  --name  description  [type]"; a bare "--name  [type]" has no description
      const bare = h.out.split('\n').filter((l) => /^\s+(-\w, )?--?[\w-]+\s+\[[a-z]+/.test(l));
      expect(bare, `ga ${c} --help`).toEqual([]);
      expect(h.out, `ga ${c} --help has examples`).toMatch(/Examples:/);
    }
  });

  it('a missing --reason is one line, and says what to give', async () => {
    const repo = await initRepo(sb);
    for (const args of [
      ['pause', 'noop'],
      ['resume', 'noop'],
      ['reject', 'x'],
    ]) {
      const r = await ga(['-C', repo, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      oneLine(r.err);
      expect(r.err).toMatch(/needs --reason "why"/);
    }
  });

  it('with --json, errors are one JSON object on stderr', async () => {
    const repo = await initRepo(sb);
    const r = await ga(['-C', repo, '--json', 'show', 'nosuchid']);
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(JSON.parse(r.err)).toMatchObject({ error: { exit_code: 2, message: expect.stringMatching(/nosuchid/) } });
    const usage = await ga(['--json', 'list', '--jsn']);
    expect(JSON.parse(usage.err)).toMatchObject({ error: { code: 'usage', exit_code: 2 } });
  });

  it('--json speaks snake_case everywhere; a payload keeps its own keys', async () => {
    const repo = await initRepo(sb);
    const p = await propose(repo, `${PUBLISH}camelKey = "kept"\n`);
    expect(p.code, p.err).toBe(0);
    const outputs = await Promise.all(
      [['status'], ['scoreboard'], ['list'], ['show', p.last], ['audit'], ['verify']].map((a) => ga(['-C', repo, '--json', ...a])),
    );
    for (const o of outputs) {
      const keys = keysOf(JSON.parse(o.out));
      expect(keys.filter((k) => /[A-Z]/.test(k))).toEqual([]);
    }
    const shown = JSON.parse(outputs[3]!.out) as { proposal: { payload: Record<string, unknown> } };
    expect(shown.proposal.payload).toMatchObject({ camelKey: 'kept' });
  });

  it('ga propose --file - reads the proposal from stdin', async () => {
    const repo = await initRepo(sb);
    const r = await gaProcess(['-C', repo, 'propose', '--file', '-'], { input: PUBLISH, env: { GA_AGENT: '' } });
    expect(r.code, r.err).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(r.last.trim());
  });

  it('a reader that closes the pipe early (ga list | head) gets no stack trace, and the command still does its work', async () => {
    const repo = await initRepo(sb);
    /** The binary with its stdout a pipe whose reader is gone before ga starts (it takes 100 ms to): every write meets EPIPE. */
    const closedStdout = (args: string[], input = '') =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, '-C', repo, ...args], { env: { ...process.env, GA_AGENT: '' } });
        child.stdout.destroy();
        let err = '';
        child.stderr.on('data', (b) => (err += b));
        child.stdin.end(input);
        child.on('close', (code) => resolve({ code, err }));
      });
    const proposed = await closedStdout(['propose', '--file', '-'], PUBLISH);
    expect(proposed, 'ga propose').toEqual({ code: 0, err: '' });
    const pending = git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')
      .split('\n')
      .filter((p) => p.endsWith('.toml'));
    expect(pending, 'the proposal is recorded though its id could not be printed').toHaveLength(1);
    expect(await closedStdout(['list']), 'ga list').toEqual({ code: 0, err: '' });
    expect(await closedStdout(['show', 'no-such-id']), 'bad input keeps its exit code and its one line').toEqual({
      code: 2,
      err: expect.stringMatching(/^ga: no proposal id starts with "no-such-id".*\n$/),
    });
  });

  it('an unterminated TOML string says so, with its line', async () => {
    const repo = await initRepo(sb);
    const r = await propose(repo, 'agent = "noop"\naction_type = "publish_content"\ntitle = "Publish the launch post\n');
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toMatch(/:3:\d+: unterminated string: it has no closing quote/);
  });
});

describe('repositories, pins and the audit trail', () => {
  it('status and verify say plainly that a directory is not a governance repository; init says "already initialised"', async () => {
    sb.as('alice');
    const plain = join(sb.dir, 'plain');
    git(sb.dir, 'init', '-q', plain);
    git(plain, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'x');
    for (const c of ['status', 'verify']) {
      const r = await ga(['-C', plain, c]);
      expect(r.code, c).toBe(2);
      oneLine(r.err);
      expect(r.err).toMatch(/is not a governance repository \(no policies\/ in HEAD/);
    }
    const repo = await initRepo(sb);
    const again = await ga(['init', repo]);
    expect(again.code).toBe(2);
    oneLine(again.err);
    expect(again.err).toMatch(/is already initialised/);
    expect(again.err).not.toMatch(/would overwrite/);
  });

  it('ga trust does not silently replace a pin: --force, saying what it replaced', async () => {
    // A project that already had history: ga init adds its first signed commit on top, and pins it.
    sb.as('alice');
    const repo = join(sb.dir, 'project');
    git(sb.dir, 'init', '-q', '-b', 'main', repo);
    git(repo, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'before ga');
    const earlier = git(repo, 'rev-parse', 'HEAD');
    expect((await ga(['init', repo])).code).toBe(0);
    const root = git(repo, 'config', '--local', 'ga.trustRoot');
    expect(root).not.toBe(earlier);
    const same = await ga(['-C', repo, 'trust', root]);
    expect(same.code, same.err).toBe(0);
    const r = await ga(['-C', repo, 'trust', earlier]);
    expect(r.code).toBe(1);
    oneLine(r.err);
    expect(r.err).toMatch(/already trusts history from .*give --force/);
    expect(git(repo, 'config', '--local', 'ga.trustRoot')).toBe(root);
    const forced = await ga(['-C', repo, 'trust', earlier, '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain(`it was ${root}`);
    expect(git(repo, 'config', '--local', 'ga.trustRoot')).toBe(earlier);
  });

  it('ga audit --event checks its value; a signed governed-file commit is policy-changed with its signer', async () => {
    const repo = await initRepo(sb);
    const bad = await ga(['-C', repo, 'audit', '--event', 'aproved']);
    expect(bad.code).toBe(2);
    oneLine(bad.err);
    expect(bad.err).toMatch(/--event "aproved" is not an event; use one of: .*proposal-approved.*policy-changed/);
    const c = commitGoverned(sb, repo, { 'agents/noop/tasks/other.md': 'another task\n' }, 'a second task');
    const rows = JSON.parse((await ga(['-C', repo, '--json', 'audit', '--event', 'policy-changed'])).out) as {
      commit: string;
      actor?: string;
      signer?: string;
      reason?: string;
    }[];
    expect(rows.find((r) => r.commit === c)).toMatchObject({
      actor: 'human:alice@example.com',
      signer: 'alice@example.com',
      reason: 'agents/noop/tasks/other.md',
    });
  });
});

describe('quorum and status', () => {
  async function twoApproverRepo(): Promise<string> {
    const repo = await initRepo(sb);
    sb.as('alice');
    appendFileSync(join(repo, POLICY), '\n[[rules]]\naction_types = ["publish_content"]\nmin_approvals = 2\n');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('bob'));
    git(repo, 'add', POLICY, APPROVERS);
    commitSigned(repo, 'two approvers for publishing');
    return repo;
  }

  it('ga list and ga show show a quorum in progress as "1 of 2"', async () => {
    const repo = await twoApproverRepo();
    const id = (await propose(repo, PUBLISH)).last;
    const a = await ga(['-C', repo, 'approve', id]);
    expect(a.code, a.err).toBe(0);
    const list = await ga(['-C', repo, 'list']);
    expect(list.out).toMatch(new RegExp(`${id}\\s+pending \\(1 of 2 approvals\\)`));
    const show = await ga(['-C', repo, 'show', id]);
    expect(show.out).toMatch(/approvals: 1 of 2 \(so far: alice@example\.com\)/);
    const json = JSON.parse((await ga(['-C', repo, '--json', 'list'])).out) as { id: string; approvals: number; approvals_needed: number }[];
    expect(json.find((r) => r.id === id)).toMatchObject({ approvals: 1, approvals_needed: 2 });
  });

  it('ga list marks an approval that does not count', async () => {
    const repo = await initRepo(sb);
    const id = (await propose(repo, PUBLISH)).last;
    sb.as('carol'); // signs, but is no approver
    git(repo, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    commitSigned(repo, `approve ${id}`);
    sb.as('alice');
    const list = await ga(['-C', repo, 'list']);
    expect(list.out).toMatch(new RegExp(`${id}\\s+approved \\(NOT VALID\\)`));
    // and a file under proposals/ that is no proposal at all
    write(repo, 'proposals/approved/notes.txt', 'not a proposal\n');
    git(repo, 'add', 'proposals/approved/notes.txt');
    git(repo, 'commit', '-q', '--no-gpg-sign', '-m', 'a stray');
    expect((await ga(['-C', repo, 'list'])).out).toMatch(/^stray: proposals\/approved\/notes\.txt \(not a proposal file/m);
  });

  it('ga status names a trusted file that fails its schema, and a signing key that is not an approver', async () => {
    const repo = await initRepo(sb);
    commitGoverned(sb, repo, { 'agents/noop/agent.toml': 'adapter = "noop"\nbudgte = 1\n' }, 'a typo, signed');
    const s = await ga(['-C', repo, 'status']);
    expect(s.out).toMatch(/problems\s+1 trusted file/);
    expect(s.out).toMatch(/agents\/noop\/agent\.toml.*budgte/);
    sb.as('carol');
    const c = await ga(['-C', repo, 'status']);
    expect(c.out).toMatch(/signing key of carol@example\.com is not in policies\/approvers: your approvals and resumes will not count/);
    sb.as('alice');
    expect((await ga(['-C', repo, 'status'])).out).toMatch(/ready, as alice@example\.com \(an approver\)/);
  });

  it("ga status names git hooks that would run inside a person's own git commit", async () => {
    const repo = await initRepo(sb);
    expect((await ga(['-C', repo, 'status'])).out).not.toMatch(/git hooks/);
    mkdirSync(join(repo, '.git/hooks'), { recursive: true });
    writeFileSync(join(repo, '.git/hooks/pre-commit'), '#!/bin/sh\ngit mv proposals/pending/x.toml proposals/approved/x.toml\n', { mode: 0o755 });
    writeFileSync(join(repo, '.git/hooks/post-commit.sample'), '#!/bin/sh\n', { mode: 0o755 });
    git(repo, 'config', 'core.hooksPath', join(sb.dir, 'elsewhere-hooks'));
    const s = await ga(['-C', repo, 'status']);
    expect(s.out).toMatch(/git hooks\s+2 hook\(s\) run inside your own git commands/);
    expect(s.out).toContain('.git/hooks/pre-commit');
    expect(s.out).toContain('core.hooksPath');
    expect(s.out).not.toContain('post-commit.sample');
  });

  it('ga status does not list as untrusted an edit that a later signed commit replaced', async () => {
    const repo = await initRepo(sb);
    write(repo, 'agents/noop/tasks/smoke.md', 'unsigned edit\n');
    git(repo, 'add', 'agents/noop/tasks/smoke.md');
    git(repo, 'commit', '-q', '--no-gpg-sign', '-m', 'unsigned');
    expect((await ga(['-C', repo, 'status'])).out).toMatch(/untrusted\s+1 governed file/);
    commitGoverned(sb, repo, { 'agents/noop/tasks/smoke.md': 'signed version\n' }, 'the signed version');
    expect((await ga(['-C', repo, 'status'])).out).toMatch(/untrusted\s+none/);
    writeFileSync(join(repo, 'agents/noop/tasks/smoke.md'), 'signed version\n');
  });
});

describe('npx ga in a clone', () => {
  it("builds in npm's prepare only when dist/ is older than a source: npx ga after npm ci does not build again", () => {
    // A project of the same shape whose build only counts itself and writes the build's last output.
    const dir = join(sb.dir, 'project');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'build-if-stale.mjs'), readFileSync(join(ROOT, 'bin', 'build-if-stale.mjs')));
    writeFileSync(join(dir, 'src', 'main.ts'), 'export {};\n');
    const build =
      "node -e \"const f=require('fs');f.appendFileSync('builds','x');f.mkdirSync('dist',{recursive:true});f.writeFileSync('dist/help.txt','page')\"";
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', scripts: { build } }));
    const prepare = () => {
      const r = spawnSync(process.execPath, [join(dir, 'bin', 'build-if-stale.mjs')], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(join(dir, 'builds'), 'utf8').length;
    };
    expect(prepare()).toBe(1); // no dist/: built
    expect(prepare()).toBe(1); // dist/ newer than every source: not built again
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'main.ts'), later, later);
    expect(prepare()).toBe(2); // a source changed since: built
  });
});
