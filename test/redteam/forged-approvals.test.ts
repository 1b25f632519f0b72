// Approvals that do not count, each attack written once and judged twice:
// by the executor (`ga execute` exits 1, the hook does not run, nothing is
// claimed, the attempt is flagged once, `ga show` says the approval is not
// valid) and by `ga verify` (exit 1, a finding of the right rule). Each is
// done the way an agent with a shell would do it, with plain git and its own
// key, never an approver's.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventCommits, fixedClock, ga, git, initRepo, propose, PUBLISH, sandbox, write, type GaResult, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, approvedPath as approved, commitSigned, commitUnsigned, expectFinding, HOOK, pendingPath as pending, POLICY } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'bob', 'mallory']);
});
afterEach(() => sb.cleanup());

const EVIL_HOOK = '#!/bin/sh\necho "EVIL: the untrusted hook ran"\n';

async function submit(repo: string, toml = PUBLISH, clock?: ReturnType<typeof fixedClock>): Promise<string> {
  const p = await propose(repo, toml, clock);
  expect(p.code, p.err).toBe(0);
  return p.last;
}

/** ga init (alice approves) plus one pending publish_content proposal. */
async function setup(): Promise<{ repo: string; id: string }> {
  const repo = await initRepo(sb);
  return { repo, id: await submit(repo) };
}

async function approveAs(who: string, repo: string, id: string, clock?: ReturnType<typeof fixedClock>): Promise<GaResult> {
  sb.as(who);
  return ga(['-C', repo, 'approve', id], clock);
}

/** Plain git with extra environment (commit dates). */
function gitWithEnv(repo: string, env: Record<string, string>, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
}

/** The executor's side of the contract for an approval that does not count. */
async function expectNotRun(repo: string, id: string): Promise<void> {
  const r = await ga(['-C', repo, 'execute', id]);
  expect(r.code, `${r.out}${r.err}`).toBe(1);
  expect(r.out + r.err).not.toMatch(/published:|EVIL/);
  expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')).not.toContain(`${id}.toml`);
  expect(eventCommits(repo, 'proposal-claimed', id)).toEqual([]);
  expect(eventCommits(repo, 'flag-invalid-approval', id)).toHaveLength(1);
  const shown = await ga(['-C', repo, '--json', 'show', id]);
  expect(shown.code, shown.err).toBe(0);
  expect((JSON.parse(shown.out) as { approval: { valid: boolean } | null }).approval?.valid).toBe(false);
  // Nor does execute --all run it, or flag it twice.
  const all = await ga(['-C', repo, 'execute', '--all']);
  expect(all.out + all.err).not.toMatch(/EVIL/);
  expect(all.out).not.toMatch(new RegExp(`^executed ${id}`, 'm'));
  expect(eventCommits(repo, 'proposal-claimed', id)).toEqual([]);
  expect(eventCommits(repo, 'flag-invalid-approval', id)).toHaveLength(1);
}

/** The real approval of a fresh proposal still runs the trusted hook: the control. */
async function expectTrustedHookRuns(repo: string): Promise<void> {
  const next = await submit(repo);
  expect((await approveAs('alice', repo, next)).code).toBe(0);
  const x = await ga(['-C', repo, 'execute', next]);
  expect(x.code, x.out + x.err).toBe(0);
  expect(x.out).toContain('published: Publish the launch post');
  expect(x.out).not.toContain('EVIL');
}

/** A rule with min_approvals = 2 for publish_content and bob as an approver, signed by alice. */
function requireTwoApprovals(repo: string): void {
  sb.as('alice');
  appendFileSync(join(repo, POLICY), '\n[[rules]]\naction_types = ["publish_content"]\nmin_approvals = 2\n');
  appendFileSync(join(repo, APPROVERS), sb.approverLine('bob'));
  git(repo, 'add', POLICY, APPROVERS);
  commitSigned(repo, 'policy: publish_content needs two approvers');
}

describe('approvals that do not count (executor and ga verify)', () => {
  it('an unsigned git mv approval', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}: Publish the launch post`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', new RegExp(`${id}.*(not signed|none)`));
  });

  it("a move signed with the agent's own key, claiming alice's name and email", async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`, '-c', 'user.name=alice', '-c', 'user.email=alice@example.com');
    expect(git(repo, 'log', '-1', '--format=%an <%ae>')).toBe('alice <alice@example.com>');
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /unknown-key/);
  });

  it("the agent's key added to policies/approvers in the approval commit itself", async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('mallory'));
    git(repo, 'add', APPROVERS);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id} and add mallory`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', new RegExp(id));
    await expectFinding(repo, 'governed-file', new RegExp(APPROVERS));
  });

  it.each([
    ['unsigned', (repo: string) => commitUnsigned(repo, 'add mallory as an approver')],
    ['signed by the agent itself', (repo: string) => commitSigned(repo, 'add mallory as an approver')],
  ])("the agent's key added to policies/approvers by an earlier commit, %s", async (_how, commit) => {
    const { repo, id } = await setup();
    sb.as('mallory');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('mallory'));
    git(repo, 'add', APPROVERS);
    commit(repo);
    const keyCommit = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectNotRun(repo, id);
    const hits = await expectFinding(repo, 'governed-file', new RegExp(APPROVERS));
    expect(hits.map((h) => h.commit)).toContain(keyCommit);
    await expectFinding(repo, 'approval', /unknown-key/);
  });

  it('a decision commit, validly signed by alice, that also carries a hook change: neither counts', async () => {
    const { repo, id } = await setup();
    sb.as('alice');
    write(repo, HOOK, EVIL_HOOK);
    git(repo, 'add', HOOK);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /also changes agents\/noop\/hooks/);
    await expectFinding(repo, 'governed-file', /hooks\/publish_content\.sh.*proposals/);
    await expectTrustedHookRuns(repo);
  });

  it('a decision commit, validly signed by alice, that also carries a policy change', async () => {
    const { repo, id } = await setup();
    sb.as('alice');
    appendFileSync(join(repo, POLICY), '\n# loosened while approving\n');
    git(repo, 'add', POLICY);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /also changes policies/);
  });

  it('the payload edited while pending, then a signed move of exactly the edited file', async () => {
    const { repo, id } = await setup();
    const file = join(repo, pending(id));
    writeFileSync(file, readFileSync(file, 'utf8').replace('https://example.com/launch', 'https://evil.example/steal'));
    git(repo, 'add', pending(id));
    commitUnsigned(repo, `tweak ${id}`);
    const edit = git(repo, 'rev-parse', 'HEAD');
    expect((await approveAs('alice', repo, id)).code).toBe(1);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectNotRun(repo, id);
    const hits = await expectFinding(repo, 'proposal-file', new RegExp(id));
    expect(hits.map((h) => h.commit)).toContain(edit);
    await expectFinding(repo, 'approval', /differs from the one submitted/);
  });

  it('the payload edited after a valid approval', async () => {
    const { repo, id } = await setup();
    expect((await approveAs('alice', repo, id)).code).toBe(0);
    const file = join(repo, approved(id));
    writeFileSync(file, readFileSync(file, 'utf8').replace('https://example.com/launch', 'https://evil.example/steal'));
    git(repo, 'add', approved(id));
    commitUnsigned(repo, `tweak ${id}`);
    const edit = git(repo, 'rev-parse', 'HEAD');
    await expectNotRun(repo, id);
    const hits = await expectFinding(repo, 'proposal-file', /edited in place/);
    expect(hits.map((h) => h.commit)).toContain(edit);
  });

  it('an approved file copied to a new id, and one whose id field is rewritten to match', async () => {
    const { repo, id } = await setup();
    expect((await approveAs('alice', repo, id)).code).toBe(0);
    copyFileSync(join(repo, approved(id)), join(repo, approved('zz-copy')));
    writeFileSync(join(repo, approved('zz-forged')), readFileSync(join(repo, approved(id)), 'utf8').replace(`id = "${id}"`, 'id = "zz-forged"'));
    git(repo, 'add', 'proposals/approved');
    commitUnsigned(repo, 'copy an approval');
    await expectNotRun(repo, 'zz-copy');
    await expectNotRun(repo, 'zz-forged');
    await expectFinding(repo, 'approval', /zz-copy/);
    await expectFinding(repo, 'approval', /zz-forged/);
  });

  it('an approved file renamed to a new id', async () => {
    const { repo, id } = await setup();
    expect((await approveAs('alice', repo, id)).code).toBe(0);
    git(repo, 'mv', approved(id), approved('zz-renamed'));
    commitUnsigned(repo, 'rename an approval');
    await expectNotRun(repo, 'zz-renamed');
    const orig = await ga(['-C', repo, 'execute', id]);
    expect(orig.code).toBe(1);
    expect(orig.out + orig.err).not.toContain('published:');
    await expectFinding(repo, 'approval', /zz-renamed/);
    await expectFinding(repo, 'proposal-file', new RegExp(`${id}.*removed from approved`));
  });

  it('a symlink in approved/ pointing at an approved proposal', async () => {
    const { repo, id } = await setup();
    expect((await approveAs('alice', repo, id)).code).toBe(0);
    symlinkSync(`${id}.toml`, join(repo, approved('zz-link')));
    git(repo, 'add', approved('zz-link'));
    commitUnsigned(repo, 'link an approval');
    expect(git(repo, 'ls-tree', 'HEAD', approved('zz-link'))).toMatch(/^120000 /);
    await expectNotRun(repo, 'zz-link');
    await expectFinding(repo, 'approval', /zz-link/);
  });

  it('path traversal in an action type and in a proposal id', async () => {
    const repo = await initRepo(sb);
    const before = git(repo, 'rev-parse', 'HEAD');
    const bad = await propose(repo, PUBLISH.replace('action_type = "publish_content"', 'action_type = "../../../tmp/evil"'));
    expect(bad.code).toBe(2);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(before);
    const badId = await ga(['-C', repo, 'execute', '../../agents/noop/hooks/publish_content']);
    expect(badId.code).toBe(2);
    expect(badId.err.trim().split('\n')).toHaveLength(1);
    // By hand: straight into approved/, an action type that walks out of hooks/ to a planted script.
    write(repo, 'agents/noop/workspace/evil.sh', EVIL_HOOK);
    write(
      repo,
      approved('zz-traversal'),
      `id = "../../agents/noop/workspace/evil"\nagent = "noop"\naction_type = "../workspace/evil"\ntitle = "x"\nrationale = "x"\nexpected_outcome = "x"\nreversible = true\nrequires_approval = false\ncreated_at = 2026-01-01T00:00:00Z\nexpires_at = 2099-01-01T00:00:00Z\n[expected_cost]\ntokens = 0\nusd = 0.0\n[payload]\n`,
    );
    git(repo, 'add', '-A');
    commitUnsigned(repo, 'auto-approve a traversal');
    await expectNotRun(repo, 'zz-traversal');
    await expectFinding(repo, 'approval', /zz-traversal/);
  });

  it('the policy edited (unsigned) to auto-approve its own type', async () => {
    const repo = await initRepo(sb);
    const policy = readFileSync(join(repo, POLICY), 'utf8')
      .replace(
        'action_types = ["research_only", "internal_file_op", "draft_content"]',
        'action_types = ["research_only", "internal_file_op", "draft_content", "publish_content"]',
      )
      .replace('action_types = ["publish_content", ', 'action_types = [');
    writeFileSync(join(repo, POLICY), policy);
    git(repo, 'add', POLICY);
    commitUnsigned(repo, 'policy: publish_content is routine');
    const policyCommit = git(repo, 'rev-parse', 'HEAD');
    // Through ga: the trusted policy still says never: refused and flagged, nothing stored.
    const self = await propose(repo, `${PUBLISH.replace('[payload]', 'requires_approval = false\nreversible = true\n[payload]')}`);
    expect(self.code).toBe(1);
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/^Ga-Event: flag-self-approval$/m);
    // By hand: committed straight into approved/, as an auto-approval would be.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    write(
      repo,
      approved('zz-auto'),
      `id = "zz-auto"\nagent = "noop"\naction_type = "publish_content"\ntitle = "Publish the launch post"\nrationale = "routine"\nexpected_outcome = "live"\nreversible = true\nrequires_approval = false\ncreated_at = ${now}\nexpires_at = 2099-01-01T00:00:00Z\n[expected_cost]\ntokens = 0\nusd = 0.0\n[payload]\nurl = "https://example.com/launch"\n`,
    );
    git(repo, 'add', approved('zz-auto'));
    commitUnsigned(repo, 'auto-approve zz-auto');
    await expectNotRun(repo, 'zz-auto');
    const hits = await expectFinding(repo, 'governed-file', new RegExp(POLICY));
    expect(hits.map((h) => h.commit)).toContain(policyCommit);
    await expectFinding(repo, 'approval', /zz-auto.*does not auto-approve/);
  });

  it('a signing program and hooks planted in .git/config that vouch for a forged signature: refused, nothing planted runs', async () => {
    const { repo, id } = await setup();
    const marks = join(sb.dir, 'marks');
    mkdirSync(marks);
    const liar = join(sb.dir, 'liar-keygen');
    writeFileSync(
      liar,
      `#!/bin/sh\ntouch '${marks}/liar'\ncase "$*" in *verify*) echo 'Good "git" signature for alice@example.com'; exit 0;; esac\nexec ssh-keygen "$@"\n`,
    );
    chmodSync(liar, 0o755);
    git(repo, 'config', 'gpg.ssh.program', liar);
    git(repo, 'config', 'core.hooksPath', join(repo, '.git', 'evil-hooks'));
    mkdirSync(join(repo, '.git', 'evil-hooks'));
    for (const h of ['post-commit', 'pre-commit', 'reference-transaction', 'post-checkout']) {
      writeFileSync(join(repo, '.git', 'evil-hooks', h), `#!/bin/sh\ntouch '${marks}/hook-${h}'\n`);
      chmodSync(join(repo, '.git', 'evil-hooks', h), 0o755);
    }
    sb.as('mallory');
    git(repo, 'mv', pending(id), approved(id));
    git(repo, '-c', 'gpg.ssh.program=ssh-keygen', '-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-S', '-m', `approve ${id}`);
    rmSync(marks, { recursive: true });
    mkdirSync(marks);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /unknown-key/);
    expect(existsSync(join(marks, 'liar'))).toBe(false);
    expect(execFileSync('ls', [marks], { encoding: 'utf8' })).toBe('');
  });

  it('an approval after expires_at: ga approve refuses, and a hand-made signed move dated later is invalid', async () => {
    const repo = await initRepo(sb);
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
    const iso = (ms: number) => new Date(t0.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const id = await submit(repo, `expires_at = ${iso(3_600_000)}\n${PUBLISH}`, fixedClock(iso(0)));
    expect((await approveAs('alice', repo, id, fixedClock(iso(2 * 3_600_000)))).code).toBe(1);
    git(repo, 'mv', pending(id), approved(id));
    const date = iso(2 * 3_600_000);
    gitWithEnv(repo, { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date }, 'commit', '-q', '-S', '-m', `approve ${id}`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /expir/i);
  });

  it('a signed move dated exactly at expires_at is not before expiry', async () => {
    const repo = await initRepo(sb);
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
    const iso = (ms: number) => new Date(t0.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const id = await submit(repo, `expires_at = ${iso(3_600_000)}\n${PUBLISH}`, fixedClock(iso(0)));
    expect((await approveAs('alice', repo, id, fixedClock(iso(3_600_000)))).code).toBe(1);
    git(repo, 'mv', pending(id), approved(id));
    const date = iso(3_600_000);
    gitWithEnv(repo, { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date }, 'commit', '-q', '-S', '-m', `approve ${id}`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /expir/i);
  });

  it('a proposal created by an earlier clock, approved by hand after its expiry', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo, PUBLISH, fixedClock('2020-01-01T00:00:00Z'));
    expect((await approveAs('alice', repo, id)).code).toBe(1);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /expir/i);
  });

  it('a quorum of 2: alice recording an approval and then making the final move herself', async () => {
    const repo = await initRepo(sb);
    requireTwoApprovals(repo);
    const id = await submit(repo);
    expect((await approveAs('alice', repo, id)).code).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectNotRun(repo, id);
    await expectFinding(repo, 'approval', /1 of 2/);
  });
});
