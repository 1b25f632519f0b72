// Checks shared by several commands' arguments.
import { UsageError } from '../errors.js';
import { readInputFile } from '../runtime/files.js';

/** A reason that says something: required on reject, pause and resume. */
export function requireReason(reason: string | undefined, command: string): string {
  const r = (reason ?? '').trim();
  if (!r) throw new UsageError(`${command} needs --reason "why"`);
  return r;
}

const KIND_WORDS: Record<string, string> = { directory: 'a directory', fifo: 'a FIFO', symlink: 'a symbolic link', other: 'a device or special file' };

/**
 * The bytes of a file named by a command line option (`--file F`, `-` for
 * stdin): at most `maxBytes`, read without trusting its size and without
 * ever blocking on open, so `--file /dev/zero`, a FIFO or a huge file is a
 * one-line usage error (exit 2), never a hang or an exhausted memory.
 */
export function readFileOption(path: string, option: string, maxBytes: number, what = 'file'): Buffer {
  const name = path === '-' ? '<stdin>' : path;
  const r = readInputFile(path, maxBytes);
  if (r.ok) return r.bytes;
  if (r.why === 'too-large')
    throw new UsageError(`${option} ${name}: larger than ${formatBytes(maxBytes)}, the limit for a ${what}; give a smaller one`, 'too-large');
  if (r.why === 'not-regular')
    throw new UsageError(
      `${option} ${name}: is ${KIND_WORDS[r.kind ?? 'other'] ?? 'not a regular file'}, not a regular file; give a regular ${what} (or - for stdin)`,
    );
  throw new UsageError(`${option} ${name}: cannot be read (${r.code}); give a readable ${what} (or - for stdin)`);
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}
