// What every command gets: where the repository is, how to print, the clock.
import type { Clock } from '../clock.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Colour and bars: a terminal, and NO_COLOR not set. */
  color?: boolean;
}

export interface Context {
  /** -C <dir>, default the current directory. */
  dir: string;
  json: boolean;
  io: Io;
  clock: Clock;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
};

export function printJson(ctx: Context, value: unknown): void {
  ctx.io.out(JSON.stringify(value, null, 2));
}
