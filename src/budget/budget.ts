// Budgets: what an agent has spent in its current window against its caps,
// and the reservations of its runs in flight (each run-started commit holds
// max_run_usd until the run finishes or its lease runs out), so that
// concurrent runners cannot together cross a cap.
import { join } from 'node:path';
import type { Repo } from '../git/repo.js';
import type { Governance } from '../history/replay.js';
import { parseLedgerLines, readWindowLines, spendInWindow, type LedgerLine } from '../ledger/ledger.js';
import { agentConfigPath, ledgerPath } from '../layout/layout.js';
import type { AgentConfig } from '../schema/agent.js';

export interface BudgetStatus {
  window: AgentConfig['budget']['window'];
  windowStart: string;
  usd: number;
  tokens: number;
  usdCap: number;
  tokenCap: number;
  /** USD held by runs in flight. */
  reservedUsd: number;
  overUsd: boolean;
  overTokens: boolean;
  /** At or past warn_at of either cap. */
  warn: boolean;
  /** When the window's last charge was written (ISO), if it has one. */
  lastChargeAt?: string;
}

/** USD held by the agent's runs in flight: started on the governed branch, not finished, lease live. */
export function reservedUsd(gov: Governance, agent: string, now: Date, except?: string): number {
  let held = 0;
  for (const [run, r] of gov.runs) {
    if (r.agent !== agent || r.finished || run === except) continue;
    if (!r.leaseUntil || r.leaseUntil.getTime() <= now.getTime()) continue;
    held += r.reservedUsd;
  }
  return held;
}

/**
 * Spend in the current window of the trusted config, recomputed from the
 * ledger's lines (never from a line's running totals), plus `held`: lines a
 * merge dropped without counting, which still count.
 */
export function budgetStatus(repo: Repo, agent: string, cfg: AgentConfig, now: Date, held: string[] = [], reserved = 0): BudgetStatus {
  return statusOf(cfg, now, readWindowLines(join(repo.root, ledgerPath(agent)), cfg.budget.window, now), held, reserved);
}

/** The same, of a ledger's bytes (a committed one, not the working file). */
export function budgetOfLedgerText(cfg: AgentConfig, now: Date, text: Buffer, held: string[] = []): BudgetStatus {
  return statusOf(cfg, now, parseLedgerLines(text.toString('utf8').split('\n').filter(Boolean)), held, 0);
}

function statusOf(cfg: AgentConfig, now: Date, lines: LedgerLine[], held: string[], reserved: number): BudgetStatus {
  const b = cfg.budget;
  const present = new Set(lines.map((l) => JSON.stringify(l)));
  const extra = parseLedgerLines(held).filter((l) => !present.has(JSON.stringify(l)));
  const ordered = [...extra, ...lines].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
  const spent = spendInWindow(ordered, b.window, now);
  const last = ordered[ordered.length - 1];
  return {
    window: b.window,
    windowStart: spent.window_start,
    usd: spent.usd,
    tokens: spent.tokens,
    usdCap: b.usd,
    tokenCap: b.tokens,
    reservedUsd: reserved,
    overUsd: spent.usd >= b.usd,
    overTokens: spent.tokens >= b.tokens,
    warn: spent.usd >= b.usd * b.warn_at || spent.tokens >= b.tokens * b.warn_at,
    lastChargeAt: last && last.at >= spent.window_start ? last.at : undefined,
  };
}

/**
 * USD of the agent's runs that started in the window `since` and whose lease
 * ran out with no run-finished: a runner that died (or was killed) before it
 * recorded what its agent spent. Each counts as having spent its whole
 * reservation, so that deleting an uncommitted ledger line after such a crash
 * frees nothing.
 */
export function abandonedUsd(gov: Governance, agent: string, now: Date, since: string): number {
  let lost = 0;
  for (const r of gov.runs.values()) {
    if (r.agent !== agent || r.finished || !r.leaseUntil || r.leaseUntil.getTime() > now.getTime()) continue;
    if (r.at.getTime() < Date.parse(since)) continue;
    lost += r.reservedUsd;
  }
  return lost;
}

/** An agent's budget as the governance read sees it: held lines, reservations and abandoned runs included. */
export function budgetOf(gov: Governance, agent: string, cfg: AgentConfig, now: Date): BudgetStatus {
  const s = budgetStatus(gov.repo, agent, cfg, now, gov.heldLines.get(ledgerPath(agent))?.lines, reservedUsd(gov, agent, now));
  const lost = abandonedUsd(gov, agent, now, s.windowStart);
  if (lost === 0) return s;
  const usd = s.usd + lost;
  return { ...s, usd, overUsd: usd >= s.usdCap, warn: s.warn || usd >= s.usdCap * cfg.budget.warn_at };
}

/** Why an agent's budget can never let a run start (max_run_usd above the usd cap), or undefined. */
export function budgetConfigProblem(agent: string, cfg: AgentConfig): string | undefined {
  const b = cfg.budget;
  if (b.max_run_usd > b.usd) {
    return `max_run_usd ($${b.max_run_usd}) in ${agentConfigPath(agent)} is larger than its usd cap ($${b.usd}), so no run can ever fit: lower max_run_usd or raise usd in a signed commit (ga commit ${agentConfigPath(agent)})`;
  }
  return undefined;
}

/** Why a new run may not start, or undefined. */
export function capProblem(s: BudgetStatus, reserve: number): string | undefined {
  if (s.overTokens) return `${s.tokens} tokens spent in the ${s.window} window, cap ${s.tokenCap}`;
  if (s.usd + s.reservedUsd + reserve > s.usdCap + 1e-9) {
    return `$${s.usd.toFixed(4)} spent and $${s.reservedUsd.toFixed(4)} reserved in the ${s.window} window; reserving $${reserve.toFixed(4)} more would cross the cap of $${s.usdCap}`;
  }
  return undefined;
}
