// Text that came from a proposal, an agent, a hook or any file reaches a
// person with its control and invisible characters made visible: a terminal
// never receives a raw ESC, CR or other C0/C1 character from it, nor a
// character that reorders, hides or joins text (bidi overrides, zero-width
// and format characters, Unicode tags, variation selectors, fillers that
// draw as nothing), so no field can move the cursor, hide a line, draw a
// fake one or say one thing to a reviewer and another to a program.

/**
 * Characters a terminal acts on, or that change how text reads without
 * showing themselves, except newline: every control (Cc) and format (Cf)
 * character (bidi embeddings, overrides and isolates, zero-width spaces and
 * joiners, word joiner and invisible operators, BOM, soft hyphen, Unicode
 * tags U+E0001 and U+E0020-E007F), lone surrogates, the line and paragraph
 * separators, the Hangul fillers, the combining grapheme joiner, the
 * variation selectors, and the unassigned rest of the tag block.
 */
const CONTROL = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029\u115f\u1160\u3164\uffa0\u034f\ufe00-\ufe0f\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/gu;

const NAMED: Record<string, string> = { '\t': '\\t', '\r': '\\r', '\u001b': '\\e', '\u0000': '\\0' };

/**
 * One character's escape: a name (`\e`, `\t`, `\r`, `\0`), `\xNN` up to
 * U+00FF, else `\u{...}` with braces, so that no digit after it can be read
 * as part of it and a character beyond U+FFFF is one escape, not two.
 */
function shown(ch: string): string {
  const code = ch.codePointAt(0)!;
  return NAMED[ch] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`);
}

/** Every control and invisible character but newline written as an escape (`\e`, `\r`, `\x07`, `\u{202e}`, `\u{e0041}`). */
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

/**
 * JSON for a terminal: what JSON.stringify leaves raw (DEL, C1, format and
 * invisible characters, line separators) escaped as \uXXXX, a character
 * beyond U+FFFF as its two UTF-16 halves, so the JSON still parses to the
 * same value. (Outside strings JSON.stringify writes only newlines and
 * spaces, so every match is inside a string.)
 */
export function visibleJson(value: unknown, space?: number): string {
  const unit = (u: number) => `\\u${u.toString(16).padStart(4, '0')}`;
  return JSON.stringify(value, null, space).replace(CONTROL, (ch) => Array.from({ length: ch.length }, (_, i) => unit(ch.charCodeAt(i))).join(''));
}
