// Pausing and resuming agents: pause markers written and committed; a resume
// is a signed approver's commit, refused while the cause is still there.
import { recordEvents, recordPlanned } from '../audit/record.js';
import { loadTrustedAgent } from '../agents/trusted.js';
import { budgetOf } from '../budget/budget.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { headCommit, type Repo } from '../git/repo.js';
import { requireSigning } from '../git/signing.js';
import { loadGovernance } from '../history/replay.js';
import { pausePath } from '../layout/layout.js';
import { serializePause, type PauseReason } from '../schema/pause.js';
import { pauseState, workTreeMarker } from '../agents/paused.js';
import { localRunners, PAUSE_SIGNAL } from '../runtime/processes.js';
import { raiseHighWater } from '../trust/highwater.js';
import { governedBranch, requireGovernedBranch } from '../trust/branch.js';

export interface PauseRequest {
  reason: PauseReason;
  detail: string;
  /** Actor: human:<email>, runner, watchdog. */
  by: string;
}

/**
 * Writes and commits markers for the agents not already paused, in one
 * commit on the governed branch (wherever HEAD is: checking out another
 * branch does not stop a pause); returns those paused.
 */
export async function pauseAgents(repo: Repo, agents: string[], req: PauseRequest, clock: Clock): Promise<string[]> {
  const branch = await governedBranch(repo);
  const at = clock.now();
  let todo: string[] = [];
  const landed = await recordPlanned(repo, { actor: req.by, at, ref: branch.ref }, async (head) => {
    // Decided under the repository lock: a marker committed meanwhile is not written twice.
    const tree = head ? (await repo.objects.commit(head)).tree : undefined;
    const committed = await Promise.all(agents.map((agent) => (tree ? repo.objects.entryAt(tree, pausePath(agent)) : undefined)));
    todo = agents.filter((_, i) => !committed[i]);
    if (todo.length === 0) return undefined;
    return {
      subject: todo.length === 1 ? `pause ${todo[0]} (${req.reason}): ${req.detail}` : `pause ${todo.length} agents (${req.reason}): ${req.detail}`,
      events: todo.map((agent) => ({ event: 'agent-paused', actor: req.by, agent, reason: `${req.reason}: ${req.detail}` })),
      files: todo.map((agent) => ({ path: pausePath(agent), content: serializePause({ ...req, at }) })),
    };
  });
  // A reset that drops this pause must fail closed.
  if (landed) await raiseHighWater(repo, landed.commit).catch(() => undefined);
  return todo;
}

/**
 * Signals this user's local runners of `agents` (every agent when not
 * given) on the repository at `root` to stop now, as paused: the commit
 * stops runs wherever they are, the signal stops a local run even when its
 * agent hid the marker from it. Returns the runs signalled.
 */
export function stopLocalRuns(root: string, agents?: readonly string[]): { pid: number; agent: string }[] {
  const runners = localRunners(root, agents);
  return runners.filter((r) => {
    try {
      process.kill(r.pid, PAUSE_SIGNAL);
      return true;
    } catch {
      return false; // gone meanwhile
    }
  });
}

export async function resumeAgent(
  repo: Repo,
  agent: string,
  opts: { reason: string; force: boolean; clock: Clock },
): Promise<{ commit: string; forced: boolean }> {
  const signer = await requireSigning(repo, 'ga resume');
  await requireGovernedBranch(repo, 'ga resume');
  const gov = await loadGovernance(repo);
  const trusted = await loadTrustedAgent(gov, agent);
  const state = await pauseState(gov, agent);
  const committed = await repo.objects.entryAt((await repo.objects.commit(gov.head)).tree, pausePath(agent));
  if (!state.paused) throw new UsageError(`agent ${agent} is not paused`);
  const budget = budgetOf(gov, agent, trusted.config, opts.clock.now());
  const cause =
    budget.overUsd || budget.overTokens
      ? `still over its cap in the current ${budget.window} window ($${budget.usd.toFixed(4)} of $${budget.usdCap}, ${budget.tokens} of ${budget.tokenCap} tokens)`
      : undefined;
  if (cause && !opts.force)
    throw new GovernanceRefusal(
      `resume refused: agent ${agent} is ${cause}; raise the cap in a signed commit, wait for the next window, or --force (recorded)`,
    );
  const at = opts.clock.now();
  const reason = opts.force && cause ? `${opts.reason} (forced while ${cause})` : opts.reason;
  const { commit } = await recordEvents(repo, {
    subject: `resume ${agent}: ${opts.reason}`,
    events: [{ event: 'agent-resumed', actor: `human:${signer.email}`, agent, reason, detail: { forced: Boolean(opts.force && cause) } }],
    // A signed commit even when the marker is only in the work tree or the
    // high-water mark tripped: it is the approver's word that all is well.
    files: () => (committed || workTreeMarker(repo.root, agent).present ? [{ path: pausePath(agent), remove: true }] : []),
    sign: true,
    at,
  });
  await raiseHighWater(repo, (await headCommit(repo))!, { reset: true });
  return { commit, forced: Boolean(opts.force && cause) };
}
