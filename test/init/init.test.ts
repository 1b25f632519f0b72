// `ga init` and `ga trust` (DESIGN.md "Trust root and governed files",
// "Repository layout", "Commands").
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

const tree = (repo: string) => git(repo, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').filter(Boolean);
const pin = (repo: string) => {
  try {
    return git(repo, 'config', '--local', '--get', 'ga.trustRoot');
  } catch {
    return undefined;
  }
};
const approverLines = (repo: string) =>
  readFileSync(join(repo, 'policies/approvers'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));

/** Verifies a commit's SSH signature with git itself, against one person's key. */
function verifiedBy(repo: string, commit: string, who: string): boolean {
  const p = sb.people[who]!;
  const signers = join(sb.dir, `signers-${who}`);
  writeFileSync(signers, `${p.email} namespaces="git" ${p.pub}\n`);
  try {
    execFileSync('git', ['-c', `gpg.ssh.allowedSignersFile=${signers}`, 'verify-commit', commit], { cwd: repo, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function newDir(name: string): string {
  return join(sb.dir, name);
}

describe('ga init', () => {
  it('writes the layout in one signed commit, pinned as the trust root', async () => {
    sb.as('alice');
    const repo = newDir('fresh');
    const r = await ga(['init', repo]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');

    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('1');
    const head = git(repo, 'rev-parse', 'HEAD');
    const files = tree(repo);
    for (const f of [
      'policies/proposal_policy.toml',
      'policies/approvers',
      'policies/watchdog.toml',
      'agents/noop/agent.toml',
      'agents/noop/tool_allowlist.toml',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('agents/noop/hooks/'))).toBe(true);
    for (const d of ['pending', 'approved', 'rejected', 'executed', 'failed', 'expired']) {
      expect(files.some((f) => f.startsWith(`proposals/${d}/`))).toBe(true);
    }
    expect(files.some((f) => f.startsWith('ledger/'))).toBe(true);
    expect(files.some((f) => f.startsWith('audit/'))).toBe(true);
    expect(files.some((f) => f.startsWith('.ga/'))).toBe(false);

    // The first approver is alice, by her key.
    expect(approverLines(repo)).toEqual([`alice@example.com namespaces="git" ${sb.people.alice!.pub}`]);
    // One commit, signed by alice's key, pinned in the clone's own config only.
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('-----BEGIN SSH SIGNATURE-----');
    expect(verifiedBy(repo, head, 'alice')).toBe(true);
    expect(verifiedBy(repo, head, 'bob')).toBe(false);
    expect(pin(repo)).toBe(head);
    expect(readFileSync(process.env.GIT_CONFIG_GLOBAL!, 'utf8')).not.toContain('trustRoot');
    expect(git(repo, 'status', '--porcelain')).toBe('');

    // The repository works: a proposal can be submitted and approved.
    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    expect((await ga(['-C', repo, 'approve', p.last])).code).toBe(0);
  });

  it('initialises an existing repository with commits and pins the new commit', async () => {
    sb.as('alice');
    const repo = newDir('existing');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, 'README.md', '# an existing project\n');
    git(repo, 'add', 'README.md');
    git(repo, 'commit', '--no-gpg-sign', '-qm', 'first');
    const before = git(repo, 'rev-parse', 'HEAD');

    const r = await ga(['init', repo]);
    expect(r.code).toBe(0);
    const head = git(repo, 'rev-parse', 'HEAD');
    expect(head).not.toBe(before);
    expect(git(repo, 'rev-parse', 'HEAD~1')).toBe(before);
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('2');
    expect(pin(repo)).toBe(head);
    expect(verifiedBy(repo, head, 'alice')).toBe(true);
    expect(tree(repo)).toEqual(expect.arrayContaining(['README.md', 'policies/approvers', 'agents/noop/agent.toml']));
    expect(git(repo, 'show', '--name-only', '--format=', 'HEAD').split('\n')).not.toContain('README.md');
    expect(git(repo, 'status', '--porcelain')).toBe('');

    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    expect((await ga(['-C', repo, 'approve', p.last])).code).toBe(0);
  });

  it('refuses to overwrite (exit 2), lists every collision and writes nothing', async () => {
    sb.as('alice');
    const repo = newDir('collide');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, 'README.md', 'x\n');
    git(repo, 'add', 'README.md');
    git(repo, 'commit', '--no-gpg-sign', '-qm', 'first');
    write(repo, 'policies/approvers', 'someone@example.com namespaces="git" ssh-ed25519 AAAA\n');
    write(repo, 'agents/noop/agent.toml', 'adapter = "noop"\n');
    const head = git(repo, 'rev-parse', 'HEAD');
    const status = git(repo, 'status', '--porcelain', '--untracked-files=all');

    const r = await ga(['init', repo]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('policies/approvers');
    expect(r.err).toContain('agents/noop/agent.toml');
    expect(r.err.trim().split('\n')).toHaveLength(1);

    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe(status);
    expect(readFileSync(join(repo, 'policies/approvers'), 'utf8')).toBe('someone@example.com namespaces="git" ssh-ed25519 AAAA\n');
    expect(existsSync(join(repo, 'policies/proposal_policy.toml'))).toBe(false);
    expect(existsSync(join(repo, '.gitignore'))).toBe(false);
    expect(pin(repo)).toBeUndefined();
  });

  it('refuses to overwrite in a directory that is not yet a repository, and leaves it as it was', async () => {
    sb.as('alice');
    const dir = newDir('plain');
    write(dir, 'policies/approvers', 'mine\n');
    const r = await ga(['init', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('policies/approvers');
    expect(readdirSync(dir)).toEqual(['policies']);
    expect(readdirSync(join(dir, 'policies'))).toEqual(['approvers']);
  });

  it('without a signing key still scaffolds, exits 0 and explains the steps', async () => {
    sb.unsigned();
    const repo = newDir('nokey');
    const r = await ga(['init', repo]);
    expect(r.code).toBe(0);
    expect(tree(repo)).toEqual(expect.arrayContaining(['policies/proposal_policy.toml', 'policies/approvers', 'agents/noop/agent.toml']));
    expect(approverLines(repo)).toEqual([]);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).not.toContain('BEGIN SSH SIGNATURE');
    expect(r.out).toMatch(/^\s*1\. /m);
    expect(r.out).toMatch(/^\s*2\. /m);
    expect(r.out).toContain('ssh-keygen');
    expect(r.out).toContain('gpg.format ssh');
    expect(r.out).toMatch(/ga( -C \S+)? trust/);
    expect(pin(repo)).toBeUndefined();
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('with a GPG signing setup says GPG is unsupported in the steps', async () => {
    sb.as('alice');
    git(sb.dir, 'config', '--global', 'gpg.format', 'openpgp');
    git(sb.dir, 'config', '--global', 'user.signingkey', '0123456789ABCDEF');
    const repo = newDir('gpg');
    const r = await ga(['init', repo]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/GPG/);
    expect(r.out).toMatch(/not support|unsupported/i);
    expect(r.out).toContain('gpg.format ssh');
    expect(r.out).toMatch(/^\s*1\. /m);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).not.toContain('SIGNATURE');
    expect(approverLines(repo)).toEqual([]);
  });
});

describe('ga trust', () => {
  it('pins a commit as the trust root, following the steps of an unsigned init', async () => {
    sb.unsigned();
    const repo = newDir('later');
    expect((await ga(['init', repo])).code).toBe(0);
    sb.as('alice');
    const approvers = readFileSync(join(repo, 'policies/approvers'), 'utf8');
    write(repo, 'policies/approvers', `${approvers}alice@example.com namespaces="git" ${sb.people.alice!.pub}\n`);
    git(repo, 'commit', '-S', '-qm', 'add the first approver', 'policies/approvers');
    const head = git(repo, 'rev-parse', 'HEAD');

    const t = await ga(['-C', repo, 'trust', 'HEAD']);
    expect(t.code).toBe(0);
    expect(pin(repo)).toBe(head);
    expect(readFileSync(process.env.GIT_CONFIG_GLOBAL!, 'utf8')).not.toContain('trustRoot');

    const p = await propose(repo, PUBLISH);
    expect(p.code).toBe(0);
    expect((await ga(['-C', repo, 'approve', p.last])).code).toBe(0);
    const x = await ga(['-C', repo, 'execute', p.last]);
    expect(x.code).toBe(0);
  });

  it('pins an earlier commit given by id', async () => {
    sb.as('alice');
    const repo = newDir('byid');
    expect((await ga(['init', repo])).code).toBe(0);
    const root = git(repo, 'rev-parse', 'HEAD');
    expect((await propose(repo, PUBLISH)).code).toBe(0);
    git(repo, 'config', '--local', '--unset', 'ga.trustRoot');
    const t = await ga(['-C', repo, 'trust', root.slice(0, 12)]);
    expect(t.code).toBe(0);
    expect(pin(repo)).toBe(root);
  });

  it('refuses (exit 1) inside an agent process (GA_AGENT set)', async () => {
    sb.as('alice');
    const repo = newDir('agent');
    expect((await ga(['init', repo])).code).toBe(0);
    const root = git(repo, 'rev-parse', 'HEAD');
    expect((await propose(repo, PUBLISH)).code).toBe(0);
    process.env.GA_AGENT = 'noop';
    try {
      const t = await ga(['-C', repo, 'trust', 'HEAD']);
      expect(t.code).toBe(1);
      expect(t.err).toContain('GA_AGENT');
    } finally {
      delete process.env.GA_AGENT;
    }
    expect(pin(repo)).toBe(root);
  });
});
