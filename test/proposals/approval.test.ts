// Every way an approval can be invalid, each done the way an attacker would
// do it: an agent that can write the work tree and run plain git itself (but
// holds no approver's private key). The executor must judge only from signed
// history: `ga execute` exits 1, the hook does not run, a
// flag-invalid-approval commit is recorded, and `ga show --json` says the
// approval is not valid. Positive controls show the same moves made by a
// real approver do count.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, ga, git, initRepo, propose, PUBLISH, sandbox, write, type GaResult, type Sandbox, eventCommits } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const HOOK = 'agents/noop/hooks/publish_content.sh';
const APPROVERS = 'policies/approvers';
const POLICY = 'policies/proposal_policy.toml';
const EVIL_HOOK = '#!/bin/sh\necho "EVIL: the untrusted hook ran"\n';

const pending = (id: string) => `proposals/pending/${id}.toml`;
const approved = (id: string) => `proposals/approved/${id}.toml`;
const executed = (id: string) => `proposals/executed/${id}.toml`;

/** A repository made by ga init (alice is the first approver) with one pending publish_content proposal. */
async function setup(): Promise<{ repo: string; id: string }> {
  const repo = await initRepo(sb);
  const id = await submit(repo);
  return { repo, id };
}

async function submit(repo: string, toml = PUBLISH, clock?: ReturnType<typeof fixedClock>): Promise<string> {
  const p = await propose(repo, toml, clock);
  expect(p.code, p.err).toBe(0);
  expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${p.last}.toml`);
  return p.last;
}

/** An unsigned commit of whatever is staged, as the agent would make it. */
function commitUnsigned(repo: string, message: string): void {
  git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '-m', message);
}

/** A signed commit of whatever is staged, with the key sb.as() selected. */
function commitSigned(repo: string, message: string, ...config: string[]): void {
  git(repo, ...config, 'commit', '-q', '-S', '-m', message);
}

/** Plain git with extra environment (commit dates). */
function gitWithEnv(repo: string, env: Record<string, string>, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
}

async function showJson(repo: string, id: string): Promise<{ state: string | null; approval: { valid: boolean; why: string } | null }> {
  const s = await ga(['-C', repo, 'show', id, '--json']);
  expect(s.code, s.err).toBe(0);
  return JSON.parse(s.out);
}

/**
 * The contract for an approval that does not count: execute exits 1, the
 * hook never runs, nothing is claimed or moved to executed/, the attempt is
 * flagged, and ga show reports the approval as not valid.
 */
async function expectRefused(repo: string, id: string): Promise<GaResult> {
  expect(existsSync(join(repo, approved(id))) || git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/').includes(`${id}.toml`)).toBe(true);
  const r = await ga(['-C', repo, 'execute', id]);
  expect(r.code, `${r.out}${r.err}`).toBe(1);
  expect(r.out + r.err).not.toContain('published:');
  expect(r.out + r.err).not.toContain('EVIL');
  expect(existsSync(join(repo, executed(id)))).toBe(false);
  expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')).not.toContain(`${id}.toml`);
  expect(eventCommits(repo, 'proposal-claimed', id)).toEqual([]);
  expect(eventCommits(repo, 'proposal-executed', id)).toEqual([]);
  expect(eventCommits(repo, 'flag-invalid-approval', id)).toHaveLength(1);
  const shown = await showJson(repo, id);
  expect(shown.approval).not.toBeNull();
  expect(shown.approval!.valid).toBe(false);
  return r;
}

/** A valid execution: exit 0, the trusted hook's output, the file in executed/. */
async function expectExecuted(repo: string, id: string): Promise<GaResult> {
  const r = await ga(['-C', repo, 'execute', id]);
  expect(r.code, `${r.out}${r.err}`).toBe(0);
  expect(r.out).toContain('published: Publish the launch post');
  expect(r.out + r.err).not.toContain('EVIL');
  expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')).toContain(`${id}.toml`);
  expect(eventCommits(repo, 'flag-invalid-approval', id)).toEqual([]);
  return r;
}

async function gaApprove(repo: string, id: string, clock?: ReturnType<typeof fixedClock>): Promise<GaResult> {
  return ga(['-C', repo, 'approve', id], clock);
}

describe('approvals that do not count', () => {
  it('an unsigned git mv + commit is not an approval', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).not.toContain('BEGIN SSH SIGNATURE');
    await expectRefused(repo, id);
  });

  it('a move signed by a key that is not in policies/approvers is not an approval', async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    await expectRefused(repo, id);
  });

  it("mallory's key added to policies/approvers in the same commit as the move does not count", async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('mallory'));
    git(repo, 'add', APPROVERS);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id} and add mallory`);
    await expectRefused(repo, id);
  });

  it("mallory's key added by an earlier unsigned commit does not count", async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('mallory'));
    git(repo, 'add', APPROVERS);
    commitUnsigned(repo, 'add mallory as an approver');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectRefused(repo, id);
  });

  it("mallory's key added by an earlier commit signed by mallory herself does not count", async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('mallory'));
    git(repo, 'add', APPROVERS);
    commitSigned(repo, 'add mallory as an approver');
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectRefused(repo, id);
  });

  it("a commit claiming alice's name and email but signed with mallory's key does not count", async () => {
    const { repo, id } = await setup();
    sb.as('mallory');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`, '-c', 'user.name=alice', '-c', 'user.email=alice@example.com');
    expect(git(repo, 'log', '-1', '--format=%an <%ae> / %cn <%ce>')).toBe('alice <alice@example.com> / alice <alice@example.com>');
    await expectRefused(repo, id);
  });

  it('a decision commit signed by alice that also carries a hook change is not a valid decision, and the hook change is not trusted', async () => {
    const { repo, id } = await setup();
    sb.as('alice');
    write(repo, HOOK, EVIL_HOOK);
    git(repo, 'add', HOOK);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    expect(git(repo, 'show', '--no-renames', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual([HOOK, approved(id), pending(id)].sort());
    await expectRefused(repo, id);

    // The hook change rode along with a decision: it never became the trusted version.
    const next = await submit(repo);
    expect((await gaApprove(repo, next)).code).toBe(0);
    await expectExecuted(repo, next);
  });

  it('a decision commit signed by alice that also carries a policy change is not a valid decision', async () => {
    const { repo, id } = await setup();
    sb.as('alice');
    appendFileSync(join(repo, POLICY), '\n# loosened while approving\n');
    git(repo, 'add', POLICY);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectRefused(repo, id);
  });

  it('a proposal edited while pending cannot be approved, not even by a signed move of exactly the edited file', async () => {
    const { repo, id } = await setup();
    const file = join(repo, pending(id));
    writeFileSync(file, readFileSync(file, 'utf8').replace('https://example.com/launch', 'https://evil.example/steal'));
    git(repo, 'add', pending(id));
    commitUnsigned(repo, `tweak ${id}`);

    sb.as('alice');
    const refused = await gaApprove(repo, id);
    expect(refused.code).toBe(1);

    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    expect(git(repo, 'show', '--no-renames', '--name-status', '--format=', 'HEAD').split('\n').sort()).toEqual([`A\t${approved(id)}`, `D\t${pending(id)}`]);
    await expectRefused(repo, id);
  });

  it('a proposal edited after a valid approval is not executed', async () => {
    const { repo, id } = await setup();
    expect((await gaApprove(repo, id)).code).toBe(0);
    expect((await showJson(repo, id)).approval!.valid).toBe(true);
    const file = join(repo, approved(id));
    writeFileSync(file, readFileSync(file, 'utf8').replace('https://example.com/launch', 'https://evil.example/steal'));
    git(repo, 'add', approved(id));
    commitUnsigned(repo, `tweak ${id}`);
    await expectRefused(repo, id);
  });

  it('an approved file copied to a new id does not carry the approval', async () => {
    const { repo, id } = await setup();
    expect((await gaApprove(repo, id)).code).toBe(0);
    const copy = 'zz-copy';
    copyFileSync(join(repo, approved(id)), join(repo, approved(copy)));
    // And a copy whose id field is rewritten to match its new name.
    const forged = 'zz-forged';
    writeFileSync(join(repo, approved(forged)), readFileSync(join(repo, approved(id)), 'utf8').replace(`id = "${id}"`, `id = "${forged}"`));
    expect(readFileSync(join(repo, approved(forged)), 'utf8')).toContain(`id = "${forged}"`);
    git(repo, 'add', approved(copy));
    commitUnsigned(repo, 'copy an approval');
    git(repo, 'add', approved(forged));
    commitUnsigned(repo, 'copy an approval under its new id');
    await expectRefused(repo, copy);
    await expectRefused(repo, forged);
  });

  it('an approved file renamed to a new id does not carry the approval', async () => {
    const { repo, id } = await setup();
    expect((await gaApprove(repo, id)).code).toBe(0);
    const renamed = 'zz-renamed';
    git(repo, 'mv', approved(id), approved(renamed));
    commitUnsigned(repo, 'rename an approval');
    await expectRefused(repo, renamed);
    const orig = await ga(['-C', repo, 'execute', id]);
    expect(orig.code).toBe(1);
    expect(orig.out + orig.err).not.toContain('published:');
  });

  it('a symlink in approved/ pointing at an approved proposal is not an approval', async () => {
    const { repo, id } = await setup();
    expect((await gaApprove(repo, id)).code).toBe(0);
    const link = 'zz-link';
    symlinkSync(`${id}.toml`, join(repo, approved(link)));
    git(repo, 'add', approved(link));
    commitUnsigned(repo, 'link an approval');
    expect(git(repo, 'ls-tree', 'HEAD', approved(link))).toMatch(/^120000 /);
    await expectRefused(repo, link);
  });

  it('an approval after expires_at does not count: ga approve refuses, and a hand-made signed move dated later is invalid', async () => {
    const repo = await initRepo(sb);
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
    const iso = (ms: number) => new Date(t0.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const clock = fixedClock(iso(0));
    const id = await submit(repo, `expires_at = ${iso(3_600_000)}\n${PUBLISH}`, clock);
    expect((await showJson(repo, id)).state).toBe('pending');

    clock.set(iso(2 * 3_600_000));
    sb.as('alice');
    const late = await gaApprove(repo, id, clock);
    expect(late.code).toBe(1);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).not.toContain(`${id}.toml`);

    git(repo, 'mv', pending(id), approved(id));
    const date = iso(2 * 3_600_000);
    gitWithEnv(repo, { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date }, 'commit', '-q', '-S', '-m', `approve ${id}`);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    await expectRefused(repo, id);
    expect((await showJson(repo, id)).approval!.why).toMatch(/expir/i);
  });

  it('a signed move dated exactly at expires_at is not before expiry and does not count', async () => {
    const repo = await initRepo(sb);
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
    const iso = (ms: number) => new Date(t0.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const id = await submit(repo, `expires_at = ${iso(3_600_000)}\n${PUBLISH}`, fixedClock(iso(0)));
    sb.as('alice');
    expect((await gaApprove(repo, id, fixedClock(iso(3_600_000)))).code).toBe(1);
    git(repo, 'mv', pending(id), approved(id));
    const date = iso(3_600_000);
    gitWithEnv(repo, { GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date }, 'commit', '-q', '-S', '-m', `approve ${id}`);
    expect(git(repo, 'log', '-1', '--format=%cI')).toBe(date.replace('Z', '+00:00'));
    await expectRefused(repo, id);
  });

  it('a proposal created by an earlier clock and approved by hand after its expiry does not count', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo, PUBLISH, fixedClock('2020-01-01T00:00:00Z'));
    sb.as('alice');
    expect((await gaApprove(repo, id)).code).toBe(1);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectRefused(repo, id);
  });

  it("alice recording an approval and then making the final move herself does not meet a quorum of 2", async () => {
    const repo = await initRepo(sb);
    await requireTwoApprovals(repo);
    const id = await submit(repo);
    sb.as('alice');
    const first = await gaApprove(repo, id);
    expect(first.code, first.err).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    await expectRefused(repo, id);
  });
});

/** Alice-signed commits: a rule for publish_content with min_approvals = 2, and bob as an approver. */
async function requireTwoApprovals(repo: string): Promise<void> {
  sb.as('alice');
  appendFileSync(join(repo, POLICY), '\n[[rules]]\naction_types = ["publish_content"]\nmin_approvals = 2\n');
  git(repo, 'add', POLICY);
  commitSigned(repo, 'policy: publish_content needs two approvers');
  appendFileSync(join(repo, APPROVERS), sb.approverLine('bob'));
  git(repo, 'add', APPROVERS);
  commitSigned(repo, 'approvers: add bob');
}

describe('approvals that count (positive controls)', () => {
  it("a human's own git mv + git commit -S of exactly the move counts like ga approve", async () => {
    const { repo, id } = await setup();
    sb.as('alice');
    git(repo, 'mv', pending(id), approved(id));
    commitSigned(repo, `approve ${id}`);
    expect(git(repo, 'show', '--no-renames', '--name-status', '--format=', 'HEAD').split('\n').sort()).toEqual([`A\t${approved(id)}`, `D\t${pending(id)}`]);
    const shown = await showJson(repo, id);
    expect(shown.approval!.valid).toBe(true);
    await expectExecuted(repo, id);
  });

  it('a quorum of 2 needs two distinct approvers: alice twice is refused, alice + bob works', async () => {
    const repo = await initRepo(sb);
    await requireTwoApprovals(repo);
    const id = await submit(repo);

    sb.as('alice');
    const first = await gaApprove(repo, id);
    expect(first.code, first.err).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);
    expect(eventCommits(repo, 'proposal-approval-recorded', id)).toHaveLength(1);

    const twice = await gaApprove(repo, id);
    expect(twice.code).toBe(1);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).not.toContain(`${id}.toml`);

    const early = await ga(['-C', repo, 'execute', id]);
    expect(early.code).toBe(1);
    expect(early.out).not.toContain('published:');

    sb.as('bob');
    const second = await gaApprove(repo, id);
    expect(second.code, second.err).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${id}.toml`);
    const shown = await showJson(repo, id);
    expect(shown.approval!.valid).toBe(true);
    await expectExecuted(repo, id);

    // The final move of a quorum may be a human's own signed git mv.
    const other = await submit(repo);
    sb.as('alice');
    expect((await gaApprove(repo, other)).code).toBe(0);
    sb.as('bob');
    git(repo, 'mv', pending(other), approved(other));
    commitSigned(repo, `approve ${other}`);
    expect((await showJson(repo, other)).approval!.valid).toBe(true);
    await expectExecuted(repo, other);
  });
});

describe('what runs is only the trusted version', () => {
  it('an uncommitted hook edit and an unsigned hook commit change nothing: execute runs the trusted hook', async () => {
    const repo = await initRepo(sb);

    // In the working tree only.
    write(repo, HOOK, EVIL_HOOK);
    const a = await submit(repo);
    expect((await gaApprove(repo, a)).code).toBe(0);
    await expectExecuted(repo, a);
    expect(readFileSync(join(repo, HOOK), 'utf8')).toBe(EVIL_HOOK);

    // Committed, unsigned.
    git(repo, 'add', HOOK);
    commitUnsigned(repo, 'improve the publish hook');
    expect(git(repo, 'show', 'HEAD:' + HOOK)).toContain('EVIL');
    const b = await submit(repo);
    expect((await gaApprove(repo, b)).code).toBe(0);
    await expectExecuted(repo, b);
  });

  it('a signing program planted in .git/config never runs inside ga, and ga approve still works', async () => {
    const repo = await initRepo(sb);
    const marker = join(sb.dir, 'signing-program-ran');
    const evil = join(sb.dir, 'evil-sign.sh');
    writeFileSync(evil, `#!/bin/sh\ntouch '${marker}'\nexec ssh-keygen "$@"\n`);
    chmodSync(evil, 0o755);
    const fsmon = join(sb.dir, 'evil-fsmonitor.sh');
    writeFileSync(fsmon, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`);
    chmodSync(fsmon, 0o755);
    git(repo, 'config', 'gpg.ssh.program', evil);
    git(repo, 'config', 'core.fsmonitor', fsmon);

    const id = await submit(repo);
    const approval = await gaApprove(repo, id);
    expect(approval.code, approval.err).toBe(0);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('BEGIN SSH SIGNATURE');
    expect((await showJson(repo, id)).approval!.valid).toBe(true);
    await expectExecuted(repo, id);
    expect(existsSync(marker)).toBe(false);

    // The trap is real: plain git does run the planted program.
    git(repo, 'commit', '-q', '--allow-empty', '-S', '-m', 'plain git signs with the planted program');
    expect(existsSync(marker)).toBe(true);
  });

  it('hooks planted in .git/hooks never run during ga propose, approve, execute', async () => {
    const repo = await initRepo(sb);
    const marker = join(sb.dir, 'git-hook-ran');
    for (const hook of ['post-commit', 'pre-commit', 'commit-msg', 'prepare-commit-msg', 'reference-transaction', 'post-index-change', 'post-checkout']) {
      const path = join(repo, '.git/hooks', hook);
      writeFileSync(path, `#!/bin/sh\necho ${hook} >> '${marker}'\nexit 0\n`);
      chmodSync(path, 0o755);
    }
    const id = await submit(repo);
    expect((await gaApprove(repo, id)).code).toBe(0);
    await expectExecuted(repo, id);
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : '').toBe('');

    // The trap is real: plain git runs the planted hooks.
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', 'plain git runs hooks');
    expect(readFileSync(marker, 'utf8')).toContain('post-commit');
  });
});
