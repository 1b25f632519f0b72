// Reading state for people: `ga status` (health) and `ga scoreboard` (per
// agent spend, runs, proposals, pauses), as data; the CLI renders it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrailers } from '../audit/events.js';
import { loadTrustedAgent, trustedAgentIds } from '../agents/trusted.js';
import { budgetStatus, type BudgetStatus } from '../budget/budget.js';
import type { Clock } from '../clock.js';
import { git } from '../git/exec.js';
import { signingSetup } from '../git/signing.js';
import type { Governance } from '../history/replay.js';
import { pauseState } from '../pause/state.js';
import { isGovernedPath } from '../trust/governed.js';
import { watchdogHealth, type WatchdogHealth } from '../watchdog/health.js';

export interface UntrustedEdit {
  path: string;
  kind: 'uncommitted' | 'untrusted-commit';
  commit?: string;
  why: string;
}

/** Governed files whose working copy or committed version is not the trusted one. */
export async function untrustedEdits(gov: Governance): Promise<UntrustedEdit[]> {
  const edits: UntrustedEdit[] = [];
  const seen = new Set<string>();
  for (const u of [...gov.untrusted].reverse()) {
    if (seen.has(u.path)) continue;
    seen.add(u.path);
    edits.push({ path: u.path, kind: 'untrusted-commit', commit: u.commit, why: u.why });
  }
  const files = listGovernedWorkFiles(gov.repo.root);
  const hashed = files.length
    ? (await git(['hash-object', '--no-filters', '--stdin-paths'], { cwd: gov.repo.root, input: files.join('\n') + '\n' })).stdout.toString().trim().split('\n')
    : [];
  files.forEach((f, i) => {
    if (gov.trusted.get(f)?.blob !== hashed[i] && !seen.has(f)) {
      edits.push({ path: f, kind: 'uncommitted', why: gov.trusted.has(f) ? 'differs from its trusted version (ignored)' : 'has no trusted version (ignored)' });
    }
  });
  for (const path of gov.trusted.keys()) {
    if (!existsSync(join(gov.repo.root, path)) && !seen.has(path)) edits.push({ path, kind: 'uncommitted', why: 'deleted in the work tree (the trusted version stays in force)' });
  }
  return edits;
}

function listGovernedWorkFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    for (const name of readdirSync(abs)) {
      const child = rel ? `${rel}/${name}` : name;
      const st = statSync(join(root, child), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        if (!child.endsWith('/workspace')) walk(child);
      } else if (isGovernedPath(child)) out.push(child);
    }
  };
  walk('policies');
  walk('agents');
  return out.sort();
}

const startOfUtcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export interface AgentRow {
  agent: string;
  budget: BudgetStatus;
  runsToday: number;
  runsTotal: number;
  proposals: Record<string, number>;
  paused: boolean;
  pauseWhy?: string;
  error?: string;
}

export async function scoreboard(gov: Governance, clock: Clock): Promise<AgentRow[]> {
  const now = clock.now();
  const today = startOfUtcDay(now).getTime();
  const rows: AgentRow[] = [];
  for (const id of trustedAgentIds(gov)) {
    const runs = gov.commits.flatMap((c) => parseTrailers(c.message).filter((t) => t.event === 'run-finished' && t.agent === id).map(() => c.committedAt.getTime()));
    const proposals: Record<string, number> = {};
    for (const r of gov.proposals.values()) {
      if (r.proposal?.agent === id && r.state) proposals[r.state] = (proposals[r.state] ?? 0) + 1;
    }
    const pause = await pauseState(gov, id);
    try {
      const agent = await loadTrustedAgent(gov, id);
      rows.push({
        agent: id, budget: budgetStatus(gov.repo, id, agent.config, now), runsToday: runs.filter((t) => t >= today).length,
        runsTotal: runs.length, proposals, paused: pause.paused, pauseWhy: pause.why,
      });
    } catch (e) {
      rows.push({ agent: id, budget: undefined as unknown as BudgetStatus, runsToday: 0, runsTotal: runs.length, proposals, paused: pause.paused, pauseWhy: pause.why, error: (e as Error).message });
    }
  }
  return rows;
}

export interface Status {
  repo: string;
  head: string;
  trustRoot: { commit: string; source: string };
  signing: { ok: boolean; email?: string; problem?: string };
  watchdog: WatchdogHealth;
  untrusted: UntrustedEdit[];
  pending: number;
  paused: { agent: string; why?: string }[];
  runsToday: number;
}

export async function status(gov: Governance, clock: Clock): Promise<Status> {
  const board = await scoreboard(gov, clock);
  const signing = await signingSetup(gov.repo);
  return {
    repo: gov.repo.root,
    head: gov.head,
    trustRoot: gov.root,
    signing: { ok: signing.ok, email: signing.email, problem: signing.problem },
    watchdog: watchdogHealth(gov.repo, clock.now()),
    untrusted: await untrustedEdits(gov),
    pending: [...gov.proposals.values()].filter((r) => r.state === 'pending').length,
    paused: board.filter((r) => r.paused).map((r) => ({ agent: r.agent, why: r.pauseWhy })),
    runsToday: board.reduce((n, r) => n + r.runsToday, 0),
  };
}
