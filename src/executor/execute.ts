// `ga execute`: exactly once. Check the approval from history, commit a
// claim, run the trusted hook, commit the outcome. An id with a claim or an
// outcome anywhere in history is never run again.
import { recordEvents, recordPlanned } from '../audit/record.js';
import { parseTrailers, type GaEvent } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal } from '../errors.js';
import { git } from '../git/exec.js';
import { assertHistoryIsWhole, listTree, readObjects, type Repo } from '../git/repo.js';
import { checkProposalRef } from '../names.js';
import { parseProposalPath } from '../trust/governed.js';
import type { ProposalRecord } from '../history/proposals.js';
import { loadGovernance, type Governance } from '../history/replay.js';
import { proposalPath } from '../trust/governed.js';
import { findProposal } from '../proposals/find.js';
import { discardHooks, prepareHooks, runHook, type HookOutcome, type PreparedHooks } from './hooks.js';
import { join } from 'node:path';
import { runtimeDir, tryHoldLock } from '../store/lock.js';

export interface ExecutionResult {
  id: string;
  result: 'executed' | 'failed' | 'recovered-unknown' | 'refused';
  why?: string;
  hook?: HookOutcome;
}

interface RunTrail {
  claimed?: string;
  outcome?: string;
  flagged?: string;
}

/** Claims, outcomes and flags per proposal id, from every ref in the repository. */
export async function executionTrail(repo: Repo): Promise<Map<string, RunTrail>> {
  const r = await git(
    ['log', '--all', '--format=%H%x00%B%x00', '-E', '--grep=^Ga-Event: (proposal-(claimed|executed|failed)|flag-invalid-approval)$'],
    { cwd: repo.root, allowFailure: true },
  );
  const trails = new Map<string, RunTrail>();
  const parts = r.stdout.toString('utf8').split('\x00');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const commit = parts[i]!.trim();
    for (const t of parseTrailers(parts[i + 1]!)) {
      if (!t.proposal) continue;
      const trail = trails.get(t.proposal) ?? {};
      if (t.event === 'proposal-claimed') trail.claimed ??= commit;
      if (t.event === 'proposal-executed' || t.event === 'proposal-failed') trail.outcome ??= commit;
      if (t.event === 'flag-invalid-approval') trail.flagged ??= commit;
      trails.set(t.proposal, trail);
    }
  }
  return trails;
}

function outcomeOf(r: ProposalRecord, trail: RunTrail | undefined): string | undefined {
  return trail?.outcome ?? r.steps.find((s) => s.kind === 'executed' || s.kind === 'failed')?.commit;
}

/** Ids of the proposals at HEAD, from the tree alone (cheaper than a replay). */
async function proposalIdsAtHead(repo: Repo, state?: 'approved'): Promise<string[]> {
  const entries = await listTree(repo, 'HEAD', [state ? `proposals/${state}` : 'proposals']);
  return entries.map((e) => parseProposalPath(e.path)?.id).filter((id): id is string => id !== undefined);
}

export async function executeProposal(repo: Repo, ref: string, opts: { clock: Clock; timeoutMs?: number }): Promise<ExecutionResult> {
  checkProposalRef(ref);
  const atHead = (await proposalIdsAtHead(repo)).filter((id) => id.startsWith(ref));
  // The one proposal that could run has its signatures checked afresh: the cache is never evidence.
  // (One not uniquely at HEAD is not in approved/ and is refused without a signature.)
  const gov = await loadGovernance(repo, { fresh: atHead.length === 1 ? atHead : [] });
  return executeRecord(gov, findProposal(gov, ref), opts);
}

/** Every proposal in approved/: valid ones run, invalid ones are flagged, crashed claims recovered. */
export async function executeAll(repo: Repo, opts: { clock: Clock; timeoutMs?: number }): Promise<ExecutionResult[]> {
  const gov = await readForExecution(repo);
  return gov ? executeApproved(gov, opts) : [];
}

/** History read for running hooks: the approvals of what is in approved/ judged afresh; undefined if nothing is. */
export async function readForExecution(repo: Repo): Promise<Governance | undefined> {
  const approved = await proposalIdsAtHead(repo, 'approved');
  if (approved.length === 0) {
    await assertHistoryIsWhole(repo); // nothing to run, but a repository ga will not judge is still refused
    return undefined;
  }
  return loadGovernance(repo, { fresh: approved });
}

/** Runs every proposal in approved/ of a reading made for execution. */
export async function executeApproved(gov: Governance, opts: { clock: Clock; timeoutMs?: number }): Promise<ExecutionResult[]> {
  const results: ExecutionResult[] = [];
  for (const r of [...gov.proposals.values()].filter((p) => p.state === 'approved').sort((a, b) => (a.id < b.id ? -1 : 1))) {
    results.push(await executeRecord(gov, r, opts));
  }
  return results;
}

async function executeRecord(gov: Governance, r: ProposalRecord, opts: { clock: Clock; timeoutMs?: number }): Promise<ExecutionResult> {
  const done = outcomeOf(r, undefined);
  if (done) return refuse(r, `already ran (outcome in ${done.slice(0, 12)}); a proposal is never executed twice`);
  if (r.state !== 'approved') return refuse(r, `it is in ${r.state ?? 'no state'}/, not approved/`);
  // One executor per proposal in this clone: held from before the claim to after the outcome.
  const release = await tryHoldLock(join(runtimeDir(gov.repo), 'exec', r.id));
  if (!release) return refuse(r, 'another executor in this clone is running it now');
  // The trusted hooks are copied while the claim is committed: the hook starts right after it.
  const prepared = r.proposal ? prepareHooks(gov, r.proposal.agent) : undefined;
  prepared?.catch(() => undefined); // observed below; never an unhandled rejection if the claim fails first
  try {
    const step = await decide(gov, r, opts);
    if (step.kind !== 'claimed') {
      if (prepared) discardHooks(await prepared);
      return step.result;
    }
    return await runClaimed(gov, r, opts, await prepared);
  } catch (e) {
    if (e instanceof GovernanceRefusal) return refuse(r, e.message);
    throw e;
  } finally {
    await release();
  }
}

type Decision = { kind: 'claimed' } | { kind: 'settled'; result: ExecutionResult };

/**
 * Decides against the history the commit lands on, under the repository
 * lock, and records the decision in one commit: a claim, a crashed claim
 * moved to failed/, a flag, or nothing (already ran, already flagged).
 */
async function decide(gov: Governance, r: ProposalRecord, opts: { clock: Clock }): Promise<Decision> {
  const repo = gov.repo;
  const agent = r.proposal?.agent ?? 'ga';
  const title = r.proposal?.title ?? r.id;
  let decision: Decision = { kind: 'claimed' };
  await recordPlanned(repo, { actor: 'executor', at: opts.clock.now() }, async (head) => {
    const trail = (await executionTrail(repo)).get(r.id);
    const done = outcomeOf(r, trail);
    if (done) {
      decision = { kind: 'settled', result: refuse(r, `already ran (outcome in ${done.slice(0, 12)}); a proposal is never executed twice`) };
      return undefined;
    }
    if (trail?.claimed) {
      // Claimed, no outcome, and no executor holds it: it died mid-hook. Never re-run.
      decision = { kind: 'settled', result: { id: r.id, result: 'recovered-unknown', why: `claimed in ${trail.claimed.slice(0, 12)} with no outcome; moved to failed/ as outcome unknown` } };
      return {
        subject: `fail ${r.id} (outcome unknown after a crash): ${title}`,
        body: `The claim ${trail.claimed} has no outcome; the hook may or may not have run. It is not run again.`,
        events: [{ event: 'proposal-failed', actor: 'executor', agent, proposal: r.id, outcome: 'unknown' }],
        files: await moveTo(repo, r, 'failed')(head),
      };
    }
    const invalid = !r.approval?.valid ? r.approval?.why ?? 'no approval in trusted history' : r.blob !== r.submittedBlob ? 'the file differs from the one approved' : r.mode !== '100644' ? 'not a regular file' : !r.proposal ? `unreadable proposal: ${r.parseError}` : undefined;
    if (invalid) {
      decision = { kind: 'settled', result: refuse(r, `not validly approved: ${invalid}`) };
      if (trail?.flagged) return undefined; // flagged once
      return { subject: `flag invalid approval of ${r.id}: ${title}`, events: [{ event: 'flag-invalid-approval', actor: 'executor', agent, proposal: r.id, reason: invalid }], files: [] };
    }
    decision = { kind: 'claimed' };
    return { subject: `claim ${r.id}: ${title}`, events: [{ event: 'proposal-claimed', actor: 'executor', agent, proposal: r.id }], files: [] };
  });
  return decision;
}

/** Runs the trusted hook of a claimed proposal and records its outcome. */
async function runClaimed(gov: Governance, r: ProposalRecord, opts: { clock: Clock; timeoutMs?: number }, prepared: PreparedHooks | undefined): Promise<ExecutionResult> {
  const repo = gov.repo;
  const proposal = r.proposal!;
  const hook = await runHook(gov, proposal, { timeoutMs: opts.timeoutMs ?? 600_000, prepared });
  const outcome = hook.ran === 'none' ? 'no-hook' : hook.timedOut ? 'timeout' : hook.ok ? 'success' : `exit-${hook.exitCode ?? hook.signal ?? 'error'}`;
  const state = hook.ok ? 'executed' : 'failed';
  const event: GaEvent = {
    event: hook.ok ? 'proposal-executed' : 'proposal-failed',
    actor: 'executor', agent: proposal.agent, proposal: r.id, outcome,
    detail: { hook: hook.hook ?? null, exit_code: hook.exitCode, duration_ms: hook.durationMs },
  };
  const body = [
    hook.ran === 'none' ? 'No hook for this action type: executed as a no-op.' : `Hook ${hook.hook} exited ${hook.exitCode ?? hook.signal}${hook.timedOut ? ' (timed out)' : ''} after ${hook.durationMs} ms.`,
    ...(hook.tail.length ? ['', 'Last output:', ...hook.tail.map((l) => `  ${l}`)] : []),
  ].join('\n');
  await recordEvents(repo, {
    subject: `${hook.ok ? 'execute' : 'fail'} ${r.id}: ${proposal.title}`,
    body,
    events: [event],
    files: moveTo(repo, r, state),
    at: opts.clock.now(),
  });
  return { id: r.id, result: state, hook };
}

function refuse(r: ProposalRecord, why: string): ExecutionResult {
  return { id: r.id, result: 'refused', why };
}

function moveTo(repo: Repo, r: ProposalRecord, to: 'executed' | 'failed') {
  return async (head: string | undefined) => {
    const spec = `${head}:${proposalPath('approved', r.id)}`;
    const obj = (await readObjects(repo, [spec])).get(spec);
    if (!obj) throw new GovernanceRefusal(`proposal ${r.id} left approved/ meanwhile`);
    return [
      { path: proposalPath('approved', r.id), remove: true },
      { path: proposalPath(to, r.id), content: obj.content },
    ];
  };
}
