// `ga audit [--agent A] [--event E] [--since T] [--until T] [--jsonl]`
// (DESIGN.md "Commits and the audit trail", "Commands"): the trail as git
// tells it, one row per event, with the signature as ga judges it. A human's
// hand-made signed `git mv` approval has no trailer and still shows as
// proposal-approved with its signer.
import type { TrailRow } from '../../src/report/trail.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

/** A row of `ga audit --json`: the trail's row with its time as text. */
type Row = Omit<TrailRow, 'at' | 'invalidBecause'> & { at: string; invalid_because?: string };

const pending = (id: string) => `proposals/pending/${id}.toml`;
const approved = (id: string) => `proposals/approved/${id}.toml`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submit(repo: string): Promise<string> {
  const p = await propose(repo, PUBLISH);
  expect(p.code, p.err).toBe(0);
  return p.last;
}

async function audit(repo: string, ...args: string[]): Promise<Row[]> {
  const r = await ga(['-C', repo, '--json', 'audit', ...args]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Row[];
}

/**
 * Three phases a second apart (commit times have one-second resolution):
 * A: init and a submission; B: a hand-made signed approval, execution, a
 * rejection; C: a pause, an unsigned forged approval by mallory and the flag.
 */
async function history(): Promise<{ repo: string; ids: { hand: string; rejected: string; forged: string }; commits: { hand: string; forged: string } }> {
  const repo = await initRepo(sb);
  const hand = await submit(repo);
  const rejected = await submit(repo);
  const forged = await submit(repo);
  await sleep(1100);
  sb.as('alice');
  git(repo, 'mv', pending(hand), approved(hand));
  git(repo, 'commit', '-q', '-S', '-m', `approve ${hand}`);
  const handCommit = git(repo, 'rev-parse', 'HEAD');
  expect((await ga(['-C', repo, 'execute', hand])).code).toBe(0);
  expect((await ga(['-C', repo, 'reject', rejected, '--reason', 'not this week'])).code).toBe(0);
  await sleep(1100);
  expect((await ga(['-C', repo, 'pause', 'noop', '--reason', 'cooling off'])).code).toBe(0);
  sb.as('mallory');
  git(repo, 'mv', pending(forged), approved(forged));
  git(repo, 'commit', '-q', '-S', '-m', `approve ${forged}`);
  const forgedCommit = git(repo, 'rev-parse', 'HEAD');
  expect((await ga(['-C', repo, 'execute', forged])).code).toBe(1);
  return { repo, ids: { hand, rejected, forged }, commits: { hand: handCommit, forged: forgedCommit } };
}

describe('ga audit', () => {
  it('lists every event with time, actor, event, proposal, agent, reason, signature status and signer', async () => {
    const { repo, ids, commits } = await history();
    const rows = await audit(repo);
    // One row per event, oldest first, on the first-parent chain from the root.
    expect(rows[0]!.commit).toBe(git(repo, 'rev-list', '--max-parents=0', 'HEAD'));
    expect(rows.length).toBeGreaterThanOrEqual(Number(git(repo, 'rev-list', '--count', 'HEAD')));
    for (const r of rows) {
      expect(r.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(['good', 'unsigned', 'unknown-key', 'bad', 'unsupported']).toContain(r.signature);
    }
    const times = rows.map((r) => Date.parse(r.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const init = rows[0]!;
    expect(init).toMatchObject({ signature: 'good', signer: 'alice@example.com', actor: 'human:alice@example.com' });

    const submitted = rows.filter((r) => r.event === 'proposal-submitted');
    expect(submitted.map((r) => r.proposal).sort()).toEqual([ids.hand, ids.rejected, ids.forged].sort());
    for (const r of submitted) expect(r).toMatchObject({ agent: 'noop', signature: 'unsigned' });

    // The hand-made signed git mv: no trailer, read from the diff, with its signer.
    const hand = rows.find((r) => r.commit === commits.hand)!;
    expect(hand).toMatchObject({ event: 'proposal-approved', proposal: ids.hand, agent: 'noop', signature: 'good', signer: 'alice@example.com', actor: 'human:alice@example.com' });

    const executed = rows.find((r) => r.event === 'proposal-executed')!;
    expect(executed).toMatchObject({ proposal: ids.hand, actor: 'executor', outcome: 'success', signature: 'unsigned' });
    expect(rows.find((r) => r.event === 'proposal-claimed')).toMatchObject({ proposal: ids.hand, actor: 'executor' });

    const rejected = rows.find((r) => r.event === 'proposal-rejected')!;
    expect(rejected).toMatchObject({ proposal: ids.rejected, reason: 'not this week', signature: 'good', signer: 'alice@example.com', actor: 'human:alice@example.com' });

    const paused = rows.find((r) => r.event === 'agent-paused')!;
    expect(paused).toMatchObject({ agent: 'noop' });
    expect(paused.reason).toContain('cooling off');

    // mallory's hand-made move is signed, by a key ga does not trust: not shown as an approval by anyone.
    const forged = rows.filter((r) => r.commit === commits.forged);
    expect(forged).toHaveLength(1);
    expect(forged[0]!.signature).toBe('unknown-key');
    expect(forged[0]!.signer).toBeUndefined();
    expect(forged[0]!.actor ?? '').not.toMatch(/^human:/);
    expect(forged[0]).toMatchObject({ event: 'proposal-approved', valid: false });
    expect(forged[0]!.invalid_because).toMatch(/not signed by a trusted approver/);
    const flag = rows.find((r) => r.event === 'flag-invalid-approval')!;
    expect(flag).toMatchObject({ proposal: ids.forged, actor: 'executor' });
    expect(flag.reason).toMatch(/not signed by a trusted approver/);

    // The table: a header and one line per row, with the signer shown.
    const table = await ga(['-C', repo, 'audit']);
    expect(table.code).toBe(0);
    const lines = table.out.trim().split('\n');
    expect(lines[0]).toMatch(/TIME\s+COMMIT\s+ACTOR\s+EVENT\s+AGENT\s+PROPOSAL\s+SIGNATURE\s+REASON/);
    expect(lines).toHaveLength(rows.length + 1);
    const handLine = lines.find((l) => l.includes(commits.hand.slice(0, 12)))!;
    expect(handLine).toMatch(/proposal-approved/);
    expect(handLine).toContain('signed alice@example.com');
    expect(lines.find((l) => l.includes('proposal-rejected'))).toContain('not this week');
  });

  it('filters by --agent, --event, --since and --until', async () => {
    const { repo, ids, commits } = await history();
    const all = await audit(repo);

    const noop = await audit(repo, '--agent', 'noop');
    expect(noop.length).toBeGreaterThan(0);
    expect(noop.every((r) => r.agent === 'noop')).toBe(true);
    expect(await audit(repo, '--agent', 'nobody')).toEqual([]);

    const approvals = await audit(repo, '--event', 'proposal-approved');
    expect(approvals.map((r) => r.commit)).toContain(commits.hand);
    // Only the hand-made approval is signed by an approver; mallory's move, if listed, shows its bad signature.
    expect(approvals.filter((r) => r.signature === 'good').map((r) => r.commit)).toEqual([commits.hand]);
    for (const r of approvals.filter((a) => a.commit !== commits.hand)) {
      expect(r).toMatchObject({ commit: commits.forged, signature: 'unknown-key' });
      expect(r.signer).toBeUndefined();
    }
    const rejections = await audit(repo, '--event', 'proposal-rejected', '--agent', 'noop');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.proposal).toBe(ids.rejected);

    // Phase B only: from the hand-made approval to the rejection.
    const startB = all.find((r) => r.commit === commits.hand)!.at;
    const endB = all.find((r) => r.event === 'proposal-rejected')!.at;
    const since = await audit(repo, '--since', startB);
    expect(since.length).toBeLessThan(all.length);
    expect(since.every((r) => Date.parse(r.at) >= Date.parse(startB))).toBe(true);
    expect(since.some((r) => r.event === 'proposal-submitted')).toBe(false);
    expect(since.some((r) => r.event === 'agent-paused')).toBe(true);

    const until = await audit(repo, '--until', endB);
    expect(until.every((r) => Date.parse(r.at) <= Date.parse(endB))).toBe(true);
    expect(until.some((r) => r.event === 'agent-paused')).toBe(false);
    expect(until.some((r) => r.event === 'proposal-submitted')).toBe(true);

    const b = await audit(repo, '--since', startB, '--until', endB);
    expect(b.map((r) => r.event)).toEqual(expect.arrayContaining(['proposal-approved', 'proposal-claimed', 'proposal-executed', 'proposal-rejected']));
    expect(b.some((r) => ['proposal-submitted', 'agent-paused', 'flag-invalid-approval'].includes(r.event))).toBe(false);
    expect(b).toEqual(all.filter((r) => Date.parse(r.at) >= Date.parse(startB) && Date.parse(r.at) <= Date.parse(endB)));

    // A bare date is accepted; one in the future gives nothing, one in the past everything.
    expect(await audit(repo, '--since', '2999-01-01')).toEqual([]);
    expect(await audit(repo, '--since', '2000-01-01')).toEqual(all);
    // Filters combine.
    const combined = await audit(repo, '--agent', 'noop', '--event', 'proposal-submitted', '--until', endB);
    expect(combined.map((r) => r.proposal).sort()).toEqual([ids.hand, ids.rejected, ids.forged].sort());
  });

  it('--json is one array, --jsonl one JSON object a line, with the same rows', async () => {
    const { repo } = await history();
    const json = await audit(repo);
    const r = await ga(['-C', repo, 'audit', '--jsonl']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(json.length);
    const parsed = lines.map((l) => {
      expect(l.startsWith('{') && l.endsWith('}')).toBe(true);
      return JSON.parse(l) as Row;
    });
    expect(parsed).toEqual(json);
    for (const row of parsed) expect(Object.keys(row)).toEqual(expect.arrayContaining(['commit', 'at', 'subject', 'event', 'signature']));

    const filtered = await ga(['-C', repo, 'audit', '--jsonl', '--event', 'proposal-executed']);
    expect(filtered.out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(filtered.out.trim())).toMatchObject({ event: 'proposal-executed', outcome: 'success' });
  });

  it('a bad --since or --until is exit 2 with a one-line message', async () => {
    const repo = await initRepo(sb);
    for (const args of [['--since', 'yesterday-ish'], ['--until', 'not a time'], ['--since', '2026-13-45']]) {
      const r = await ga(['-C', repo, 'audit', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.out}${r.err}`).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/not a time/);
      expect(r.out).toBe('');
    }
  });
});
