// What every command gets: where the repository is, how to print, the clock.
import type { Clock } from '../clock.js';
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

export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.out(visibleJson(value, 2));
}

/** An Io whose every line reaches the terminal with control characters made visible (and ga's colours as escapes). */
export function terminalIo(io: Io): Io {
  return { out: (t) => io.out(toTerminal(t)), err: (t) => io.err(toTerminal(t)), color: io.color };
}
