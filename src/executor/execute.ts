// `ga execute`: exactly once. Check the approval from history, commit a claim
// that carries a lease, run the trusted hook, commit the outcome. A proposal
// with a claim or an outcome on the governed branch (first parents and what
// merges brought in; never tags or other refs) is never run again; a claim
// whose lease is still live is never declared dead; a claim whose lease ran
// out is recorded as outcome unknown; an outcome that arrives after that is
// still recorded, as evidence. Nothing runs while HEAD has lost a commit this
// clone has seen (the high-water mark).
import { recordEvents, recordPlanned } from '../audit/record.js';
import type { GaEvent } from '../audit/events.js';
import { leaseUntil, rfc3339, type Clock } from '../clock.js';
import { GovernanceRefusal } from '../errors.js';
import type { DeferredIndex } from '../git/commit.js';
import { readFileAt, type Repo } from '../git/repo.js';
import type { ProposalRecord } from '../history/proposals.js';
import { behindReading, loadGovernance, type ExecutionTrail, type Governance } from '../history/replay.js';
import { newId, proposalPath } from '../layout/layout.js';
import { hostname } from 'node:os';
import { historyRewound, raiseHighWater } from '../trust/highwater.js';
import { hubOf } from '../hub/sync.js';
import { publishAct, publishAfter } from '../hub/publish.js';
import { findProposal } from '../history/find.js';
import { governedBranch, onGovernedBranch } from '../trust/branch.js';
import { readChainSince } from '../history/chain.js';
import { parseTrailers } from '../audit/events.js';
import { discardHooks, prepareHooks, runHook, type HookOutcome, type PreparedHooks } from './hooks.js';
import { probeContainment } from '../runtime/process.js';

/** Why an execution was refused, for callers that act on it (the words are in `why`). */
export type RefusalCode = 'already-ran' | 'claimed' | 'not-approved' | 'off-branch' | 'not-run';

export interface ExecutionResult {
  id: string;
  result: 'executed' | 'failed' | 'recovered-unknown' | 'refused';
  refusal?: RefusalCode;
  why?: string;
  hook?: HookOutcome;
  /** The outcome was recorded after the claim had been given up as unknown. */
  late?: boolean;
}

export interface ExecuteOptions {
  clock: Clock;
  /** The hook's time limit (default 10 minutes). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 600_000;

export async function executeProposal(repo: Repo, ref: string, opts: ExecuteOptions): Promise<ExecutionResult> {
  const gov = await readForExecution(repo);
  return executeRecord(gov, findProposal(gov, ref), opts);
}

/** Every proposal in approved/: valid ones run, invalid ones are flagged, dead claims recovered. */
export async function executeAll(repo: Repo, opts: ExecuteOptions): Promise<ExecutionResult[]> {
  return executeApproved(await readForExecution(repo), opts);
}

/** History read for running hooks; refused when HEAD lost a commit this clone has seen. */
export async function readForExecution(repo: Repo): Promise<Governance> {
  void probeContainment(); // how a hook will be contained, found while history is read
  const gov = await loadGovernance(repo);
  await requireWholeHistory(gov);
  return gov;
}

export async function requireWholeHistory(gov: Governance): Promise<void> {
  const rewound = await historyRewound(gov.repo, gov.head, behindReading(gov));
  if (rewound) throw new GovernanceRefusal(`nothing is executed: ${rewound}`);
}

/** Runs every proposal in approved/ of a reading made for execution. */
export async function executeApproved(gov: Governance, opts: ExecuteOptions): Promise<ExecutionResult[]> {
  const results: ExecutionResult[] = [];
  for (const r of gov.proposals.live('approved').sort((a, b) => (a.id < b.id ? -1 : 1))) {
    results.push(await executeRecord(gov, r, opts));
  }
  return results;
}

async function executeRecord(gov: Governance, r: ProposalRecord, opts: ExecuteOptions): Promise<ExecutionResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const early = settled(r, gov.executions.get(r.id), opts.clock.now());
  if (early && early.kind === 'refuse') return refuse(r, early.code, early.why);
  if (!early && r.state !== 'approved') return refuse(r, 'not-approved', `it is in ${r.state ?? 'no state'}/, not approved/`);
  // The trusted hooks are copied while the claim is committed: the hook starts right after it.
  const prepared = r.proposal && !early ? prepareHooks(gov, r.proposal.agent) : undefined;
  prepared?.catch(() => undefined); // observed below; never an unhandled rejection if the claim fails first
  let claimIndex: DeferredIndex | undefined;
  try {
    const step = await decide(gov, r, opts, timeoutMs, prepared);
    if (step.kind !== 'claimed') {
      if (prepared) await prepared.then(discardHooks, () => undefined);
      // An outcome given up as unknown reaches the other clones now, not at the next sync.
      if (step.result.result === 'recovered-unknown' && (await hubOf(gov.repo, gov))) await publishAfter(gov.repo, opts.clock, gov);
      return step.result;
    }
    // With a hub, the claim counts only once it is in the hub: the hook starts after that, or not at all.
    const hub = await hubOf(gov.repo, gov);
    // A claim the hub does not take is withdrawn from the index as the claim left it: then the index is updated first.
    if (hub) await step.index?.sync();
    else claimIndex = step.index;
    if (hub && step.commit) {
      const p = await publishAct(gov.repo, hub, step.commit, opts.clock);
      if (!p.published) {
        if (prepared) await prepared.then(discardHooks, () => undefined);
        return refuse(r, p.unreachable ? 'not-run' : 'claimed', `not run: the claim did not reach the hub: ${p.why}`);
      }
    }
    const result = await runClaimed(gov, r, opts, timeoutMs, await prepared!, Boolean(hub), claimIndex);
    if (hub) await publishAfter(gov.repo, opts.clock, gov); // the outcome; a later ga sync publishes it if the hub is away now
    return result;
  } catch (e) {
    if (prepared) await prepared.then(discardHooks, () => undefined);
    if (e instanceof GovernanceRefusal) return refuse(r, 'not-run', e.message);
    throw e;
  } finally {
    await claimIndex?.sync(); // done or carried already, unless the hook never started
  }
}

type Settled = { kind: 'refuse'; code: RefusalCode; why: string } | { kind: 'recover'; claim: string } | undefined;

/** What the trail of executions already decides: ran, running elsewhere, or a dead claim to recover. */
function settled(r: ProposalRecord, trail: ExecutionTrail | undefined, now: Date): Settled {
  const done = trail?.outcomes[0] ?? r.steps.find((s) => s.kind === 'executed' || s.kind === 'failed');
  if (done) return { kind: 'refuse', code: 'already-ran', why: `already ran (outcome in ${done.commit.slice(0, 12)}); a proposal is never executed twice` };
  const claim = trail?.claims[trail.claims.length - 1];
  if (!claim) return undefined;
  // A claim without a lease (older histories) is live for the default time limit.
  const lease = claim.leaseUntil ?? leaseUntil(claim.at, DEFAULT_TIMEOUT_MS);
  if (lease.getTime() > now.getTime()) {
    return {
      kind: 'refuse',
      code: 'claimed',
      why: `claimed in ${claim.commit.slice(0, 12)} by an executor that is running it now (its lease is live until ${rfc3339(lease)}); a live claim is never declared dead`,
    };
  }
  return { kind: 'recover', claim: claim.commit };
}

/** A claim that landed; its index update (which the caller must see done) is made while the hook runs, or with the outcome's. */
type Decision = { kind: 'claimed'; commit?: string; index?: DeferredIndex } | { kind: 'settled'; result: ExecutionResult };

/** The claims and outcomes for `id` in the commits that landed after the reading (under the repository lock). */
async function trailSince(gov: Governance, head: string | undefined, id: string): Promise<ExecutionTrail> {
  const trail: ExecutionTrail = { claims: [], outcomes: [] };
  if (!head || head === gov.head) return trail;
  const added = await readChainSince(gov.repo, head, gov.head);
  if (!added) throw new GovernanceRefusal(`the branch was rewritten while ga was executing ${id}; run it again`);
  for (const c of added.flatMap((m) => [...(m.merge?.brought ?? []), m])) {
    for (const t of parseTrailers(c.message)) {
      if (t.proposal !== id) continue;
      if (t.event === 'proposal-claimed') trail.claims.push({ commit: c.id, at: c.committedAt, leaseUntil: t.lease ? new Date(t.lease) : undefined });
      if (t.event === 'proposal-executed' || t.event === 'proposal-failed')
        trail.outcomes.push({ commit: c.id, event: t.event, outcome: t.outcome, movedFile: true });
    }
  }
  return trail;
}

/**
 * Decides against the history the commit lands on, under the repository
 * lock, and records the decision in one commit: a claim, a dead claim moved
 * to failed/, a flag, or nothing (already ran, running, already flagged).
 */
async function decide(
  gov: Governance,
  r: ProposalRecord,
  opts: ExecuteOptions,
  timeoutMs: number,
  prepared: Promise<PreparedHooks> | undefined,
): Promise<Decision> {
  const repo = gov.repo;
  const agent = r.proposal?.agent ?? 'ga';
  const title = r.proposal?.title ?? r.id;
  let decision: Decision = { kind: 'claimed' };
  const now = opts.clock.now();
  const governed = await onGovernedBranch(repo);
  const landed = await recordPlanned(repo, { actor: 'executor', at: now, deferIndex: true }, async (head) => {
    const before = gov.executions.get(r.id);
    const since = await trailSince(gov, head, r.id);
    const trail: ExecutionTrail = {
      claims: [...(before?.claims ?? []), ...since.claims],
      outcomes: [...(before?.outcomes ?? []), ...since.outcomes],
      flagged: before?.flagged,
    };
    const s = settled(r, trail, now);
    if (s?.kind === 'refuse') {
      decision = { kind: 'settled', result: refuse(r, s.code, s.why) };
      return undefined;
    }
    const branch = await governedBranch(repo);
    if (!governed && (s?.kind === 'recover' || !invalidBecause(r))) {
      decision = {
        kind: 'settled',
        result: refuse(r, 'off-branch', `ga executes only on the governed branch ${branch.name}: check it out (a claim elsewhere would not count)`),
      };
      return undefined;
    }
    if (s?.kind === 'recover') {
      decision = {
        kind: 'settled',
        result: {
          id: r.id,
          result: 'recovered-unknown',
          why: `claimed in ${s.claim.slice(0, 12)}, whose lease ran out with no outcome; moved to failed/ as outcome unknown (never run again)`,
        },
      };
      return {
        subject: `fail ${r.id} (outcome unknown: its claim's lease ran out): ${title}`,
        body: `The claim ${s.claim} has no outcome and its lease has run out; the hook may or may not have run. It is not run again. An outcome that arrives later is recorded as evidence.`,
        events: [{ event: 'proposal-failed', actor: 'executor', agent, proposal: r.id, outcome: 'unknown' }],
        files: await moveTo(repo, r, 'failed', head),
      };
    }
    const invalid = invalidBecause(r);
    if (invalid) {
      decision = { kind: 'settled', result: refuse(r, 'not-approved', `not validly approved: ${invalid}`) };
      if (trail.flagged) return undefined; // flagged once
      return {
        subject: `flag invalid approval of ${r.id}: ${title}`,
        events: [{ event: 'flag-invalid-approval', actor: 'executor', agent, proposal: r.id, reason: invalid }],
        files: [],
      };
    }
    // The hooks must be in hand before the claim lands: a claim whose hook cannot run would only turn into "unknown".
    try {
      if (!prepared) throw new GovernanceRefusal('the trusted hooks could not be prepared');
      await prepared;
    } catch (e) {
      decision = { kind: 'settled', result: refuse(r, 'not-run', `not run: ${(e as Error).message}`) };
      return undefined;
    }
    decision = { kind: 'claimed' };
    const lease = rfc3339(leaseUntil(now, timeoutMs));
    return {
      subject: `claim ${r.id}: ${title}`,
      // Each claim is its own commit, even when two clones claim at the same second with the same tree: the hub takes one.
      body: `The hook runs with a time limit of ${Math.round(timeoutMs / 1000)} s; until ${lease} no other executor treats this claim as dead.\n\nClaim ${newId(now)} by process ${process.pid} on ${hostname()}.`,
      events: [{ event: 'proposal-claimed', actor: 'executor', agent, proposal: r.id, lease }],
      files: [],
    };
  });
  // What this clone has claimed or settled, a reset must not undo.
  if (landed) await raiseHighWater(repo, landed.commit, { behind: behindReading(gov) }).catch(() => undefined);
  if (decision.kind === 'claimed' && landed) decision = { kind: 'claimed', commit: landed.commit, index: landed.index };
  else await landed?.index?.sync();
  return decision;
}

function invalidBecause(r: ProposalRecord): string | undefined {
  if (r.state !== 'approved') return `it is in ${r.state ?? 'no state'}/, not approved/`;
  if (!r.approval?.valid) return r.approval?.why ?? 'no approval in trusted history';
  if (r.blob !== r.submittedBlob) return 'the file differs from the one approved';
  if (r.mode !== '100644') return 'not a regular file';
  if (!r.proposal) return `unreadable proposal: ${r.parseError}`;
  return undefined;
}

/** Runs the trusted hook of a claimed proposal and records its outcome (late, without a move, if the claim was given up meanwhile). */
async function runClaimed(
  gov: Governance,
  r: ProposalRecord,
  opts: ExecuteOptions,
  timeoutMs: number,
  prepared: PreparedHooks,
  hub: boolean,
  claimIndex: DeferredIndex | undefined,
): Promise<ExecutionResult> {
  const repo = gov.repo;
  const proposal = r.proposal!;
  const hook = await runHook(gov, proposal, { timeoutMs, prepared, whileRunning: claimIndex && beside(claimIndex) });
  // The outcome lands on the hub's state: another clone may have given the claim up meanwhile (its lease ran out).
  if (hub) await publishAfter(repo, opts.clock, gov);
  const outcome = hook.ran === 'none' ? 'no-hook' : hook.timedOut ? 'timeout' : hook.ok ? 'success' : `exit-${hook.exitCode ?? hook.signal ?? 'error'}`;
  const state = hook.ok ? 'executed' : 'failed';
  const event: GaEvent = {
    event: hook.ok ? 'proposal-executed' : 'proposal-failed',
    actor: 'executor',
    agent: proposal.agent,
    proposal: r.id,
    outcome,
    detail: { hook: hook.hook ?? null, exit_code: hook.exitCode, duration_ms: hook.durationMs },
  };
  const body = [
    hook.ran === 'none'
      ? 'No hook for this action type: executed as a no-op.'
      : `Hook ${hook.hook} exited ${hook.exitCode ?? hook.signal}${hook.timedOut ? ' (timed out)' : ''} after ${hook.durationMs} ms.`,
    ...(hook.tail.length ? ['', 'Last output:', ...hook.tail.map((l) => `  ${l}`)] : []),
  ].join('\n');
  let late = false;
  const landed = await recordEvents(repo, {
    subject: `${hook.ok ? 'execute' : 'fail'} ${r.id}: ${proposal.title}`,
    body,
    events: [event],
    files: async (head) => {
      const still = await readFileAt(repo, head, proposalPath('approved', r.id));
      late = !still;
      return still ? moveTo(repo, r, state, head) : [];
    },
    at: opts.clock.now(),
    carryIndex: claimIndex,
  });
  await raiseHighWater(repo, landed.commit, { behind: behindReading(gov) }).catch(() => undefined);
  return {
    id: r.id,
    result: state,
    hook,
    ...(late ? { late: true, why: 'recorded late: the claim had been given up as outcome unknown meanwhile; the file stays in failed/' } : {}),
  };
}

/**
 * How long the index may go without the claim while a hook runs. A hook
 * that ends sooner has the claim's index update carried into the
 * outcome's: one rewrite of the index, not two. One that runs longer has
 * it made beside it, so that a person's `git status` soon agrees with HEAD.
 */
const CLAIM_INDEX_AFTER_MS = 250;

/** The claim's index update, while the hook runs (`ended` when it has): made once the hook has run CLAIM_INDEX_AFTER_MS, else left to carry. */
function beside(claimIndex: DeferredIndex): (ended: Promise<unknown>) => Promise<void> {
  let made: Promise<void> | undefined;
  return (ended) =>
    (made ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        ended.then(
          () => false,
          () => false,
        ),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLAIM_INDEX_AFTER_MS))),
      ]).finally(() => clearTimeout(timer));
      if (late) await claimIndex.sync();
    })());
}

function refuse(r: ProposalRecord, refusal: RefusalCode, why: string): ExecutionResult {
  return { id: r.id, result: 'refused', refusal, why };
}

async function moveTo(repo: Repo, r: ProposalRecord, to: 'executed' | 'failed', head: string | undefined) {
  const obj = await readFileAt(repo, head, proposalPath('approved', r.id));
  if (!obj) throw new GovernanceRefusal(`proposal ${r.id} left approved/ meanwhile`);
  return [
    { path: proposalPath('approved', r.id), remove: true },
    { path: proposalPath(to, r.id), content: obj.content },
  ];
}
