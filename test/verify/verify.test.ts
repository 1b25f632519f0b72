// `ga verify [<revision range>] [--trust <commit>]` (DESIGN.md "Commands",
// "Trust root and governed files", "Commits and the audit trail"): every
// history that ga itself produced passes (exit 0, "ok"); a range reports
// only its own commits and reads history at its tip; --trust overrides the
// pin; --json has a fixed shape; bad arguments exit 2; the signature cache
// under .ga/cache never changes a result.
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, ga, gaProcess, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'bob', 'mallory']);
  sb.useFakeClaude();
});
afterEach(() => sb.cleanup());

const POLICY = 'policies/proposal_policy.toml';
const APPROVERS = 'policies/approvers';
const HOOK = 'agents/noop/hooks/publish_content.sh';
const pending = (id: string) => `proposals/pending/${id}.toml`;
const approved = (id: string) => `proposals/approved/${id}.toml`;

interface Finding {
  commit: string;
  path: string;
  rule: string;
  explanation: string;
}
interface VerifyJson {
  root: string;
  head: string;
  checked: number;
  findings: Finding[];
}

async function verifyJson(repo: string, ...args: string[]): Promise<{ code: number; json: VerifyJson; err: string }> {
  const r = await ga(['-C', repo, '--json', 'verify', ...args]);
  return { code: r.code, json: JSON.parse(r.out) as VerifyJson, err: r.err };
}

/** ga verify passes: exit 0, an "ok" line naming the root and head, and --json with no findings. */
async function expectOk(repo: string, ...args: string[]): Promise<VerifyJson> {
  const r = await ga(['-C', repo, 'verify', ...args]);
  expect(r.code, r.out + r.err).toBe(0);
  expect(r.last).toMatch(/^ok: \d+ commit\(s\) from the trust root [0-9a-f]{7,} to [0-9a-f]{7,} follow the rules$/);
  expect(r.out.trim().split('\n')).toHaveLength(1);
  const j = await verifyJson(repo, ...args);
  expect(j.code).toBe(0);
  expect(j.json.findings).toEqual([]);
  return j.json;
}

async function submit(repo: string, toml = PUBLISH, clock?: ReturnType<typeof fixedClock>): Promise<string> {
  const p = await propose(repo, toml, clock);
  expect(p.code, p.err).toBe(0);
  return p.last;
}

function commitUnsigned(repo: string, message: string): void {
  git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '-m', message);
}

function addClaudeAgent(repo: string, id = 'tester'): string {
  write(
    repo,
    `agents/${id}/agent.toml`,
    `adapter = "claude"\ntimeout = "30s"\n[budget]\nusd = 5\ntokens = 2000000\nwindow = "day"\nwarn_at = 0.8\nmax_run_usd = 0.5\n`,
  );
  write(repo, `agents/${id}/tool_allowlist.toml`, 'allowed_tools = ["Read"]\nenv = []\n');
  write(repo, `agents/${id}/CLAUDE.md`, 'You are the tester agent.\n');
  write(repo, `agents/${id}/tasks/smoke.md`, 'Propose a small change.\n');
  sb.as('alice');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-S', '-m', `add agent ${id}`);
  return id;
}

async function pendingId(repo: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await ga(['-C', repo, '--json', 'list', '--state', 'pending']);
    if (r.code === 0) {
      const rows = JSON.parse(r.out) as { id: string }[];
      if (rows.length > 0) return rows[0]!.id;
    }
    if (Date.now() > until) throw new Error('no pending proposal appeared');
    await new Promise((res) => setTimeout(res, 100));
  }
}

describe('ga verify passes on histories ga produced', () => {
  it("the demo's kept repository", async () => {
    const d = await gaProcess(['demo', '--keep']);
    expect(d.code, d.err).toBe(0);
    const m = /^kept: (.+)$/.exec(d.last);
    expect(m, d.last).not.toBeNull();
    const kept = m![1]!;
    try {
      expect(existsSync(join(kept, '.git'))).toBe(true);
      // The demo's own git config (its throwaway approver) is beside the repository.
      const env = { GIT_CONFIG_GLOBAL: join(kept, '..', 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1' };
      const v = await gaProcess(['-C', kept, 'verify'], { env });
      expect(v.code, v.out + v.err).toBe(0);
      expect(v.last).toMatch(/^ok: /);
      const inProcess = await expectOk(kept);
      expect(inProcess.head).toBe(git(kept, 'rev-parse', 'HEAD'));
      // The forged branch the demo leaves behind is reported when asked for.
      if (git(kept, 'branch', '--list', 'agent/forged')) {
        const forged = await verifyJson(kept, 'main..agent/forged');
        expect(forged.code).toBe(1);
        expect(forged.json.findings.some((f) => f.rule === 'approval')).toBe(true);
      }
    } finally {
      rmSync(dirname(kept), { recursive: true, force: true });
    }
  });

  it('propose, approve, reject, expire, execute, auto-approve and a hand-made signed git mv approval', async () => {
    const repo = await initRepo(sb);
    await expectOk(repo);
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
    const clock = fixedClock(t0.toISOString());

    const a = await submit(repo);
    expect((await ga(['-C', repo, 'approve', a, '--reason', 'fine'])).code).toBe(0);
    expect((await ga(['-C', repo, 'execute', a])).code).toBe(0);

    const b = await submit(repo);
    expect((await ga(['-C', repo, 'reject', b, '--reason', 'not now'])).code).toBe(0);

    const c = await submit(repo, PUBLISH, clock);
    clock.set(new Date(t0.getTime() + 25 * 3_600_000).toISOString());
    const e = await ga(['-C', repo, 'expire'], clock);
    expect(e.code, e.err).toBe(0);
    expect(e.out).toContain(c);

    const auto = await submit(repo, PUBLISH.replace('publish_content', 'research_only').replace('[payload]', 'requires_approval = false\n[payload]'));
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${auto}.toml`);
    expect((await ga(['-C', repo, 'execute', auto])).code).toBe(0);

    const hand = await submit(repo);
    git(repo, 'mv', pending(hand), approved(hand));
    git(repo, 'commit', '-q', '-S', '-m', `approve ${hand}`);
    expect((await ga(['-C', repo, 'execute', '--all'])).code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')).toContain(`${hand}.toml`);

    // A self-approval attempt through ga is refused and recorded; the record is still valid.
    const self = await propose(repo, PUBLISH.replace('[payload]', 'requires_approval = false\n[payload]'));
    expect(self.code).toBe(1);

    const j = await expectOk(repo);
    expect(j.head).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(j.checked).toBe(Number(git(repo, 'rev-list', '--count', 'HEAD')));
  });

  it('runs of the noop agent (approved and rejected)', async () => {
    const repo = await initRepo(sb);
    const running = gaProcess(['-C', repo, 'run', 'noop']);
    const id = await pendingId(repo);
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const r = await running;
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/published: /);

    const second = gaProcess(['-C', repo, 'run', 'noop']);
    const id2 = await pendingId(repo);
    expect((await ga(['-C', repo, 'reject', id2, '--reason', 'no'])).code).toBe(0);
    expect((await second).code).toBe(0);
    await expectOk(repo);
    expect(git(repo, 'show', 'HEAD:ledger/noop.jsonl').split('\n')).toHaveLength(2);
  });

  it('runs of the fake claude agent, including a denied-tools run and an error', async () => {
    const repo = await initRepo(sb);
    const agent = addClaudeAgent(repo);
    for (const scenario of ['success', 'denials', 'error', 'success']) {
      process.env.FAKE_CLAUDE_SCENARIO = scenario;
      try {
        const r = await ga(['-C', repo, 'run', agent]);
        expect([0, 1]).toContain(r.code);
      } finally {
        delete process.env.FAKE_CLAUDE_SCENARIO;
      }
    }
    expect(git(repo, 'show', `HEAD:ledger/${agent}.jsonl`).split('\n').length).toBeGreaterThanOrEqual(4);
    await expectOk(repo);
  });

  it('a quorum of 2: bob added by an alice-signed commit, two approvals, execution', async () => {
    const repo = await initRepo(sb);
    sb.as('alice');
    appendFileSync(join(repo, POLICY), '\n[[rules]]\naction_types = ["publish_content"]\nmin_approvals = 2\n');
    git(repo, 'add', POLICY);
    git(repo, 'commit', '-q', '-S', '-m', 'policy: publish_content needs two approvers');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('bob'));
    git(repo, 'add', APPROVERS);
    git(repo, 'commit', '-q', '-S', '-m', 'approvers: add bob');
    const id = await submit(repo);
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/^Ga-Event: proposal-approval-recorded$/m);
    sb.as('bob');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${id}.toml`);
    expect((await ga(['-C', repo, 'execute', id])).code).toBe(0);
    await expectOk(repo);
  });

  it('a pause and a signed resume', async () => {
    const repo = await initRepo(sb);
    expect((await ga(['-C', repo, 'pause', 'noop', '--reason', 'checking'])).code).toBe(0);
    await expectOk(repo);
    expect((await ga(['-C', repo, 'resume', 'noop', '--reason', 'checked'])).code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'agents/noop/PAUSED')).toBe('');
    await expectOk(repo);
    expect((await ga(['-C', repo, 'pause', '--all', '--reason', 'all stop'])).code).toBe(0);
    expect((await ga(['-C', repo, 'resume', 'noop', '--reason', 'go'])).code).toBe(0);
    await expectOk(repo);
  });
});

describe('ga verify arguments', () => {
  it('a range reports only its own commits, and reads history at the range tip', async () => {
    const repo = await initRepo(sb);
    // A bad commit on main, before the branch point.
    write(repo, HOOK, '#!/bin/sh\necho changed\n');
    git(repo, 'add', HOOK);
    commitUnsigned(repo, 'unsigned hook edit on main');
    const onMain = git(repo, 'rev-parse', 'HEAD');
    const id = await submit(repo);
    const base = git(repo, 'rev-parse', 'HEAD');

    git(repo, 'checkout', '-q', '-b', 'agent-branch');
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    const onBranch = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', 'main');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(base);

    const whole = await verifyJson(repo);
    expect(whole.code).toBe(1);
    expect(whole.json.findings.map((f) => f.commit)).toEqual([onMain]);

    const range = await verifyJson(repo, 'main..agent-branch');
    expect(range.code).toBe(1);
    expect(range.json.head).toBe(onBranch); // read at the range's tip, not at HEAD
    expect(range.json.checked).toBe(1);
    expect(range.json.findings.length).toBeGreaterThan(0);
    expect(range.json.findings.every((f) => f.commit === onBranch)).toBe(true);
    expect(range.json.findings.some((f) => f.rule === 'approval' && f.path === approved(id))).toBe(true);

    const text = await ga(['-C', repo, 'verify', 'main..agent-branch']);
    expect(text.code).toBe(1);
    expect(text.out).toContain(onBranch.slice(0, 7));
    expect(text.out).not.toContain(onMain.slice(0, 12));
    expect(text.last).toBe(`${range.json.findings.length} finding(s) in 1 commit(s)`);

    // A range with nothing wrong in it passes, even though main has a finding.
    await expectOk(repo, `${onMain}..main`);
    const empty = await verifyJson(repo, 'agent-branch..main');
    expect(empty.code).toBe(0);
    expect(empty.json.checked).toBe(0);
  });

  it('--trust overrides the pinned root, in both directions', async () => {
    const repo = await initRepo(sb);
    const root = git(repo, 'rev-parse', 'HEAD');
    expect(git(repo, 'config', '--local', 'ga.trustRoot')).toBe(root);
    write(repo, HOOK, '#!/bin/sh\necho changed\n');
    git(repo, 'add', HOOK);
    commitUnsigned(repo, 'unsigned hook edit');
    const bad = git(repo, 'rev-parse', 'HEAD');
    sb.as('alice');
    appendFileSync(join(repo, POLICY), '\n# reviewed\n');
    git(repo, 'add', POLICY);
    git(repo, 'commit', '-q', '-S', '-m', 'policy: a comment');
    const later = git(repo, 'rev-parse', 'HEAD');

    const pinnedAtRoot = await verifyJson(repo);
    expect(pinnedAtRoot.code).toBe(1);
    expect(pinnedAtRoot.json.root).toBe(root);
    expect(pinnedAtRoot.json.findings).toEqual([expect.objectContaining({ commit: bad, path: HOOK, rule: 'governed-file' })]);

    const fromLater = await expectOk(repo, '--trust', later);
    expect(fromLater.root).toBe(later);
    expect(fromLater.checked).toBe(1);

    // A later commit cannot be pinned (a pin may only make trust stricter: trust-pin.test.ts), but --trust overrides even that pin.
    git(repo, 'config', '--local', 'ga.trustRoot', later);
    const pinnedLater = await verifyJson(repo);
    expect(pinnedLater.code).toBe(1);
    expect(pinnedLater.json.findings).toEqual([expect.objectContaining({ rule: 'history', explanation: expect.stringContaining(later.slice(0, 12)) })]);
    expect((await expectOk(repo, '--trust', later)).root).toBe(later);
    const fromRoot = await verifyJson(repo, '--trust', root);
    expect(fromRoot.code).toBe(1);
    expect(fromRoot.json.root).toBe(root);
    expect(fromRoot.json.findings.map((f) => f.commit)).toEqual([bad]);
    // A short id or a ref works as well as a full id.
    expect((await verifyJson(repo, '--trust', root.slice(0, 10))).json.root).toBe(root);
  });

  it('--json has the shape {root, head, checked, findings: [{commit, path, rule, explanation}]}', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    const ok = await verifyJson(repo);
    expect(Object.keys(ok.json).sort()).toEqual(['checked', 'findings', 'head', 'root']);
    expect(ok.json).toEqual({ root: git(repo, 'rev-parse', 'HEAD~1'), head: git(repo, 'rev-parse', 'HEAD'), checked: 2, findings: [] });

    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    const bad = await verifyJson(repo);
    expect(bad.code).toBe(1);
    expect(bad.json.checked).toBe(3);
    expect(bad.json.findings.length).toBeGreaterThan(0);
    for (const f of bad.json.findings) {
      expect(Object.keys(f).sort()).toEqual(['commit', 'explanation', 'path', 'rule']);
      expect(f.commit).toMatch(/^([0-9a-f]{40}|-)$/);
      expect(typeof f.path).toBe('string');
      expect(f.rule).toMatch(/^[a-z-]+$/);
      expect(f.explanation.length).toBeGreaterThan(0);
    }
    expect(bad.json.findings).toContainEqual(expect.objectContaining({ commit: git(repo, 'rev-parse', 'HEAD'), path: approved(id), rule: 'approval' }));
    // The text form: one line per finding "commit path rule explanation", then a count.
    const text = await ga(['-C', repo, 'verify']);
    const lines = text.out.trim().split('\n');
    expect(lines).toHaveLength(bad.json.findings.length + 1);
    const f0 = bad.json.findings[0]!;
    expect(lines[0]).toContain(f0.commit.slice(0, 7));
    expect(lines[0]).toContain(f0.path);
    expect(lines[0]).toContain(f0.rule);
    expect(lines[0]).toContain(f0.explanation);
  });

  it('exit 2 for a bad range or a bad --trust, with a one-line message', async () => {
    const repo = await initRepo(sb);
    const head = git(repo, 'rev-parse', 'HEAD');
    for (const args of [['nosuch..main'], ['main..nosuch'], ['--trust', 'nosuch'], ['--trust', '0123456789abcdef0123456789abcdef01234567']]) {
      const r = await ga(['-C', repo, 'verify', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.out}${r.err}`).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('signatures are judged afresh every time: nothing is cached, and a planted cache changes nothing', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    sb.as('mallory');
    const other = await submit(repo);
    git(repo, 'mv', pending(other), approved(other));
    git(repo, 'commit', '-q', '-S', '-m', `approve ${other}`);

    const cache = join(repo, '.ga', 'cache');
    rmSync(cache, { recursive: true, force: true });
    const cold = await verifyJson(repo);
    expect(cold.code).toBe(1);
    expect(existsSync(join(cache, 'signatures.jsonl'))).toBe(false);
    // "good" planted for mallory's approval, in the file older versions of ga read.
    mkdirSync(cache, { recursive: true });
    const forged = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(
      join(cache, 'signatures.jsonl'),
      `${JSON.stringify({ k: `${forged} ${git(repo, 'rev-parse', 'HEAD:policies/approvers')}`, r: { status: 'good', principal: 'alice@example.com' } })}\n`,
    );
    expect(await verifyJson(repo)).toEqual(cold);
    expect(cold.json.findings.some((f) => f.rule === 'approval' && f.path === approved(other))).toBe(true);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });
});
