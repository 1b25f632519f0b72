// Approvals that count: the moves a real approver makes (ga approve, a signed
// git mv, a quorum), and what runs is only the trusted version. Approvals
// that do not count are attacks: test/redteam/forged-approvals.test.ts
// writes each once and judges it by the executor and by ga verify.
import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type fixedClock, ga, git, initRepo, propose, PUBLISH, sandbox, write, type GaResult, type Sandbox, eventCommits } from '../helpers/fixture.js';

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

async function showJson(repo: string, id: string): Promise<{ state: string | null; approval: { valid: boolean; why: string } | null }> {
  const s = await ga(['-C', repo, 'show', id, '--json']);
  expect(s.code, s.err).toBe(0);
  return JSON.parse(s.out);
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
