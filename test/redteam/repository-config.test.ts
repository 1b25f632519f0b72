// Class: nothing in the repository's own config can move trust or make git
// run a program or send traffic elsewhere. The trust root is read from the
// clone's .git/config file itself (never through include.path), and a
// .git/config that sets one of the keys DESIGN lists is refused, naming it.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, approvedPath, commitUnsigned, countingHook, HOOK, pendingPath, runsOf, submit, verify } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

describe('class: repository config', () => {
  it("a trust root re-pinned through include.path to mallory's commit is refused, and her hook never runs", async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    const counter = join(sb.dir, 'runs');
    // Mallory's own "root": her key as an approver and her hook, unsigned.
    appendFileSync(join(repo, APPROVERS), sb.approverLine('mallory'));
    write(repo, HOOK, countingHook(counter));
    git(repo, 'add', APPROVERS, HOOK);
    const evilRoot = commitUnsigned(repo, 'my root');
    writeFileSync(join(sb.dir, 'extra.cfg'), `[ga]\n\ttrustRoot = ${evilRoot}\n`);
    git(repo, 'config', 'include.path', join(sb.dir, 'extra.cfg'));
    sb.as('mallory');
    git(repo, 'mv', pendingPath(id), approvedPath(id));
    git(repo, 'commit', '-q', '-S', '-m', `approve ${id}`);
    for (const args of [['execute', id], ['status'], ['verify']]) {
      const r = await ga(['-C', repo, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.out}${r.err}`).toBe(1);
      const said = args[0] === 'verify' ? r.out : r.err; // verify reports it as a finding
      expect(said.trim().split('\n')[0]).toMatch(/include\.path/);
      if (args[0] !== 'verify') expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(runsOf(counter)).toBe(0);
  });

  it('a trust root set only in an included file is not a pin', async () => {
    const repo = await initRepo(sb);
    const pinned = git(repo, 'config', '--local', 'ga.trustRoot');
    // The user's global config (which ga reads for identity) may not pin a root either.
    git(repo, 'config', '--global', 'ga.trustRoot', git(repo, 'rev-parse', 'HEAD'));
    const s = await ga(['-C', repo, 'status']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toContain(pinned.slice(0, 12));
    git(repo, 'config', '--local', '--unset', 'ga.trustRoot');
    const unpinned = await ga(['-C', repo, 'status']);
    expect(unpinned.out).toMatch(/not pinned/);
  });

  it.each([
    ['include.path', '/tmp/x.cfg'],
    ['includeIf.gitdir:/.path', '/tmp/x.cfg'],
    ['core.sshCommand', 'sh -c "touch /tmp/pwned"'],
    ['core.gitProxy', '/tmp/proxy'],
    ['credential.helper', '!touch /tmp/pwned'],
    ['url.https://evil.example/.insteadOf', 'https://example.com/'],
    ['remote.origin.uploadpack', 'touch /tmp/pwned'],
    ['protocol.ext.allow', 'always'],
    ['hook.pre-commit.command', 'touch /tmp/pwned'],
    ['filter.x.clean', 'touch /tmp/pwned'],
    ['diff.x.textconv', 'touch /tmp/pwned'],
    ['merge.x.driver', 'touch /tmp/pwned'],
  ])('%s in .git/config is refused with exit 1 naming the key', async (key, value) => {
    const repo = await initRepo(sb);
    git(repo, 'config', '--local', key, value);
    const v = await verify(repo);
    expect(v.code).toBe(1);
    const r = await ga(['-C', repo, 'list']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err.toLowerCase()).toContain(
      key
        .toLowerCase()
        .replace(/\.[^.]*$/, '')
        .split('.')[0]!,
    );
    expect(r.err).toMatch(/\.git\/config/);
  });
});
