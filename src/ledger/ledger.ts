// ledger/<agent>.jsonl: the append-only spend ledger. One JSON object a line,
// each carrying the running totals of its window (so the last line answers
// "how much in this window" in constant time) and the sha256 of the line
// before it (so an edited, dropped or reordered line shows).
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { ledgerLineSchema, type ChargeSource, type LedgerLine, type LedgerWindow } from '../schema/ledger.js';
import { rfc3339, type Clock } from '../clock.js';
import { GovernanceRefusal, InternalError } from '../errors.js';
import { readFileAt, type Repo } from '../git/repo.js';
import { ledgerPath } from '../layout/layout.js';
import { runtimeDir, withLock } from '../runtime/lock.js';
import { readBytesAt } from '../runtime/files.js';


export type { LedgerLine, LedgerWindow, ChargeSource } from '../schema/ledger.js';

export interface Charge {
  run: string;
  input_tokens: number;
  output_tokens: number;
  usd: number;
  source: ChargeSource;
}

/** Floating-point slack when re-adding running USD totals. */
const USD_EPSILON = 1e-9;
/** First tail read (a line is ~250 bytes); doubled while one line is longer. */
const TAIL_CHUNK = 4 * 1024;


const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** 00:00 UTC of the day or of the 1st of the month containing `now`; the epoch for total. */
function windowStartOf(window: LedgerWindow, now: Date): string {
  if (window === 'total') return '1970-01-01T00:00:00Z';
  const day = window === 'day' ? now.getUTCDate() : 1;
  return rfc3339(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), day)));
}

export interface WindowSpend {
  usd: number;
  tokens: number;
  window_start: string;
}

/**
 * What the current window has spent, recomputed from the lines themselves
 * (newest last) in the window the trusted agent.toml names: a line's own
 * `window` and running totals are a cache that must agree, never a source,
 * so a forged line that claims a fresh window resets nothing. Lines must be
 * in time order; one out of order is tampering. A line dated after `now` (a
 * clock stepped back) still counts.
 */
export function spendInWindow(lines: LedgerLine[], window: LedgerWindow, now: Date): WindowSpend {
  const start = windowStartOf(window, now);
  const outOfOrder = (l: LedgerLine) =>
    new GovernanceRefusal(`a ledger line of run ${l.run} is dated after the line that follows it: lines were reordered or forged; see ga verify`, 'ledger-order');
  let first = lines.length;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (i + 1 < lines.length && l.at > lines[i + 1]!.at) throw outOfOrder(l);
    if (l.at < start) {
      // The first line before the window must itself follow the one before it: a forged
      // line dated in the past, appended last, would otherwise hide the whole window.
      if (i > 0 && lines[i - 1]!.at > l.at) throw outOfOrder(lines[i - 1]!);
      break;
    }
    first = i;
  }
  // Added oldest first, as the running totals of the lines were: the same sum to the last bit.
  let usd = 0;
  let tokens = 0;
  for (const l of lines.slice(first)) {
    usd += l.usd;
    tokens += l.input_tokens + l.output_tokens;
  }
  return { usd, tokens, window_start: start };
}

/** Opens without following a link: a symlinked ledger would charge (or read) someone else's file. */
function openNoFollow(absPath: string, flags: number): number {
  try {
    return openSync(absPath, flags | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new GovernanceRefusal(`${absPath} is a symbolic link: a ledger must be a regular file; remove the link and restore the ledger with git checkout`);
    }
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw notRegular(absPath);
    throw e;
  }
}

const notRegular = (absPath: string) =>
  new GovernanceRefusal(`${absPath} is not a regular file: a ledger must be one; remove it and restore it with git checkout`);

/** O_NOFOLLOW guards only the last component: a linked ledger/ directory would send charges elsewhere too. */
function assertPlainDir(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return void mkdirSync(dir, { recursive: true });
  if (st.isSymbolicLink()) {
    throw new GovernanceRefusal(`${dir} is a symbolic link: the ledger directory must be a real directory; remove the link and restore it with git checkout`);
  }
}

/** fstat of the opened file, not of the path: what we read and write is what we checked. */
function regularSize(fd: number, absPath: string): number {
  const st = fstatSync(fd);
  if (!st.isFile()) throw notRegular(absPath);
  return st.size;
}

const TORN = 'ledger-torn';
const tornTail = (absPath: string) =>
  new GovernanceRefusal(`${absPath} is damaged: its last line has no newline (torn by a crash or edited); ga will not add to it. Restore it with git checkout and investigate`, TORN);

/**
 * Reads an open ledger without its lock. A reader can see an append in flight
 * (a line that crosses a page shows its first part before its end, seen on
 * this kind of machine), so a tail without its newline is read again, from a
 * new size, for up to about 60 ms before it counts as damage.
 */
function readSettled<T>(fd: number, absPath: string, read: (size: number) => T): T {
  for (let wait = 1; ; wait *= 2) {
    try {
      return read(regularSize(fd, absPath));
    } catch (e) {
      if (wait > 32 || !(e instanceof GovernanceRefusal) || e.code !== TORN) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}

/** The raw bytes of the last line (without its newline), reading only the tail of the file. */
function lastLineBytes(fd: number, size: number, absPath: string): Buffer | undefined {
  if (size === 0) return undefined;
  for (let chunk = TAIL_CHUNK; ; chunk *= 2) {
    const start = Math.max(0, size - chunk);
    const buf = readBytesAt(fd, start, size - start);
    if (buf[buf.length - 1] !== 0x0a) {
      throw tornTail(absPath);
    }
    // A negative offset would count from the end: a lone "\n" has no line before it.
    const nl = buf.length >= 2 ? buf.lastIndexOf(0x0a, buf.length - 2) : -1;
    if (nl >= 0) return buf.subarray(nl + 1, buf.length - 1);
    if (start === 0) return buf.subarray(0, buf.length - 1);
  }
}

function parseLine(bytes: Buffer | string): LedgerLine | string {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  const r = ledgerLineSchema().safeParse(json);
  return r.success ? r.data : z.prettifyError(r.error).replace(/\n/g, '; ');
}

function parseLast(bytes: Buffer | undefined, absPath: string): LedgerLine | undefined {
  if (bytes === undefined) return undefined;
  const line = parseLine(bytes);
  if (typeof line === 'string') throw new GovernanceRefusal(`${absPath} is damaged: its last line is invalid: ${line}`);
  return line;
}

/** The last line of a ledger, reading only its tail (same cost at 10 lines and at 1,000,000); undefined if none. */
export function readLastLine(absPath: string): LedgerLine | undefined {
  let fd: number;
  try {
    fd = openNoFollow(absPath, constants.O_RDONLY | constants.O_NONBLOCK); // O_NONBLOCK: a FIFO must not hang us
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return parseLast(readSettled(fd, absPath, (size) => lastLineBytes(fd, size, absPath)), absPath);
  } finally {
    closeSync(fd);
  }
}

function nextLine(last: Buffer | undefined, spent: WindowSpend, charge: Charge, window: LedgerWindow, now: Date): LedgerLine {
  const line = {
    at: rfc3339(now),
    run: charge.run,
    input_tokens: charge.input_tokens,
    output_tokens: charge.output_tokens,
    usd: charge.usd,
    source: charge.source,
    window,
    window_start: spent.window_start,
    window_usd: spent.usd + charge.usd,
    window_tokens: spent.tokens + charge.input_tokens + charge.output_tokens,
    prev: last ? sha256(last) : '',
  };
  const r = ledgerLineSchema().safeParse(line);
  if (!r.success) throw new InternalError(`refusing to write a malformed ledger line for run ${charge.run}: ${z.prettifyError(r.error)}`);
  return line;
}

/** One whole line in one write(); a short write is cut back so no torn line stays behind. */
function appendWhole(fd: number, size: number, bytes: Buffer, absPath: string): void {
  let written = 0;
  try {
    written = writeSync(fd, bytes);
  } finally {
    if (written !== bytes.length) ftruncateSync(fd, size);
  }
  if (written !== bytes.length) throw new InternalError(`short write to ${absPath} (${written} of ${bytes.length} bytes, disk full?); nothing was charged`);
  fsyncSync(fd);
}

/**
 * Appends one charge under the agent's ledger lock and returns the line written.
 * Opened O_RDWR rather than O_WRONLY so that the tail we chain to is read
 * through the very descriptor we append to (no swap between two opens), and
 * so that a FIFO planted at the path opens without blocking and is refused.
 */
export async function appendCharge(repo: Repo, agent: string, charge: Charge, opts: { window: LedgerWindow; clock: Clock; locked?: boolean }): Promise<LedgerLine> {
  const absPath = join(repo.root, ledgerPath(agent));
  const append = async () => {
    assertPlainDir(dirname(absPath));
    const fd = openNoFollow(absPath, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT);
    try {
      const size = regularSize(fd, absPath);
      const line = chargeLine(lastLineBytes(fd, size, absPath), (start) => windowLines(fd, size, absPath, start).lines, charge, opts, absPath);
      appendWhole(fd, size, Buffer.from(`${JSON.stringify(line)}\n`), absPath);
      return line;
    } finally {
      closeSync(fd);
    }
  };
  return opts.locked ? append() : withLock(ledgerLockTarget(repo, agent), append);
}

/** The line a charge appends after `lastBytes`, its running totals carried on or recomputed. */
function chargeLine(lastBytes: Buffer | undefined, linesFrom: (start: string) => LedgerLine[], charge: Charge, opts: { window: LedgerWindow; clock: Clock }, where: string): LedgerLine {
  // Lines never go back in time, nor does a window: a clock stepped back across midnight reopens no spent day.
  const clockNow = opts.clock.now();
  const last = parseLast(lastBytes, where);
  const now = last && last.at > rfc3339(clockNow) ? new Date(last.at) : clockNow;
  const start = windowStartOf(opts.window, now);
  // The new line's running totals are a cache (decisions recompute them from the lines):
  // carried on from the last line when it is of the same window, else recomputed.
  const spent =
    last && last.window === opts.window && last.window_start === start
      ? { usd: last.window_usd, tokens: last.window_tokens, window_start: start }
      : spendInWindow(linesFrom(start), opts.window, now);
  return nextLine(lastBytes, spent, charge, opts.window, now);
}

/**
 * A committed ledger's bytes with one charge appended: for a runner whose work
 * tree is not on the governed branch any more (the agent checked out another),
 * so the charge goes onto the committed ledger of the governed branch.
 */
export function appendChargeToText(text: Buffer, charge: Charge, opts: { window: LedgerWindow; clock: Clock }, where: string): { text: Buffer; line: LedgerLine } {
  if (text.length && text[text.length - 1] !== 0x0a) throw new GovernanceRefusal(`${where} is damaged: its last line has no newline; ga will not add to it`);
  const rows = text.toString('utf8').split('\n').filter(Boolean);
  const line = chargeLine(rows.length ? Buffer.from(rows[rows.length - 1]!, 'utf8') : undefined, () => parseLedgerLines(rows), charge, opts, where);
  return { text: Buffer.concat([text, Buffer.from(`${JSON.stringify(line)}\n`)]), line };
}

/**
 * The lines of the current window (newest last), reading the file backwards
 * from its end only as far as the window reaches (and one line before it, so
 * that the order is checked across the boundary).
 */
function windowLines(fd: number, size: number, absPath: string, start: string): { lines: LedgerLine[]; lastBytes: Buffer | undefined } {
  const lines: LedgerLine[] = [];
  let lastBytes: Buffer | undefined;
  if (size === 0) return { lines, lastBytes };
  let end = size; // bytes before `end` are unread; `end` is just after a newline
  let carry = Buffer.alloc(0);
  for (let chunk = TAIL_CHUNK; ; chunk = Math.min(chunk * 2, 1024 * 1024)) {
    const from = Math.max(0, end - chunk);
    const buf = Buffer.concat([readBytesAt(fd, from, end - from), carry]);
    if (lastBytes === undefined && buf[buf.length - 1] !== 0x0a) {
      throw tornTail(absPath);
    }
    const parts = buf.subarray(0, buf.length - 1).toString('utf8').split('\n');
    // The first part may be cut: keep it for the next round unless the file starts here.
    const whole = from === 0 ? parts : parts.slice(1);
    carry = from === 0 ? Buffer.alloc(0) : Buffer.from(`${parts[0]}\n`);
    end = from;
    for (let i = whole.length - 1; i >= 0; i--) {
      const text = whole[i]!;
      if (text === '' && from === 0 && i === 0 && whole.length === 1) continue;
      lastBytes ??= Buffer.from(text, 'utf8');
      const line = parseLine(text);
      if (typeof line === 'string') throw new GovernanceRefusal(`${absPath} is damaged: a line is invalid: ${line}`);
      lines.unshift(line);
      // One line past the window's start as well, so that its order can be checked (spendInWindow).
      if (lines.length > 1 && lines[1]!.at < start) return { lines, lastBytes };
    }
    if (from === 0) return { lines, lastBytes };
  }
}

/** The lines of the current window of a ledger file (see spendInWindow); none when it does not exist. */
export function readWindowLines(absPath: string, window: LedgerWindow, now: Date): LedgerLine[] {
  let fd: number;
  try {
    fd = openNoFollow(absPath, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    return readSettled(fd, absPath, (size) => windowLines(fd, size, absPath, windowStartOf(window, now)).lines);
  } finally {
    closeSync(fd);
  }
}

/** Parses lines given as text (held lines a merge dropped); unreadable ones are skipped (ga verify reports them). */
export function parseLedgerLines(texts: string[]): LedgerLine[] {
  return texts.map((t) => parseLine(t)).filter((l): l is LedgerLine => typeof l !== 'string');
}

/** Why `line` does not follow `prev` in the running totals, or undefined. */
function totalsProblem(prev: LedgerLine | undefined, line: LedgerLine): string | undefined {
  if (windowStartOf(line.window, new Date(line.window_start)) !== line.window_start) {
    return `window_start ${line.window_start} is not the start of a ${line.window} window`;
  }
  const same = prev !== undefined && prev.window_start === line.window_start;
  const usd = (same ? prev.window_usd : 0) + line.usd;
  const tok = (same ? prev.window_tokens : 0) + line.input_tokens + line.output_tokens;
  if (Math.abs(line.window_usd - usd) > USD_EPSILON) return `window_usd is ${line.window_usd}, expected ${usd}`;
  if (line.window_tokens !== tok) return `window_tokens is ${line.window_tokens}, expected ${tok}`;
  return undefined;
}

/**
 * Checks every line parses, chains to the one before, keeps the running
 * totals, and (given `trustedWindow`, the window of the agent.toml trusted
 * when a line was added) names the trusted window. Lines count from 1.
 */
export function verifyLedger(text: string, trustedWindow?: (line: number) => LedgerWindow | undefined): { ok: boolean; problems: { line: number; why: string }[] } {
  const problems: { line: number; why: string }[] = [];
  if (text === '') return { ok: true, problems };
  const lines = text.split('\n');
  const tail = lines.pop(); // "" when the text ends in a newline
  if (tail !== '') problems.push({ line: lines.length + 1, why: 'no newline at the end: a torn or edited last line' });
  let prevBytes: Buffer | undefined;
  let prev: LedgerLine | undefined;
  lines.forEach((raw, i) => {
    const bytes = Buffer.from(raw, 'utf8');
    const line = parseLine(bytes);
    const expected = prevBytes ? sha256(prevBytes) : '';
    if (typeof line === 'string') problems.push({ line: i + 1, why: line });
    else if (line.prev !== expected) problems.push({ line: i + 1, why: `prev is "${line.prev}", but the line before hashes to "${expected}": a line was edited, dropped or moved` });
    else {
      const trusted = trustedWindow?.(i + 1);
      const why =
        prev && line.at < prev.at
          ? `dated ${line.at}, before the line above it (${prev.at}): lines are in time order, so this one was forged or moved`
          : trusted && line.window !== trusted
            ? `window is "${line.window}", but the trusted agent.toml says "${trusted}": the running totals of a line are never a source`
            : totalsProblem(prev, line);
      if (why) problems.push({ line: i + 1, why });
    }
    prevBytes = bytes;
    prev = typeof line === 'string' ? undefined : line;
  });
  return { ok: problems.length === 0, problems };
}

/** The lock every writer of an agent's ledger (and its reservations) holds. */
export const ledgerLockTarget = (repo: Repo, agent: string) => join(runtimeDir(repo), 'ledger', agent);

/** The whole working ledger, read without following a link. */
export function readLedger(absPath: string): Buffer {
  return readPrefix(absPath, Number.MAX_SAFE_INTEGER)?.bytes ?? Buffer.alloc(0);
}

function readPrefix(absPath: string, length: number): { bytes: Buffer; size: number } | undefined {
  let fd: number;
  try {
    fd = openNoFollow(absPath, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const size = regularSize(fd, absPath);
    return { bytes: readBytesAt(fd, 0, Math.min(length, size)), size };
  } finally {
    closeSync(fd);
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Refuses a working ledger that is not exactly the committed one. The runner
 * appends and commits under the ledger lock, so at the start of a run every
 * line in the file has been committed: a line that has not is one the runner
 * did not write (forged), or one a crashed runner left (it still counts once
 * committed); a shorter file is a truncation, not a refund.
 */
export async function assertMatchesCommitted(repo: Repo, agent: string, head: string): Promise<void> {
  const rel = ledgerPath(agent);
  const committed = (await readFileAt(repo, head, rel))?.content ?? Buffer.alloc(0);
  const working = readPrefix(join(repo.root, rel), Number.MAX_SAFE_INTEGER) ?? { bytes: Buffer.alloc(0), size: 0 };
  if (working.bytes.equals(committed)) return;
  const why =
    working.size < committed.length
      ? `it has ${working.size} bytes, the committed one ${committed.length}: a truncated or edited ledger is tampering, not a refund; restore it with git checkout -- ${rel}`
      : working.bytes.subarray(0, committed.length).equals(committed)
        ? `it has lines that are not committed, which the runner did not write (or a runner crashed before committing them): look with git diff -- ${rel}, then commit them (they count) or restore the file with git checkout -- ${rel}`
        : `it differs from the committed one at byte ${firstDifference(working.bytes, committed)}: restore it with git checkout -- ${rel} and find out who changed it`;
  throw new GovernanceRefusal(`${rel} does not match the committed ledger (${why})`);
}
