// One agent's own state, as the agent may see it (ga mcp's status tool):
// whether it is paused and why, its spend against its caps, its proposals by
// state. Nothing about other agents.
import type { Clock } from '../clock.js';
import type { Governance } from '../history/replay.js';
import { scoreboard } from './status.js';

export async function agentStatus(gov: Governance, agent: string, clock: Clock): Promise<Record<string, unknown>> {
  const [row] = await scoreboard(gov, clock, [agent]);
  if (!row) return { agent, error: `agent ${agent} has no trusted agent.toml` };
  const b = row.budget;
  return {
    agent,
    paused: row.paused,
    pause_reason: row.pauseWhy ?? null,
    budget: b ? { window: b.window, usd: b.usd, usd_cap: b.usdCap, tokens: b.tokens, token_cap: b.tokenCap, warn: b.warn } : null,
    error: row.error ?? null,
    runs_today: row.runsToday,
    proposals: row.proposals,
  };
}
