// Plain-text tables for terminals and pipes.
import { colourCode } from '../text/visible.js';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export const short = (commit: string | undefined) => (commit ?? '').slice(0, 12);

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

export function paint(on: boolean | undefined, colour: keyof typeof CODES, text: string): string {
  return on ? `${colourCode(CODES[colour])}${text}${colourCode(0)}` : text;
}

/** A spend bar: `[#####-----]  52%` (plain text when piped). */
export function bar(on: boolean | undefined, used: number, cap: number, width = 20): string {
  const ratio = cap > 0 ? used / cap : used > 0 ? 1 : 0;
  const filled = Math.min(width, Math.round(ratio * width));
  const colour = ratio >= 1 ? 'red' : ratio >= 0.8 ? 'yellow' : 'green';
  const pct = `${Math.round(ratio * 100)}%`.padStart(5);
  return `[${paint(on, colour, '#'.repeat(filled))}${'-'.repeat(width - filled)}]${pct}`;
}
