// The audit trail as one file per event (DESIGN "Commits and the audit
// trail"): `audit/<agent>/<YYYY-MM-DD>/<HH>/<event id>.json`, only ever added,
// one for each Ga-Event of the commit that adds it. Histories written in the
// earlier layout (one line per event appended to `audit/<agent>.jsonl`) still
// verify and read as they did, and ga carries on from them in the new one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_FILE, auditRecords, ga, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { commitUnsigned, expectClean, expectFinding } from '../helpers/scene.js';
import { parseTrailers } from '../../src/audit/events.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

const addedBy = (repo: string, rev: string) =>
  git(repo, 'diff-tree', '--no-commit-id', '--name-status', '-r', '--root', rev)
    .split('\n')
    .filter((l) => l.includes('audit/') && !l.endsWith('/.gitkeep'))
    .map((l) => l.split('\t') as [string, string]);

async function ok(...args: string[]): Promise<string> {
  const r = await ga(args);
  expect(r.code, r.out + r.err).toBe(0);
  return r.last;
}

describe('one file per event', () => {
  it('every event commit adds one new file per event, filed by agent, UTC day and hour, and ga audit --jsonl exports them all', async () => {
    const repo = await initRepo(sb);
    const id = (await propose(repo, PUBLISH)).last;
    await ok('-C', repo, 'approve', id);
    await ok('-C', repo, 'execute', id);
    await ok('-C', repo, 'pause', 'noop', '--reason', 'for the test');
    await ok('-C', repo, 'resume', 'noop', '--reason', 'done');
    await ok('-C', repo, 'pause', '--all', '--reason', 'everyone');

    const commits = git(repo, 'rev-list', '--reverse', 'HEAD').split('\n');
    let files = 0;
    for (const c of commits) {
      const events = parseTrailers(git(repo, 'log', '-1', '--format=%B', c)).filter((t) => t.event);
      const added = addedBy(repo, c);
      // Only additions under audit/, and exactly one per event, under the event's agent.
      expect(added.every(([status]) => status === 'A'), `${c}: ${JSON.stringify(added)}`).toBe(true);
      expect(added.map(([, p]) => p.split('/')[1]).sort()).toEqual(events.map((e) => e.agent ?? '_ga').sort());
      const at = new Date(Number(git(repo, 'log', '-1', '--format=%ct', c)) * 1000).toISOString();
      for (const [, path] of added) {
        expect(path).toMatch(AUDIT_FILE);
        const record = JSON.parse(git(repo, 'show', `${c}:${path}`)) as { id: string; at: string; event: string };
        expect(path.endsWith(`/${record.id}.json`)).toBe(true);
        expect(path.split('/').slice(2, 4)).toEqual([record.at.slice(0, 10), record.at.slice(11, 13)]);
        expect(Math.abs(Date.parse(record.at) - Date.parse(at))).toBeLessThan(120_000);
        expect(events.map((e) => e.event)).toContain(record.event);
      }
      files += added.length;
    }
    expect(files).toBeGreaterThanOrEqual(8);
    // The event ids sort as the events happened.
    const noop = auditRecords(repo, 'noop').map((r) => r.id as string);
    expect([...noop].sort()).toEqual(noop);
    await expectClean(repo);

    const jsonl = await ga(['-C', repo, 'audit', '--jsonl']);
    expect(jsonl.code, jsonl.err).toBe(0);
    const rows = jsonl.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; commit: string });
    expect(rows.filter((r) => r.event !== '-')).toHaveLength(files);
    expect(rows.map((r) => r.event)).toEqual(expect.arrayContaining(['policy-changed', 'proposal-submitted', 'proposal-approved', 'proposal-claimed', 'proposal-executed', 'agent-paused', 'agent-resumed']));
  });

  it('an event file that is changed, removed, forged, misfiled or missing is a finding', async () => {
    const repo = await initRepo(sb);
    const id = (await propose(repo, PUBLISH)).last;
    const [file] = addedBy(repo, 'HEAD').map(([, p]) => p);
    expect(file).toMatch(AUDIT_FILE);

    // Misfiled: the same record under another hour.
    const record = readFileSync(join(repo, file!), 'utf8');
    const hour = file!.split('/')[3]!;
    const other = file!.replace(`/${hour}/`, `/${hour === '00' ? '01' : '00'}/`);
    write(repo, other, record);
    git(repo, 'rm', '-q', file!);
    git(repo, 'add', other);
    commitUnsigned(repo, 'file it elsewhere');
    await expectFinding(repo, 'audit-append-only', new RegExp(`${file}.*removed`));
    await expectFinding(repo, 'audit', /does not match its id and time/);

    // A commit with a Ga-Event and no file for it.
    git(repo, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', `pause\n\nGa-Event: agent-paused\nGa-Agent: noop\nGa-Actor: watchdog\nGa-Reason: x`);
    await expectFinding(repo, 'audit', /agent-paused has no audit file/);
    expect(record).toContain(id);
  });
});

describe('the earlier layout', () => {
  /** Rewrites HEAD as the earlier ga wrote it: each event file becomes a line appended to audit/<agent>.jsonl. */
  function toEarlierLayout(repo: string, sign: boolean): void {
    for (const [, path] of addedBy(repo, 'HEAD')) {
      const { id: _id, ...line } = JSON.parse(readFileSync(join(repo, path!), 'utf8')) as Record<string, unknown>;
      const agent = path!.split('/')[1] === '_ga' ? 'ga' : path!.split('/')[1]!;
      const jsonl = join(repo, 'audit', `${agent}.jsonl`);
      let before = '';
      try {
        before = readFileSync(jsonl, 'utf8');
      } catch {
        /* a new file */
      }
      writeFileSync(jsonl, `${before}${JSON.stringify(line)}\n`);
      git(repo, 'rm', '-q', path!);
      git(repo, 'add', `audit/${agent}.jsonl`);
    }
    git(repo, 'commit', '-q', '--amend', '--no-edit', sign ? '-S' : '--no-gpg-sign');
  }

  it('a history in audit/<agent>.jsonl still verifies and reads; ga goes on in the new layout; its lines stay append-only', async () => {
    const repo = await initRepo(sb);
    // The init commit is the trust root: its files are where the appends begin.
    // After it, a submission and a signed approval in the earlier layout.
    const id = (await propose(repo, PUBLISH)).last;
    toEarlierLayout(repo, false);
    await ok('-C', repo, 'approve', id);
    toEarlierLayout(repo, true);
    const second = (await propose(repo, PUBLISH.replace('launch post', 'second post'))).last;
    toEarlierLayout(repo, false);
    expect(git(repo, 'ls-files', 'audit/noop.jsonl')).toBe('audit/noop.jsonl');
    expect(readFileSync(join(repo, 'audit/noop.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    await expectClean(repo);

    // The approval made in the earlier layout is honoured, and the new events get their own files.
    await ok('-C', repo, 'execute', id);
    expect(git(repo, 'ls-files', `proposals/executed/${id}.toml`)).not.toBe('');
    await ok('-C', repo, 'approve', second);
    const last = addedBy(repo, 'HEAD');
    expect(last).toHaveLength(1);
    expect(last[0]![1]).toMatch(AUDIT_FILE);
    await expectClean(repo);

    const rows = JSON.parse((await ga(['-C', repo, '--json', 'audit', '--agent', 'noop'])).out) as { event: string; proposal?: string }[];
    expect(rows.map((r) => `${r.event} ${r.proposal ?? ''}`.trim())).toEqual(
      expect.arrayContaining([`proposal-submitted ${id}`, `proposal-approved ${id}`, `proposal-executed ${id}`, `proposal-approved ${second}`]),
    );

    // The earlier file is still append-only.
    writeFileSync(join(repo, 'audit/noop.jsonl'), '');
    git(repo, 'add', 'audit/noop.jsonl');
    commitUnsigned(repo, 'forget');
    await expectFinding(repo, 'audit-append-only', /audit\/noop\.jsonl/);
  });
});
