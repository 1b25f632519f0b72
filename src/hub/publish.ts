// What every writing command does in a clone with a hub: publish. An
// exclusive act (an execution claim, a run's reservation) counts only once it
// is in the hub: publishAct says whether it got there, and when it did not
// (another clone was first, or the hub cannot be reached) takes the act back
// out of this clone's unpublished history, so nothing runs and nothing is
// left behind to be published later. Any other event is published on a best
// effort: a pause acts locally at once and reaches the hub when it can.
import type { Clock } from '../clock.js';
import { git } from '../git/exec.js';
import { HubUnreachable, type Hub } from '../git/remote.js';
import { headRef, type Repo } from '../git/repo.js';
import { readHead } from '../git/head.js';
import type { Governance } from '../history/replay.js';
import { withRepoLock } from '../runtime/lock.js';
import { agentContext } from '../runtime/processes.js';
import { governedBranch } from '../trust/branch.js';
import { raiseHighWater } from '../trust/highwater.js';
import { hubOf, syncWithHub, type SyncReport } from './sync.js';

export type ActPublished = { published: true; report: SyncReport } | { published: false; why: string; unreachable: boolean };

/**
 * Publishes the exclusive act committed as `commit`; when it does not reach
 * the hub, withdraws it (only while it is still this clone's newest,
 * unpublished commit) and says why.
 */
export async function publishAct(repo: Repo, hub: Hub, commit: string, clock: Clock): Promise<ActPublished> {
  let report: SyncReport;
  try {
    report = await syncWithHub(repo, { clock, hub });
  } catch (e) {
    const unreachable = e instanceof HubUnreachable;
    await withdraw(repo, commit);
    return { published: false, unreachable, why: unreachable ? `the hub cannot be reached (${(e as HubUnreachable).detail})` : (e as Error).message };
  }
  const dropped = report.dropped.find((d) => d.commit === commit);
  if (dropped) return { published: false, unreachable: false, why: dropped.why };
  // Another command's sync in this clone may have carried the act to the hub, or dropped it: the hub's history says which.
  if (!report.tip || !(await carries(repo, report.tip, commit))) {
    return { published: false, unreachable: false, why: 'another act reached the hub first and this one no longer held there' };
  }
  return { published: true, report };
}

/** Whether the history of `tip` holds `commit`, or the commit a replay re-made of it (same message: an act's message names its own run or claim). */
async function carries(repo: Repo, tip: string, commit: string): Promise<boolean> {
  if ((await git(['merge-base', '--is-ancestor', commit, tip], { cwd: repo.root, allowFailure: true })).code === 0) return true;
  const message = (await repo.objects.commit(commit)).message;
  const recent = (await git(['rev-list', '--first-parent', '-n', '500', tip], { cwd: repo.root })).stdout.toString('utf8').split('\n').filter(Boolean);
  for (const id of recent) if ((await repo.objects.commit(id)).message === message) return true;
  return false;
}

/** Takes `commit` back off the governed branch while it is the tip: an act that never reached the hub leaves nothing behind. */
async function withdraw(repo: Repo, commit: string): Promise<void> {
  await withRepoLock(repo, async () => {
    const { ref } = await governedBranch(repo);
    if ((await readHead(repo, ref)) !== commit) return;
    const parent = (await repo.objects.commit(commit)).parents[0];
    if (!parent) return;
    const moved = await git(['update-ref', '-m', 'ga: withdraw an act the hub did not take', ref, parent, commit], { cwd: repo.root, allowFailure: true });
    if (moved.code !== 0) return;
    if ((await headRef(repo).catch(() => undefined)) === ref) {
      await git(['update-index', '-q', '--refresh'], { cwd: repo.root, allowFailure: true });
      await git(['read-tree', '-m', '-u', commit, parent], { cwd: repo.root, allowFailure: true });
    }
    await raiseHighWater(repo, parent, { reset: true }).catch(() => undefined);
  }).catch(() => undefined);
}

/**
 * After a command recorded something: publish it when this clone has a hub
 * (never from inside an agent: its runner publishes for it). Returns a line
 * for the person when it could not, undefined when published or no hub.
 */
export async function publishAfter(repo: Repo, clock: Clock, gov?: Governance): Promise<string | undefined> {
  // An agent never publishes; whether this is one (a walk of /proc, some milliseconds) is asked only where there is a hub.
  let hub: Hub | undefined;
  try {
    hub = await hubOf(repo, gov);
  } catch (e) {
    return agentContext() ? undefined : `not published: ${(e as Error).message}`;
  }
  if (!hub || agentContext()) return undefined;
  try {
    const r = await syncWithHub(repo, { clock, hub });
    const lines = [
      ...r.review.map((o) => `${o.id} waits for review on branch ${o.branch}${o.url ? ` (${o.url})` : ''}: ${o.next}`),
      ...(r.dropped.length ? [`published, but the hub did not take: ${r.dropped.map((d) => `${d.subject} (${d.why})`).join('; ')}`] : []),
    ];
    return lines.length ? lines.join('\nga: ') : undefined;
  } catch (e) {
    return `recorded here, not yet in the hub: ${e instanceof HubUnreachable ? `the hub cannot be reached (${e.detail})` : (e as Error).message}; ga sync publishes it later`;
  }
}
