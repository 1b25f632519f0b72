// `ga report`: the state and the trail in one reading, for a person deciding
// what to trust: what waits and for how long, what was decided and what came
// of it, each agent's spend against its caps over time, runs, pauses and
// their reasons, every signature with its signer, and ga verify's findings.
// The CLI prints it as a summary, or renders it as a page (report/html.ts).
import type { Clock } from '../clock.js';
import { join } from 'node:path';
import type { Governance } from '../history/replay.js';
import { quorumOf } from '../history/proposals.js';
import { ledgerPath } from '../layout/layout.js';
import { parseLedgerLines, readLedger, type LedgerLine } from '../ledger/ledger.js';
import { scoreboard } from './status.js';
import { auditTrail, type TrailRow } from './trail.js';

export interface ReportFinding {
  commit: string;
  path: string;
  rule: string;
  explanation: string;
}

export interface Report {
  generatedAt: string;
  repo: string;
  head: string;
  trustRoot: string;
  pending: {
    id: string;
    agent: string;
    type: string;
    title: string;
    submittedAt?: string;
    ageMs?: number;
    expiresAt?: string;
    approvals: number;
    needed: number;
  }[];
  /** Decisions and outcomes, newest first. */
  decisions: {
    at: string;
    event: string;
    id?: string;
    agent?: string;
    title?: string;
    by?: string;
    outcome?: string;
    valid?: boolean;
    why?: string;
    commit: string;
  }[];
  agents: {
    agent: string;
    window?: string;
    usd?: number;
    usdCap?: number;
    tokens?: number;
    tokenCap?: number;
    paused: boolean;
    pauseWhy?: string;
    runs: number;
    error?: string;
    /** Spend in its window after each charge (the ledger's running total), oldest first. */
    series: { at: string; windowUsd: number; windowStart: string }[];
  }[];
  /** Runs, newest first. */
  runs: { run: string; agent: string; at: string; reservedUsd: number; outcome?: string; finished: boolean }[];
  /** Pauses and resumes, newest first. */
  pauses: { at: string; event: string; agent?: string; actor?: string; reason?: string; commit: string }[];
  /** Signed commits, newest first: what was signed and who signed it. */
  signatures: { at: string; commit: string; subject: string; event: string; status: string; signer?: string }[];
  findings: ReportFinding[];
  /** ga verify could not run (it said why). */
  verifyProblem?: string;
}

const DECISIONS = new Set(['proposal-approved', 'proposal-approval-recorded', 'proposal-rejected', 'proposal-expired', 'proposal-executed', 'proposal-failed']);
const PAUSES = new Set(['agent-paused', 'agent-resumed']);

export async function gatherReport(gov: Governance, clock: Clock, verified: { findings: ReportFinding[]; problem?: string }): Promise<Report> {
  const now = clock.now();
  const trail = (await auditTrail(gov)).reverse();
  const titleOf = (id: string | undefined) => (id ? gov.proposals.get(id)?.proposal?.title : undefined);
  const pending: Report['pending'] = [];
  for (const r of gov.proposals.live('pending')) {
    if (!r.proposal) continue;
    const submitted = r.steps.find((s) => s.kind === 'submitted')?.at;
    const q = await quorumOf(r, gov.policyOf);
    pending.push({
      id: r.id,
      agent: r.proposal.agent,
      type: r.proposal.action_type,
      title: r.proposal.title,
      submittedAt: submitted?.toISOString(),
      ageMs: submitted ? now.getTime() - submitted.getTime() : undefined,
      expiresAt: r.proposal.expires_at.toISOString(),
      approvals: q.have,
      needed: q.need,
    });
  }
  pending.sort((a, b) => (b.ageMs ?? 0) - (a.ageMs ?? 0));
  const board = await scoreboard(gov, clock);
  const agents: Report['agents'] = [];
  for (const row of board) {
    // The working ledger, as the budget reads it: a charge counts from the moment it is appended.
    let lines: LedgerLine[] = [];
    try {
      lines = parseLedgerLines(
        readLedger(join(gov.repo.root, ledgerPath(row.agent)))
          .toString('utf8')
          .split('\n')
          .filter(Boolean),
      );
    } catch {
      // not a regular file: the scoreboard row says why the budget cannot be read
    }
    agents.push({
      agent: row.agent,
      window: row.budget?.window,
      usd: row.budget?.usd,
      usdCap: row.budget?.usdCap,
      tokens: row.budget?.tokens,
      tokenCap: row.budget?.tokenCap,
      paused: row.paused,
      pauseWhy: row.pauseWhy,
      runs: row.runsTotal,
      error: row.error,
      series: lines.map((l) => ({ at: l.at, windowUsd: l.window_usd, windowStart: l.window_start })),
    });
  }
  // A run's outcome is on its run-finished commit, which the run's trail names.
  const finishedIn = new Map(trail.filter((t) => t.event === 'run-finished').map((t) => [t.commit, t.outcome]));
  const outcomes = new Map([...gov.runs].map(([run, r]) => [run, r.finished ? finishedIn.get(r.finished) : undefined]));
  const runs: Report['runs'] = [...gov.runs.entries()]
    .map(([run, r]) => ({
      run,
      agent: r.agent,
      at: r.at.toISOString(),
      reservedUsd: r.reservedUsd,
      outcome: outcomes.get(run),
      finished: r.finished !== undefined,
    }))
    .sort((a, b) => (a.at < b.at ? 1 : -1));
  const at = (t: TrailRow) => t.at.toISOString();
  const signed = new Map<string, Report['signatures'][number]>();
  for (const t of trail) {
    if (t.signature === 'unsigned' || signed.has(t.commit)) continue;
    signed.set(t.commit, { at: at(t), commit: t.commit, subject: t.subject, event: t.event, status: t.signature, signer: t.signer });
  }
  return {
    generatedAt: now.toISOString(),
    repo: gov.repo.root,
    head: gov.head,
    trustRoot: gov.root.commit,
    pending,
    decisions: trail
      .filter((t) => DECISIONS.has(t.event))
      .map((t) => ({
        at: at(t),
        event: t.event,
        id: t.proposal,
        agent: t.agent,
        title: titleOf(t.proposal),
        by: t.signer ?? t.actor,
        outcome: t.outcome,
        valid: t.valid,
        why: t.invalidBecause,
        commit: t.commit,
      })),
    agents,
    runs,
    pauses: trail
      .filter((t) => PAUSES.has(t.event))
      .map((t) => ({ at: at(t), event: t.event, agent: t.agent, actor: t.actor, reason: t.reason, commit: t.commit })),
    signatures: [...signed.values()],
    findings: verified.findings,
    verifyProblem: verified.problem,
  };
}
