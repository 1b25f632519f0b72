// Whether a committed ledger only ever grew: along the first-parent history
// from the trust root, every change to it may only append whole lines at its
// end. The runner checks this before each run (a truncated ledger is not a
// refund); ga verify checks every ledger and audit log the same way.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { firstParentPatches, type FileDiff } from '../git/log.js';
import { placesInTimeline, timelineIds, type Governance } from '../history/replay.js';
import { readJsonHint, writeFileAtomic } from '../runtime/files.js';
import { ledgerPath } from '../layout/layout.js';

/** Why a change to an append-only file is not a pure append at its end (it had `oldLines` lines), or undefined. */
export function appendProblem(d: FileDiff, oldLines: number): string | undefined {
  if (d.deleted) return 'an append-only file was deleted';
  if (d.binary) return 'an append-only file became binary';
  if (d.hunks.some((h) => h.removed > 0)) return 'lines were removed or edited: the file may only grow';
  if (d.hunks.length > 1 || (d.hunks[0] && d.hunks[0].oldStart !== oldLines)) return 'lines were inserted before the end: the file may only grow at its end';
  if (d.noNewlineAtEnd) return 'the last line has no newline (torn)';
  return undefined;
}

/** Where the last check of an agent's committed ledger found it had only grown: through which commit (of which root's timeline), and how many lines it had there. */
interface Checked {
  root: string;
  through: string;
  lines: number;
}

const checkedFile = (gov: Governance, agent: string) => join(gov.repo.commonDir, 'ga', 'ledger-checked', `${agent}.json`);

function readChecked(gov: Governance, agent: string): Checked | undefined {
  const c = readJsonHint(checkedFile(gov, agent), 4096) as Partial<Checked> | undefined;
  return c && typeof c.root === 'string' && typeof c.through === 'string' && Number.isSafeInteger(c.lines) && c.lines! >= 0 ? (c as Checked) : undefined;
}

/**
 * The first commit that did more than append to an agent's committed
 * ledger, with why; undefined when it only grew. A check that finds it only
 * grew is remembered under .git/ga/ (beside the saved reading, and guarded
 * as it is): the next one reads the patches of the commits since, when that
 * commit is still in the timeline, not those of all of history (about a
 * second at 100,000 events, on every run).
 */
export async function ledgerRewrite(gov: Governance, agent: string): Promise<{ commit: string; why: string } | undefined> {
  const path = ledgerPath(agent);
  const root = gov.root.commit;
  const checked = readChecked(gov, agent);
  const place = checked?.root === root ? (checked.through === gov.rootCommit.id ? -1 : placesInTimeline(gov).get(checked.through)) : undefined;
  const from = place === undefined ? undefined : { place, lines: checked!.lines, through: checked!.through };
  const patches = await firstParentPatches(gov.repo, [gov.head, from ? `^${from.through}` : `^${root}^@`], [path]);
  let lines = from?.lines ?? 0;
  // In history's order (the timeline: the first parents, each merge after what it brought in, which the first-parent patches leave out).
  for (const id of from ? timelineIds(gov, from.place + 1) : [gov.rootCommit.id, ...timelineIds(gov)]) {
    for (const d of patches.get(id) ?? []) {
      if (d.path !== path) continue;
      const why = appendProblem(d, lines);
      if (why) return { commit: id, why };
      lines += d.hunks.reduce((n, h) => n + h.added.length, 0);
    }
  }
  try {
    mkdirSync(dirname(checkedFile(gov, agent)), { recursive: true, mode: 0o700 });
    writeFileAtomic(checkedFile(gov, agent), Buffer.from(`${JSON.stringify({ root, through: gov.head, lines } satisfies Checked)}\n`));
  } catch {
    // Not remembered: the next check reads all of history again.
  }
  return undefined;
}
