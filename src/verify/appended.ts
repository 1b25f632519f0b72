// The append-only check's line diffs of commits the replay has already read,
// made in process from their changes (history/chain.ts: verified trees) and
// blobs, for a ga verify that goes on from a checkpoint: git log -p over the
// hundred commits since costs more than everything else such a run does.
//
// Only what git would show the very same way is made here: a text file
// added, a file deleted, a text file that grew at its end by whole lines of
// which none equals the line before them (a guard: git's diff may slide an
// insertion up over an equal line; the differential test has not seen it do
// so at the end of a file, and ledger lines, chained, never repeat). Anything else in any of the commits (a merge, a type or mode change,
// a link or a submodule, a NUL in a file's first 8,000 bytes, a file changed
// otherwise, a path git would quote, a gitattributes file that could apply)
// gives undefined: git computes the diffs, as for a full run.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FileDiff } from '../git/log.js';
import { configGet, readBlobs, type Repo } from '../git/repo.js';
import type { Commit } from '../history/replay.js';

/** git's buffer_is_binary: a NUL among the first 8,000 bytes. */
const binary = (b: Buffer) => b.subarray(0, 8000).includes(0);
const REGULAR = new Set(['100644', '100755']);
const under = (path: string, dirs: string[]) => dirs.some((d) => path === d || path.startsWith(`${d}/`));
/** A path git prints as it is (core.quotePath quotes control characters, '"', '\\' and bytes above 0x7f). */
const plain = (path: string) => /^[\x20-\x7e]*$/.test(path) && !/["\\]/.test(path);
const lines = (text: string) => (text === '' ? [] : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n'));

/** The diffs of `dirs` in each of `commits` (first-parent commits with their changes), or undefined where git must make them. */
export async function appendDiffs(repo: Repo, commits: Commit[], dirs: string[]): Promise<Map<string, FileDiff[]> | undefined> {
  const changes = commits.flatMap((c) => c.changes.filter((ch) => under(ch.path, dirs)).map((ch) => ({ c, ch })));
  if (commits.some((c) => c.parents.length > 1) || changes.some(({ ch }) => !plain(ch.path))) return undefined;
  if (changes.some(({ ch }) => ch.status === 'T' || (ch.status === 'M' && ch.oldMode !== ch.newMode))) return undefined;
  if (changes.some(({ ch }) => (ch.status !== 'A' && !REGULAR.has(ch.oldMode)) || (ch.status !== 'D' && !REGULAR.has(ch.newMode)))) return undefined;
  if (
    await attributesMayApply(
      repo,
      changes.map(({ ch }) => ch.path),
    )
  )
    return undefined;
  const blobs = await readBlobs(
    repo,
    changes.flatMap(({ ch }) => [...(ch.status === 'A' ? [] : [ch.oldBlob]), ...(ch.status === 'D' ? [] : [ch.newBlob])]),
  );
  const out = new Map<string, FileDiff[]>();
  for (const c of commits) out.set(c.id, []);
  for (const { c, ch } of changes) {
    const before = ch.status === 'A' ? Buffer.alloc(0) : blobs.get(ch.oldBlob);
    const after = ch.status === 'D' ? Buffer.alloc(0) : blobs.get(ch.newBlob);
    if (!before || !after || binary(before) || binary(after)) return undefined;
    const d = fileDiff(ch.path, ch.status, ch.newMode, before, after);
    if (!d) return undefined;
    out.get(c.id)!.push(d);
  }
  // In git's order: by path, byte by byte (which is tree order for full paths).
  for (const diffs of out.values()) diffs.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return out;
}

function fileDiff(path: string, status: string, mode: string, before: Buffer, after: Buffer): FileDiff | undefined {
  const d: FileDiff = { path, deleted: status === 'D', binary: false, hunks: [], noNewlineAtEnd: false };
  if (status === 'D') {
    const old = lines(before.toString('utf8'));
    if (old.length) d.hunks.push({ oldStart: 1, oldCount: old.length, newStart: 0, newCount: 0, added: [], removed: old.length });
    return d;
  }
  if (status === 'A') d.created = mode;
  // Grown at its end by whole lines: the old bytes, ending at a line's end, are where the new ones start.
  if (before.length > 0 && (before[before.length - 1] !== 0x0a || !after.subarray(0, before.length).equals(before))) return undefined;
  const old = lines(before.toString('utf8'));
  const text = after.subarray(before.length).toString('utf8');
  const added = lines(text);
  if (added.length === 0) return status === 'A' ? d : undefined;
  if (old.length && added.includes(old[old.length - 1]!)) return undefined;
  d.hunks.push({ oldStart: old.length, oldCount: 0, newStart: old.length + 1, newCount: added.length, added, removed: 0 });
  d.noNewlineAtEnd = !text.endsWith('\n');
  return d;
}

/**
 * Whether git could read gitattributes for any of `paths` (a `diff` or
 * `binary` attribute changes what git log -p shows): a .gitattributes in the
 * work tree on a path's way down, the repository's info/attributes, the
 * user's or the system's attributes file.
 */
async function attributesMayApply(repo: Repo, paths: string[]): Promise<boolean> {
  const dirs = new Set<string>(['']);
  for (const p of paths) for (let d = dirname(p); d !== '.' && !dirs.has(d); d = dirname(d)) dirs.add(d);
  if ([...dirs].some((d) => existsSync(join(repo.root, d, '.gitattributes')))) return true;
  const xdg = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  if ([join(repo.commonDir, 'info', 'attributes'), join(xdg, 'git', 'attributes'), '/etc/gitattributes'].some((f) => existsSync(f))) return true;
  return (await configGet(repo, 'core.attributesFile')) !== undefined;
}
