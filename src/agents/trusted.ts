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

/**
 * Refuses (exit 2) an id that names no trusted agent, listing the known
 * ones: a typo in ga pause, resume or run must not write a marker for an
 * agent that does not exist.
 */
export function requireKnownAgent(gov: Governance, id: string): string {
  checkAgentId(id);
  const known = trustedAgentIds(gov);
  if (known.includes(id)) return id;
  const present = gov.trusted.has(agentConfigPath(id)) ? '' : ` (no trusted ${agentConfigPath(id)})`;
  throw new UsageError(`no agent "${id}"${present}; known agents: ${known.join(', ') || 'none'}. An agent is added in a commit signed by an approver`);
}

export async function loadTrustedAgent(gov: Governance, id: string): Promise<TrustedAgent> {
  requireKnownAgent(gov, id);
  const cfgText = await gov.readTrusted(agentConfigPath(id));
  if (!cfgText) throw new UsageError(`agent "${id}" has no trusted ${agentConfigPath(id)}: add it in a commit signed by an approver`);
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
