// Pull requests as the review surface (DESIGN "Pull requests", "Merges"):
// with proposals = "pull-request", a submission goes to its own hub branch
// ga/proposals/<id>, made on the hub's tip; a pull request is opened with the
// host's CLI when it is installed and logged in (gh here is a fake: GitHub
// cannot exist on this machine; it records what it was asked); the approver's
// signed decision lands on that branch; the host's merge button is emulated by
// a scratch clone merging under another identity. A merge commit brings the
// signed approval in and the hook runs once; a squash or a rebase merge
// re-creates it without the signature, and nothing runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock, ga, gaProcess, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, commitGoverned, countingHook, HOOK, runsOf } from '../helpers/scene.js';

let sb: Sandbox;
let savedPath: string | undefined;
beforeEach(() => {
  sb = sandbox(['alice', 'bob']);
  savedPath = process.env.PATH;
});
afterEach(() => {
  process.env.PATH = savedPath;
  sb.cleanup();
});

interface Review {
  hubDir: string;
  /** alice's clone (she approves) and the runner's clone (agents propose, the executor runs). */
  alice: string;
  runner: string;
  counter: string;
  ghLog: string;
}

/** A hub whose proposals go to review branches; its second URL names a GitHub project, so gh (a fake on PATH) is asked for the pull request. */
async function reviewWorld(): Promise<Review> {
  const alice = await initRepo(sb);
  const hubDir = join(sb.dir, 'hub.git');
  git(sb.dir, 'init', '-q', '--bare', '-b', 'main', hubDir);
  const counter = join(sb.dir, 'hook-runs');
  commitGoverned(
    sb,
    alice,
    {
      [HOOK]: countingHook(counter),
      'policies/hub.toml': `url = ["file://${hubDir}", "git@github.com:acme/governance.git"]\nbranch = "main"\nsync_interval = "1s"\nproposals = "pull-request"\n`,
    },
    'a hub where proposals are reviewed as pull requests',
  );
  expect((await ga(['-C', alice, 'sync'])).code).toBe(0);
  const runner = join(sb.dir, 'runner');
  git(sb.dir, 'clone', '-q', hubDir, runner);
  expect((await ga(['-C', runner, 'trust', git(alice, 'config', '--local', 'ga.trustRoot')])).code).toBe(0);
  // gh, logged in: it notes each call and answers pr create with an address.
  const bin = join(sb.dir, 'bin');
  mkdirSync(bin);
  const ghLog = join(sb.dir, 'gh.log');
  writeFileSync(join(bin, 'gh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${ghLog}\n[ "$1" = pr ] && echo https://github.com/acme/governance/pull/7\nexit 0\n`);
  chmodSync(join(bin, 'gh'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH}`;
  return { hubDir, alice, runner, counter, ghLog };
}

/** An agent proposes on the runner's clone (locally, as agents do); the runner's sync sends it for review. */
async function proposedForReview(w: Review, title = 'Publish the launch post'): Promise<string> {
  const p = await gaProcess(
    ['-C', w.runner, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', title, '--payload', '{"url":"https://example.com"}'],
    {
      env: { GA_AGENT: 'noop' },
    },
  );
  expect(p.code, p.err).toBe(0);
  const s = await ga(['-C', w.runner, 'sync']);
  expect(s.code, s.out + s.err).toBe(0);
  expect(s.out).toContain(`${p.last} waits for review on branch ga/proposals/${p.last} (https://github.com/acme/governance/pull/7)`);
  return p.last;
}

/** A clone standing in for the host's merge button: merges as someone else, unsigned (or signed with the host's own key), and pushes. */
function hostMerge(w: Review, id: string, how: 'merge' | 'ours' | 'squash' | 'rebase', branchName = `ga/proposals/${id}`, hostKey?: string): void {
  const m = join(sb.dir, `host-${how}-${Math.random().toString(36).slice(2)}`);
  git(sb.dir, 'clone', '-q', w.hubDir, m);
  const signing = hostKey ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${hostKey}`, '-c', 'commit.gpgSign=true'] : ['-c', 'commit.gpgSign=false'];
  const as = ['-c', 'user.name=GitHub', '-c', 'user.email=noreply@github.com', ...signing];
  const branch = `origin/${branchName}`;
  if (how === 'merge') git(m, ...as, 'merge', '-q', '--no-ff', branch, '-m', `Merge pull request #7 from acme/ga/proposals/${id}`);
  if (how === 'ours') git(m, ...as, 'merge', '-q', '--no-ff', '-s', 'ours', branch, '-m', `Merge pull request #8 (conflict resolved by keeping main)`);
  if (how === 'squash') {
    git(m, ...as, 'merge', '-q', '--squash', branch);
    git(m, ...as, 'commit', '-q', '--no-edit');
  }
  if (how === 'rebase') {
    // the hub moved on meanwhile, so the rebase re-makes the branch's commits (without their signatures)
    writeFileSync(join(m, 'NOTES.md'), 'unrelated\n');
    git(m, 'add', 'NOTES.md');
    git(m, ...as, 'commit', '-q', '-m', 'notes');
    git(m, 'checkout', '-q', '-b', 'rebased', branch);
    git(m, ...as, 'rebase', '-q', 'main');
    git(m, 'checkout', '-q', 'main');
    git(m, 'merge', '-q', '--ff-only', 'rebased');
  }
  git(m, 'push', '-q', 'origin', 'main');
}

describe('proposals as pull requests', () => {
  it('propose -> its own branch and a pull request -> approved on the branch -> a host-style merge commit -> executed once on the runner', async () => {
    const w = await reviewWorld();
    const before = git(w.hubDir, 'rev-parse', 'main');
    const id = await proposedForReview(w);
    // The submission is on its branch, made on the hub's tip; the hub's branch and the runner's do not have it.
    expect(git(w.hubDir, 'rev-parse', `ga/proposals/${id}~1`)).toBe(before);
    expect(git(w.hubDir, 'ls-tree', '-r', '--name-only', `ga/proposals/${id}`, 'proposals/pending/')).toContain(id);
    expect(git(w.hubDir, 'rev-parse', 'main')).toBe(before);
    expect(git(w.runner, 'ls-files', 'proposals/pending/')).not.toContain(id);
    expect(readFileSync(w.ghLog, 'utf8')).toMatch(
      new RegExp(`pr create --repo acme/governance --head ga/proposals/${id} --base main --title Publish the launch post`),
    );

    // alice sees it waiting, and approves it on its branch.
    const list = await ga(['-C', w.alice, 'list']);
    expect(list.out).toMatch(new RegExp(`${id}\\s+pending \\(on ga/proposals/${id}\\)`));
    expect((await ga(['-C', w.alice, 'show', id])).out).toContain(`waits for review on branch ga/proposals/${id}`);
    const ap = await ga(['-C', w.alice, 'approve', id]);
    expect(ap.code, ap.err).toBe(0);
    expect(ap.out).toContain(`approved ${id} on ga/proposals/${id}`);
    expect(git(w.hubDir, 'cat-file', '-p', `ga/proposals/${id}`)).toContain('BEGIN SSH SIGNATURE');
    expect(git(w.hubDir, 'rev-parse', 'main')).toBe(before); // nothing runs before the merge
    expect((await ga(['-C', w.alice, 'list', '--state', 'approved'])).out).toContain('needs a merge');
    expect((await ga(['-C', w.runner, 'execute', id])).code).not.toBe(0);
    expect(runsOf(w.counter)).toBe(0);

    hostMerge(w, id, 'merge');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    const x = await ga(['-C', w.runner, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(1);
    expect(runsOf(w.counter)).toBe(1);
    const v = await ga(['-C', w.runner, '--json', 'verify']);
    expect(JSON.parse(v.out).findings, v.out).toEqual([]);
  }, 180_000);

  for (const how of ['squash', 'rebase'] as const) {
    it(`a ${how} merge re-creates the approval without its signature: not executed, and ga show says why and what to do`, async () => {
      const w = await reviewWorld();
      const id = await proposedForReview(w);
      expect((await ga(['-C', w.alice, 'approve', id])).code).toBe(0);
      hostMerge(w, id, how);
      expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
      expect(git(w.runner, 'ls-files', 'proposals/approved/')).toContain(id);
      const x = await ga(['-C', w.runner, 'execute', id]);
      expect(x.code).toBe(1);
      expect(runsOf(w.counter)).toBe(0);
      const shown = await ga(['-C', w.runner, 'show', id]);
      expect(shown.out).toMatch(/squash or rebase merge makes of a pull request: merge with a merge commit instead, or submit the proposal again/);
      const v = await ga(['-C', w.runner, '--json', 'verify']);
      expect(JSON.stringify(JSON.parse(v.out).findings)).toMatch(/squash or rebase merge/);
    }, 180_000);
  }

  it("ga reject records the rejection on the hub's branch: the review branch is merged and removed, and nothing can approve it later", async () => {
    const w = await reviewWorld();
    const id = await proposedForReview(w);
    const r = await ga(['-C', w.alice, 'reject', id, '--reason', 'not this week']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('merged into main');
    expect(git(w.hubDir, 'ls-tree', '-r', '--name-only', 'main', 'proposals/')).toContain(`proposals/rejected/${id}.toml`);
    expect(git(w.hubDir, 'for-each-ref', 'refs/heads/ga/proposals/')).toBe('');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect(JSON.parse((await ga(['-C', w.runner, '--json', 'show', id])).out)).toMatchObject({ state: 'rejected', branch: null });
    expect((await ga(['-C', w.alice, 'approve', id])).code).toBe(1);
    const v = await ga(['-C', w.runner, '--json', 'verify']);
    expect(JSON.parse(v.out).findings, v.out).toEqual([]);
  }, 180_000);

  it('an approver removed on the main line before the merge: the approval the merge brings in no longer counts', async () => {
    const w = await reviewWorld();
    // bob becomes an approver (signed by alice), then approves on the branch
    commitGoverned(sb, w.alice, { [APPROVERS]: `${readFileSync(join(w.alice, APPROVERS), 'utf8')}${sb.approverLine('bob')}\n` }, 'bob approves too');
    expect((await ga(['-C', w.alice, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    const id = await proposedForReview(w);
    sb.as('bob');
    expect((await ga(['-C', w.alice, 'approve', id])).code).toBe(0);
    // meanwhile, on the main line, alice removes bob
    const without = readFileSync(join(w.alice, APPROVERS), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('bob@'))
      .join('\n');
    commitGoverned(sb, w.alice, { [APPROVERS]: without }, 'bob no longer approves');
    expect((await ga(['-C', w.alice, 'sync'])).code).toBe(0);
    hostMerge(w, id, 'merge');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect(git(w.runner, 'ls-files', 'proposals/approved/')).toContain(id); // merged in, approved on paper
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(1);
    expect(runsOf(w.counter)).toBe(0);
    expect(JSON.parse((await ga(['-C', w.runner, '--json', 'show', id])).out).approval).toMatchObject({ valid: false });
  }, 180_000);

  it('a quorum of two: one approval on the branch, the last on the main line after the merge', async () => {
    const w = await reviewWorld();
    commitGoverned(
      sb,
      w.alice,
      {
        [APPROVERS]: `${readFileSync(join(w.alice, APPROVERS), 'utf8')}${sb.approverLine('bob')}\n`,
        'policies/proposal_policy.toml': `${readFileSync(join(w.alice, 'policies/proposal_policy.toml'), 'utf8')}\n[[rules]]\naction_types = ["publish_content"]\nmin_approvals = 2\n`,
      },
      'two approvers for publishing',
    );
    expect((await ga(['-C', w.alice, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    const id = await proposedForReview(w);
    const first = await ga(['-C', w.alice, 'approve', id]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('recorded approval 1 of 2');
    hostMerge(w, id, 'merge');
    expect((await ga(['-C', w.alice, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(1); // one of two
    sb.as('bob');
    const second = await ga(['-C', w.alice, 'approve', id]);
    expect(second.code, second.err).toBe(0);
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
  }, 180_000);

  it('a pull request that also edits its hook: the merge brings the edit in untrusted, and the trusted hook runs', async () => {
    const w = await reviewWorld();
    const p = await gaProcess(['-C', w.runner, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', 'with a hook edit', '--payload', '{}'], {
      env: { GA_AGENT: 'noop' },
    });
    expect(p.code).toBe(0);
    writeFileSync(join(w.runner, HOOK), `#!/bin/sh\necho evil >> ${w.counter}.evil\n`);
    git(w.runner, 'add', HOOK);
    git(w.runner, '-c', 'commit.gpgSign=false', 'commit', '-q', '-m', 'a better hook');
    // the runner's sync sends the submission for review; the hook edit goes to the hub's branch, unsigned
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.alice, 'approve', p.last])).code).toBe(0);
    hostMerge(w, p.last, 'merge');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', p.last])).code).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
    expect(runsOf(`${w.counter}.evil`)).toBe(0);
    const v = await ga(['-C', w.runner, '--json', 'verify']);
    expect(JSON.stringify(JSON.parse(v.out).findings)).toMatch(/governed-file/);
  }, 180_000);

  it("a merge commit signed with a key ga does not know (as GitHub's web-flow key is): what it brings in counts, the signature is neither needed nor counted", async () => {
    const w = await reviewWorld();
    const webFlow = join(sb.dir, 'web-flow');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'web-flow', '-f', webFlow]);
    const id = await proposedForReview(w);
    expect((await ga(['-C', w.alice, 'approve', id])).code).toBe(0);
    hostMerge(w, id, 'merge', undefined, `${webFlow}.pub`);
    expect(git(w.hubDir, 'cat-file', '-p', 'main')).toContain('BEGIN SSH SIGNATURE');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(0);
    expect(runsOf(w.counter)).toBe(1);
  }, 180_000);

  it('two pull requests that approve the same proposal: the first merge executes it, the second merge brings in an approval that no longer counts', async () => {
    const w = await reviewWorld();
    const id = await proposedForReview(w);
    // a second branch from the same submission, with an approval of its own (a signed git mv by alice)
    const other = join(sb.dir, 'other');
    git(sb.dir, 'clone', '-q', w.hubDir, other);
    git(other, 'checkout', '-q', '-b', 'copy', `origin/ga/proposals/${id}`);
    sb.as('alice');
    git(other, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    git(other, '-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-S', '-m', `approve ${id} again`);
    git(other, 'push', '-q', 'origin', 'copy:refs/heads/copy');
    expect((await ga(['-C', w.alice, 'approve', id])).code).toBe(0);
    hostMerge(w, id, 'merge');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(0);
    // The second pull request conflicts with the first (the host would refuse it); merged anyway, keeping main's side:
    hostMerge(w, id, 'ours', 'copy');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', id])).code).toBe(1);
    expect(runsOf(w.counter)).toBe(1);
    const v = await ga(['-C', w.runner, '--json', 'verify']);
    expect(JSON.stringify(JSON.parse(v.out).findings)).toMatch(/already decided/);
  }, 180_000);

  it('a pull request merged after the proposal expired: an approval made in time still counts, one made after expires_at does not', async () => {
    const w = await reviewWorld();
    const expires = new Date(Date.now() + 3600_000);
    const submit = async (title: string) => {
      const f = join(sb.dir, `${title.replace(/ /g, '-')}.toml`);
      writeFileSync(
        f,
        `agent = "noop"\naction_type = "publish_content"\ntitle = "${title}"\nexpires_at = ${expires.toISOString()}\n[payload]\nurl = "https://example.com"\n`,
      );
      const p = await gaProcess(['-C', w.runner, 'propose', '--file', f], { env: { GA_AGENT: 'noop' } });
      expect(p.code, p.err).toBe(0);
      return p.last;
    };
    const inTime = await submit('approved in time');
    const late = await submit('approved too late');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    expect((await ga(['-C', w.alice, 'approve', inTime])).code).toBe(0);
    // a signed approval dated two hours on, after expires_at, made by hand on the branch
    const c = join(sb.dir, 'late-approval');
    git(sb.dir, 'clone', '-q', w.hubDir, c);
    git(c, 'checkout', '-q', '-b', 'late', `origin/ga/proposals/${late}`);
    sb.as('alice');
    git(c, 'mv', `proposals/pending/${late}.toml`, `proposals/approved/${late}.toml`);
    const after = new Date(expires.getTime() + 3600_000).toISOString();
    execFileSync('git', ['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-S', '-m', `approve ${late}`], {
      cwd: c,
      env: { ...process.env, GIT_COMMITTER_DATE: after, GIT_AUTHOR_DATE: after },
    });
    git(c, 'push', '-q', 'origin', `late:ga/proposals/${late}`);
    hostMerge(w, inTime, 'merge');
    hostMerge(w, late, 'merge');
    expect((await ga(['-C', w.runner, 'sync'])).code).toBe(0);
    const later = fixedClock(new Date(expires.getTime() + 2 * 3600_000).toISOString());
    expect((await ga(['-C', w.runner, 'execute', inTime], later)).code).toBe(0);
    expect((await ga(['-C', w.runner, 'execute', late], later)).code).toBe(1);
    expect(runsOf(w.counter)).toBe(1);
    expect(JSON.parse((await ga(['-C', w.runner, '--json', 'show', late])).out).approval.why).toMatch(/approved after it expired/);
  }, 180_000);
});
