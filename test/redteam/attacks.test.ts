// The red team on the record: attacks that an agent with write access to the
// working tree and to git (but without any approver's private key) could make
// on the ledger, the audit trail, pauses and history, each done with plain git
// the way the agent would do it (DESIGN.md "What ga defends against", case 2).
// Forged approvals live in forged-approvals.test.ts, each written once and
// judged by both the executor and ga verify. Here, attacks assert that the
// runner refuses or the agent stays paused, or that nothing is executed, and
// that `ga verify` reports it. Attacks that make ga refuse the whole repository
// (replace refs, a second root, grafts, shallow) assert exit 1 with a
// one-line message from both execute and verify.
import { appendFileSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, propose, PUBLISH, sandbox, write, type GaResult, type Sandbox, eventCommits, AUDIT_FILE } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice', 'bob', 'mallory']);
  sb.useFakeClaude();
});
afterEach(() => sb.cleanup());

const APPROVERS = 'policies/approvers';
const PAUSED = 'agents/noop/PAUSED';

const pending = (id: string) => `proposals/pending/${id}.toml`;
const approved = (id: string) => `proposals/approved/${id}.toml`;

// ---------------------------------------------------------------- helpers

async function submit(repo: string, toml = PUBLISH): Promise<string> {
  const p = await propose(repo, toml);
  expect(p.code, p.err).toBe(0);
  return p.last;
}

/** ga init (alice approves) plus one pending publish_content proposal; ga verify is clean. */
async function setup(): Promise<{ repo: string; id: string }> {
  const repo = await initRepo(sb);
  const id = await submit(repo);
  await expectClean(repo);
  return { repo, id };
}

/** What the agent does: an unsigned commit of whatever is staged. */
function commitUnsigned(repo: string, message: string, ...extra: string[]): void {
  git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', ...extra, '-m', message);
}

/** A signed commit with the key sb.as() selected. */
function commitSigned(repo: string, message: string, ...config: string[]): void {
  git(repo, ...config, 'commit', '-q', '-S', '-m', message);
}

interface Finding {
  commit: string;
  path: string;
  rule: string;
  explanation: string;
}
interface Verified {
  code: number;
  root: string;
  head: string;
  checked: number;
  findings: Finding[];
  raw: GaResult;
}

async function verify(repo: string, ...args: string[]): Promise<Verified> {
  const r = await ga(['-C', repo, '--json', 'verify', ...args]);
  let parsed: Omit<Verified, 'code' | 'raw'> = { root: '', head: '', checked: 0, findings: [] };
  try {
    parsed = JSON.parse(r.out) as typeof parsed;
  } catch {
    // an error prints nothing on stdout
  }
  return { code: r.code, raw: r, ...parsed };
}

async function expectClean(repo: string, ...args: string[]): Promise<void> {
  const v = await verify(repo, ...args);
  expect(v.findings, JSON.stringify(v.findings, null, 2)).toEqual([]);
  expect(v.code, v.raw.err).toBe(0);
}

/** ga verify exits 1 and has a finding of `rule` (whose path or explanation matches `match`, when given). */
async function expectReported(repo: string, rule: string, match?: RegExp, ...args: string[]): Promise<Finding[]> {
  const v = await verify(repo, ...args);
  const show = JSON.stringify(v.findings, null, 2) + v.raw.err;
  expect(v.code, show).toBe(1);
  const hits = v.findings.filter((f) => f.rule === rule && (!match || match.test(`${f.path} ${f.explanation}`)));
  expect(hits.length, `no ${rule} finding matching ${match} in ${show}`).toBeGreaterThan(0);
  // The human form says the same thing, one finding a line, then a summary.
  const text = await ga(['-C', repo, 'verify', ...args]);
  expect(text.code).toBe(1);
  expect(text.out).toContain(rule);
  expect(text.out.trim().split('\n').pop()).toMatch(/^\d+ finding\(s\) in \d+ commit\(s\)$/);
  return hits;
}

/**
 * The contract for an approval that does not count: execute exits 1, the hook
 * never runs, nothing is claimed or moved to executed/, the attempt is flagged.
 */
async function expectNotExecuted(repo: string, id: string, flagged = true): Promise<GaResult> {
  const r = await ga(['-C', repo, 'execute', id]);
  expect(r.code, `${r.out}${r.err}`).toBe(1);
  expect(r.out + r.err).not.toContain('published:');
  expect(r.out + r.err).not.toContain('EVIL');
  expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/')).not.toContain(`${id}.toml`);
  expect(eventCommits(repo, 'proposal-claimed', id)).toEqual([]);
  expect(eventCommits(repo, 'proposal-executed', id)).toEqual([]);
  if (flagged) expect(eventCommits(repo, 'flag-invalid-approval', id)).toHaveLength(1);
  // execute --all does not run it either.
  const all = await ga(['-C', repo, 'execute', '--all']);
  expect(all.out + all.err).not.toContain('EVIL');
  expect(all.out).not.toContain(`(proposal ${id})`);
  expect(all.out).not.toMatch(new RegExp(`^executed ${id}`, 'm'));
  expect(eventCommits(repo, 'proposal-claimed', id)).toEqual([]);
  return r;
}

/** Whole-repository refusal: exit 1, a single line on stderr saying why, no stack trace. */
async function expectWholeRefusal(repo: string, id: string, why: RegExp): Promise<void> {
  const head = git(repo, 'rev-parse', 'HEAD');
  const x = await ga(['-C', repo, 'execute', id]);
  expect(x.code, x.out + x.err).toBe(1);
  expect(x.out).not.toMatch(/published:|EVIL/);
  expect(x.err.trim().split('\n')).toHaveLength(1);
  expect(x.err).toMatch(why);
  expect(x.err).not.toMatch(/internal error|\n\s+at /i);
  expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);

  const v = await ga(['-C', repo, 'verify']);
  expect(v.code, v.out + v.err).toBe(1);
  const lines = v.out.trim().split('\n');
  const reason = lines.filter((l) => why.test(l));
  expect(reason, v.out).toHaveLength(1);
  expect(v.out + v.err).not.toMatch(/internal error|\n\s+at /i);
  const j = await verify(repo);
  expect(j.code).toBe(1);
  expect(j.findings).toHaveLength(1);
  expect(j.findings[0]!.rule).toBe('history');
  expect(j.findings[0]!.explanation).toMatch(why);
  expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
}

/** A valid approval by alice and a valid execution: the control case. */
async function approveAndExecute(repo: string, id: string): Promise<void> {
  sb.as('alice');
  const a = await ga(['-C', repo, 'approve', id]);
  expect(a.code, a.err).toBe(0);
  const x = await ga(['-C', repo, 'execute', id]);
  expect(x.code, x.out + x.err).toBe(0);
  expect(x.out).toContain('published: Publish the launch post');
}

/** An agent with the claude adapter (the fake binary), added in an alice-signed commit. */
function addClaudeAgent(repo: string, id = 'tester'): string {
  write(
    repo,
    `agents/${id}/agent.toml`,
    `adapter = "claude"\ntimeout = "30s"\n[budget]\nusd = 5\ntokens = 2000000\nwindow = "day"\nwarn_at = 0.8\nmax_run_usd = 0.5\n`,
  );
  write(repo, `agents/${id}/tool_allowlist.toml`, 'allowed_tools = ["Read"]\nenv = []\n');
  write(repo, `agents/${id}/CLAUDE.md`, 'You are the tester agent.\n');
  write(repo, `agents/${id}/tasks/smoke.md`, 'Propose a small change.\n');
  sb.as('alice');
  git(repo, 'add', '-A');
  commitSigned(repo, `add agent ${id}`);
  return id;
}

/** A repository with an agent that has run twice: two charged lines in its committed ledger. */
async function withLedger(): Promise<{ repo: string; agent: string; ledger: string }> {
  const repo = await initRepo(sb);
  const agent = addClaudeAgent(repo);
  for (let i = 0; i < 2; i++) {
    const r = await ga(['-C', repo, 'run', agent]);
    expect(r.code, r.out + r.err).toBe(0);
  }
  const ledger = `ledger/${agent}.jsonl`;
  expect(git(repo, 'show', `HEAD:${ledger}`).split('\n')).toHaveLength(2);
  expect(git(repo, 'status', '--porcelain')).toBe('');
  await expectClean(repo);
  return { repo, agent, ledger };
}

async function expectRunRefused(repo: string, agent: string, why: RegExp): Promise<void> {
  const before = existsSync(join(repo, `ledger/${agent}.jsonl`)) ? readFileSync(join(repo, `ledger/${agent}.jsonl`), 'utf8') : '';
  const r = await ga(['-C', repo, 'run', agent]);
  expect(r.code, r.out + r.err).toBe(1);
  expect(r.err).toMatch(why);
  expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/^Ga-Event: run-refused$/m);
  // Nothing ran: no run-started after the refusal, no charge added.
  expect(git(repo, 'log', '-1', '--format=%B')).not.toMatch(/run-started|charge/);
  const after = existsSync(join(repo, `ledger/${agent}.jsonl`)) ? readFileSync(join(repo, `ledger/${agent}.jsonl`), 'utf8') : '';
  expect(after).toBe(before);
}

// ---------------------------------------------------------------- attacks

describe('red team: the record (ledger, audit, pauses)', () => {
  it('14. ledger lines deleted: in the working tree the runner refuses, committed ga verify reports it', async () => {
    const { repo, agent, ledger } = await withLedger();
    const full = readFileSync(join(repo, ledger), 'utf8');
    const lines = full.split('\n').filter(Boolean);
    writeFileSync(join(repo, ledger), `${lines[1]}\n`); // the first charge dropped
    await expectRunRefused(repo, agent, /does not match the committed ledger/);
    git(repo, 'add', ledger);
    commitUnsigned(repo, 'tidy the ledger');
    const drop = git(repo, 'rev-parse', 'HEAD');
    const hits = await expectReported(repo, 'ledger-append-only', new RegExp(ledger));
    expect(hits.map((h) => h.commit)).toContain(drop);
  });

  it('15. a ledger line edited to lower its cost', async () => {
    const { repo, agent, ledger } = await withLedger();
    const lines = readFileSync(join(repo, ledger), 'utf8').split('\n').filter(Boolean);
    const last = JSON.parse(lines[1]!) as Record<string, unknown>;
    expect(last.usd as number).toBeGreaterThan(0);
    lines[1] = JSON.stringify({ ...last, usd: 0, window_usd: 0 });
    writeFileSync(join(repo, ledger), `${lines.join('\n')}\n`);
    await expectRunRefused(repo, agent, /does not match the committed ledger/);
    git(repo, 'add', ledger);
    commitUnsigned(repo, 'refund');
    await expectReported(repo, 'ledger-append-only', /removed or edited/);
  });

  it('16. the ledger truncated', async () => {
    const { repo, agent, ledger } = await withLedger();
    writeFileSync(join(repo, ledger), '');
    await expectRunRefused(repo, agent, /does not match the committed ledger.*tampering/);
    git(repo, 'add', ledger);
    commitUnsigned(repo, 'new month, new ledger');
    await expectReported(repo, 'ledger-append-only', new RegExp(ledger));
    // Deleting it outright is the same.
    git(repo, 'rm', '-q', ledger);
    commitUnsigned(repo, 'no ledger at all');
    await expectReported(repo, 'ledger-append-only', /deleted/);
  });

  it('17. audit files removed or changed, and an audit file forged with no event commit', async () => {
    const { repo } = await setup();
    const files = git(repo, 'ls-files', 'audit/noop').split('\n').filter(Boolean);
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) expect(f).toMatch(AUDIT_FILE);
    const forged = 'audit/noop/2026-01-01/00/20260101T000000000Z-0badc0de.json';
    write(
      repo,
      forged,
      `${JSON.stringify({ id: '20260101T000000000Z-0badc0de', at: '2026-01-01T00:00:00Z', event: 'proposal-approved', actor: 'human:alice@example.com', agent: 'noop' })}\n`,
    );
    git(repo, 'add', forged);
    commitUnsigned(repo, 'note an approval');
    await expectReported(repo, 'audit', /no matching Ga-Event/);
    writeFileSync(join(repo, files[0]!), '{}\n');
    git(repo, 'add', files[0]!);
    commitUnsigned(repo, 'tidy');
    await expectReported(repo, 'audit-append-only', new RegExp(`${files[0]}.*changed`));
    git(repo, 'rm', '-q', files[1]!);
    commitUnsigned(repo, 'forget');
    await expectReported(repo, 'audit-append-only', new RegExp(`${files[1]}.*removed`));
    write(repo, 'audit/noop/notes.json', '{}\n');
    git(repo, 'add', 'audit/noop/notes.json');
    commitUnsigned(repo, 'a stray');
    await expectReported(repo, 'audit', /audit\/noop\/notes\.json not an audit file/);
  });

  it('18. its own PAUSED marker removed by an unsigned commit', async () => {
    const repo = await initRepo(sb);
    const p = await ga(['-C', repo, 'pause', 'noop', '--reason', 'looks stuck']);
    expect(p.code, p.err).toBe(0);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', PAUSED)).toBe(PAUSED);
    git(repo, 'rm', '-q', PAUSED);
    commitUnsigned(repo, 'resume noop: fixed');
    const removal = git(repo, 'rev-parse', 'HEAD');
    // Also with a forged resume trailer.
    expect(existsSync(join(repo, PAUSED))).toBe(false);
    await expectRunRefused(repo, 'noop', /paused.*not a signed approver's/);
    const hits = await expectReported(repo, 'pause-removed', new RegExp(PAUSED));
    expect(hits.map((h) => h.commit)).toContain(removal);
    // Signed by the agent's own key it is no better.
    const repo2 = await initRepo(sb);
    expect((await ga(['-C', repo2, 'pause', 'noop', '--reason', 'x'])).code).toBe(0);
    sb.as('mallory');
    git(repo2, 'rm', '-q', PAUSED);
    git(repo2, 'commit', '-q', '-S', '-m', 'resume noop\n\nGa-Event: agent-resumed\nGa-Agent: noop\nGa-Actor: human:alice@example.com\nGa-Reason: fixed');
    await expectRunRefused(repo2, 'noop', /paused/);
    await expectReported(repo2, 'pause-removed', /unknown-key/);
  });

  it('19. its own PAUSED marker removed by git reset', async () => {
    const repo = await initRepo(sb);
    expect((await ga(['-C', repo, 'pause', 'noop', '--reason', 'looks stuck'])).code).toBe(0);
    const pauseCommit = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'reset', '-q', '--hard', 'HEAD~1');
    expect(existsSync(join(repo, PAUSED))).toBe(false);
    const before = await expectReported(repo, 'history-rewritten', new RegExp(pauseCommit.slice(0, 12)));
    expect(before.map((h) => h.commit)).toContain(pauseCommit);
    await expectRunRefused(repo, 'noop', /history was reset or rewritten/);
    // The refusal must not launder the reset: the agent is still paused and the
    // rewrite is still reported after the runner has looked at the repository.
    const s = await ga(['-C', repo, '--json', 'status']);
    expect((JSON.parse(s.out) as { paused: unknown[] }).paused.length, s.out).toBeGreaterThan(0);
    const after = await expectReported(repo, 'history-rewritten', new RegExp(pauseCommit.slice(0, 12)));
    expect(after.map((h) => h.commit)).toContain(pauseCommit);
  });

  it('20. a replace ref hiding a commit', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    // Make the unsigned approval look like alice's signed commit to plain git.
    sb.as('alice');
    git(repo, 'commit', '-q', '--allow-empty', '-S', '-m', 'a signed empty commit');
    const signed = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'replace', git(repo, 'rev-parse', 'HEAD~1'), signed);
    expect(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/replace/')).toMatch(/^refs\/replace\//);
    await expectWholeRefusal(repo, id, /replace refs/);
  });

  it('21. a second root merged in', async () => {
    const { repo, id } = await setup();
    git(repo, 'checkout', '-q', '--orphan', 'other');
    git(repo, 'rm', '-rq', '--cached', '.');
    write(repo, approved(id), readFileSync(join(repo, pending(id)), 'utf8'));
    git(repo, 'add', approved(id));
    commitUnsigned(repo, 'another history');
    git(repo, 'clean', '-fdq');
    git(repo, 'checkout', '-q', '-f', 'main');
    git(repo, '-c', 'commit.gpgSign=false', 'merge', '-q', '--allow-unrelated-histories', '-X', 'theirs', '-m', 'merge', 'other');
    expect(git(repo, 'rev-list', '--max-parents=0', 'HEAD').split('\n')).toHaveLength(2);
    await expectWholeRefusal(repo, id, /more than one root/);
  });

  it('22. grafts and a shallow marker that hide history', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    mkdirSync(join(repo, '.git', 'info'), { recursive: true });
    writeFileSync(join(repo, '.git', 'info', 'grafts'), `${git(repo, 'rev-parse', 'HEAD')}\n`);
    await expectWholeRefusal(repo, id, /grafts/);
    unlinkSync(join(repo, '.git', 'info', 'grafts'));
    writeFileSync(join(repo, '.git', 'shallow'), `${git(repo, 'rev-parse', 'HEAD~1')}\n`);
    await expectWholeRefusal(repo, id, /shallow/);
  });

  it('23. history rewritten to drop a rejection, against the pinned trust root', async () => {
    const repo = await initRepo(sb);
    const root = git(repo, 'rev-parse', 'HEAD');
    expect(git(repo, 'config', '--local', 'ga.trustRoot')).toBe(root);
    const id = await submit(repo);
    sb.as('alice');
    expect((await ga(['-C', repo, 'reject', id, '--reason', 'no'])).code).toBe(0);
    const rejection = git(repo, 'rev-parse', 'HEAD');
    // The agent rebuilds history from the root without the rejection (the root is rewritten too).
    git(
      repo,
      '-c',
      'commit.gpgSign=false',
      'rebase',
      '-q',
      '--root',
      '--force-rebase',
      '--onto',
      git(repo, 'commit-tree', '-m', 'root', `${root}^{tree}`),
      'HEAD~1',
    );
    git(repo, 'reset', '-q', '--hard', 'HEAD');
    expect(git(repo, 'rev-list', 'HEAD')).not.toContain(rejection);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);
    // Then approves the proposal it got back.
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    await expectWholeRefusal(repo, id, /does not descend from the trust root/);
    // ga verify --trust <root> says the same against the root given on the command line.
    git(repo, 'config', '--local', '--unset', 'ga.trustRoot');
    const v = await verify(repo, '--trust', root);
    expect(v.code).toBe(1);
    expect(v.findings.some((f) => f.rule === 'history' && /trust root/.test(f.explanation))).toBe(true);
  });

  it('24. history rewritten to drop a rejection, against a remote', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo);
    sb.as('alice');
    expect((await ga(['-C', repo, 'reject', id, '--reason', 'no'])).code).toBe(0);
    const origin = join(sb.dir, 'origin.git');
    git(sb.dir, 'clone', '-q', '--bare', repo, origin);
    git(repo, 'remote', 'add', 'origin', origin);
    git(repo, 'push', '-q', '-u', 'origin', 'main');
    await expectClean(repo);
    const rejection = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'reset', '-q', '--hard', 'HEAD~1');
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id}.toml`);
    const hits = await expectReported(repo, 'history-rewritten', /upstream/);
    expect(hits.map((h) => h.commit)).toContain(rejection);
    // Dropping it and building on top (new commits, so HEAD has diverged) is caught the same way.
    const id2 = await submit(repo);
    expect(git(repo, 'rev-list', 'HEAD')).not.toContain(rejection);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/pending/')).toContain(`${id2}.toml`);
    const again = await expectReported(repo, 'history-rewritten', /1 commit\(s\) of the remote's history were dropped or rewritten/);
    expect(again.map((h) => h.commit)).toContain(rejection);
  });

  it('25. an old signed approval replayed onto another branch by cherry-pick', async () => {
    const { repo, id } = await setup();
    // alice approves on a review branch.
    git(repo, 'checkout', '-q', '-b', 'review');
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const approval = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', 'main');
    // The agent replays it onto main.
    git(repo, '-c', 'commit.gpgSign=false', 'cherry-pick', approval);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${id}.toml`);
    await expectNotExecuted(repo, id);
    await expectReported(repo, 'approval', /not signed/);
  });

  it('26. a branch with a real approval merged back by an unsigned merge: what the merge brings in counts (DESIGN "Merges"), nothing it adds does', async () => {
    const { repo, id } = await setup();
    git(repo, 'checkout', '-q', '-b', 'review');
    sb.as('alice');
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'something on main');
    git(repo, '-c', 'commit.gpgSign=false', 'merge', '-q', '--no-ff', '-m', 'merge review', 'review');
    await expectClean(repo);
    // The real one runs, once.
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.out + x.err).toBe(0);
    expect(x.out).toContain('published:');
    // A second proposal whose approval the merge adds of its own (the move is in the merge, not in a signed commit).
    const other = await submit(repo);
    git(repo, 'checkout', '-q', '-b', 'forge');
    git(repo, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', 'side');
    git(repo, 'checkout', '-q', 'main');
    git(repo, '-c', 'commit.gpgSign=false', 'merge', '-q', '--no-ff', '--no-commit', 'forge');
    git(repo, 'mv', pending(other), approved(other));
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', '-m', 'merge forge');
    await expectNotExecuted(repo, other);
    await expectReported(repo, 'merge', new RegExp(other));
  });

  it('27. an executed proposal reverted back into approved/ to run its hook twice', async () => {
    const { repo, id } = await setup();
    await approveAndExecute(repo, id);
    await expectClean(repo);
    const outcome = git(repo, 'rev-parse', 'HEAD');
    git(repo, '-c', 'commit.gpgSign=false', 'revert', '--no-edit', outcome);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${id}.toml`);
    const again = await ga(['-C', repo, 'execute', id]);
    expect(again.code).toBe(1);
    expect(again.out + again.err).toMatch(/already ran|never executed twice/);
    expect(again.out).not.toContain('published:');
    expect(eventCommits(repo, 'proposal-claimed', id)).toHaveLength(1);
    const all = await ga(['-C', repo, 'execute', '--all']);
    expect(all.out).not.toContain('published:');
    expect(eventCommits(repo, 'proposal-executed', id)).toHaveLength(1);
    await expectReported(repo, 'proposal-file', new RegExp(`${id}.*moved from executed/ to approved/`));
    await expectReported(repo, 'audit-append-only', /^audit\/noop\/.*removed/);
    // Reverting the claim too, on a branch that never saw the execution, does not help:
    // the claim and outcome anywhere in the repository forbid a second run.
    git(repo, 'checkout', '-q', '-b', 'replay', `${outcome}~2`);
    expect(git(repo, 'ls-tree', '--name-only', 'HEAD', 'proposals/approved/')).toContain(`${id}.toml`);
    const onBranch = await ga(['-C', repo, 'execute', id]);
    expect(onBranch.code).toBe(1);
    expect(onBranch.out).not.toContain('published:');
    expect(eventCommits(repo, 'proposal-executed', id)).toHaveLength(1);
  });

  it('29. a forged "good" signature planted in the signature cache under .ga/', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    const forgery = git(repo, 'rev-parse', 'HEAD');
    const approversBlob = git(repo, 'rev-parse', `HEAD~1:${APPROVERS}`);
    // Nothing under .ga/ is evidence: the agent writes the cache entry ga would have written for alice.
    mkdirSync(join(repo, '.ga', 'cache'), { recursive: true });
    appendFileSync(
      join(repo, '.ga', 'cache', 'signatures.jsonl'),
      `${JSON.stringify({ k: `${forgery} ${approversBlob}`, r: { status: 'good', principal: 'alice@example.com', key: sb.people.alice!.pub } })}\n`,
    );
    await expectNotExecuted(repo, id);
    await expectReported(repo, 'approval', /not signed/);
  });

  it('29b. the same planted cache line cannot hide the forgery from ga verify --no-cache, run first', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(repo, `approve ${id}`);
    const forgery = git(repo, 'rev-parse', 'HEAD');
    const approversBlob = git(repo, 'rev-parse', `HEAD~1:${APPROVERS}`);
    mkdirSync(join(repo, '.ga', 'cache'), { recursive: true });
    appendFileSync(
      join(repo, '.ga', 'cache', 'signatures.jsonl'),
      `${JSON.stringify({ k: `${forgery} ${approversBlob}`, r: { status: 'good', principal: 'alice@example.com', key: sb.people.alice!.pub } })}\n`,
    );
    const v = await verify(repo, '--no-cache');
    expect(v.code).toBe(1);
    expect(v.findings.some((f) => f.rule === 'approval' && f.commit === forgery)).toBe(true);
    await expectNotExecuted(repo, id);
  });

  it('30. files added under proposals/approved/ whose names are not proposal ids', async () => {
    const { repo } = await setup();
    write(repo, 'proposals/approved/Evil_ID.toml', PUBLISH);
    write(repo, 'proposals/approved/sub/x.toml', PUBLISH);
    git(repo, 'add', '-A');
    commitUnsigned(repo, 'drop files into approved/');
    const bad = await ga(['-C', repo, 'execute', 'Evil_ID']);
    expect(bad.code).toBe(2);
    const all = await ga(['-C', repo, 'execute', '--all']);
    expect(all.out).not.toMatch(/published:|EVIL/);
    // Every addition to approved/ must be a valid approval: these are not, and verify must say so.
    const v = await verify(repo);
    expect(v.code, JSON.stringify(v.findings)).toBe(1);
    expect(v.findings.some((f) => f.path.includes('Evil_ID'))).toBe(true);
    expect(v.findings.some((f) => f.path.includes('approved/sub/x.toml'))).toBe(true);
  });

  it('28. forged Ga- trailers: an unsigned commit that claims to be a human approval and an execution', async () => {
    const { repo, id } = await setup();
    git(repo, 'mv', pending(id), approved(id));
    commitUnsigned(
      repo,
      `approve ${id}: Publish the launch post\n\nGa-Event: proposal-approved\nGa-Proposal: ${id}\nGa-Agent: noop\nGa-Actor: human:alice@example.com`,
    );
    git(repo, 'commit', '-q', '--allow-empty', '--no-gpg-sign', '-m', `bogus\n\nGa-Event: proposal-teleported\nGa-Proposal: zz-nothing\nGa-Agent: ghost`);
    await expectNotExecuted(repo, id);
    await expectReported(repo, 'approval', /not signed/);
    await expectReported(repo, 'audit', /proposal-approved has no audit file/);
    await expectReported(repo, 'trailer', /unknown Ga-Event/);
    await expectReported(repo, 'trailer', /zz-nothing/);
    await expectReported(repo, 'trailer', /ghost/);
  });
});
