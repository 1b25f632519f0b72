// Text that came from a proposal, an agent, a hook or any file reaches a
// person with its control characters made visible: a terminal never
// receives a raw ESC, CR or other C0/C1 character (nor a bidi override)
// from it, so no field can move the cursor, hide a line or draw a fake one.

/** Characters a terminal acts on (or that reorder text), except newline. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\r': '\\r', '\u001b': '\\e', '\u0000': '\\0' };

function shown(ch: string): string {
  const code = ch.codePointAt(0)!;
  return NAMED[ch] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/** Every control character but newline written as an escape (`\e`, `\r`, `\x07`, `\u202e`). */
export function visible(text: string): string {
  return text.replace(CONTROL, shown);
}

/** One line: newlines too become visible (`\n`), for a field that must stay on its line. */
export function visibleLine(text: string): string {
  return visible(text).replace(/\n/g, '\\n');
}

/**
 * A multi-line field under its label: its own lines are indented, so none of
 * them can pass for a field of its own.
 */
export function visibleField(label: string, text: string): string {
  const lines = visible(text).split('\n');
  return [`${label}${lines[0] ?? ''}`, ...lines.slice(1).map((l) => `  | ${l}`)].join('\n');
}

// ga's own colours travel through the same text as untrusted fields, so they
// are marked with a token drawn at random per process (private-use
// characters no field can predict) and turned into escape codes only after
// everything else has been made visible.
const TOKEN = Array.from({ length: 6 }, () => String.fromCharCode(0xe000 + Math.floor(Math.random() * 0x1900))).join('');
const TOKEN_END = '\uf8ff';
const MARKED = new RegExp(`${TOKEN}(\\d+)${TOKEN_END}`, 'g');

/** A colour code (SGR) that only ga can put into text: see toTerminal. */
export function colourCode(code: number): string {
  return `${TOKEN}${code}${TOKEN_END}`;
}

/** What a terminal receives: every control character visible, then ga's own colour codes as escapes. */
export function toTerminal(text: string): string {
  return visible(text).replace(MARKED, '\u001b[$1m');
}

/** JSON for a terminal: what JSON.stringify leaves raw (DEL, C1, bidi and line separators) escaped as \uXXXX. */
export function visibleJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(CONTROL, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
