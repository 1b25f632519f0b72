// An agent as its trusted files define it: config, allowlist, prompt, tasks.
// Working-tree edits and unsigned commits never reach here.
import { UsageError } from '../errors.js';
import type { Governance } from '../history/replay.js';
import { agentConfigPath, agentOfConfigPath, allowlistPath, checkAgentId, checkTaskName, systemPromptPath, taskPath } from '../layout/layout.js';
import { parseAgent, parseAllowlist, type AgentConfig, type Allowlist } from '../schema/agent.js';

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
    .map((p) => agentOfConfigPath(p))
    .filter((id): id is string => id !== undefined)
    .sort();
}

export async function loadTrustedAgent(gov: Governance, id: string): Promise<TrustedAgent> {
  checkAgentId(id);
  const cfgText = await gov.readTrusted(agentConfigPath(id));
  if (!cfgText) throw new UsageError(`agent "${id}" has no trusted ${agentConfigPath(id)}: add it in a commit signed by an approver (see ga list of agents in ga scoreboard)`);
  const config = parseAgent(cfgText.toString('utf8'), agentConfigPath(id));
  const allowText = await gov.readTrusted(allowlistPath(id));
  // No trusted allowlist means no tools at all: default deny.
  const allowlist = allowText ? parseAllowlist(allowText.toString('utf8'), allowlistPath(id)) : { allowed_tools: [], env: [] };
  const prompt = await gov.readTrusted(systemPromptPath(id));
  return { id, config, allowlist, systemPrompt: prompt?.toString('utf8') };
}

/** The trusted text of agents/<id>/tasks/<task>.md. */
export async function loadTrustedTask(gov: Governance, id: string, task: string): Promise<string> {
  checkTaskName(id, task);
  const text = await gov.readTrusted(taskPath(id, task));
  if (!text) throw new UsageError(`agent "${id}" has no trusted task ${taskPath(id, task)}: add it in a signed commit`);
  return text.toString('utf8');
}
