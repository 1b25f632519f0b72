// The spend ledger (DESIGN.md "Ledger and budgets"): a hash chain with running
// window totals, appended whole under a lock, never through a link, and never
// shorter than what was committed. Real files, real processes, real git.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GovernanceRefusal } from '../../src/errors.js';
import { openRepo, type Repo } from '../../src/git/repo.js';
import { appendCharge, assertMatchesCommitted, readLastLine, readWindowLines, spendInWindow, verifyLedger, type LedgerLine } from '../../src/ledger/ledger.js';
import { ledgerPath } from '../../src/layout/layout.js';
import { ObjectStore } from '../../src/git/objects.js';
import { fixedClock, git, initRepo, ROOT, sandbox, type Sandbox } from '../helpers/fixture.js';

const DIST = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;

let dir: string;
let repo: Repo;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-ledger-'));
  repo = plainRepo(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A directory that is only a work tree for the ledger's file functions (no git behind it). */
function plainRepo(root: string): Repo {
  return { root, gitDir: join(root, '.git'), commonDir: join(root, '.git'), local: new Map(), objects: new ObjectStore(root) };
}

const charge = (run: string, usd = 0.25, input_tokens = 100, output_tokens = 50) => ({ run, input_tokens, output_tokens, usd, source: 'reported' as const });
const file = (agent = 'noop') => join(dir, ledgerPath(agent));
const text = (agent = 'noop') => readFileSync(file(agent), 'utf8');
const lines = (agent = 'noop') => text(agent).split('\n').filter(Boolean).map((l) => JSON.parse(l) as LedgerLine);

/** Rewrites the ledger's lines through `edit` (each line without its newline). */
function rewrite(edit: (ls: string[]) => string[], agent = 'noop'): string {
  const ls = text(agent).split('\n').slice(0, -1);
  const out = edit(ls).map((l) => `${l}\n`).join('');
  writeFileSync(file(agent), out);
  return out;
}

async function refusal(p: Promise<unknown>): Promise<GovernanceRefusal> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GovernanceRefusal);
  return e as GovernanceRefusal;
}

describe('chain and running totals', () => {
  it('chains each line to the one before and keeps running totals; the last line answers the window', async () => {
    const clock = fixedClock('2026-03-10T09:00:00Z');
    const first = await appendCharge(repo, 'noop', charge('r1', 0.1), { window: 'day', clock });
    expect(first).toEqual({
      at: '2026-03-10T09:00:00Z', run: 'r1', input_tokens: 100, output_tokens: 50, usd: 0.1, source: 'reported',
      window: 'day', window_start: '2026-03-10T00:00:00Z', window_usd: 0.1, window_tokens: 150, prev: '',
    });
    clock.set('2026-03-10T10:00:00Z');
    await appendCharge(repo, 'noop', charge('r2', 0.2, 7, 3), { window: 'day', clock });
    await appendCharge(repo, 'noop', { ...charge('r3', 0.5, 0, 0), source: 'reservation' }, { window: 'day', clock });

    const raw = text();
    expect(raw.endsWith('\n')).toBe(true);
    const ls = lines();
    expect(ls.map((l) => l.window_usd)).toEqual([0.1, 0.1 + 0.2, 0.1 + 0.2 + 0.5]);
    expect(ls.map((l) => l.window_tokens)).toEqual([150, 160, 160]);
    const { createHash } = await import('node:crypto');
    expect(ls[1]!.prev).toBe(createHash('sha256').update(raw.split('\n')[0]!).digest('hex'));
    expect(verifyLedger(raw)).toEqual({ ok: true, problems: [] });

    const last = readLastLine(file());
    expect(last).toEqual(ls[2]);
    expect(spendInWindow(ls, 'day', clock.now())).toEqual({ usd: 0.8, tokens: 160, window_start: '2026-03-10T00:00:00Z' });
    expect(readLastLine(join(dir, 'ledger/nobody.jsonl'))).toBeUndefined();
    expect(spendInWindow([], 'month', clock.now())).toEqual({ usd: 0, tokens: 0, window_start: '2026-03-01T00:00:00Z' });
  });

  it('ledgerPath is relative and refuses an id that would leave ledger/', () => {
    expect(ledgerPath('noop')).toBe('ledger/noop.jsonl');
    expect(() => ledgerPath('../x')).toThrow(/not valid/);
  });

  it('reads the last line of a line longer than the first tail chunk', async () => {
    const clock = fixedClock('2026-03-10T09:00:00Z');
    await appendCharge(repo, 'noop', charge('short'), { window: 'total', clock });
    const long = await appendCharge(repo, 'noop', charge(`r-${'x'.repeat(200_000)}`), { window: 'total', clock });
    expect(readLastLine(file())).toEqual(long);
    await appendCharge(repo, 'noop', charge('after'), { window: 'total', clock });
    expect(verifyLedger(text()).ok).toBe(true);
    expect(lines()[2]!.window_usd).toBe(0.75);
  });

  it('refuses a malformed charge without writing anything', async () => {
    const clock = fixedClock('2026-03-10T09:00:00Z');
    await expect(appendCharge(repo, 'noop', charge('neg', -1), { window: 'day', clock })).rejects.toThrow(/malformed/);
    await expect(appendCharge(repo, 'noop', charge('frac', 0, 1.5), { window: 'day', clock })).rejects.toThrow(/malformed/);
    expect(text()).toBe('');
  });
});

describe('windows reset at 00:00 UTC', () => {
  it('a day window resets at midnight UTC, not before', async () => {
    const clock = fixedClock('2026-03-10T23:59:59Z');
    await appendCharge(repo, 'noop', charge('a', 1), { window: 'day', clock });
    const late = await appendCharge(repo, 'noop', charge('b', 1), { window: 'day', clock });
    expect(late.window_usd).toBe(2);
    clock.set('2026-03-11T00:00:00Z');
    expect(spendInWindow(lines(), 'day', clock.now())).toEqual({ usd: 0, tokens: 0, window_start: '2026-03-11T00:00:00Z' });
    const next = await appendCharge(repo, 'noop', charge('c', 1), { window: 'day', clock });
    expect(next).toMatchObject({ window_start: '2026-03-11T00:00:00Z', window_usd: 1, window_tokens: 150 });
    // A local-time offset does not move the boundary: 01:00+02:00 is still the 10th... of UTC 23:00.
    expect(spendInWindow(lines().slice(0, 2), 'day', new Date('2026-03-11T01:00:00+02:00')).usd).toBe(2);
    expect(verifyLedger(text()).ok).toBe(true);
  });

  it('a month window runs across days and resets on the 1st at 00:00 UTC', async () => {
    const clock = fixedClock('2026-01-01T00:00:00Z');
    await appendCharge(repo, 'noop', charge('a', 1), { window: 'month', clock });
    clock.set('2026-01-31T23:59:59Z');
    const jan = await appendCharge(repo, 'noop', charge('b', 2), { window: 'month', clock });
    expect(jan).toMatchObject({ window_start: '2026-01-01T00:00:00Z', window_usd: 3 });
    clock.set('2026-02-01T00:00:00Z');
    const feb = await appendCharge(repo, 'noop', charge('c', 4), { window: 'month', clock });
    expect(feb).toMatchObject({ window_start: '2026-02-01T00:00:00Z', window_usd: 4, window_tokens: 150 });
    clock.set('2026-12-31T23:59:59Z');
    const dec = await appendCharge(repo, 'noop', charge('d', 1), { window: 'month', clock });
    expect(dec.window_start).toBe('2026-12-01T00:00:00Z');
    clock.set('2027-01-01T00:00:00Z');
    expect(dec.window_usd).toBe(1);
    expect(spendInWindow(lines(), 'month', clock.now())).toEqual({ usd: 0, tokens: 0, window_start: '2027-01-01T00:00:00Z' });
    expect(verifyLedger(text()).ok).toBe(true);
  });

  it('a total window never resets', async () => {
    const clock = fixedClock('2026-01-01T00:00:00Z');
    await appendCharge(repo, 'noop', charge('a', 1), { window: 'total', clock });
    clock.set('2031-07-04T12:00:00Z');
    const later = await appendCharge(repo, 'noop', charge('b', 1), { window: 'total', clock });
    expect(later).toMatchObject({ window_start: '1970-01-01T00:00:00Z', window_usd: 2, window_tokens: 300 });
  });

  it('a clock stepped back across midnight does not reopen a spent day', async () => {
    const clock = fixedClock('2026-03-11T00:00:05Z');
    await appendCharge(repo, 'noop', charge('a', 3), { window: 'day', clock });
    clock.set('2026-03-10T23:59:58Z');
    const back = await appendCharge(repo, 'noop', charge('b', 1), { window: 'day', clock });
    expect(back).toMatchObject({ window_start: '2026-03-11T00:00:00Z', window_usd: 4 });
    expect(verifyLedger(text()).ok).toBe(true);
  });
});

describe('verifyLedger detects tampering', () => {
  async function five(): Promise<string> {
    const clock = fixedClock('2026-03-10T09:00:00Z');
    for (let i = 1; i <= 5; i++) await appendCharge(repo, 'noop', charge(`r${i}`, i / 10), { window: 'day', clock });
    return text();
  }

  it('an edited line (usd lowered, totals left alone) breaks the chain at the next line', async () => {
    await five();
    const out = rewrite((ls) => ls.map((l, i) => (i === 1 ? l.replace('"usd":0.2', '"usd":0.02') : l)));
    const v = verifyLedger(out);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.line)).toEqual([2, 3]); // its own totals, then the next line's prev
    expect(v.problems[1]!.why).toMatch(/edited, dropped or moved/);
  });

  it('an edited line whose totals were made consistent still breaks the chain', async () => {
    await five();
    const out = rewrite((ls) => ls.map((l, i) => (i === 2 ? l.replace('"run":"r3"', '"run":"r9"') : l)));
    expect(verifyLedger(out).problems).toEqual([{ line: 4, why: expect.stringMatching(/prev/) }]);
  });

  it('a dropped line breaks the chain', async () => {
    await five();
    const out = rewrite((ls) => ls.filter((_, i) => i !== 2));
    const v = verifyLedger(out);
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.line).toBe(3);
  });

  it('reordered lines break the chain', async () => {
    await five();
    const out = rewrite((ls) => [ls[0]!, ls[2]!, ls[1]!, ls[3]!, ls[4]!]);
    const v = verifyLedger(out);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.line)).toContain(2);
  });

  it('a torn last line is reported, and appendCharge refuses to add to it', async () => {
    const whole = await five();
    truncateSync(file(), whole.length - 10);
    const v = verifyLedger(text());
    expect(v.problems).toEqual([{ line: 5, why: expect.stringMatching(/no newline/) }]);
    const e = await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(e.message).toMatch(/damaged/);
    expect(e.message).toContain(file());
    expect(() => readLastLine(file())).toThrow(/damaged/);
    expect(text()).toBe(whole.slice(0, -10));
  });

  it('a reader without the lock waits out an append in flight (its first part there, its end a moment later); a tail that stays torn is damage', async () => {
    const whole = await five();
    const now = new Date('2026-03-10T12:00:00Z');
    // What a reader sees while another process's write of a line that crosses a page is half done.
    const inFlight = async (read: () => unknown): Promise<unknown> => {
      truncateSync(file(), whole.length - 10);
      const go = new Int32Array(new SharedArrayBuffer(4));
      const writer = new Worker(
        `const { workerData: w, parentPort } = require('node:worker_threads');
         const a = new Int32Array(w.go);
         parentPort.postMessage('ready');
         Atomics.wait(a, 0, 0);
         Atomics.wait(a, 0, 1, 5); // the rest of the line 5 ms after the reader began
         require('node:fs').appendFileSync(w.path, w.rest);`,
        { eval: true, workerData: { go: go.buffer, path: file(), rest: whole.slice(-10) } },
      );
      await new Promise((r) => writer.once('message', r));
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      try {
        return read(); // synchronous: the writer finishes while it waits
      } finally {
        await writer.terminate();
      }
    };
    expect(await inFlight(() => readWindowLines(file(), 'day', now).map((l) => l.run))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(text()).toBe(whole);
    expect(((await inFlight(() => readLastLine(file()))) as LedgerLine).run).toBe('r5');
    // No writer: after its wait, the torn tail is damage, in both readers.
    truncateSync(file(), whole.length - 10);
    expect(() => readWindowLines(file(), 'day', now)).toThrow(/damaged: its last line has no newline/);
    expect(() => readLastLine(file())).toThrow(/damaged: its last line has no newline/);
  });

  it('a line that is not a ledger line is reported', () => {
    const v = verifyLedger('{"at":"x"}\nnot json\n');
    expect(v.problems.map((p) => p.line)).toEqual([1, 2]);
    expect(verifyLedger('')).toEqual({ ok: true, problems: [] });
  });
});

describe('the file itself', () => {
  it('a symlinked ledger is refused, naming the path, and its target is untouched', async () => {
    const target = join(dir, 'elsewhere.jsonl');
    writeFileSync(target, 'precious\n');
    mkdirSync(join(dir, 'ledger'));
    symlinkSync(target, file());
    const e = await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(e.message).toContain(file());
    expect(e.message).toMatch(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(() => readLastLine(file())).toThrow(/symbolic link/);
  });

  it('a symlinked ledger/ directory is refused and its target is untouched', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(dir, 'ledger'));
    const e = await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(e.message).toContain(join(dir, 'ledger'));
    expect(existsSync(join(elsewhere, 'noop.jsonl'))).toBe(false);
    rmSync(join(dir, 'ledger'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'ledger')); // dangling
    await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('a dangling symlink is refused and creates nothing', async () => {
    mkdirSync(join(dir, 'ledger'));
    const target = join(dir, 'not-yet.jsonl');
    symlinkSync(target, file());
    await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(existsSync(target)).toBe(false);
  });

  it('a directory or a FIFO at the ledger path is refused', async () => {
    mkdirSync(file(), { recursive: true });
    const e = await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(e.message).toMatch(/not a regular file/);
    rmSync(file(), { recursive: true });
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [file()]);
    const f = await refusal(appendCharge(repo, 'noop', charge('x'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') }));
    expect(f.message).toMatch(/not a regular file/);
    expect(() => readLastLine(file())).toThrow(/not a regular file/);
  });
});

describe('the working ledger must be exactly the committed one', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox(['alice']);
  });
  afterEach(() => sb.cleanup());

  const head = (gov: Repo) => git(gov.root, 'rev-parse', 'HEAD');

  async function committedLedger(): Promise<{ gov: Repo; path: string; committed: string }> {
    const root = await initRepo(sb);
    const gov = await openRepo(root);
    const clock = fixedClock('2026-03-10T09:00:00Z');
    await assertMatchesCommitted(gov, 'noop', git(root, 'rev-parse', 'HEAD')); // nothing committed yet
    for (let i = 1; i <= 3; i++) await appendCharge(gov, 'noop', charge(`r${i}`), { window: 'day', clock });
    git(root, 'add', 'ledger/noop.jsonl');
    git(root, '-c', 'core.hooksPath=/dev/null', 'commit', '-q', '--no-verify', '--no-gpg-sign', '-m', 'ledger');
    const path = join(root, ledgerPath('noop'));
    return { gov, path, committed: readFileSync(path, 'utf8') };
  }

  it('passes when equal, and refuses a line appended but not committed (no runner leaves one)', async () => {
    const { gov } = await committedLedger();
    await assertMatchesCommitted(gov, 'noop', head(gov));
    await appendCharge(gov, 'noop', charge('r4'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') });
    const e = await refusal(assertMatchesCommitted(gov, 'noop', head(gov)));
    expect(e.message).toMatch(/lines that are not committed/);
  });

  it('refuses a truncated ledger (one line dropped from the end, or the file emptied, or deleted)', async () => {
    const { gov, path, committed } = await committedLedger();
    const shorter = committed.split('\n').slice(0, 2).join('\n') + '\n';
    writeFileSync(path, shorter);
    expect(verifyLedger(shorter).ok).toBe(true); // the chain alone cannot see a dropped tail
    const e = await refusal(assertMatchesCommitted(gov, 'noop', head(gov)));
    expect(e.message).toMatch(/^ledger\/noop\.jsonl does not match the committed ledger/);
    expect(e.message).toMatch(/tampering, not a refund/);
    expect(e.message).toContain('git checkout -- ledger/noop.jsonl');
    writeFileSync(path, '');
    await refusal(assertMatchesCommitted(gov, 'noop', head(gov)));
    rmSync(path);
    await refusal(assertMatchesCommitted(gov, 'noop', head(gov)));
  });

  it('refuses a ledger with one byte edited, even with lines appended after it', async () => {
    const { gov, path, committed } = await committedLedger();
    const at = committed.indexOf('"usd":0.25') + '"usd":0.'.length;
    writeFileSync(path, committed.slice(0, at) + '1' + committed.slice(at + 1));
    const e = await refusal(assertMatchesCommitted(gov, 'noop', head(gov)));
    expect(e.message).toContain(`at byte ${at}`);
  });

  it('refuses a symlink to a copy of the committed ledger', async () => {
    const { gov, path, committed } = await committedLedger();
    const copy = join(sb.dir, 'copy.jsonl');
    writeFileSync(copy, committed);
    rmSync(path);
    symlinkSync(copy, path);
    const e = await refusal(assertMatchesCommitted(gov, 'noop', head(gov)));
    expect(e.message).toMatch(/symbolic link/);
  });
});

// ---- processes ----------------------------------------------------------

/** A writer process: appends `n` charges (or forever) to one agent's ledger; prints "ready" once loaded. */
function writerScript(): string {
  const script = join(dir, 'writer.mjs');
  writeFileSync(
    script,
    `import { appendCharge } from ${JSON.stringify(DIST('ledger/ledger.js'))};
const [root, agent, n, tag] = process.argv.slice(2);
const repo = { root, gitDir: root + '/.git' };
const clock = { now: () => new Date('2026-03-10T12:00:00Z') };
process.stdout.write('ready\\n');
for (let i = 0; i < Number(n); i++) {
  await appendCharge(repo, agent, { run: tag + '-' + i, input_tokens: 3, output_tokens: 2, usd: 0.01, source: 'metered' }, { window: 'day', clock });
}
`,
  );
  return script;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res(child.exitCode) : child.once('exit', (code) => res(code))));
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (code) => rej(new Error(`writer exited (${code}) before it was ready`)));
  });
}

describe('writer processes', () => {
  it('four concurrent writer processes appending 100 charges each lose nothing', async () => {
    const script = writerScript();
    const children = ['w0', 'w1', 'w2', 'w3'].map((tag) => spawn(process.execPath, [script, dir, 'shared', '100', tag], { stdio: ['ignore', 'pipe', 'inherit'] }));
    expect(await Promise.all(children.map(exited))).toEqual([0, 0, 0, 0]);
    const raw = text('shared');
    expect(verifyLedger(raw)).toEqual({ ok: true, problems: [] });
    const ls = lines('shared');
    expect(ls).toHaveLength(400);
    expect(new Set(ls.map((l) => l.run)).size).toBe(400);
    const sum = ls.reduce((s, l) => s + l.usd, 0);
    expect(ls[399]!.window_usd).toBeCloseTo(sum, 9);
    expect(ls[399]!.window_usd).toBeCloseTo(4, 9);
    expect(ls[399]!.window_tokens).toBe(2000);
  });

  it('a writer killed with SIGKILL at random moments never breaks the chain; a line it left unfinished is refused, never chained to (200 trials)', async () => {
    const script = writerScript();
    const lanes = 2; // two ledgers at once: half the wall time on two cores
    const trials = 200;
    let growing = 0;
    let killedHoldingLock = 0;
    let torn = 0; // seen now and then on a loaded machine
    const lane = async (agent: string) => {
      let before = 0;
      for (let t = 0; t < trials / lanes; t++) {
        const child = spawn(process.execPath, [script, dir, agent, '1000000', `${agent}-${t}`], { stdio: ['ignore', 'pipe', 'inherit'] });
        await ready(child);
        // Killed in the middle of its work, however slow the machine: once it has appended at least once.
        const size = existsSync(file(agent)) ? statSync(file(agent)).size : 0;
        for (let waited = 0; waited < 10_000 && (existsSync(file(agent)) ? statSync(file(agent)).size : 0) === size; waited += 2) {
          await new Promise((r) => setTimeout(r, 2));
        }
        await new Promise((r) => setTimeout(r, Math.random() * 30));
        child.kill('SIGKILL');
        await exited(child);
        const lock = join(dir, '.ga/ledger', `${agent}.lock`);
        if (existsSync(lock)) {
          killedHoldingLock++;
          rmSync(lock, { recursive: true, force: true }); // its holder is dead; the stale takeover has its own test
        }
        let raw = existsSync(file(agent)) ? text(agent) : '';
        // A write that crosses a page can be stopped by SIGKILL part way (the kernel checks for a fatal
        // signal between pages), leaving a prefix. ga never chains to it: the ledger is refused as damaged
        // until a person restores it (git checkout; here: cut back to the last whole line).
        if (raw && !raw.endsWith('\n')) {
          torn++;
          expect(() => readLastLine(file(agent))).toThrow(/damaged/);
          raw = raw.slice(0, raw.lastIndexOf('\n') + 1);
          writeFileSync(file(agent), raw);
        }
        const v = verifyLedger(raw);
        if (!v.ok) throw new Error(`trial ${t} of ${agent}: ${JSON.stringify(v.problems.slice(0, 3))}`);
        const n = raw.split('\n').length - 1;
        if (n > before) growing++;
        before = n;
      }
      return before;
    };
    const counts = await Promise.all(Array.from({ length: lanes }, (_, i) => lane(`kill${i}`)));
    // Not vacuous: many trials appended something, and some were killed inside the lock
    // (fewer on a loaded machine, where writers start slower).
    expect(growing, `${torn} write(s) left unfinished`).toBeGreaterThan(trials / 4);
    expect(killedHoldingLock).toBeGreaterThan(10);
    for (const [i, n] of counts.entries()) {
      const ls = lines(`kill${i}`);
      expect(ls).toHaveLength(n);
      expect(ls[n - 1]!.window_usd).toBeCloseTo(n * 0.01, 9);
    }
  }, 300_000); // 200 node processes: about a minute on two idle cores, more on a loaded machine

  it('a lock left by a killed holder is taken over once it is stale', async () => {
    const holder = join(dir, 'holder.mjs');
    const target = join(dir, '.ga/ledger/noop');
    writeFileSync(
      holder,
      `import { withLock } from ${JSON.stringify(DIST('runtime/lock.js'))};
setInterval(() => {}, 1000);
await withLock(process.argv[2], async () => { process.stdout.write('locked\\n'); await new Promise(() => {}); });
`,
    );
    const child = spawn(process.execPath, [holder, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    await ready(child);
    child.kill('SIGKILL');
    await exited(child);
    expect(existsSync(`${target}.lock`)).toBe(true); // a SIGKILL runs no exit handler
    // Let the stale period (10 s) pass without waiting for it: age the lock's mtime.
    const old = new Date(Date.now() - 11_000);
    utimesSync(`${target}.lock`, old, old);
    const started = Date.now();
    const line = await appendCharge(repo, 'noop', charge('after-crash'), { window: 'day', clock: fixedClock('2026-03-10T10:00:00Z') });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(line.prev).toBe('');
    expect(existsSync(`${target}.lock`)).toBe(false); // released again
  });
});
