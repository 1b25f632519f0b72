// node bench/ledger.mjs (after tsc): the spend ledger beside the raw primitive
// it stands on, measured in the same run (compare ratios, not absolute times
// across runs). Appends: ga's appendCharge against a bare locked loop
// (proper-lockfile lock + fs.appendFileSync + fsync + unlock), one writer and
// four writer processes. Reads: a day window's spend, recomputed from its lines, at 100 and at
// 1,000,000 lines, which should cost the same.
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, appendFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import lockfile from 'proper-lockfile';
import { median, ROOT } from './lib.mjs';

const { appendCharge, readWindowLines, spendInWindow } = await import(pathToFileURL(join(ROOT, 'dist/ledger/ledger.js')).href);
const { ledgerPath } = await import(pathToFileURL(join(ROOT, 'dist/layout/layout.js')).href);

const N = Number(process.env.BENCH_LEDGER_N ?? 1000);
const dir = process.argv[2] === 'worker' ? '' : mkdtempSync(join(tmpdir(), 'ga-bench-ledger-'));
const WRITERS = 4;
const clock = { now: () => new Date('2026-03-10T12:00:00Z') };
const charge = (run) => ({ run, input_tokens: 120, output_tokens: 80, usd: 0.0123, source: 'metered' });
// The same retry table as src/runtime/lock.ts, so that both sides wait alike.
const RETRIES = { retries: 400, factor: 1.3, minTimeout: 2, maxTimeout: 25, randomize: true };

async function gaLoop(root, agent, n, tag) {
  const repo = { root, gitDir: join(root, '.git') };
  for (let i = 0; i < n; i++) await appendCharge(repo, agent, charge(`${tag}-${i}`), { window: 'day', clock });
}

async function rawLoop(root, agent, n, tag) {
  const file = join(root, 'raw', `${agent}.jsonl`);
  const target = join(root, '.ga', 'raw', agent);
  mkdirSync(join(root, 'raw'), { recursive: true });
  mkdirSync(join(root, '.ga', 'raw'), { recursive: true });
  const line = `${JSON.stringify({ at: '2026-03-10T12:00:00Z', ...charge(tag), window: 'day', window_start: '2026-03-10T00:00:00Z', window_usd: 1, window_tokens: 1, prev: 'f'.repeat(64) })}\n`;
  for (let i = 0; i < n; i++) {
    const release = await lockfile.lock(target, { realpath: false, lockfilePath: `${target}.lock`, retries: RETRIES, stale: 10_000, onCompromised: () => {} });
    const fd = openSync(file, 'a');
    appendFileSync(fd, line);
    fsyncSync(fd);
    closeSync(fd);
    await release();
  }
}

// Worker mode: wait for the common start time, run, print the end time.
if (process.argv[2] === 'worker') {
  const [, , , kind, root, agent, n, tag, startAt] = process.argv;
  while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
  await (kind === 'ga' ? gaLoop : rawLoop)(root, agent, Number(n), tag);
  process.stdout.write(`${Date.now()}\n`);
  process.exit(0);
}

async function oneWriter(kind, root, n) {
  const t = performance.now();
  await (kind === 'ga' ? gaLoop : rawLoop)(root, `one-${kind}`, n, `w${t}`);
  return n / ((performance.now() - t) / 1000);
}

async function fourWriters(kind, root, n) {
  const startAt = Date.now() + 1500; // past every worker's start-up
  const ends = await Promise.all(
    Array.from({ length: WRITERS }, (_, w) => {
      const args = [import.meta.filename, 'worker', kind, root, `four-${kind}`, String(n), `w${w}-${startAt}`, String(startAt)];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      return new Promise((res, rej) => child.on('exit', (code) => (code === 0 ? res(Number(out.trim())) : rej(new Error(`worker exited ${code}`)))));
    }),
  );
  return (WRITERS * n) / ((Math.max(...ends) - startAt) / 1000);
}

/** Rounds alternating ga and raw, so that load from elsewhere falls on both alike; median rates. */
async function compare(measure, rounds, n) {
  const ga = [];
  const raw = [];
  for (let r = 0; r < rounds; r++) {
    ga.push(await measure('ga', dir, n));
    raw.push(await measure('raw', dir, n));
  }
  return { ga: median(ga), raw: median(raw) };
}

function timeRead(file, reps = 2000) {
  const xs = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    spendInWindow(readWindowLines(file, 'day', WINDOW_NOW), 'day', WINDOW_NOW);
    xs.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

/** The day the window reads: the last of the generated ledgers. */
const PER_DAY = 100;
const WINDOW_NOW = new Date(Date.UTC(2000, 0, 1) + Math.floor((1_000_000 - 1) / PER_DAY) * 86_400_000 + 43_200_000);

/**
 * A ledger of `n` lines written directly (no valid chain needed for a window
 * read), PER_DAY lines a day, ending on WINDOW_NOW's day: the window always
 * holds PER_DAY lines, whatever the length of the file.
 */
function bigLedger(root, agent, n) {
  const file = join(root, ledgerPath(agent));
  mkdirSync(join(root, 'ledger'), { recursive: true });
  const fd = openSync(file, 'w');
  const CHUNK = 10_000;
  for (let i = 0; i < n; i += CHUNK) {
    let s = '';
    for (let j = i; j < Math.min(n, i + CHUNK); j++) {
      const day = new Date(WINDOW_NOW.getTime() - Math.floor((n - 1 - j) / PER_DAY) * 86_400_000);
      const at = day.toISOString().replace(/T.*/, 'T12:00:00Z');
      s += `${JSON.stringify({ at, ...charge(`r${j}`), window: 'day', window_start: at.replace('T12', 'T00'), window_usd: 0.0123, window_tokens: 200, prev: 'a'.repeat(64) })}\n`;
    }
    writeSync(fd, s);
  }
  closeSync(fd);
  return file;
}

const fmt = (x) => `${Math.round(x)}/s`.padStart(8);
try {
  // Warm-up, so that neither side pays module loading or the first mkdir.
  await gaLoop(join(dir, 'warm'), 'warm', 50, 'x');
  await rawLoop(join(dir, 'warm'), 'warm', 50, 'x');

  const one = await compare(oneWriter, 7, Math.ceil(N / 5));
  console.log(`ledger append (1 writer)  ${fmt(one.ga)}   raw ${fmt(one.raw)}   ${(one.ga / one.raw).toFixed(2)}x raw`);
  const four = await compare(fourWriters, 3, Math.ceil(N / 4));
  console.log(`ledger append (${WRITERS} writers) ${fmt(four.ga)}   raw ${fmt(four.raw)}   ${(four.ga / four.raw).toFixed(2)}x raw`);

  const small = bigLedger(dir, 'small', PER_DAY);
  const big = bigLedger(dir, 'big', 1_000_000);
  const tSmall = timeRead(small);
  const tBig = timeRead(big);
  console.log(`window spend (recomputed from its ${PER_DAY} lines), ${PER_DAY}-line ledger      ${tSmall.toFixed(1)} us (median)`);
  console.log(
    `window spend (recomputed from its ${PER_DAY} lines), 1,000,000-line ledger  ${tBig.toFixed(1)} us (median)   ${(tBig / tSmall).toFixed(2)}x (flat: only the window is read)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
