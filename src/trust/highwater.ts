// The high-water mark: the newest commit of the governed branch that this
// clone's runner, executor or watchdog has seen, kept under .git/ (outside
// the work tree). Every decision that lets something run checks that HEAD
// still contains it, so a reset or rewrite of history fails closed.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../git/exec.js';
import { readHead } from '../git/head.js';
import { madeChain, type Repo } from '../git/repo.js';
import { readRegularText } from '../runtime/files.js';
import { governedBranch, onGovernedBranch } from './branch.js';

const highWaterFile = (repo: Repo) => join(repo.commonDir, 'ga', 'high-water');

/**
 * Records a commit as seen by the runner, the executor or the watchdog (kept
 * under .git/, outside the work tree). The mark only moves forward: on a
 * history that no longer contains it, it stays (and keeps agents paused and
 * hooks from running) until a signed `ga resume` resets it.
 */
export async function raiseHighWater(
  repo: Repo,
  commit: string,
  opts: {
    reset?: boolean;
    /**
     * Commits known (read verified) to be behind `commit`: no need to ask git. `below`: the first commit under
     * `commit` that this process did not make (`commit` itself when it made none of them).
     */
    behind?: (mark: string, below: string | undefined) => boolean;
  } = {},
): Promise<void> {
  // What happens on other branches does not count (a commit ga landed on the governed branch while HEAD is elsewhere does).
  if (!(await onGovernedBranch(repo))) {
    const r = await git(['merge-base', '--is-ancestor', commit, (await governedBranch(repo)).ref], { cwd: repo.root, allowFailure: true });
    if (r.code !== 0) return;
  }
  const mark = readHighWater(repo);
  // A mark among the commits this process made under `commit`, or the one they stand on, is behind it.
  const own = madeChain(repo, commit);
  if (mark && mark !== commit && !opts.reset && !own.chain.some((c) => c.id === mark) && own.below !== mark && !opts.behind?.(mark, own.below)) {
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

/** True when HEAD still contains the newest commit ga has seen. `behind`: commits known (read verified) to be behind HEAD. */
export async function headContainsHighWater(repo: Repo, head: string, behind?: (mark: string) => boolean): Promise<{ ok: boolean; mark?: string }> {
  const mark = readHighWater(repo);
  if (!mark || mark === head || behind?.(mark)) return { ok: true, mark };
  const contains = async (tip: string) => (await git(['merge-base', '--is-ancestor', mark, tip], { cwd: repo.root, allowFailure: true })).code === 0;
  if (await contains(head)) return { ok: true, mark };
  // A reading made a moment ago, overtaken by a commit another ga process just landed (and marked): not a rewrite,
  // when the branch's tip now holds both that reading and the mark.
  const tip = await readHead(repo, (await governedBranch(repo)).ref);
  if (tip && tip !== head && (await contains(tip))) {
    const grown = (await git(['merge-base', '--is-ancestor', head, tip], { cwd: repo.root, allowFailure: true })).code === 0;
    if (grown) return { ok: true, mark };
  }
  return { ok: false, mark };
}

/** Why history no longer holds what this clone has seen, or undefined. */
export async function historyRewound(repo: Repo, head: string, behind?: (mark: string) => boolean): Promise<string | undefined> {
  const hw = await headContainsHighWater(repo, head, behind);
  return hw.ok
    ? undefined
    : `HEAD no longer contains ${hw.mark!.slice(0, 12)}, the newest commit ga has seen here: history was reset or rewritten; check it (ga verify), then ga resume`;
}
