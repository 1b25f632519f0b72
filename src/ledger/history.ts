// Whether a committed ledger only ever grew: along the first-parent history
// from the trust root, every change to it may only append whole lines at its
// end. The runner checks this before each run (a truncated ledger is not a
// refund); ga verify checks every ledger and audit log the same way.
import { firstParentPatches, type FileDiff } from '../git/log.js';
import { timelineIds, type Governance } from '../history/replay.js';
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

/** The first commit that did more than append to an agent's committed ledger, with why; undefined when it only grew. */
export async function ledgerRewrite(gov: Governance, agent: string): Promise<{ commit: string; why: string } | undefined> {
  const path = ledgerPath(agent);
  const patches = await firstParentPatches(gov.repo, [gov.head, `^${gov.root.commit}^@`], [path]);
  let lines = 0;
  // In history's order (the timeline: the first parents, each merge after what it brought in, which the first-parent patches leave out).
  for (const id of [gov.rootCommit.id, ...timelineIds(gov)]) {
    for (const d of patches.get(id) ?? []) {
      if (d.path !== path) continue;
      const why = appendProblem(d, lines);
      if (why) return { commit: id, why };
      lines += d.hunks.reduce((n, h) => n + h.added.length, 0);
    }
  }
  return undefined;
}
