// The contract's policy table, row by row, through the real CLI: exit code,
// where the file lands, what is stored; and that every policy key has an
// effect, but only in its trusted (approver-signed) version.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProposal, type Proposal } from '../../src/schema/proposal.js';
import { AUDIT_FILE, fixedClock, ga, git, initRepo, propose, sandbox, write, type GaResult, type Sandbox } from '../helpers/fixture.js';

const HOUR = 3_600_000;
const POLICY = 'policies/proposal_policy.toml';

interface SubOpts {
  ra?: boolean; // requires_approval
  rev?: boolean; // reversible
  agent?: string;
  extra?: string;
}

function sub(type: string, o: SubOpts = {}): string {
  return [
    `agent = "${o.agent ?? 'noop'}"`,
    `action_type = "${type}"`,
    `title = "Do ${type}"`,
    o.ra === undefined ? '' : `requires_approval = ${o.ra}`,
    o.rev === undefined ? '' : `reversible = ${o.rev}`,
    o.extra ?? '',
    '[payload]',
    'n = 1',
    '',
  ]
    .filter((l, i, a) => l !== '' || i === a.length - 1)
    .join('\n');
}

/** The state directory that holds proposal `id` at HEAD, or undefined. */
function stateOf(repo: string, id: string): string | undefined {
  const files = git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', 'proposals/').split('\n');
  const hits = files.filter((f) => f.endsWith(`/${id}.toml`));
  expect(hits.length).toBeLessThanOrEqual(1);
  return hits[0]?.split('/')[1];
}

function storedTomlFiles(repo: string): string[] {
  return git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', 'proposals/')
    .split('\n')
    .filter((f) => f.endsWith('.toml'));
}

function stored(repo: string, id: string): Proposal {
  const state = stateOf(repo, id);
  expect(state).toBeDefined();
  const path = `proposals/${state}/${id}.toml`;
  return parseProposal(git(repo, 'show', `HEAD:${path}`), path);
}

function storedText(repo: string, id: string): string {
  return git(repo, 'show', `HEAD:proposals/${stateOf(repo, id)}/${id}.toml`);
}

/** Writes governed files and commits them signed by the current sandbox identity. */
function signedChange(repo: string, files: Record<string, string>, msg = 'change policy'): void {
  for (const [path, content] of Object.entries(files)) write(repo, path, content);
  git(repo, 'add', ...Object.keys(files));
  git(repo, 'commit', '-S', '-q', '-m', msg);
  expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('-----BEGIN SSH SIGNATURE-----');
}

function approversPlus(repo: string, sb: Sandbox, who: string): string {
  const current = git(repo, 'show', 'HEAD:policies/approvers');
  expect(current).toContain(sb.people.alice!.pub);
  return `${current}\n${sb.people[who]!.email} namespaces="git" ${sb.people[who]!.pub}\n`;
}

function expectPending(repo: string, r: GaResult): Proposal {
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(stateOf(repo, r.last)).toBe('pending');
  const p = stored(repo, r.last);
  expect(p.requires_approval).toBe(true);
  expect(storedText(repo, r.last)).toContain('\nrequires_approval = true\n');
  return p;
}

function expectAutoApproved(repo: string, r: GaResult): Proposal {
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(stateOf(repo, r.last)).toBe('approved');
  const p = stored(repo, r.last);
  expect(p.requires_approval).toBe(false);
  expect(storedText(repo, r.last)).toContain('\nrequires_approval = false\n');
  const events = git(repo, 'log', '-1', '--format=%(trailers:key=Ga-Event,valueonly)').split('\n').filter(Boolean);
  expect(events).toEqual(['proposal-submitted', 'proposal-auto-approved']);
  return p;
}

async function expectRefused(repo: string, toml: string): Promise<void> {
  const before = git(repo, 'rev-parse', 'HEAD');
  const storedBefore = storedTomlFiles(repo);
  const r = await propose(repo, toml);
  expect(r.code).toBe(1);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/never be auto-approved/);
  // one new commit, the flag, with nothing under proposals/
  expect(git(repo, 'rev-parse', 'HEAD~1')).toBe(before);
  const msg = git(repo, 'log', '-1', '--format=%B');
  expect(msg).toContain('Ga-Event: flag-self-approval');
  expect(msg).toContain('Ga-Agent: noop');
  expect(msg).toMatch(/Ga-Actor: human:alice@example\.com/);
  expect(msg).not.toContain('Ga-Event: proposal-submitted');
  const changed = git(repo, 'diff-tree', '--no-commit-id', '--name-only', '-r', 'HEAD').split('\n');
  expect(changed).toEqual([expect.stringMatching(AUDIT_FILE)]);
  expect(changed[0]).toMatch(/^audit\/noop\//);
  expect(JSON.parse(git(repo, 'show', `HEAD:${changed[0]}`))).toMatchObject({ event: 'flag-self-approval', agent: 'noop' });
  expect(storedTomlFiles(repo)).toEqual(storedBefore);
  expect(git(repo, 'status', '--porcelain', '--', 'proposals/')).toBe('');
}

describe('the policy table under the default policy of ga init', () => {
  let sb: Sandbox;
  let repo: string;
  beforeAll(async () => {
    sb = sandbox(['alice']);
    repo = await initRepo(sb);
  });
  afterAll(() => sb.cleanup());

  it.each([true, false])('never, requires_approval = false, reversible = %s: refused, flag-self-approval, nothing stored', async (rev) => {
    await expectRefused(repo, sub('publish_content', { ra: false, rev }));
  });

  it.each([
    ['reversible = true', { ra: true, rev: true }],
    ['reversible = false', { ra: true, rev: false }],
    ['both omitted (defaults)', {}],
  ])('never, requires_approval = true, %s: pending', async (_, o) => {
    expectPending(repo, await propose(repo, sub('publish_content', o)));
  });

  it('auto, requires_approval = false, reversible = true: stored straight into approved/', async () => {
    expectAutoApproved(repo, await propose(repo, sub('draft_content', { ra: false, rev: true })));
  });

  it('auto, requires_approval = false, reversible omitted (defaults to true): auto-approved', async () => {
    const p = expectAutoApproved(repo, await propose(repo, sub('research_only', { ra: false })));
    expect(p.reversible).toBe(true);
  });

  it('auto, requires_approval = false, reversible = false: pending, stored with requires_approval = true', async () => {
    const p = expectPending(repo, await propose(repo, sub('draft_content', { ra: false, rev: false })));
    expect(p.reversible).toBe(false);
  });

  it.each([
    ['requires_approval = true', { ra: true, rev: true }],
    ['requires_approval = true, irreversible', { ra: true, rev: false }],
    ['requires_approval omitted (defaults to true)', { rev: true }],
  ])('auto, %s: pending', async (_, o) => {
    expectPending(repo, await propose(repo, sub('internal_file_op', o)));
  });

  it.each([
    ['false, reversible', { ra: false, rev: true }],
    ['false, irreversible', { ra: false, rev: false }],
    ['true', { ra: true }],
  ])('neither list, default true, requires_approval = %s: pending, stored with requires_approval = true', async (_, o) => {
    expectPending(repo, await propose(repo, sub('custom_op', o)));
  });

  it('prints the id as the last line of stdout, and --json gives the stored proposal', async () => {
    const r = await propose(repo, sub('draft_content', { ra: false }));
    expect(r.last).toMatch(/^[a-z0-9][a-z0-9-]{0,79}$/);
    const file = join(repo, '..', `json-${Date.now()}.toml`);
    writeFileSync(file, sub('draft_content', { ra: false }));
    const j = await ga(['-C', repo, '--json', 'propose', '--file', file]);
    expect(j.code).toBe(0);
    const obj = JSON.parse(j.out);
    expect(obj).toMatchObject({ agent: 'noop', action_type: 'draft_content', requires_approval: false, state: 'approved' });
    expect(stateOf(repo, obj.id)).toBe('approved');
  });

  describe('expires_after and an explicit expires_at', () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

    it('takes expires_at from the default expires_after (24h)', async () => {
      const r = await propose(repo, sub('publish_content'), fixedClock(now.toISOString()));
      const p = expectPending(repo, r);
      expect(p.created_at.getTime()).toBe(now.getTime());
      expect(p.expires_at.getTime()).toBe(now.getTime() + 24 * HOUR);
      expect(storedText(repo, r.last)).toContain(`\nexpires_at = ${iso(now.getTime() + 24 * HOUR)}\n`);
    });

    it('keeps an explicit expires_at within the limit', async () => {
      const at = now.getTime() + 3 * HOUR;
      const r = await propose(repo, sub('publish_content', { extra: `expires_at = ${iso(at)}` }), fixedClock(now.toISOString()));
      expect(expectPending(repo, r).expires_at.getTime()).toBe(at);
    });

    it('stores an explicit expires_at given with an offset in UTC', async () => {
      const at = now.getTime() + 3 * HOUR;
      const plus2 = new Date(at + 2 * HOUR).toISOString().replace(/\.\d{3}Z$/, '+02:00');
      const r = await propose(repo, sub('publish_content', { extra: `expires_at = ${plus2}` }), fixedClock(now.toISOString()));
      expect(expectPending(repo, r).expires_at.getTime()).toBe(at);
      expect(storedText(repo, r.last)).toContain(`\nexpires_at = ${iso(at)}\n`);
    });

    it.each([
      ['later than expires_after allows', 25 * HOUR],
      ['in the past', -HOUR],
      ['exactly now', 0],
    ])('refuses an explicit expires_at %s (exit 2), storing nothing', async (_, delta) => {
      const head = git(repo, 'rev-parse', 'HEAD');
      const r = await propose(repo, sub('publish_content', { extra: `expires_at = ${iso(now.getTime() + delta)}` }), fixedClock(now.toISOString()));
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/expires_at/);
      expect(r.err).toMatch(/\.toml/);
      expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    });
  });
});

const DEFAULT_FALSE = `[defaults]
requires_approval = false
expires_after = "6h"
min_approvals = 2
[auto_approve]
action_types = ["draft_content"]
[never_auto_approve]
action_types = ["publish_content"]
[[rules]]
action_types = ["careful_op"]
requires_approval = true
expires_after = "2h"
`;

describe('a trusted policy with [defaults] requires_approval = false and [[rules]]', () => {
  let sb: Sandbox;
  let repo: string;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const clock = () => fixedClock(now.toISOString());
  beforeAll(async () => {
    sb = sandbox(['alice']);
    repo = await initRepo(sb);
    signedChange(repo, { [POLICY]: DEFAULT_FALSE });
  });
  afterAll(() => sb.cleanup());

  it('neither list, default false, requires_approval = false, reversible: auto-approved like an auto type', async () => {
    const p = expectAutoApproved(repo, await propose(repo, sub('custom_op', { ra: false, rev: true }), clock()));
    expect(p.expires_at.getTime() - p.created_at.getTime()).toBe(6 * HOUR); // [defaults] expires_after
  });

  it('neither list, default false, requires_approval = false, irreversible: pending with requires_approval = true', async () => {
    expectPending(repo, await propose(repo, sub('custom_op', { ra: false, rev: false })));
  });

  it('neither list, default false, requires_approval omitted: pending (the submission default is true)', async () => {
    expectPending(repo, await propose(repo, sub('custom_op', { rev: true })));
  });

  it('types on the never list are still refused when the default is false', async () => {
    await expectRefused(repo, sub('publish_content', { ra: false }));
  });

  it('a type that left the auto list follows the default false, and the auto list still works', async () => {
    expectAutoApproved(repo, await propose(repo, sub('research_only', { ra: false })));
    expectAutoApproved(repo, await propose(repo, sub('draft_content', { ra: false })));
  });

  it('a [[rules]] requires_approval = true overrides the default false, and its expires_after applies', async () => {
    const p = expectPending(repo, await propose(repo, sub('careful_op', { ra: false, rev: true }), clock()));
    expect(p.expires_at.getTime() - p.created_at.getTime()).toBe(2 * HOUR);
    const late = await propose(repo, sub('careful_op', { extra: `expires_at = ${new Date(now.getTime() + 3 * HOUR).toISOString()}` }), clock());
    expect(late.code).toBe(2);
  });

  it('[defaults] min_approvals = 2 applies to a rule that does not set its own: one approval is only recorded', async () => {
    const p = expectPending(repo, await propose(repo, sub('careful_op')));
    const r = await ga(['-C', repo, '--json', 'approve', p.id]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ id: p.id, result: 'recorded', approvals: 1, needed: 2 });
    expect(stateOf(repo, p.id)).toBe('pending');
  });
});

describe('min_approvals through [[rules]]: a quorum of distinct approvers', () => {
  let sb: Sandbox;
  let repo: string;
  beforeAll(async () => {
    sb = sandbox(['alice', 'bob']);
    repo = await initRepo(sb);
    signedChange(repo, {
      [POLICY]: `[defaults]
requires_approval = true
expires_after = "24h"
min_approvals = 1
[auto_approve]
action_types = ["draft_content"]
[never_auto_approve]
action_types = ["publish_content", "charge_card"]
[[rules]]
action_types = ["charge_card"]
min_approvals = 2
[[rules]]
action_types = ["quick_op"]
requires_approval = false
`,
      'policies/approvers': approversPlus(repo, sb, 'bob'),
    });
  });
  afterAll(() => sb.cleanup());

  it('a [[rules]] requires_approval = false lets a type on neither list auto-approve under default true', async () => {
    expectAutoApproved(repo, await propose(repo, sub('quick_op', { ra: false })));
  });

  it('needs two approvers for charge_card, and one for publish_content', async () => {
    sb.as('alice');
    const charge = expectPending(repo, await propose(repo, sub('charge_card')));
    const publish = expectPending(repo, await propose(repo, sub('publish_content')));

    const first = await ga(['-C', repo, '--json', 'approve', charge.id]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ id: charge.id, result: 'recorded', approvals: 1, needed: 2 });
    expect(stateOf(repo, charge.id)).toBe('pending');
    const msg = git(repo, 'log', '-1', '--format=%B');
    expect(msg).toContain('Ga-Event: proposal-approval-recorded');
    expect(msg).toContain(`Ga-Proposal: ${charge.id}`);
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('-----BEGIN SSH SIGNATURE-----');

    const twice = await ga(['-C', repo, 'approve', charge.id]);
    expect(twice.code).toBe(1);
    expect(stateOf(repo, charge.id)).toBe('pending');

    const single = await ga(['-C', repo, '--json', 'approve', publish.id]);
    expect(single.code).toBe(0);
    expect(JSON.parse(single.out)).toMatchObject({ result: 'approved', needed: 1 });
    expect(stateOf(repo, publish.id)).toBe('approved');

    sb.as('bob');
    const second = await ga(['-C', repo, '--json', 'approve', charge.id]);
    expect(second.err).toBe('');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toMatchObject({ id: charge.id, result: 'approved', approvals: 2, needed: 2 });
    expect(stateOf(repo, charge.id)).toBe('approved');
    expect(git(repo, 'log', '-1', '--format=%B')).toContain('Ga-Actor: human:bob@example.com');
    sb.as('alice');
  });
});

describe('only the trusted policy counts', () => {
  let sb: Sandbox;
  let repo: string;
  const LOOSE = `[defaults]
requires_approval = false
[auto_approve]
action_types = ["publish_content", "draft_content"]
[never_auto_approve]
action_types = []
`;
  beforeAll(async () => {
    sb = sandbox(['alice', 'mallory']);
    repo = await initRepo(sb);
  });
  afterAll(() => sb.cleanup());

  it('an UNSIGNED commit that makes publish_content auto-approve has no effect', async () => {
    write(repo, POLICY, LOOSE);
    git(repo, 'commit', '-q', '-am', 'loosen the policy (unsigned)');
    expect(git(repo, 'cat-file', '-p', 'HEAD')).not.toContain('SSH SIGNATURE');
    expect(git(repo, 'show', `HEAD:${POLICY}`)).toBe(LOOSE.trim());

    const pending = await propose(repo, sub('publish_content', { ra: true }));
    expectPending(repo, pending);
    await expectRefused(repo, sub('publish_content', { ra: false, rev: true }));
    expectPending(repo, await propose(repo, sub('custom_op', { ra: false, rev: true })));
  });

  it('a commit signed by a key that is not a trusted approver has no effect either', async () => {
    sb.as('mallory');
    write(repo, POLICY, `${LOOSE}# mallory\n`);
    git(repo, 'commit', '-S', '-q', '-am', 'loosen the policy (signed by mallory)');
    expect(git(repo, 'cat-file', '-p', 'HEAD')).toContain('SSH SIGNATURE');
    sb.as('alice');
    expectPending(repo, await propose(repo, sub('custom_op', { ra: false, rev: true })));
    const head = git(repo, 'rev-parse', 'HEAD');
    const r = await propose(repo, sub('publish_content', { ra: false, rev: true }));
    expect(r.code).toBe(1);
    expect(git(repo, 'rev-parse', 'HEAD~1')).toBe(head);
    expect(storedTomlFiles(repo).some((f) => f.startsWith('proposals/approved/'))).toBe(false);
  });

  it('an uncommitted edit in the working tree has no effect', async () => {
    write(repo, POLICY, `${LOOSE}# working tree only\n`);
    expectPending(repo, await propose(repo, sub('custom_op', { ra: false, rev: true })));
    expect(storedTomlFiles(repo).some((f) => f.startsWith('proposals/approved/'))).toBe(false);
  });

  it('the same change signed by the approver takes effect', async () => {
    sb.as('alice');
    signedChange(repo, { [POLICY]: LOOSE });
    expectAutoApproved(repo, await propose(repo, sub('publish_content', { ra: false, rev: true })));
  });
});
