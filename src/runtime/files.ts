// Reading files outside git (under .ga/, and governance files in the work
// tree) safely: only a regular file is opened, never through a link, and
// never blocking, so a FIFO, a device, a directory or a symlink loop planted
// where ga expects a file can neither hang nor crash a command or a daemon.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, writeSync, type Stats } from 'node:fs';

export type FileKind = 'file' | 'directory' | 'symlink' | 'fifo' | 'other' | 'missing';

export function kindOf(st: Stats | undefined): FileKind {
  if (!st) return 'missing';
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/** What is at `path`, without following a link. */
export function fileKind(path: string): FileKind {
  try {
    return kindOf(lstatSync(path, { throwIfNoEntry: false }));
  } catch {
    return 'other'; // ELOOP, EACCES, ENOTDIR: something ga should not read
  }
}

/**
 * The bytes of a regular file, or undefined when there is none (missing, or
 * anything else in its place). At most `maxBytes` are read.
 */
export function readRegular(path: string, maxBytes = 64 * 1024 * 1024): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const size = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export function readRegularText(path: string, maxBytes?: number): string | undefined {
  return readRegular(path, maxBytes)?.toString('utf8');
}

/** A JSON file under .ga/ (a hint, never evidence): undefined when absent, not regular, or not JSON. */
export function readJsonHint(path: string, maxBytes = 1024 * 1024): unknown {
  const text = readRegularText(path, maxBytes);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Appends to a regular file (creating it), never through a link and never
 * blocking: anything else at the path is left alone and false is returned.
 */
export function appendRegular(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch {
    return false;
  }
  try {
    if (!fstatSync(fd).isFile()) return false;
    writeSync(fd, text);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
