// The saved reading (.git/ga/reading/): a one-shot command goes on from the
// reading the last one saved. Whatever it is taken on to must judge exactly
// as a full reading of the same history does, and anything about it that
// does not fit must mean a full reading.
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRepo } from '../../src/git/repo.js';
import { briefOf, packBriefs, type PackedBriefs, type ProposalRecord } from '../../src/history/book.js';
import { PROPOSAL_STATES } from '../../src/layout/layout.js';
import { allIds, sortedIds } from '../../src/history/packed.js';
import { LiveReading, loadGovernance, placesInTimeline, type Governance } from '../../src/history/replay.js';
import { newestToMerge, partOf, writeSaved } from '../../src/history/saved.js';
import { ga, gaProcess, git, initRepo, propose, PUBLISH, ROOT, sandbox, type Sandbox } from '../helpers/fixture.js';
import { commitUnsigned, pendingPath, approvedPath } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

const readingDir = (dir: string) => join(dir, '.git', 'ga', 'reading');
const stateFile = (dir: string) => join(readingDir(dir), 'state');
/** The saved state's packed proposals: their briefs, and the part that holds their records. */
type Settled = { records: Map<string, ProposalRecord>; settled: PackedBriefs; settledRecords: string[] };

/** The saved state, and how to write it back in its place (its header kept): what a forger with write access to .git/ does. */
function savedState<T>(dir: string): { state: T; rewrite: () => void } {
  const bytes = readFileSync(stateFile(dir));
  const body = bytes.indexOf(10, bytes.indexOf(10) + 1) + 1;
  const state = deserialize(bytes.subarray(body)) as T;
  return { state, rewrite: () => writeFileSync(stateFile(dir), Buffer.concat([bytes.subarray(0, body), serialize(state)])) };
}

/** Everything a reading tells, in a form two readings can be compared by. */
async function told(gov: Governance) {
  const sorted = <T>(m: Iterable<[string, T]>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    head: gov.head,
    root: gov.root,
    commits: gov.commits.map((c) => c.id),
    timeline: gov.timeline.map((c) => c.id),
    places: ((places) => [...gov.timeline, gov.rootCommit].map((c) => places.get(c.id)))(placesInTimeline(gov)),
    proposals: gov.proposals.all().sort((a, b) => (a.id < b.id ? -1 : 1)),
    trusted: sorted(gov.trusted),
    markers: sorted(gov.markers),
    executions: sorted(gov.executions),
    runs: sorted(gov.runs),
    runsFinished: gov.runsFinished,
    heldLines: sorted(gov.heldLines),
    untrusted: gov.untrusted,
    strays: gov.strays,
    findings: gov.findings,
    trustedLog: gov.trustedLog,
    verdicts: await Promise.all(gov.timeline.map((c) => gov.signatureOf(c).then((s) => [c.id, s.status, s.principal ?? '']))),
  };
}

/** A reading by a new command (a fresh Repo, so nothing of this process's is remembered). */
const reading = async (dir: string, fresh = false) => loadGovernance(await openRepo(dir), { fresh });

/** A repository where one proposal was approved and executed, and the reading saved after a full reading. */
async function oneExecuted(): Promise<{ dir: string; done: string }> {
  const dir = await initRepo(sb);
  const done = (await propose(dir, PUBLISH)).last;
  for (const args of [
    ['approve', done],
    ['execute', done],
  ])
    expect(await ga(['-C', dir, ...args])).toMatchObject({ code: 0 });
  await reading(dir, true);
  return { dir, done };
}

/** `n` empty commits on the branch, made by one git fast-import (a git commit for each would take seconds). */
function emptyCommits(dir: string, n: number, label: string): void {
  const branch = git(dir, 'symbolic-ref', 'HEAD');
  const from = git(dir, 'rev-parse', 'HEAD');
  const now = Math.floor(Date.now() / 1000);
  let stream = '';
  for (let i = 0; i < n; i++) {
    const message = `${label} ${i}\n`;
    stream += `commit ${branch}\ncommitter Tester <tester@example.com> ${now} +0000\ndata ${message.length}\n${message}${i === 0 ? `from ${from}\n` : ''}\n`;
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: stream, env: process.env });
}

describe('the saved reading', () => {
  it('goes on from where the last command stopped and tells exactly what a full reading tells, step after step', async () => {
    const dir = await initRepo(sb);
    const a = (await propose(dir, PUBLISH)).last;
    const b = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    await reading(dir); // saved here
    const steps: (() => Promise<unknown> | unknown)[] = [
      () => ga(['-C', dir, 'approve', a]),
      () => {
        // b: an unsigned hand-made approval, the agent's way: it counts for nothing
        git(dir, 'mv', `proposals/pending/${b}.toml`, `proposals/approved/${b}.toml`);
        commitUnsigned(dir, `approve ${b}`);
      },
      () => ga(['-C', dir, 'pause', 'noop', '--reason', 'a look']),
      () => ga(['-C', dir, 'resume', 'noop', '--reason', 'looked']),
      () => ga(['-C', dir, 'execute', a]),
      () => {
        // a merge of a side branch that adds a proposal
        git(dir, 'checkout', '-q', '-b', 'side', 'HEAD~1');
        commitUnsigned(dir, 'on the side', '--allow-empty');
        git(dir, 'checkout', '-q', 'main');
        git(dir, '-c', 'commit.gpgSign=false', 'merge', '-q', '--no-ff', '-m', 'merge side', 'side');
      },
      // A reading is saved again every 16 commits, as one more chunk; past 16 chunks they are read and saved again as one.
      ...Array.from({ length: 20 }, (_, i) => () => {
        for (let k = 0; k < (i < 2 ? 7 : 16); k++) commitUnsigned(dir, `step ${i}.${k}`, '--allow-empty');
      }),
    ];
    for (const step of steps) {
      const done = await step();
      if (done && typeof done === 'object' && 'code' in done) expect(done).toMatchObject({ code: 0 });
      const went = await reading(dir);
      expect(went.savedAt).toBeDefined(); // it went on from a saved reading
      expect(await told(went)).toEqual(await told(await reading(dir, true)));
    }
    const gov = await reading(dir);
    expect(gov.proposals.get(a)!.state).toBe('executed');
    expect(gov.proposals.get(b)!.approval!.valid).toBe(false);
    expect(gov.markers.get('noop')!.resumed).toBeDefined();
    const named = (JSON.parse(readFileSync(stateFile(dir), 'utf8').split('\n')[1]!) as { chunks: string[] }).chunks;
    expect(named.length).toBeGreaterThan(0);
    expect(named.length).toBeLessThan(16); // read and saved again as one on the way
    for (const n of named) expect(readdirSync(join(dir, '.git', 'ga', 'reading'))).toContain(n);
  }, 180_000); // some 30 steps, each read twice: 17 s alone, up to 63 s beside the other test files in CI

  it("past 16 chunks, saves again only the newest as one: the full reading's chunk of a long history is kept as it was", async () => {
    const dir = await initRepo(sb);
    emptyCommits(dir, 1500, 'long ago');
    await reading(dir, true); // a full reading: one chunk of all 1,500 commits
    const names = () => (JSON.parse(readFileSync(stateFile(dir), 'utf8').split('\n')[1]!) as { chunks: string[] }).chunks;
    const [first] = names();
    const bytes = readFileSync(join(readingDir(dir), first!));
    const counts: number[] = [];
    for (let i = 0; i < 40; i++) {
      emptyCommits(dir, 16, `step ${i}`);
      const went = await reading(dir);
      expect(went.savedAt).toBeDefined();
      counts.push(names().length);
    }
    // Saved 40 times, 16 commits each (640 in all, fewer than the 1,500 of the first chunk): merged, but never into the first.
    expect(Math.max(...counts)).toBe(16);
    expect(counts.at(-1)).toBeLessThan(16);
    expect(names()[0]).toBe(first);
    expect(readFileSync(join(readingDir(dir), first!)).equals(bytes)).toBe(true);
    expect(await told(await reading(dir))).toEqual(await told(await reading(dir, true)));
  }, 120_000);

  it('writes a part only as its name says: one whose bytes are not what its name hashes is not saved, nor the state', () => {
    const place = { dir: join(sb.dir, 'place') };
    const good = partOf(Buffer.from('the bytes its name hashes'));
    expect(writeSaved(place, 'a'.repeat(40), { n: 1 }, [], { c: 1 }, [good])).toBeDefined();
    expect(readdirSync(place.dir)).toContain(good.name);
    const state = readFileSync(join(place.dir, 'state'));
    // A part taken on from another place, damaged there: its name's digest, other bytes.
    const damaged = { name: partOf(Buffer.from('what the name says')).name, bytes: () => Buffer.from('what the file holds') };
    expect(writeSaved(place, 'b'.repeat(40), { n: 2 }, [], { c: 2 }, [good, damaged])).toBeUndefined();
    expect(readdirSync(place.dir)).not.toContain(damaged.name);
    expect(readFileSync(join(place.dir, 'state')).equals(state)).toBe(true);
  });

  it('merges chunks as a binary counter does: never more than 16, each byte written again a few times over 4,000 saves', () => {
    let sizes = [100_000]; // a full reading's chunk, then one of 16 commits (size 16) at each save
    let rewritten = 0;
    for (let save = 0; save < 4000; save++) {
      if (sizes.length + 1 <= 16) sizes.push(16);
      else {
        const k = newestToMerge(sizes);
        const merged = sizes.slice(-k).reduce((a, b) => a + b, 16);
        rewritten += merged - 16;
        sizes = [...sizes.slice(0, -k), merged];
      }
      expect(sizes.length).toBeLessThanOrEqual(16);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBe(100_000 + 4000 * 16);
    expect(sizes[0]).toBe(100_000); // 64,000 bytes added: not yet as much as it holds
    expect(rewritten / (total - 100_000)).toBeLessThan(6); // 2.8 times; merging all of them each time, 516 times
  });

  it('is what the next command reads: an older commit made unreadable goes unnoticed by it, and a full reading refuses', async () => {
    const dir = await initRepo(sb);
    const id = (await propose(dir, PUBLISH)).last;
    const proposed = git(dir, 'rev-parse', 'HEAD');
    await ga(['-C', dir, 'approve', id]);
    await reading(dir, true); // a full reading is always saved
    const loose = join(dir, '.git', 'objects', proposed.slice(0, 2), proposed.slice(2));
    chmodSync(loose, 0o644);
    writeFileSync(loose, Buffer.from('not an object'));
    expect((await reading(dir)).proposals.get(id)!.approval!.valid).toBe(true);
    await expect(reading(dir, true)).rejects.toThrow();
    // ga verify reads all of history afresh, and says so
    const v = await ga(['-C', dir, 'verify', '--json']);
    expect(v.code).not.toBe(0);
  });

  it('is not taken on over a history that did not grow from it (a reset, then another commit)', async () => {
    const dir = await initRepo(sb);
    await propose(dir, PUBLISH);
    const id = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    expect((await reading(dir)).proposals.has(id)).toBe(true);
    git(dir, 'reset', '-q', '--hard', 'HEAD~1');
    commitUnsigned(dir, 'another line of history', '--allow-empty');
    const gov = await reading(dir);
    expect(gov.proposals.has(id)).toBe(false);
    expect(await told(gov)).toEqual(await told(await reading(dir, true)));
  });

  it('is not taken on when the pin changed: the trust root is found afresh', async () => {
    const dir = await initRepo(sb);
    await propose(dir, PUBLISH);
    const pinned = await reading(dir);
    expect(pinned.root.source).toBe('pinned');
    git(dir, 'config', '--unset', 'ga.trustRoot');
    const gov = await reading(dir);
    expect(gov.root.source).toBe('first-self-attesting');
    expect(await told(gov)).toEqual(await told(await reading(dir, true)));
  });

  it('over a root trusted on first use, goes on while no new commit attests itself; one that does takes over, as a full reading finds', async () => {
    sb.unsigned();
    const dir = join(sb.dir, 'nokey');
    expect((await ga(['init', dir])).code).toBe(0);
    const id = (await propose(dir, PUBLISH)).last;
    const proposed = git(dir, 'rev-parse', 'HEAD');
    const second = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    expect((await reading(dir, true)).root.source).toBe('first-use'); // saved
    // An older commit made unreadable: only a reading that goes on from the saved one does not notice.
    const loose = join(dir, '.git', 'objects', proposed.slice(0, 2), proposed.slice(2));
    const bytes = readFileSync(loose);
    chmodSync(loose, 0o644);
    writeFileSync(loose, Buffer.from('not an object'));
    const third = (await propose(dir, PUBLISH.replace('launch post', 'third post'))).last;
    const grown = await reading(dir);
    expect(grown.root.source).toBe('first-use');
    expect([id, second, third].map((p) => grown.proposals.get(p)?.state)).toEqual(['pending', 'pending', 'pending']);
    await expect(reading(dir, true)).rejects.toThrow();
    writeFileSync(loose, bytes);
    expect(await told(await reading(dir))).toEqual(await told(await reading(dir, true)));
    // Alice lists herself in a commit she signs: it attests itself and is the root from now on.
    sb.as('alice');
    writeFileSync(join(dir, 'policies', 'approvers'), `${readFileSync(join(dir, 'policies', 'approvers'), 'utf8')}${sb.approverLine('alice')}`);
    git(dir, 'add', 'policies/approvers');
    git(dir, 'commit', '-q', '-S', '-m', 'alice approves');
    const attested = await reading(dir);
    expect(attested.root).toEqual({ commit: git(dir, 'rev-parse', 'HEAD'), source: 'first-self-attesting' });
    expect(await told(attested)).toEqual(await told(await reading(dir, true)));
  });

  it('a damaged state means a full reading; a damaged chunk stops the command that needs it, is removed, and the next one reads afresh', async () => {
    const dir = await initRepo(sb);
    const id = (await propose(dir, PUBLISH)).last;
    await reading(dir);
    const state = readFileSync(stateFile(dir));
    writeFileSync(stateFile(dir), Buffer.concat([state.subarray(0, state.indexOf(10, state.indexOf(10) + 1) + 1), Buffer.from('garbage')]));
    expect(await told(await reading(dir))).toEqual(await told(await reading(dir, true)));
    // the full reading saved a good state again; now its chunk is damaged
    const named = (JSON.parse(readFileSync(stateFile(dir), 'utf8').split('\n')[1]!) as { chunks: string[] }).chunks;
    for (const n of named) writeFileSync(join(dir, '.git', 'ga', 'reading', n), 'garbage');
    const gov = await reading(dir);
    expect(gov.proposals.get(id)!.state).toBe('pending'); // the state alone answers this
    expect(() => gov.timeline).toThrow(/saved reading .* is damaged/);
    expect(readdirSync(join(dir, '.git', 'ga', 'reading'))).not.toContain('state');
    expect(await told(await reading(dir))).toEqual(await told(await reading(dir, true)));
  });

  it('walks the commits since it in process while they are loose, and asks git to list them once they are packed', async () => {
    const dir = await initRepo(sb);
    await propose(dir, PUBLISH);
    expect((await gaProcess(['-C', dir, 'list'])).code).toBe(0); // the bundled command saves its reading here
    for (let i = 0; i < 12; i++) git(dir, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', `note ${i}`);
    const listed = async () => {
      const r = await gaProcess(['-C', dir, 'list'], { env: { GA_TRACE: '1' } });
      expect(r.code).toBe(0);
      return /git rev-list --first-parent/.test(r.err);
    };
    expect(await listed()).toBe(false); // 12 loose commits: read here, no git started for them (and the reading saved again)
    for (let i = 0; i < 12; i++) git(dir, '-c', 'commit.gpgSign=false', 'commit', '-q', '--allow-empty', '-m', `more ${i}`);
    git(dir, 'repack', '-adq');
    git(dir, 'prune-packed');
    expect(await listed()).toBe(true); // packed: more than 8 through cat-file, so git lists them as well
  });

  it('a saved reading that calls a forged approval valid is checked against the repository: show says it is not valid, and the hook does not run', async () => {
    const dir = await initRepo(sb);
    const id = (await propose(dir, PUBLISH)).last;
    git(dir, 'mv', pendingPath(id), approvedPath(id));
    commitUnsigned(dir, `approve ${id}`);
    const forged = git(dir, 'rev-parse', 'HEAD');
    expect((await reading(dir, true)).proposals.get(id)!.approval!.valid).toBe(false); // saved at the forgery
    // The saved state rewritten to say the approval is alice's and valid.
    const { state, rewrite } = savedState<{ records: Map<string, { approval: unknown; approvals: unknown }> }>(dir);
    state.records.get(id)!.approval = { valid: true, why: 'approved', by: ['alice@example.com'], commit: forged };
    state.records.get(id)!.approvals = [{ principal: 'alice@example.com', key: sb.people.alice!.pub, commit: forged }];
    rewrite();
    // Checked against the repository, it does not hold: every command reads all of history instead, and says so.
    const gov = await reading(dir);
    expect(gov.savedAt).toBeUndefined();
    expect(gov.proposals.get(id)!.approval!.valid).toBe(false);
    expect((await ga(['-C', dir, 'show', id])).out).toMatch(/approval: NOT VALID/);
    const r = await ga(['-C', dir, 'execute', id]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/refused .*not validly approved/);
    expect(git(dir, 'log', '--format=%s')).not.toMatch(/claim/);
  });

  it('never shows a reviewer what the file is not: a saved reading that says a pending proposal reads otherwise is not believed, the file is parsed', async () => {
    const dir = await initRepo(sb);
    const id = (await propose(dir, PUBLISH.replace('Publish the launch post', 'Wire 50000 USD to mallory'))).last;
    await reading(dir, true);
    const { state, rewrite } = savedState<{ records: Map<string, { proposal: { title: string } }> }>(dir);
    state.records.get(id)!.proposal.title = 'Publish the launch post';
    rewrite();
    const gov = await reading(dir);
    expect(gov.savedAt).toBeDefined(); // went on from the forged reading: what it shows is the file's, parsed when looked at
    expect(gov.proposals.get(id)!.proposal!.title).toBe('Wire 50000 USD to mallory');
    const shown = (await ga(['-C', dir, 'show', id])).out;
    expect(shown).toMatch(/Wire 50000 USD to mallory/);
    expect(shown).not.toMatch(/Publish the launch post/);
    expect((await ga(['-C', dir, 'list'])).out).not.toMatch(/Publish the launch post/);
  });
  it('keeps the proposals that ended packed: what asks only for the live ones never unpacks them, and what is unpacked is what a full reading tells', async () => {
    const dir = await initRepo(sb);
    const done = (await propose(dir, PUBLISH)).last;
    const refused = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    const waiting = (await propose(dir, PUBLISH.replace('launch post', 'third post'))).last;
    for (const args of [
      ['approve', done],
      ['execute', done],
      ['reject', refused, '--reason', 'no'],
    ])
      expect(await ga(['-C', dir, ...args])).toMatchObject({ code: 0 });
    const full = await reading(dir, true); // saved here
    const { state } = savedState<Settled>(dir);
    expect([...state.records.keys()]).toEqual([waiting]);
    expect(Object.fromEntries(allIds(state.settled.ids).map((id, k) => [id, PROPOSAL_STATES[state.settled.states[k]! - 1]]))).toEqual({
      [done]: 'executed',
      [refused]: 'rejected',
    });
    const gov = await reading(dir);
    expect(gov.savedAt).toBeDefined();
    expect(gov.proposals.live().map((r) => r.id)).toEqual([waiting]);
    expect([...gov.proposals.briefs()].find((b) => b.id === done)).toMatchObject({ state: 'executed', agent: 'noop', submittedValid: true });
    expect(gov.proposals.get(done)).toEqual(full.proposals.get(done));

    // ga list shows what waits, counts what ended, and shows it when asked; a prefix finds a packed proposal.
    const list = (await ga(['-C', dir, 'list'])).out;
    expect(list).toContain(waiting);
    expect(list).not.toContain(done);
    expect(list).toMatch(/^and 2 that ended: ga list --all$/m);
    expect((await ga(['-C', dir, 'list', '--all'])).out).toContain(done);
    expect((await ga(['-C', dir, 'list', '--state', 'rejected'])).out).toContain(refused);
    expect((await ga(['-C', dir, 'show', done.slice(0, -2)])).out).toContain('executed');

    // The records are in parts of their own, and a record is read from its own bytes (alone, while few are asked for): all the others zeroed, ...
    expect(state.settledRecords).toEqual([expect.stringMatching(/^part-[0-9a-f]{64}$/)]);
    const k = allIds(state.settled.ids).indexOf(done);
    const part = join(readingDir(dir), state.settledRecords[state.settled.part[k]!]!);
    const records = readFileSync(part);
    const alone = Buffer.alloc(records.length);
    records.copy(alone, state.settled.start[k], state.settled.start[k], state.settled.end[k]);
    writeFileSync(part, alone);
    expect((await ga(['-C', dir, 'show', done])).out).toContain('executed');
    // ... and a command that needs only the live ones never reads it: made unreadable, ...
    writeFileSync(part, Buffer.alloc(records.length));
    for (const args of [['list'], ['status'], ['scoreboard'], ['execute', '--all'], ['show', waiting]]) {
      const r = await ga(['-C', dir, ...args]);
      expect(r, args.join(' ')).toMatchObject({ code: 0 });
    }
    expect((await ga(['-C', dir, '--json', 'scoreboard'])).out).toMatch(/"executed": 1/);
    // ... and the one that asks for an ended proposal stops, drops the saved reading, and the next command reads afresh.
    const shown = await ga(['-C', dir, 'show', done]);
    expect(shown.code).toBe(1);
    expect(shown.err).toMatch(/record of proposal .* is damaged/);
    expect(readdirSync(join(dir, '.git', 'ga', 'reading'))).not.toContain('state');
    expect((await ga(['-C', dir, 'show', done])).out).toContain('executed');
  });

  it('a saved reading that hides a waiting proposal among those that ended is checked against the tree: it is read afresh, and listed', async () => {
    const dir = await initRepo(sb);
    const id = (await propose(dir, PUBLISH.replace('Publish the launch post', 'Wire 50000 USD to mallory'))).last;
    await reading(dir, true);
    const { state, rewrite } = savedState<Settled>(dir);
    const record = { ...state.records.get(id)!, state: 'rejected' as const };
    const packed = serialize(record);
    const s = state.settled;
    const name = `part-${createHash('sha256').update(packed).digest('hex')}`;
    writeFileSync(join(readingDir(dir), name), packed);
    state.settledRecords = [...state.settledRecords, name];
    expect(allIds(s.ids)).toEqual([]); // nothing has ended: the forged record is the only one packed
    const index = { ids: sortedIds([id]), part: Uint16Array.of(state.settledRecords.length - 1), start: Uint32Array.of(0), end: Uint32Array.of(packed.length) };
    state.settled = packBriefs(index, [briefOf(record)]);
    state.records.delete(id);
    rewrite();
    const gov = await reading(dir);
    expect(gov.savedAt).toBeUndefined();
    expect(gov.proposals.get(id)!.state).toBe('pending');
    expect((await ga(['-C', dir, 'list'])).out).toMatch(/Wire 50000 USD to mallory/);
  });
  it('writes a part only when its bytes changed, and removes one only when neither the new state nor the one it replaced names it', async () => {
    const { dir, done } = await oneExecuted();
    const first = savedState<Settled & { executions: string[] }>(dir).state;
    const parts = () => readdirSync(readingDir(dir)).filter((f) => f.startsWith('part-'));
    expect(parts()).toEqual(expect.arrayContaining([...first.settledRecords, ...first.executions]));
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const f of parts()) utimesSync(join(readingDir(dir), f), hourAgo, hourAgo);
    const age = (f: string) => Date.now() - statSync(join(readingDir(dir), f)).mtimeMs;

    // A proposal that waits changes neither part: both are named again, and neither is written anew.
    const waiting = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    await reading(dir, true);
    const second = savedState<Settled & { executions: string[] }>(dir).state;
    expect([second.settledRecords, second.executions]).toEqual([first.settledRecords, first.executions]);
    const [firstRecords] = first.settledRecords as [string];
    expect(age(firstRecords)).toBeGreaterThan(3000_000);

    // One that ends changes the records: a new part (the two records, as small, merged into one), and the old one stays while the state replaced names it ...
    expect(await ga(['-C', dir, 'reject', waiting, '--reason', 'no'])).toMatchObject({ code: 0 });
    await reading(dir, true);
    const third = savedState<Settled>(dir).state;
    expect(third.settledRecords).toHaveLength(1);
    expect(third.settledRecords).not.toContain(firstRecords);
    expect(parts()).toContain(firstRecords);
    // ... and goes, being old, once no state that a command may be reading names it.
    await propose(dir, PUBLISH.replace('launch post', 'third post'));
    await reading(dir, true);
    expect(parts()).not.toContain(firstRecords);
    expect(parts()).toContain(third.settledRecords[0]);
    const gov = await reading(dir);
    expect(gov.savedAt).toBeDefined();
    expect(gov.proposals.get(done)!.state).toBe('executed');
    expect(gov.proposals.get(waiting)!.state).toBe('rejected');
    expect(gov.executions.get(done)).toBeDefined();
  });

  it("a daemon's live reading that had to read all of history goes on from the reading it saved, not from all of history in memory; the executor's never does", async () => {
    const dir = await initRepo(sb);
    const id = (await propose(dir, PUBLISH)).last;
    rmSync(readingDir(dir), { recursive: true, force: true });
    const repo = await openRepo(dir);
    const live = await new LiveReading(repo).current();
    expect(live.savedAt).toBe(live.head); // taken on from the reading saved at HEAD
    expect(await told(live)).toEqual(await told(await reading(dir, true)));
    expect(live.proposals.get(id)!.state).toBe('pending');
    rmSync(readingDir(dir), { recursive: true, force: true });
    const executor = await new LiveReading(await openRepo(dir), { fresh: true }).current();
    expect(executor.savedAt).toBeUndefined();
    expect(readdirSync(readingDir(dir))).toContain('state'); // saved all the same, for the commands that follow
  });

  it("keeps the saved files a daemon's reading reads from: other commands' saves never remove them while it runs", async () => {
    const { dir, done } = await oneExecuted();
    const first = savedState<Settled & { executions: string[]; ids: { segments: { part: string }[] } }>(dir).state;
    const files = () => readdirSync(readingDir(dir)).filter((f) => f.startsWith('part-') || f.startsWith('chunk-'));
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const f of files()) utimesSync(join(readingDir(dir), f), hourAgo, hourAgo);
    // The daemon takes the reading on; it reads the records of the proposals that ended only when asked, much later.
    const daemon = new LiveReading(await openRepo(dir));
    const rootCommit = (await daemon.current()).rootCommit.id;
    // Other commands end a proposal and save twice: the files only the daemon's reading names are old, and would go.
    const waiting = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    expect(await ga(['-C', dir, 'reject', waiting, '--reason', 'no'])).toMatchObject({ code: 0 });
    await reading(dir, true);
    await propose(dir, PUBLISH.replace('launch post', 'third post'));
    await reading(dir, true);
    expect(savedState<Settled>(dir).state.settledRecords).not.toContain(first.settledRecords[0]);
    expect(files()).toEqual(expect.arrayContaining([...first.settledRecords, ...first.executions, ...first.ids.segments.map((g) => g.part)]));
    const later = await daemon.current();
    expect(later.proposals.get(done)!.state).toBe('executed');
    expect(later.executions.get(done)).toBeDefined();
    expect(placesInTimeline(later).get(rootCommit)).toBeUndefined(); // the root has no place: every id was read back
    expect(placesInTimeline(later).get(later.timeline[0]!.id)).toBe(0);
  });

  it('is taken on by a program that imports the build (dist/) as by the bundled command: one build, one name', async () => {
    const dir = await initRepo(sb);
    await propose(dir, PUBLISH);
    expect((await gaProcess(['-C', dir, 'list'])).code).toBe(0); // the bundled command saves its reading here
    const dist = (p: string) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
    const [{ openRepo: open }, { loadGovernance: load }] = (await Promise.all([dist('git/repo.js'), dist('history/replay.js')])) as [
      { openRepo: typeof openRepo },
      { loadGovernance: typeof loadGovernance },
    ];
    const gov = await load(await open(dir));
    expect(gov.savedAt).toBeDefined(); // went on from it
  });
});
