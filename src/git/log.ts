// History as data: the first-parent log with each commit's changes against
// its first parent, and the signature and signed payload of a commit object.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { git } from './exec.js';
import type { Repo } from './repo.js';
import { readObjects } from './repo.js';

export interface Change {
  status: 'A' | 'M' | 'D' | 'T';
  path: string;
  oldMode: string;
  newMode: string;
  oldBlob: string;
  newBlob: string;
}

export interface Commit {
  id: string;
  parents: string[];
  /** Committer time. */
  committedAt: Date;
  authorName: string;
  authorEmail: string;
  message: string;
  changes: Change[];
}

// Record and field separators carry a random token per call, so that no
// commit message can forge a record boundary or a line of the raw diff.
function separators(): { rs: string; us: string } {
  const token = randomBytes(8).toString('hex');
  return { rs: `\x1e${token}\x1e`, us: `\x1f${token}\x1f` };
}

export const ZERO_OID = '0000000000000000000000000000000000000000';

/**
 * Commits on the first-parent chain of `to`, oldest first, each with its raw
 * diff against its first parent (a root commit against the empty tree).
 * `range` is passed to git as is (`root..HEAD`, `HEAD`, ...).
 */
export async function firstParentLog(repo: Repo, range: string[], extra: string[] = []): Promise<Commit[]> {
  const { rs, us } = separators();
  const r = await git(
    [
      'log', '--first-parent', '--diff-merges=first-parent', '--root', '--reverse', '--raw', '--no-renames',
      '--no-abbrev', '--no-ext-diff', '--no-textconv', '--no-notes', '--no-color',
      `--format=${rs}%H${us}%P${us}%ct${us}%an${us}%ae${us}%B${us}`, ...extra, ...range, '--',
    ],
    { cwd: repo.root },
  );
  return parseLog(r.stdout.toString('utf8'), rs, us);
}

export function parseLog(text: string, rs: string, us: string): Commit[] {
  const commits: Commit[] = [];
  for (const record of text.split(rs)) {
    if (!record) continue;
    const fields = record.split(us);
    if (fields.length !== 7) continue;
    const [id, parents, ct, an, ae, message, raw] = fields as [string, string, string, string, string, string, string];
    const changes: Change[] = [];
    for (const line of raw.split('\n')) {
      if (!line.startsWith(':')) continue;
      const tab = line.indexOf('\t');
      const [oldMode, newMode, oldBlob, newBlob, status] = line.slice(1, tab).split(' ');
      changes.push({
        status: (status ?? 'M').charAt(0) as Change['status'],
        path: line.slice(tab + 1),
        oldMode: oldMode!, newMode: newMode!, oldBlob: oldBlob!, newBlob: newBlob!,
      });
    }
    commits.push({
      id,
      parents: parents ? parents.split(' ') : [],
      committedAt: new Date(Number(ct) * 1000),
      authorName: an,
      authorEmail: ae,
      message,
      changes,
    });
  }
  return commits;
}

export interface SignedCommit {
  /** The armored signature from the gpgsig header. */
  signature: string;
  /** The commit object without its signature header: what was signed. */
  payload: Buffer;
}

/** Splits signed commit objects into signature and payload; unsigned ones map to undefined. */
export async function readCommitSignatures(repo: Repo, ids: string[]): Promise<Map<string, SignedCommit | undefined>> {
  const objects = await readObjects(repo, ids);
  const out = new Map<string, SignedCommit | undefined>();
  for (const id of ids) {
    const obj = objects.get(id);
    out.set(id, obj ? splitSignature(obj.content) : undefined);
  }
  return out;
}

export function splitSignature(raw: Buffer): SignedCommit | undefined {
  const text = raw.toString('utf8');
  const headerEnd = text.indexOf('\n\n');
  const headers = (headerEnd < 0 ? text : text.slice(0, headerEnd)).split('\n');
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  for (const line of headers) {
    if (line.startsWith('gpgsig ')) {
      inSig = true;
      sig.push(line.slice('gpgsig '.length));
      continue;
    }
    if (inSig && line.startsWith(' ')) {
      sig.push(line.slice(1));
      continue;
    }
    inSig = false;
    kept.push(line);
  }
  if (sig.length === 0) return undefined;
  const rest = headerEnd < 0 ? '' : text.slice(headerEnd);
  return { signature: sig.join('\n') + '\n', payload: Buffer.from(kept.join('\n') + rest, 'utf8') };
}

export interface FileDiff {
  path: string;
  deleted: boolean;
  binary: boolean;
  hunks: { oldStart: number; oldCount: number; newStart: number; newCount: number; added: string[]; removed: number }[];
  /** The new version ends without a newline. */
  noNewlineAtEnd: boolean;
}

/**
 * Line diffs (-U0) of `paths` for each first-parent commit of `range`, oldest
 * first: enough to check that append-only files were only appended to,
 * reading each change once instead of every version of every file.
 */
export async function firstParentPatches(repo: Repo, range: string[], paths: string[]): Promise<Map<string, FileDiff[]>> {
  const [tip, ...rest] = range;
  // Diffs cost CPU in git: long histories are cut at first-parent ancestors into one part per core.
  const count = Number((await git(['rev-list', '--first-parent', '--count', ...range, '--'], { cwd: repo.root })).stdout.toString().trim());
  const parts = count > 2000 ? availableParallelism() : 1;
  const cuts = Array.from({ length: parts - 1 }, (_, i) => `${tip}~${Math.floor(((i + 1) * count) / parts)}`);
  const ranges = [tip, ...cuts].map((top, i) => (i < cuts.length ? [top, `^${cuts[i]}`] : [top, ...rest]));
  const maps = await Promise.all(ranges.map((r) => patchesOf(repo, r as string[], paths)));
  return new Map(maps.flatMap((m) => [...m]));
}

async function patchesOf(repo: Repo, range: string[], paths: string[]): Promise<Map<string, FileDiff[]>> {
  const { rs } = separators();
  const r = await git(
    ['log', '--first-parent', '--diff-merges=first-parent', '--root', '--reverse', '-p', '-U0', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv', '--no-notes', `--format=${rs}%H`, ...range, '--', ...paths],
    { cwd: repo.root },
  );
  const out = new Map<string, FileDiff[]>();
  for (const record of r.stdout.toString('utf8').split(rs)) {
    if (!record) continue;
    const nl = record.indexOf('\n');
    const id = (nl < 0 ? record : record.slice(0, nl)).trim();
    const diffs: FileDiff[] = [];
    let cur: FileDiff | undefined;
    let lastWasAdd = false;
    for (const line of record.slice(nl + 1).split('\n')) {
      if (line.startsWith('diff --git ')) {
        const m = / b\/(.*)$/.exec(line);
        cur = { path: m?.[1] ?? '', deleted: false, binary: false, hunks: [], noNewlineAtEnd: false };
        diffs.push(cur);
      } else if (!cur) {
        continue;
      } else if (line.startsWith('deleted file mode')) {
        cur.deleted = true;
      } else if (line.startsWith('Binary files')) {
        cur.binary = true;
      } else if (line.startsWith('@@ ')) {
        const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
        if (m) cur.hunks.push({ oldStart: Number(m[1]), oldCount: m[2] === undefined ? 1 : Number(m[2]), newStart: Number(m[3]), newCount: m[4] === undefined ? 1 : Number(m[4]), added: [], removed: 0 });
      } else if (cur.hunks.length && line.startsWith('+') && !line.startsWith('+++ ')) {
        cur.hunks[cur.hunks.length - 1]!.added.push(line.slice(1));
        lastWasAdd = true;
        continue;
      } else if (cur.hunks.length && line.startsWith('-') && !line.startsWith('--- ')) {
        cur.hunks[cur.hunks.length - 1]!.removed++;
      } else if (line.startsWith('\\') && lastWasAdd) {
        cur.noNewlineAtEnd = true;
      }
      lastWasAdd = false;
    }
    out.set(id, diffs);
  }
  return out;
}
