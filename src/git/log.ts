// Line diffs of append-only files (ledgers, audit logs) along the
// first-parent history, as git computes them. Only ga verify reads these, to
// report files that did more than grow; nothing that lets something run rests
// on them (decisions read verified objects: objects.ts, diff.ts).
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { git } from './exec.js';
import type { Repo } from './repo.js';

// A record separator with a random token per call, so that no commit message can forge a record boundary.
function separators(): { rs: string } {
  return { rs: `\x1e${randomBytes(8).toString('hex')}\x1e` };
}

export interface FileDiff {
  path: string;
  /** The file is new in this commit: its mode ("new file mode"). */
  created?: string;
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
    [
      'log',
      '--first-parent',
      '--diff-merges=first-parent',
      '--root',
      '--reverse',
      '-p',
      '-U0',
      '--no-renames',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '--no-notes',
      `--format=${rs}%H`,
      ...range,
      '--',
      ...paths,
    ],
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
      } else if (line.startsWith('new file mode ')) {
        cur.created = line.slice('new file mode '.length).trim();
      } else if (line.startsWith('deleted file mode')) {
        cur.deleted = true;
      } else if (line.startsWith('Binary files')) {
        cur.binary = true;
      } else if (line.startsWith('@@ ')) {
        const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
        if (m)
          cur.hunks.push({
            oldStart: Number(m[1]),
            oldCount: m[2] === undefined ? 1 : Number(m[2]),
            newStart: Number(m[3]),
            newCount: m[4] === undefined ? 1 : Number(m[4]),
            added: [],
            removed: 0,
          });
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
