// Budgets: what an agent has spent in its current window against its caps,
// and reservations that hold max_run_usd for each run in flight, so that
// concurrent runners cannot together cross a cap.
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { GovernanceRefusal } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { ledgerLockTarget, parseLedgerLines, readWindowLines, spendInWindow } from '../ledger/ledger.js';
import { ledgerPath } from '../layout/layout.js';
import { readReservations, removeReservation, writeReservation } from '../runtime/records.js';
import type { AgentConfig } from '../schema/agent.js';
import { processAlive, withLock } from '../runtime/lock.js';

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
}

/** USD held by live runs; reservations of dead processes (or unreadable ones) are dropped. */
function activeReservations(repo: Repo, agent: string): number {
  let held = 0;
  for (const { run, reservation } of readReservations(repo, agent)) {
    if (reservation && processAlive(reservation.pid)) held += reservation.usd;
    else removeReservation(repo, agent, run);
  }
  return held;
}

/**
 * Spend in the current window of the trusted config, recomputed from the
 * ledger's lines (never from a line's running totals), plus `held`: lines a
 * merge dropped without counting, which still count.
 */
export function budgetStatus(repo: Repo, agent: string, cfg: AgentConfig, now: Date, held: string[] = []): BudgetStatus {
  const b = cfg.budget;
  const lines = readWindowLines(join(repo.root, ledgerPath(agent)), b.window, now);
  const present = new Set(lines.map((l) => JSON.stringify(l)));
  const extra = parseLedgerLines(held).filter((l) => !present.has(JSON.stringify(l)));
  const spent = spendInWindow([...extra, ...lines].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0)), b.window, now);
  return {
    window: b.window,
    windowStart: spent.window_start,
    usd: spent.usd,
    tokens: spent.tokens,
    usdCap: b.usd,
    tokenCap: b.tokens,
    reservedUsd: activeReservations(repo, agent),
    overUsd: spent.usd >= b.usd,
    overTokens: spent.tokens >= b.tokens,
    warn: spent.usd >= b.usd * b.warn_at || spent.tokens >= b.tokens * b.warn_at,
  };
}

/** Why a new run may not start, or undefined. */
export function capProblem(s: BudgetStatus, reserve: number): string | undefined {
  if (s.overTokens) return `${s.tokens} tokens spent in the ${s.window} window, cap ${s.tokenCap}`;
  if (s.usd + s.reservedUsd + reserve > s.usdCap + 1e-9) {
    return `$${s.usd.toFixed(4)} spent and $${s.reservedUsd.toFixed(4)} reserved in the ${s.window} window; reserving $${reserve.toFixed(4)} more would cross the cap of $${s.usdCap}`;
  }
  return undefined;
}

/** Reserves max_run_usd for a run, atomically with the check, under the ledger lock. */
export async function reserveBudget(repo: Repo, agent: string, cfg: AgentConfig, run: string, clock: Clock, held: string[] = [], check?: () => Promise<void>): Promise<BudgetStatus> {
  return withLock(ledgerLockTarget(repo, agent), async () => {
    await check?.(); // what must hold under the same lock (the working ledger is the committed one)
    const s = budgetStatus(repo, agent, cfg, clock.now(), held);
    const problem = capProblem(s, cfg.budget.max_run_usd);
    if (problem) throw new GovernanceRefusal(`over budget: ${problem}`);
    writeReservation(repo, agent, run, { pid: process.pid, usd: cfg.budget.max_run_usd, at: clock.now().toISOString() });
    return s;
  });
}

export function releaseReservation(repo: Repo, agent: string, run: string): void {
  removeReservation(repo, agent, run);
}
