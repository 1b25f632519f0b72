// The watchdog's rules, as pure judgements over the repository's state: each
// finding names an agent, a rule id (the pause reason) and the evidence.
import { loadTrustedAgent, trustedAgentIds, type TrustedAgent } from '../agents/trusted.js';
import { budgetOf } from '../budget/budget.js';
import { GaError } from '../errors.js';
import { placesInTimeline, type Governance, type Places } from '../history/replay.js';
import { listRuns, readToolCalls } from '../runtime/records.js';
import type { PauseReason } from '../schema/pause.js';
import type { Proposal } from '../schema/proposal.js';
import type { WatchdogSettings } from '../schema/watchdog.js';
import { processAlive } from '../runtime/lock.js';
import { agentConfigPath, ledgerPath } from '../layout/layout.js';
import { formatDuration } from '../schema/common.js';

export interface RuleFinding {
  agent: string;
  reason: PauseReason;
  detail: string;
  /** A run whose heartbeat file the watchdog retires once it has acted on it. */
  run?: string;
}

export interface BadFile {
  path: string;
  problem: string;
}

export interface Judgement {
  findings: RuleFinding[];
  badFiles: BadFile[];
}

/**
 * What a signed resume settled. A resume is the person's word on the
 * evidence that paused the agent: what came before it (proposals submitted,
 * approvals given, charges written, runs started) never pauses that agent
 * again, even with --force or with the looping proposals still on record;
 * only new evidence does.
 */
class Resumes {
  private order?: Places;
  constructor(private readonly gov: Governance) {}

  private resumed(agent: string) {
    return this.gov.markers.get(agent)?.resumed;
  }

  /** Whether `commit` (in the timeline) came before the agent's last resume. */
  settledCommit(agent: string, commit: string | undefined): boolean {
    const r = this.resumed(agent);
    if (!r || !commit) return false;
    this.order ??= placesInTimeline(this.gov);
    const seq = this.order.get(commit);
    return seq !== undefined && seq <= r.seq;
  }

  /** Whether something that happened at `at` (ISO or a date) came before the agent's last resume. */
  settledTime(agent: string, at: string | Date | undefined): boolean {
    const r = this.resumed(agent);
    if (!r || at === undefined) return false;
    const t = typeof at === 'string' ? Date.parse(at) : at.getTime();
    return Number.isFinite(t) && t <= r.at.getTime();
  }
}

export async function judge(gov: Governance, settings: WatchdogSettings, now: Date): Promise<Judgement> {
  const findings: RuleFinding[] = [];
  const badFiles: BadFile[] = [];
  const resumes = new Resumes(gov);
  const agents = trustedAgentIds(gov);
  for (const id of agents) {
    let agent: TrustedAgent;
    try {
      agent = await loadTrustedAgent(gov, id);
    } catch (e) {
      if (!(e instanceof GaError)) throw e;
      badFiles.push({ path: agentConfigPath(id), problem: e.message });
      continue;
    }
    try {
      const b = budgetOf(gov, id, agent.config, now);
      if ((b.overUsd || b.overTokens) && !resumes.settledTime(id, b.lastChargeAt)) {
        findings.push({
          agent: id,
          reason: 'over-budget',
          detail: `$${b.usd.toFixed(4)} of $${b.usdCap}, ${b.tokens} of ${b.tokenCap} tokens in the ${b.window} window from ${b.windowStart}`,
        });
      }
    } catch (e) {
      if (!(e instanceof GaError)) throw e;
      badFiles.push({ path: ledgerPath(id), problem: e.message });
      // Lines out of time order are tampering: what was spent cannot be told, so the agent stops.
      if (e.code === 'ledger-order') findings.push({ agent: id, reason: 'over-budget', detail: `its spend cannot be counted: ${e.message}` });
    }
  }
  findings.push(...stuckApprovals(gov, settings, now, resumes), ...repeatedProposals(gov, settings, now, resumes));
  const runs = runRecords(gov, settings, now, badFiles, resumes);
  findings.push(...runs);
  return { findings, badFiles };
}

/** Approved but not executed within stuck_after. */
function stuckApprovals(gov: Governance, s: WatchdogSettings, now: Date, resumes: Resumes): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const r of gov.proposals.live('approved')) {
    if (!r.proposal) continue;
    const approval = r.steps.filter((st) => st.kind === 'approved' || st.kind === 'auto-approved').pop();
    const approvedAt = approval?.at;
    if (resumes.settledCommit(r.proposal.agent, approval?.commit)) continue;
    if (approvedAt && now.getTime() - approvedAt.getTime() > s.stuck_after) {
      out.push({
        agent: r.proposal.agent,
        reason: 'stuck',
        detail: `proposal ${r.id} approved at ${approvedAt.toISOString()} and not executed within ${formatDuration(s.stuck_after)}`,
      });
    }
  }
  return out;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v instanceof Date ? v.toISOString() : v);
}

/** A proposal's type and payload, canonical; kept per parsed proposal, which a daemon's reading keeps from sweep to sweep. */
const keys = new WeakMap<Proposal, string>();
function proposalKey(p: Proposal): string {
  let key = keys.get(p);
  if (key === undefined) keys.set(p, (key = `${p.action_type} ${canonical(p.payload)}`));
  return key;
}

/**
 * The same proposal (type and payload) from one agent loop_count times in a
 * row within loop_window. Different work in between breaks the run.
 */
function repeatedProposals(gov: Governance, s: WatchdogSettings, now: Date, resumes: Resumes): RuleFinding[] {
  const byAgent = new Map<string, { id: string; at: number; key: string }[]>();
  // A streak that pauses ends within loop_window of now and spans at most loop_window: nothing older can be in it,
  // and nothing older can break it (a run is broken only by different work between two of its own proposals).
  const since = now.getTime() - 2 * s.loop_window;
  const recent = gov.proposals.briefs({ createdSince: since }).map((b) => b.id);
  for (const r of gov.proposals.pick(recent)) {
    if (!r.proposal) continue;
    // Submitted before the agent's last resume: the person has seen these (its place in history, not the time the agent wrote, decides).
    if (resumes.settledCommit(r.proposal.agent, r.steps[0]?.commit)) continue;
    const list = byAgent.get(r.proposal.agent) ?? [];
    list.push({ id: r.id, at: r.proposal.created_at.getTime(), key: proposalKey(r.proposal) });
    byAgent.set(r.proposal.agent, list);
  }
  const out: RuleFinding[] = [];
  const window = s.loop_window;
  for (const [agent, list] of byAgent) {
    list.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    let streak: typeof list = [];
    for (const p of list) {
      streak = streak.length && streak[0]!.key === p.key ? [...streak, p] : [p];
      streak = streak.filter((q) => p.at - q.at <= window);
    }
    const last = streak[streak.length - 1];
    if (streak.length >= s.loop_count && last && now.getTime() - last.at <= window) {
      out.push({
        agent,
        reason: 'looping',
        detail: `${streak.length} identical proposals (${last.key.slice(0, 120)}) within ${formatDuration(s.loop_window)}: ${streak.map((q) => q.id).join(', ')}`,
      });
    }
  }
  return out;
}

/** Stale heartbeats, and tool calls repeated tool_loop_count times in a row within one run. */
function runRecords(gov: Governance, s: WatchdogSettings, now: Date, badFiles: BadFile[], resumes: Resumes): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const { run, heartbeat: hb, tools } of listRuns(gov.repo)) {
    // A run that started before the agent's last resume was resumed over.
    if (hb && resumes.settledTime(hb.agent, hb.started_at)) continue;
    if (hb) {
      const age = now.getTime() - Date.parse(hb.updated_at);
      if (age > s.heartbeat_timeout) {
        out.push({
          agent: hb.agent,
          reason: 'stuck',
          run: hb.run,
          detail: `run ${hb.run} has not sent a heartbeat for ${Math.round(age / 1000)} s (runner pid ${hb.runner_pid} ${processAlive(hb.runner_pid) ? 'silent' : 'gone'})`,
        });
      }
    }
    if (!tools) continue;
    const { calls, badLines } = readToolCalls(tools);
    for (const line of badLines) badFiles.push({ path: `.ga/runs/${run}.tools.jsonl`, problem: `line ${line} is not JSON` });
    const keys = calls.map((c) => `${c.name} ${canonical(c.input)}`);
    const lastCall = keys[keys.length - 1];
    let n = 0;
    for (let i = keys.length - 1; i >= 0 && keys[i] === lastCall; i--) n++;
    if (lastCall && n >= s.tool_loop_count && hb) {
      out.push({ agent: hb.agent, reason: 'looping', run, detail: `run ${run} made the same tool call ${n} times in a row: ${lastCall.slice(0, 160)}` });
    }
  }
  return out;
}
