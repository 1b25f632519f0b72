// The diff a person reads before signing, computed from the very bytes that
// will be committed. `git diff HEAD -- path` in the repository would read the
// work tree again (which may have changed since), through the repository's
// attributes (.gitattributes, .git/info/attributes): an `ident` or filter
// shows other bytes than those committed, `-diff` hides them as "Binary
// files differ", and an untracked file shows nothing at all. Here both sides
// are written to a fresh directory outside any repository and compared with
// `git diff --no-index --text`, with no config but ga's own hardening, and the
// blob ids git prints for what it compared are checked against the bytes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InternalError } from '../errors.js';
import { visibleLine } from '../text/visible.js';
import { git } from './exec.js';
import { objectId } from './objects.js';

/** One side of a diff: exact bytes and git file mode. */
export interface Side {
  content: Buffer;
  mode: string;
}

/** The git blob id of `content` (sha1, or sha256 for a 64-digit id length). */
export function blobId(content: Buffer, length = 40): string {
  return objectId('blob', content, length);
}

/**
 * `path` from `before` (undefined: not in HEAD) to `after` (undefined:
 * removed), in git's format; '' when nothing changes. Every byte of both
 * sides is shown as text (never "Binary files differ"); bytes that are not
 * UTF-8 appear as \xNN. Control characters are left for the terminal writer
 * to make visible, except in the path, which stays on its header line.
 */
export async function diffBytes(path: string, before: Side | undefined, after: Side | undefined): Promise<string> {
  if (!before && !after) return '';
  if (before && after && before.mode === after.mode && before.content.equals(after.content)) return '';
  const name = visibleLine(path);
  const head = [`diff --git a/${name} b/${name}`];
  if (!before) head.push(`new file mode ${after!.mode}`, `(a new file, not in HEAD: all ${after!.content.length} bytes of it are shown as added lines)`);
  else if (!after) head.push(`deleted file mode ${before.mode}`);
  else if (before.mode !== after.mode) head.push(`old mode ${before.mode}`, `new mode ${after.mode}`);
  const oldBytes = before?.content ?? Buffer.alloc(0);
  const newBytes = after?.content ?? Buffer.alloc(0);
  if (oldBytes.equals(newBytes)) return [...head, oldBytes.length ? '(content unchanged)' : '(empty file)', ''].join('\n');
  head.push(`--- ${before ? `a/${name}` : '/dev/null'}`, `+++ ${after ? `b/${name}` : '/dev/null'}`);
  const hunks = await textDiff(oldBytes, newBytes);
  return [...head, decodeVisibly(hunks)].join('\n');
}

/** The hunks (from the first @@ line) of `git diff --no-index --text` between two buffers. */
async function textDiff(oldBytes: Buffer, newBytes: Buffer): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'ga-diff-'));
  try {
    writeFileSync(join(dir, 'old'), oldBytes, { mode: 0o600 });
    writeFileSync(join(dir, 'new'), newBytes, { mode: 0o600 });
    const r = await git(
      [
        '-c',
        'core.attributesFile=/dev/null',
        'diff',
        '--no-index',
        '--text',
        '--no-color',
        '--no-ext-diff',
        '--no-textconv',
        '--no-renames',
        '--full-index',
        '--unified=3',
        '--',
        'old',
        'new',
      ],
      {
        cwd: dir,
        allowFailure: true,
        // No config file at all (user or system): only ga's own -c settings apply, and no repository is found above.
        env: { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_CEILING_DIRECTORIES: dirname(dir), HOME: dir, XDG_CONFIG_HOME: dir },
      },
    );
    if (r.code !== 1) throw new InternalError(`git diff --no-index failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
    const out = r.stdout;
    const at = out.indexOf('\n@@');
    const header = (at < 0 ? out : out.subarray(0, at)).toString('utf8');
    // git names the blobs it compared: they must be exactly these bytes (no filter, no conversion, no swap).
    const index = /^index ([0-9a-f]+)\.\.([0-9a-f]+)/m.exec(header);
    if (!index || index[1] !== blobId(oldBytes, index[1]!.length) || index[2] !== blobId(newBytes, index[2]!.length) || at < 0) {
      throw new InternalError('the diff git produced is not of the bytes ga would sign; nothing was signed');
    }
    return out.subarray(at + 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** UTF-8 text as is; any byte that is not part of a valid UTF-8 sequence as a visible \xNN. */
export function decodeVisibly(bytes: Buffer): string {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = utf8Length(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    parts.push(bytes.subarray(start, i).toString('utf8'), `\\x${bytes[i]!.toString(16).padStart(2, '0')}`);
    i += 1;
    start = i;
  }
  parts.push(bytes.subarray(start).toString('utf8'));
  return parts.join('');
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
