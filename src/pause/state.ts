// Whether an agent is paused, by the contract's four tests, and the
// high-water mark that makes a reset or rewrite of history fail closed.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrailers } from '../audit/events.js';
import { git } from '../git/exec.js';
import { readObjects, type Repo } from '../git/repo.js';
import type { Governance } from '../history/replay.js';
import { parsePause, pausePath, type PauseMarker } from '../schema/pause.js';

export interface PauseState {
  paused: boolean;
  /** Why, in words, when paused. */
  why?: string;
  /** The marker's content when readable. */
  marker?: PauseMarker;
}

const highWaterFile = (repo: Repo) => join(repo.gitDir, 'ga', 'high-water');

/**
 * Records a commit as seen by the runner or watchdog (kept under .git/,
 * outside the work tree). The mark only moves forward: on a history that no
 * longer contains it, it stays (and keeps agents paused) until a signed
 * `ga resume` resets it.
 */
export async function raiseHighWater(repo: Repo, commit: string, opts: { reset?: boolean } = {}): Promise<void> {
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
  try {
    return readFileSync(highWaterFile(repo), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True when HEAD still contains the newest commit ga has seen. */
export async function headContainsHighWater(repo: Repo, head: string): Promise<{ ok: boolean; mark?: string }> {
  const mark = readHighWater(repo);
  if (!mark || mark === head) return { ok: true, mark };
  const r = await git(['merge-base', '--is-ancestor', mark, head], { cwd: repo.root, allowFailure: true });
  return { ok: r.code === 0, mark };
}

function readMarker(text: string, file: string): PauseMarker | undefined {
  try {
    return parsePause(text, file);
  } catch {
    return undefined; // a malformed marker still pauses
  }
}

export async function pauseState(gov: Governance, agent: string): Promise<PauseState> {
  const path = pausePath(agent);
  const abs = join(gov.repo.root, path);
  if (existsSync(abs)) {
    const marker = readMarker(readFileSync(abs, 'utf8'), path);
    return { paused: true, why: marker ? `${marker.reason}: ${marker.detail} (by ${marker.by})` : `${path} is present`, marker };
  }
  const spec = `${gov.head}:${path}`;
  const committed = (await readObjects(gov.repo, [spec])).get(spec);
  if (committed) {
    const marker = readMarker(committed.content.toString('utf8'), path);
    return { paused: true, why: `${path} is in HEAD (deleted only in the work tree)${marker ? `: ${marker.reason}` : ''}`, marker };
  }
  // The newest commit that removed the marker or resumed the agent must be an approver's.
  const removal = [...gov.commits].reverse().find(
    (c) => c.changes.some((ch) => ch.path === path && ch.status === 'D') || parseTrailers(c.message).some((t) => t.event === 'agent-resumed' && t.agent === agent),
  );
  if (removal) {
    const sig = await gov.signatureOf(removal, true);
    if (sig.status !== 'good') {
      return { paused: true, why: `${path} was removed by ${removal.id.slice(0, 12)}, which is not a signed approver's commit (${sig.status}); resume with ga resume` };
    }
  }
  const hw = await headContainsHighWater(gov.repo, gov.head);
  if (!hw.ok) {
    return { paused: true, why: `HEAD no longer contains ${hw.mark!.slice(0, 12)}, the newest commit ga has seen: history was reset or rewritten; check it, then ga resume` };
  }
  return { paused: false };
}
