// What every command gets: where the repository is, how to print, the clock.
import { statSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { UsageError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { toTerminal, visibleJson } from '../text/visible.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Colour and bars: a terminal, and NO_COLOR not set. */
  color?: boolean;
}

export interface CommandContext {
  /** -C <dir>, default the current directory. */
  dir: string;
  json: boolean;
  io: Io;
  clock: Clock;
  /** The governance repository at `dir`, opened (and checked) once. */
  repo(): Promise<Repo>;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
};

/**
 * Prints `value` as JSON with one key style across every command: the
 * formats' snake_case (`exitCode` becomes `exit_code`). What a proposal or
 * an agent wrote (a `payload`, a `detail`) keeps its own keys.
 */
export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.out(visibleJson(snakeKeys(value), 2));
}

const VERBATIM = new Set(['payload', 'detail', 'input']);

export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), VERBATIM.has(k) ? v : snakeKeys(v)]));
}

/** An Io whose every line reaches the terminal with control characters made visible (and ga's colours as escapes). */
export function terminalIo(io: Io): Io {
  return { out: (t) => io.out(toTerminal(t)), err: (t) => io.err(toTerminal(t)), color: io.color };
}

/**
 * `-C <dir>` as given, once it is known not to name something other than a
 * directory (`-C /etc/passwd`): a usage error (exit 2), never a crash. A
 * directory that does not exist yet is left to the command (ga init makes it).
 */
export function checkRepoDir(dir: string): string {
  if (dir === '') throw new UsageError('-C needs a directory: pass -C <dir> with a governance repository');
  let isDir: boolean | undefined;
  try {
    isDir = statSync(dir, { throwIfNoEntry: false })?.isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      isDir = false; // a path through a file: /etc/passwd/x
    else throw new UsageError(`-C ${dir}: cannot be used (${code ?? (e as Error).message}); pass -C <dir> with a governance repository`);
  }
  if (isDir === false) throw new UsageError(`-C ${dir}: not a directory; pass -C <dir> with a governance repository`);
  return dir;
}
