// Whether an agent is paused, by the contract's tests. A marker present in
// any form (a file, a link, a directory, a gitlink; in the work tree or in
// HEAD) means paused, and so does one that history says was removed by a
// commit that does not count, and a HEAD that lost a commit this clone saw.
import { join } from 'node:path';
import { behindReading, type Governance } from '../history/replay.js';
import { agentDir, pausePath } from '../layout/layout.js';
import { fileKind, readRegularText } from '../runtime/files.js';
import { parsePause, type PauseMarker } from '../schema/pause.js';
import { historyRewound } from '../trust/highwater.js';

export interface PauseState {
  paused: boolean;
  /** Why, in words, when paused. */
  why?: string;
  /** The marker's content when readable. */
  marker?: PauseMarker;
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
  // A mark among the reading's first-parent commits is in HEAD: git is asked only for one that is not (a process, and at
  // 100,000 events some 40 ms of a command). The reading weighs here as the mark does: both live in .git/ga/.
  const rewound = await historyRewound(gov.repo, gov.head, behindReading(gov));
  if (rewound) return { paused: true, why: rewound };
  return { paused: false };
}
