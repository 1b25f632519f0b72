// Reading files outside git (under .ga/, and governance files in the work
// tree) safely: only a regular file is opened, never through a link, and
// never blocking, so a FIFO, a device, a directory or a symlink loop planted
// where ga expects a file can neither hang nor crash a command or a daemon.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';

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
 * Reads from `fd` until end of file or `limit` bytes, whichever comes first.
 * The size fstat reports is never trusted: /proc files say 0, a file can
 * grow while it is read, and a device has no size at all.
 */
export function readUpTo(fd: number, limit: number, sizeHint = 0): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  // The size fstat gave sizes the first buffer, one byte over, so that the read that sees the end lands in the same
  // buffer (a fresh buffer of 64 KiB for a file of 200 bytes is costly where memory is slow to map in).
  let chunk = Buffer.allocUnsafe(Math.min(sizeHint > 0 ? sizeHint + 1 : 64 * 1024, limit));
  let at = 0;
  while (total < limit) {
    if (at === chunk.length) {
      chunks.push(chunk);
      chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit - total));
      at = 0;
    }
    let n: number;
    try {
      n = readSync(fd, chunk, at, chunk.length - at, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a non-blocking pipe with nothing yet
      continue;
    }
    if (n === 0) break;
    at += n;
    total += n;
  }
  if (at) chunks.push(chunk.subarray(0, at));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/**
 * `read` on the open descriptor of a regular file (never following a
 * symbolic link), or undefined when there is none (missing, or anything else
 * in its place) or reading it fails.
 */
function withRegular<T>(path: string, read: (fd: number, st: Stats) => T | undefined): T | undefined {
  return withOpen(path, (fd) => {
    const st = fstatSync(fd);
    return st.isFile() ? read(fd, st) : undefined;
  });
}

/** `read` on a descriptor opened without following a link and without blocking, or undefined when opening or reading fails. */
function withOpen<T>(path: string, read: (fd: number) => T | undefined): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of a regular file, or undefined when there is none (missing, or
 * anything else in its place). At most `maxBytes` are read.
 */
export function readRegular(path: string, maxBytes = 64 * 1024 * 1024): Buffer | undefined {
  return withRegular(path, (fd, st) => readUpTo(fd, maxBytes, st.size));
}

/** The buffer readHashed reads a small file into (most loose objects are a few hundred bytes). */
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The bytes of a file whose content is checked against the digest it is
 * named by (a loose object) before anything uses it, at most `maxBytes`, or
 * undefined when it cannot be opened or read. Three system calls where
 * readRegular makes five: no fstat for a file that fits the scratch buffer,
 * and a read that comes back short is taken as the end of the file. That is
 * safe only because of the check: the open neither follows a link nor
 * blocks, a read that would block fails at once (no wait), and whatever
 * else stands at that name (a FIFO, a directory, a file still being
 * written) reads as nothing, or as bytes that are not the object's. A file
 * that fills the buffer is read on into one of the size fstat gives (a 650
 * KB wide tree, not copied from buffer to growing buffer).
 */
export function readHashed(path: string, maxBytes: number): Buffer | undefined {
  return withOpen(path, (fd) => {
    const first = Math.min(scratch.length, maxBytes);
    const n = readSync(fd, scratch, 0, first, null);
    if (n < first || n === maxBytes) return Buffer.from(scratch.subarray(0, n));
    const size = Math.min(maxBytes, Math.max(fstatSync(fd).size, n) + 1); // one byte over: the read that sees the end lands in it
    const whole = Buffer.allocUnsafe(size);
    scratch.copy(whole, 0, 0, n);
    let at = n;
    for (;;) {
      const room = size - at;
      if (room === 0) return whole; // at maxBytes: what a longer file has past it is not read
      const got = readSync(fd, whole, at, room, null);
      at += got;
      if (got < room) return whole.subarray(0, at);
    }
  });
}

/** `n` bytes of a regular file from offset `at`, or undefined when there is no such file or it is shorter. */
export function readRegularRange(path: string, at: number, n: number): Buffer | undefined {
  return withRegular(path, (fd) => {
    const buf = readBytesAt(fd, at, n);
    return buf.length === n ? buf : undefined;
  });
}

/** Reads the open file's bytes from `at` into `buf` (the first `n` of it, all of it by default) until it is full or the file ends; how many were read. */
export function readFullAt(fd: number, buf: Buffer, at: number, n = buf.length): number {
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, at + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

/** Up to `n` bytes of the open file from `at` (fewer at its end). */
export function readBytesAt(fd: number, at: number, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  return buf.subarray(0, readFullAt(fd, buf, at, n));
}

/** What reading a file named on the command line gave: its bytes, or why not. */
export type InputRead = { ok: true; bytes: Buffer } | { ok: false; why: 'too-large' | 'not-regular' | 'unreadable'; kind?: FileKind; code?: string };

/**
 * A file the user named (`--file F`, or `-` for stdin): at most `maxBytes`,
 * bounded however it lies about its size. A named file must be a regular
 * file (a link to one is followed, as any command line tool does); a FIFO, a
 * device such as /dev/zero or a directory is refused before a byte is read,
 * and opening never blocks. Stdin is read as it is, up to the bound.
 */
export function readInputFile(path: string, maxBytes: number): InputRead {
  if (path === '-') {
    try {
      const bytes = readUpTo(0, maxBytes + 1);
      return bytes.length > maxBytes ? { ok: false, why: 'too-large' } : { ok: true, bytes };
    } catch (e) {
      return { ok: false, why: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
  }
  let fd: number;
  try {
    // stat first, so that a device is never even opened (opening some has effects); fstat below decides.
    const st = statSync(path);
    if (!st.isFile()) return { ok: false, why: 'not-regular', kind: kindOf(st) };
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, why: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, why: 'not-regular', kind: kindOf(st) };
    const bytes = readUpTo(fd, maxBytes + 1);
    return bytes.length > maxBytes ? { ok: false, why: 'too-large' } : { ok: true, bytes };
  } catch (e) {
    return { ok: false, why: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
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
 * Writes `data` to `file` whole or not at all: a temporary file, readable by
 * its owner only, renamed over it. On failure the temporary file goes and
 * the error is thrown.
 */
export function writeFileAtomic(file: string, ...data: Buffer[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      for (const d of data) for (let at = 0; at < d.length;) at += writeSync(fd, d, at);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
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
