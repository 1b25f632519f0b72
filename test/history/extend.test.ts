// A daemon's reading, extended commit by commit, must judge exactly as a
// fresh reading does, and must not trust the cache for what is new.
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRepo } from '../../src/git/repo.js';
import { extendGovernance, LiveReading, loadGovernance, type Governance } from '../../src/history/replay.js';
import { ga, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { APPROVERS, commitGoverned, commitUnsigned, POLICY } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'mallory']);
});
afterEach(() => sb.cleanup());

const summary = (gov: Governance) =>
  gov.proposals
    .all()
    .map((r) => ({ id: r.id, state: r.state, valid: r.approval?.valid ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

describe('extendGovernance', () => {
  it('replays only the new commits and agrees with a full reading', async () => {
    const dir = await initRepo(sb);
    const repo = await openRepo(dir);
    const a = (await propose(dir, PUBLISH)).last;
    const b = (await propose(dir, PUBLISH.replace('launch post', 'second post'))).last;
    let reloads = 0;
    const reload = async () => {
      reloads++;
      return loadGovernance(repo);
    };
    let gov = await loadGovernance(repo);
    expect((await ga(['-C', dir, 'approve', a])).code).toBe(0);
    // b: an unsigned hand-made approval, the agent's way
    git(dir, 'mv', `proposals/pending/${b}.toml`, `proposals/approved/${b}.toml`);
    git(dir, '-c', 'commit.gpgSign=false', 'commit', '-qm', `approve ${b}`);
    const before = gov.commits.length;
    gov = await extendGovernance(gov, reload);
    expect(reloads).toBe(0);
    expect(gov.commits.length).toBe(before + 2);
    expect(summary(gov)).toEqual(summary(await loadGovernance(repo)));
    expect(gov.proposals.get(a)!.approval!.valid).toBe(true);
    expect(gov.proposals.get(b)!.approval!.valid).toBe(false);
    expect(await extendGovernance(gov, reload)).toBe(gov); // nothing new: the same reading
  });

  it('reads afresh when history did not simply grow (a reset)', async () => {
    const dir = await initRepo(sb);
    const repo = await openRepo(dir);
    await propose(dir, PUBLISH);
    let gov = await loadGovernance(repo);
    git(dir, 'reset', '-q', '--hard', 'HEAD~1');
    let reloads = 0;
    gov = await extendGovernance(gov, async () => {
      reloads++;
      return loadGovernance(repo);
    });
    expect(reloads).toBe(1);
    expect(gov.proposals.size).toBe(0);
  });

  it('judges the new commits afresh: a cache line planted before they land does not make a forgery good', async () => {
    const dir = await initRepo(sb);
    const repo = await openRepo(dir);
    const id = (await propose(dir, PUBLISH)).last;
    const approversBlob = git(dir, 'rev-parse', 'HEAD:policies/approvers');
    // The forgery is made on a side branch first, its cache line planted, and only then does it land.
    git(dir, 'checkout', '-q', '-b', 'side');
    git(dir, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    git(dir, '-c', 'commit.gpgSign=false', 'commit', '-qm', `approve ${id}`);
    const forgery = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'checkout', '-q', 'main');
    mkdirSync(join(dir, '.ga', 'cache'), { recursive: true });
    appendFileSync(
      join(dir, '.ga', 'cache', 'signatures.jsonl'),
      `${JSON.stringify({ k: `${forgery} ${approversBlob}`, r: { status: 'good', principal: 'alice@example.com', key: sb.people.alice!.pub } })}\n`,
    );
    const gov = await loadGovernance(repo); // the daemon's first reading, with the planted cache loaded
    git(dir, 'merge', '-q', '--ff-only', 'side');
    const next = await extendGovernance(gov, () => loadGovernance(repo));
    expect(next.head).toBe(forgery);
    expect(next.proposals.get(id)!.approval!.valid).toBe(false);
  });

  it('a look that fails leaves nothing half-read: the next look reads afresh and agrees with a full reading', async () => {
    const dir = await initRepo(sb);
    const repo = await openRepo(dir);
    const a = (await propose(dir, PUBLISH)).last;
    const reading = new LiveReading(repo);
    await reading.current();
    expect((await ga(['-C', dir, 'approve', a])).code).toBe(0);
    // The approval's commit object is unreadable for a moment (a half-copied object store).
    const commit = git(dir, 'rev-parse', 'HEAD');
    const loose = join(dir, '.git', 'objects', commit.slice(0, 2), commit.slice(2));
    const saved = readFileSync(loose);
    chmodSync(loose, 0o644);
    writeFileSync(loose, Buffer.from('not an object'));
    await expect(reading.current()).rejects.toThrow();
    writeFileSync(loose, saved);
    const gov = await reading.current();
    expect(gov.head).toBe(commit);
    expect(summary(gov)).toEqual(summary(await loadGovernance(await openRepo(dir))));
    expect(gov.proposals.get(a)!.approval!.valid).toBe(true);
  });

  it('a merge that brings in a second root is refused as the reading grows, as a full reading refuses it', async () => {
    const dir = await initRepo(sb);
    const repo = await openRepo(dir);
    const id = (await propose(dir, PUBLISH)).last;
    const gov = await loadGovernance(repo);
    // Another history, whose only commit approves the proposal, merged in.
    git(dir, 'checkout', '-q', '--orphan', 'other');
    git(dir, 'rm', '-rq', '--cached', '.');
    write(dir, `proposals/approved/${id}.toml`, readFileSync(join(dir, `proposals/pending/${id}.toml`), 'utf8'));
    git(dir, 'add', `proposals/approved/${id}.toml`);
    commitUnsigned(dir, 'another history');
    git(dir, 'clean', '-fdq');
    git(dir, 'checkout', '-q', '-f', 'main');
    git(dir, '-c', 'commit.gpgSign=false', 'merge', '-q', '--allow-unrelated-histories', '-X', 'theirs', '-m', 'merge', 'other');
    let reloads = 0;
    const grown = extendGovernance(gov, async () => {
      reloads++;
      return loadGovernance(repo);
    });
    await expect(grown).rejects.toThrow(/more than one root commit/);
    expect(reloads).toBe(0);
    await expect(loadGovernance(await openRepo(dir))).rejects.toThrow(/more than one root commit/);
  });

  it('the trust root stands as history grows; one trusted on first use stands until a new commit attests itself, which takes over as in a full reading', async () => {
    sb.unsigned();
    const dir = join(sb.dir, 'nokey');
    expect((await ga(['init', dir])).code).toBe(0);
    const repo = await openRepo(dir);
    const first = await loadGovernance(repo);
    expect(first.root.source).toBe('first-use');
    let reloads = 0;
    const reload = async () => {
      reloads++;
      return loadGovernance(repo);
    };
    // Alice lists herself unsigned (nobody attests it yet): still trusted on first use, and the reading only grows.
    appendFileSync(join(dir, APPROVERS), sb.approverLine('alice'));
    git(dir, 'add', APPROVERS);
    commitUnsigned(dir, 'list alice');
    const listed = await extendGovernance(first, reload);
    expect(reloads).toBe(0);
    expect(listed.root).toEqual({ commit: first.root.commit, source: 'first-use' });
    expect(summary(listed)).toEqual(summary(await loadGovernance(await openRepo(dir), { fresh: true })));
    // Her first signed commit attests itself: the root moves to it, found afresh.
    const signed = commitGoverned(sb, dir, { [POLICY]: `${readFileSync(join(dir, POLICY), 'utf8')}\n# reviewed\n` }, 'policy: a comment');
    const attested = await extendGovernance(listed, reload);
    expect(reloads).toBe(1);
    expect(attested.root).toEqual({ commit: signed, source: 'first-self-attesting' });
    // From there on the root stands: the reading only grows.
    await propose(dir, PUBLISH);
    const grown = await extendGovernance(attested, reload);
    expect(reloads).toBe(1);
    expect(grown.root).toEqual(attested.root);
    expect(summary(grown)).toEqual(summary(await loadGovernance(await openRepo(dir))));
  });

  it('replace refs are refused as the reading grows, loose or packed, as a full reading refuses them', async () => {
    const dir = await initRepo(sb);
    const repo = await openRepo(dir);
    await propose(dir, PUBLISH);
    const gov = await loadGovernance(repo);
    git(dir, 'commit', '-q', '--allow-empty', '-S', '-m', 'a signed empty commit');
    git(dir, 'replace', git(dir, 'rev-parse', 'HEAD~1'), git(dir, 'rev-parse', 'HEAD'));
    await expect(extendGovernance(gov, () => loadGovernance(repo))).rejects.toThrow(/replace refs exist/);
    // Packed, with no loose ref directory left: only packed-refs names it.
    git(dir, 'pack-refs', '--all', '--prune');
    rmSync(join(dir, '.git', 'refs', 'replace'), { recursive: true, force: true });
    expect(readFileSync(join(dir, '.git', 'packed-refs'), 'utf8')).toMatch(/ refs\/replace\//);
    await expect(extendGovernance(gov, () => loadGovernance(repo))).rejects.toThrow(/replace refs exist/);
    await expect(loadGovernance(await openRepo(dir))).rejects.toThrow(/replace refs exist/);
  });
});
