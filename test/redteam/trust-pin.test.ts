// Class: a pin may only make trust stricter (red-team finding #3-5). An agent
// with a shell names, as the trust root, a later commit of its own whose tree
// lists its key in policies/approvers and which it signed with that key;
// through `git config ga.trustRoot` or `ga trust`, that pin is refused, one
// line naming both commits, and nothing it would have approved runs. The
// legitimate pins (ga init's own commit, an earlier commit) and an unpinned
// clone keep working, trusting the repository's first self-attesting commit:
// the first on HEAD's first parents signed by a key its own tree lists.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, write, type GaResult, type Sandbox } from '../helpers/fixture.js';
import {
  APPROVERS,
  approvedPath,
  commitGoverned,
  commitSigned,
  commitUnsigned,
  countingHook,
  HOOK,
  pendingPath,
  POLICY,
  runsOf,
  submit,
  verify,
} from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

const short = (c: string) => c.slice(0, 12);
const pinOf = (repo: string): string | undefined => {
  try {
    return git(repo, 'config', '--local', '--get', 'ga.trustRoot');
  } catch {
    return undefined;
  }
};

/** Exit 1 and one stderr line that names both commits. */
function refusedNaming(r: GaResult, ...commits: string[]): string {
  expect(r.code, r.out + r.err).toBe(1);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/internal error|\n\s+at /i);
  for (const c of commits) expect(lines[0]).toContain(short(c));
  return lines[0]!;
}

interface Attack {
  repo: string;
  root: string;
  id: string;
  counter: string;
  /** Mallory's commit: her key added to the approvers and her hook, signed by her. */
  evil: string;
  /** Her approval of the proposal, signed by her. */
  approval: string;
}

/**
 * ga init by alice and a pending proposal; then, as the agent would with a
 * shell: a commit listing mallory's key and a counting hook, signed by
 * mallory (so it attests itself), and mallory's own approval.
 */
async function attack(): Promise<Attack> {
  const repo = await initRepo(sb);
  const root = git(repo, 'rev-parse', 'HEAD');
  const id = await submit(repo);
  const counter = join(sb.dir, `runs-${Math.random().toString(36).slice(2)}`);
  const approvers = readFileSync(join(repo, APPROVERS), 'utf8');
  const evil = commitGoverned(sb, repo, { [APPROVERS]: approvers + sb.approverLine('mallory'), [HOOK]: countingHook(counter) }, 'my own root', 'mallory');
  git(repo, 'mv', pendingPath(id), approvedPath(id));
  const approval = commitSigned(repo, `approve ${id}`);
  sb.as('alice');
  return { repo, root, id, counter, evil, approval };
}

/** What the attack would buy, refused: nothing runs, every command says why in one line. */
async function expectPinRefused(a: Attack, pinned: string): Promise<void> {
  const head = git(a.repo, 'rev-parse', 'HEAD');
  const x = await ga(['-C', a.repo, 'execute', a.id]);
  const said = refusedNaming(x, pinned, a.root);
  expect(said).toMatch(/stricter/);
  expect(said).toMatch(/ga verify --trust/);
  expect(x.out).not.toMatch(/published:/);
  expect(runsOf(a.counter)).toBe(0);
  expect(git(a.repo, 'rev-parse', 'HEAD')).toBe(head);
  refusedNaming(await ga(['-C', a.repo, 'status']), pinned, a.root);
  const v = await verify(a.repo);
  expect(v.code).toBe(1);
  expect(v.findings).toEqual([expect.objectContaining({ rule: 'history', explanation: expect.stringContaining(short(pinned)) })]);
  expect(v.findings[0]!.explanation).toContain(short(a.root));
}

describe('class: a pin may only make trust stricter', () => {
  it("git config ga.trustRoot naming the agent's own self-signed later commit is refused, and its hook never runs", async () => {
    const a = await attack();
    git(a.repo, 'config', 'ga.trustRoot', a.evil);
    await expectPinRefused(a, a.evil);
    // Its approval commit, signed by the key it lists, is refused the same way; so is a ref that floats to it.
    git(a.repo, 'config', 'ga.trustRoot', a.approval);
    await expectPinRefused(a, a.approval);
    git(a.repo, 'config', 'ga.trustRoot', 'HEAD');
    refusedNaming(await ga(['-C', a.repo, 'execute', a.id]), a.approval, a.root);
    // An unsigned later commit gains nothing either.
    write(a.repo, POLICY, `${readFileSync(join(a.repo, POLICY), 'utf8')}\n# mine\n`);
    git(a.repo, 'add', POLICY);
    const unsigned = commitUnsigned(a.repo, 'unsigned root');
    git(a.repo, 'config', 'ga.trustRoot', unsigned);
    refusedNaming(await ga(['-C', a.repo, 'execute', a.id]), unsigned, a.root);
    expect(runsOf(a.counter)).toBe(0);

    // ga verify --trust still checks against a root given on the command line, whatever the pin says.
    const fromRoot = await verify(a.repo, '--trust', a.root);
    expect(fromRoot.code).toBe(1);
    expect(fromRoot.findings.some((f) => f.commit === a.evil && f.rule === 'governed-file')).toBe(true);

    // Put back, the pin trusts alice's ga init, and mallory's approval does not count.
    git(a.repo, 'config', 'ga.trustRoot', a.root);
    const x = await ga(['-C', a.repo, 'execute', a.id]);
    expect(x.code, x.out + x.err).toBe(1);
    expect(x.err).not.toContain('stricter');
    expect(runsOf(a.counter)).toBe(0);
    const v = await verify(a.repo);
    expect(v.findings.some((f) => f.commit === a.evil && f.rule === 'governed-file')).toBe(true);
  });

  it("ga trust refuses to pin the agent's own self-signed later commit, pinned or not", async () => {
    const a = await attack();
    for (const target of [a.evil, a.approval, 'HEAD']) {
      const t = await ga(['-C', a.repo, 'trust', target]);
      const said = refusedNaming(t, target === 'HEAD' ? a.approval : target, a.root);
      expect(said).toMatch(/stricter/);
      expect(pinOf(a.repo)).toBe(a.root);
    }
    git(a.repo, 'config', '--local', '--unset', 'ga.trustRoot');
    refusedNaming(await ga(['-C', a.repo, 'trust', a.evil]), a.evil, a.root);
    expect(pinOf(a.repo)).toBeUndefined();
    expect(runsOf(a.counter)).toBe(0);
    // The same message as a pin made by hand.
    const t = await ga(['-C', a.repo, 'trust', a.evil]);
    git(a.repo, 'config', 'ga.trustRoot', a.evil);
    const s = await ga(['-C', a.repo, 'status']);
    expect(s.err.replace(' (pinned in git config ga.trustRoot)', '')).toBe(t.err);
  });

  it("ga init's own commit: pinned, accepted again by ga trust, and alice's approval runs", async () => {
    const repo = await initRepo(sb);
    const root = git(repo, 'rev-parse', 'HEAD');
    expect(pinOf(repo)).toBe(root);
    const id = await submit(repo);
    const t = await ga(['-C', repo, 'trust', short(root)]);
    expect(t.code, t.err).toBe(0);
    expect(pinOf(repo)).toBe(root);
    const s = await ga(['-C', repo, '--json', 'status']);
    expect(s.code, s.err).toBe(0);
    expect((JSON.parse(s.out) as { trust_root: unknown }).trust_root).toEqual({ commit: root, source: 'pinned' });
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(0);
  });

  it('an unpinned clone trusts the first self-attesting commit, ga init, and not the agent one after it', async () => {
    const a = await attack();
    const clone = join(sb.dir, 'clone');
    git(sb.dir, 'clone', '-q', a.repo, clone);
    expect(pinOf(clone)).toBeUndefined();
    const s = await ga(['-C', clone, '--json', 'status']);
    expect(s.code, s.err).toBe(0);
    expect((JSON.parse(s.out) as { trust_root: unknown }).trust_root).toEqual({ commit: a.root, source: 'first-self-attesting' });
    const text = await ga(['-C', clone, 'status']);
    expect(text.out).toMatch(/not pinned/);
    const x = await ga(['-C', clone, 'execute', a.id]);
    expect(x.code, x.out + x.err).toBe(1);
    expect(runsOf(a.counter)).toBe(0);
    const v = await verify(clone);
    expect(v.findings.some((f) => f.commit === a.evil && f.rule === 'governed-file')).toBe(true);
    // ga trust in the clone takes the init commit, and nothing after it.
    refusedNaming(await ga(['-C', clone, 'trust', a.evil]), a.evil, a.root);
    expect((await ga(['-C', clone, 'trust', a.root])).code).toBe(0);
  });

  it('ga init in a repository with history: its own commit is pinned, an earlier commit may be, a later one not', async () => {
    sb.as('alice');
    const repo = join(sb.dir, 'existing');
    git(sb.dir, 'init', '-q', '-b', 'main', repo);
    write(repo, 'README', 'an old project\n');
    git(repo, 'add', 'README');
    const old = commitUnsigned(repo, 'old history');
    expect((await ga(['init', repo])).code).toBe(0);
    const init = git(repo, 'rev-parse', 'HEAD');
    expect(pinOf(repo)).toBe(init);
    const id = await submit(repo);
    expect((await ga(['-C', repo, 'status'])).code).toBe(0);
    // A later commit alice signed, with her key in its tree, is still later than ga init's.
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const approval = git(repo, 'rev-parse', 'HEAD');
    refusedNaming(await ga(['-C', repo, 'trust', approval]), approval, init);
    // The commit before ga init is stricter still: nobody approves from there.
    const t = await ga(['-C', repo, 'trust', old, '--force']);
    expect(t.code, t.err).toBe(0);
    expect(pinOf(repo)).toBe(old);
    expect((await ga(['-C', repo, '--json', 'status'])).code).toBe(0);
    git(repo, 'config', '--local', '--unset', 'ga.trustRoot');
    const s = await ga(['-C', repo, '--json', 'status']);
    expect((JSON.parse(s.out) as { trust_root: unknown }).trust_root).toEqual({ commit: init, source: 'first-self-attesting' });
    git(repo, 'config', 'ga.trustRoot', approval);
    refusedNaming(await ga(['-C', repo, 'status']), approval, init);
  });

  it('after an unsigned ga init, the first self-attesting commit is the first one signed by a key its tree lists, touching the approvers or not', async () => {
    sb.unsigned();
    const repo = join(sb.dir, 'nokey');
    expect((await ga(['init', repo])).code).toBe(0);
    const root = git(repo, 'rev-parse', 'HEAD');
    expect(pinOf(repo)).toBeUndefined();
    sb.as('alice');
    // Alice lists herself in an unsigned commit: nobody attests it yet.
    appendFileSync(join(repo, APPROVERS), sb.approverLine('alice'));
    git(repo, 'add', APPROVERS);
    const listed = commitUnsigned(repo, 'list alice');
    let s = await ga(['-C', repo, '--json', 'status']);
    expect((JSON.parse(s.out) as { trust_root: unknown }).trust_root).toEqual({ commit: root, source: 'first-use' });
    // Her first signed commit does not touch the approvers, and attests itself through them.
    const signed = commitGoverned(sb, repo, { [POLICY]: `${readFileSync(join(repo, POLICY), 'utf8')}\n# reviewed\n` }, 'policy: a comment');
    const later = commitGoverned(sb, repo, { [POLICY]: `${readFileSync(join(repo, POLICY), 'utf8')}\n# again\n` }, 'policy: another');
    s = await ga(['-C', repo, '--json', 'status']);
    expect((JSON.parse(s.out) as { trust_root: unknown }).trust_root).toEqual({ commit: signed, source: 'first-self-attesting' });
    refusedNaming(await ga(['-C', repo, 'trust', later]), later, signed);
    for (const ok of [signed, listed, root]) {
      const t = await ga(['-C', repo, 'trust', ok, '--force']);
      expect(t.code, t.err).toBe(0);
      expect(pinOf(repo)).toBe(ok);
    }
  });

  it('a merge on the first parents that brings in the approvers counts as where they change', async () => {
    sb.unsigned();
    const repo = join(sb.dir, 'merged');
    expect((await ga(['init', repo])).code).toBe(0);
    sb.as('alice');
    git(repo, 'checkout', '-q', '-b', 'side');
    appendFileSync(join(repo, APPROVERS), sb.approverLine('alice'));
    git(repo, 'add', APPROVERS);
    const onSide = commitSigned(repo, 'list alice, on a side branch');
    git(repo, 'checkout', '-q', 'main');
    git(repo, '-c', 'commit.gpgSign=false', 'merge', '-q', '--no-ff', '-m', 'merge side, unsigned', 'side');
    const merge = git(repo, 'rev-parse', 'HEAD');
    // The side commit attests itself but is not on HEAD's first parents; the unsigned merge does not.
    let s = await ga(['-C', repo, '--json', 'status']);
    expect((JSON.parse(s.out) as { trust_root: { commit: string } }).trust_root.commit).not.toBe(onSide);
    const signed = commitGoverned(sb, repo, { [POLICY]: `${readFileSync(join(repo, POLICY), 'utf8')}\n# reviewed\n` }, 'policy: a comment');
    s = await ga(['-C', repo, '--json', 'status']);
    expect((JSON.parse(s.out) as { trust_root: unknown }).trust_root).toEqual({ commit: signed, source: 'first-self-attesting' });
    expect((await ga(['-C', repo, 'trust', merge])).code).toBe(0);
    git(repo, 'config', 'ga.trustRoot', onSide);
    refusedNaming(await ga(['-C', repo, 'status']), onSide, signed);
  });
});
