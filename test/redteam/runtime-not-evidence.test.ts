// Class: nothing under .ga/ is evidence. A "good, bob" line planted in any
// cache, with an unsigned commit that claims bob's approval, counts for
// nothing: not for the executor (in one go or watching), not for ga approve's
// quorum, not for what ga show, ga list or plain ga verify tell a person.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, background, blobAt, commitGoverned, expectFinding, pendingPath, POLICY, sleep, submit, until } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'bob', 'mallory']);
});
afterEach(() => sb.cleanup());

const CHARGE = `agent = "noop"
action_type = "charge_card"
title = "Charge the card"
[payload]
amount = 100
`;

describe('class: runtime files are never evidence', () => {
  it('a forged quorum step plus a planted cache line do not make one approval a quorum of two', async () => {
    const repo = await initRepo(sb);
    const charged = join(sb.dir, 'CHARGED');
    const policy = `${git(repo, 'show', `HEAD:${POLICY}`)}\n\n[[rules]]\naction_types = ["charge_card"]\nmin_approvals = 2\n`;
    commitGoverned(
      sb,
      repo,
      {
        [POLICY]: policy,
        [APPROVERS]: sb.approverLine('alice') + sb.approverLine('bob'),
        'agents/noop/hooks/charge_card.sh': `#!/bin/sh\ntouch "${charged}"\n`,
      },
      'a quorum of two for charge_card',
    );
    const id = await submit(repo, CHARGE);
    const blob = blobAt(repo, 'HEAD', pendingPath(id));
    // Mallory: an unsigned empty commit that claims bob's approval ...
    writeFileSync(
      join(sb.dir, 'msg'),
      `record approval 1 of 2 for ${id}\n\nGa-Event: proposal-approval-recorded\nGa-Proposal: ${id}\nGa-Agent: noop\nGa-Actor: human:bob@example.com\nGa-Blob: ${blob}\n`,
    );
    git(repo, 'commit', '-q', '--allow-empty', '-F', join(sb.dir, 'msg'));
    const forged = git(repo, 'rev-parse', 'HEAD');
    // ... and "good, bob" for it in every cache a reader might consult.
    const approvers = blobAt(repo, 'HEAD', APPROVERS);
    const good = { status: 'good', principal: 'bob@example.com', key: sb.people.bob!.pub };
    mkdirSync(join(repo, '.ga/cache'), { recursive: true });
    appendFileSync(join(repo, '.ga/cache/signatures.jsonl'), `${JSON.stringify({ k: `${forged} ${approvers}`, r: good })}\n`);
    const watch = background(['-C', repo, 'execute', '--watch']);
    try {
      await until(() => /executing approvals/.test(watch.out()), 10_000, 'the watcher');
      sb.as('alice');
      const a = await ga(['-C', repo, 'approve', id]);
      expect(a.code, a.err).toBe(0);
      expect(a.out).toMatch(/1 of 2/);
      expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);
      await sleep(1500);
    } finally {
      await watch.stop();
    }
    expect(existsSync(charged)).toBe(false);
    const show = await ga(['-C', repo, '--json', 'show', id]);
    const shown = JSON.parse(show.out) as { history: { commit: string; valid?: boolean; principal?: string }[] };
    const step = shown.history.find((s) => s.commit === forged);
    expect(step?.valid).toBe(false);
    expect(step?.principal).toBeUndefined();
    expect(show.out).not.toMatch(/approved by[^"]*bob/);
    await expectFinding(repo, 'approval', new RegExp(`${id}|not signed`));
    // Even a final move by alice alone is one approval, and executes nothing.
    git(repo, 'mv', pendingPath(id), `proposals/approved/${id}.toml`);
    git(repo, 'commit', '-q', '-S', '-m', `approve ${id}`);
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code).toBe(1);
    expect(x.out + x.err).toMatch(/1 of 2/);
    expect(existsSync(charged)).toBe(false);
  });
});
