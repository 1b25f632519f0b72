// Parsing governance files: TOML text through a zod schema into typed data,
// with one clear error that names the file, the line and column or the field,
// and what is expected.
import { parse, TomlError } from 'smol-toml';
import type * as z from 'zod';
import { UsageError } from '../errors.js';

/** A malformed governance file. Exit 2 when the file came from the command line. */
export class FileError extends UsageError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly problem: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}${column ? `:${column}` : ''}: ${problem}`, 'bad-file');
  }
}

export function parseTomlText(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      let first = e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      // The "control character" is the end of the line: a string with no closing quote.
      const lineText = text.split('\n')[e.line - 1] ?? '';
      if ((/control characters/.test(first) && e.column > lineText.replace(/\r$/, '').length) || /unfinished string/.test(first)) {
        first = 'unterminated string: it has no closing quote (use triple quotes for text over several lines)';
      }
      throw new FileError(file, e.line, e.column, `${first}; fix the TOML syntax there`);
    }
    // A structure too deep for the call stack is a bad file, never a crash.
    if (e instanceof RangeError) throw new FileError(file, undefined, undefined, 'nested too deeply to parse; flatten it');
    throw e;
  }
}

/** Parses TOML and validates it; unknown keys are errors when the schema is strict. */
export function parseTomlFile<S extends z.ZodType>(schema: S, text: string, file: string): z.output<S> {
  const data = parseTomlText(text, file);
  return validate(schema, data, file, text);
}

export function validate<S extends z.ZodType>(schema: S, data: unknown, file: string, text?: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let path = issue.path.map(String);
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') {
    path = [...path, issue.keys[0]!];
    problem = `unknown key; remove it (allowed keys are in docs/formats.md)`;
  }
  const field = path.length ? path.join('.') : '(top level)';
  const line = text ? locateKey(text, path) : undefined;
  throw new FileError(file, line, undefined, `${field}: ${problem}`);
}

/** Best-effort line of a key path in TOML text: the `[table]` header, then `key =`. */
export function locateKey(text: string, path: string[]): number | undefined {
  const lines = text.split('\n');
  const keys = path.filter((p) => !/^\d+$/.test(p));
  if (keys.length === 0) return undefined;
  const key = keys[keys.length - 1]!;
  const table = keys.slice(0, -1).join('.');
  let inTable = table === '';
  let tableLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(l);
    if (header) {
      inTable = header[1] === table;
      if (inTable && tableLine === undefined) tableLine = i + 1;
      if (header[1] === [table, key].filter(Boolean).join('.')) return i + 1;
      continue;
    }
    if (inTable && new RegExp(`^["']?${escapeRegExp(key)}["']?\\s*=`).test(l)) return i + 1;
  }
  return tableLine;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
