// Whether an agent is paused, by the contract's tests, and the high-water
// mark that makes a reset or rewrite of history fail closed. A marker present
// in any form (a file, a link, a directory, a gitlink; in the work tree or in
// HEAD) means paused, and so does one that history says was removed by a
// commit that does not count.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../git/exec.js';
import type { Repo } from '../git/repo.js';
import type { Governance } from '../history/replay.js';
import { agentDir, pausePath } from '../layout/layout.js';
import { fileKind, readRegularText } from '../runtime/files.js';
import { parsePause, type PauseMarker } from '../schema/pause.js';
import { onGovernedBranch } from '../trust/branch.js';

export interface PauseState {
  paused: boolean;
  /** Why, in words, when paused. */
  why?: string;
  /** The marker's content when readable. */
  marker?: PauseMarker;
}

const highWaterFile = (repo: Repo) => join(repo.commonDir, 'ga', 'high-water');

/**
 * Records a commit as seen by the runner, the executor or the watchdog (kept
 * under .git/, outside the work tree). The mark only moves forward: on a
 * history that no longer contains it, it stays (and keeps agents paused and
 * hooks from running) until a signed `ga resume` resets it.
 */
export async function raiseHighWater(repo: Repo, commit: string, opts: { reset?: boolean } = {}): Promise<void> {
  if (!(await onGovernedBranch(repo))) return; // what happens on other branches does not count
  const mark = readHighWater(repo);
  if (mark && mark !== commit && !opts.reset) {
    const r = await git(['merge-base', '--is-ancestor', mark, commit], { cwd: repo.root, allowFailure: true });
    if (r.code !== 0) return;
  }
  const file = highWaterFile(repo);
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, `${commit}\n`);
  renameSync(tmp, file);
}

export function readHighWater(repo: Repo): string | undefined {
  const text = readRegularText(highWaterFile(repo), 4096)?.trim();
  return text && /^[0-9a-f]{40,64}$/.test(text) ? text : undefined;
}

/** True when HEAD still contains the newest commit ga has seen. */
export async function headContainsHighWater(repo: Repo, head: string): Promise<{ ok: boolean; mark?: string }> {
  const mark = readHighWater(repo);
  if (!mark || mark === head) return { ok: true, mark };
  const r = await git(['merge-base', '--is-ancestor', mark, head], { cwd: repo.root, allowFailure: true });
  return { ok: r.code === 0, mark };
}

/** Why history no longer holds what this clone has seen, or undefined. */
export async function historyRewound(repo: Repo, head: string): Promise<string | undefined> {
  const hw = await headContainsHighWater(repo, head);
  return hw.ok ? undefined : `HEAD no longer contains ${hw.mark!.slice(0, 12)}, the newest commit ga has seen here: history was reset or rewritten; check it (ga verify), then ga resume`;
}

function readMarker(text: string | undefined, file: string): PauseMarker | undefined {
  if (text === undefined) return undefined;
  try {
    return parsePause(text, file);
  } catch {
    return undefined; // a malformed marker still pauses
  }
}

/** The marker as the work tree has it: present in any form, or the agent's directory is not one ga can look into. */
export function workTreeMarker(root: string, agent: string): { present: boolean; why?: string; marker?: PauseMarker } {
  const dir = fileKind(join(root, agentDir(agent)));
  if (dir !== 'directory' && dir !== 'missing') {
    return { present: true, why: `${agentDir(agent)} is a ${dir}, not a directory: ga cannot tell whether it is paused` };
  }
  const path = pausePath(agent);
  const kind = fileKind(join(root, path));
  if (kind === 'missing') return { present: false };
  const marker = kind === 'file' ? readMarker(readRegularText(join(root, path), 64 * 1024), path) : undefined;
  return { present: true, why: marker ? `${marker.reason}: ${marker.detail} (by ${marker.by})` : `${path} is present (${kind})`, marker };
}

export async function pauseState(gov: Governance, agent: string): Promise<PauseState> {
  const path = pausePath(agent);
  const work = workTreeMarker(gov.repo.root, agent);
  if (work.present) return { paused: true, why: work.why, marker: work.marker };
  const head = await gov.repo.objects.commit(gov.head);
  const entry = await gov.repo.objects.entryAt(head.tree, path);
  if (entry) {
    const marker = entry.mode === '100644' ? readMarker((await gov.repo.objects.blob(entry.oid)).toString('utf8'), path) : undefined;
    return { paused: true, why: `${path} is in HEAD (deleted only in the work tree)${marker ? `: ${marker.reason}` : ''}`, marker };
  }
  const history = gov.markers.get(agent);
  if (history?.present) {
    return { paused: true, why: `${history.invalidRemoval ? `${history.invalidRemoval.why} (${history.invalidRemoval.commit.slice(0, 12)})` : `${path} is present by history`}; resume with ga resume` };
  }
  const rewound = await historyRewound(gov.repo, gov.head);
  if (rewound) return { paused: true, why: rewound };
  return { paused: false };
}
