// An agent as its trusted files define it: config, allowlist, prompt, tasks.
// Working-tree edits and unsigned commits never reach here.
import { UsageError } from '../errors.js';
import type { Governance } from '../history/replay.js';
import { agentPath, allowlistPath, parseAgent, parseAllowlist, type AgentConfig, type Allowlist } from '../schema/agent.js';
import { checkAgentId } from '../names.js';

export interface TrustedAgent {
  id: string;
  config: AgentConfig;
  allowlist: Allowlist;
  /** agents/<id>/CLAUDE.md, if trusted. */
  systemPrompt?: string;
}

/** Agent ids that have a trusted agent.toml. */
export function trustedAgentIds(gov: Governance): string[] {
  return [...gov.trusted.keys()]
    .map((p) => /^agents\/([^/]+)\/agent\.toml$/.exec(p)?.[1])
    .filter((id): id is string => id !== undefined)
    .sort();
}

export async function loadTrustedAgent(gov: Governance, id: string): Promise<TrustedAgent> {
  checkAgentId(id);
  const cfgText = await gov.readTrusted(agentPath(id));
  if (!cfgText) throw new UsageError(`agent "${id}" has no trusted ${agentPath(id)}: add it in a commit signed by an approver (see ga list of agents in ga scoreboard)`);
  const config = parseAgent(cfgText.toString('utf8'), agentPath(id));
  const allowText = await gov.readTrusted(allowlistPath(id));
  // No trusted allowlist means no tools at all: default deny.
  const allowlist = allowText ? parseAllowlist(allowText.toString('utf8'), allowlistPath(id)) : { allowed_tools: [], env: [] };
  const prompt = await gov.readTrusted(`agents/${id}/CLAUDE.md`);
  return { id, config, allowlist, systemPrompt: prompt?.toString('utf8') };
}

/** The trusted text of agents/<id>/tasks/<task>.md. */
export async function loadTrustedTask(gov: Governance, id: string, task: string): Promise<string> {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(task)) throw new UsageError(`task "${task}" is not valid: use a-z 0-9 _ - (the file agents/${id}/tasks/<task>.md)`);
  const text = await gov.readTrusted(`agents/${id}/tasks/${task}.md`);
  if (!text) throw new UsageError(`agent "${id}" has no trusted task agents/${id}/tasks/${task}.md: add it in a signed commit`);
  return text.toString('utf8');
}
