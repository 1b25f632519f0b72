// adapter = "claude": Claude Code in print mode, default deny. Only the
// trusted allowlist's tools (and `ga propose`) are allowed, permission
// prompts are denied (dontAsk), the budget is the reservation, and spend is
// metered live from the stream-json output.
import { randomUUID } from 'node:crypto';
import { chargeFor, StreamMeter } from '../stream.js';
import { startAgentProcess } from '../../runtime/process.js';
import { boundedText, notStartedResult, type Adapter, type AdapterInput } from './types.js';
import { agentConfigPath, allowlistPath } from '../../layout/layout.js';
import { MCP_SERVER, MCP_TOOLS } from '../../layout/mcp.js';

/** What every agent needs besides its allowlist: submitting proposals. */
export const PROPOSE_TOOL = 'Bash(ga propose:*)';

/**
 * ga's MCP server for the agent (ga mcp, bound to GA_AGENT, which the agent's
 * environment carries), started by Claude Code itself with the agent's
 * environment; the only MCP server it may use (--strict-mcp-config).
 */
export function mcpConfig(repoRoot: string): string {
  return JSON.stringify({ mcpServers: { [MCP_SERVER]: { command: 'ga', args: ['-C', repoRoot, 'mcp'] } } });
}

/**
 * Set for Claude Code itself: in print mode it starts the model's first turn
 * before stdio MCP servers have connected unless told to wait, and the agent
 * would run without ga's tools.
 */
export const CLAUDE_ENV = { MCP_CONNECTION_NONBLOCKING: 'false' } as const;

/** Its tools as Claude Code names them, allowed next to PROPOSE_TOOL. */
export const MCP_TOOL_NAMES = MCP_TOOLS.map((t) => `mcp__${MCP_SERVER}__${t}`);

export function claudeArgs(input: Pick<AdapterInput, 'agent' | 'reservationUsd' | 'repo'>, sessionId: string): string[] {
  const tools = [...new Set([...input.agent.allowlist.allowed_tools, PROPOSE_TOOL, ...MCP_TOOL_NAMES])];
  return [
    '-p',
    '--output-format',
    'stream-json',
    '--verbose',
    '--permission-mode',
    'dontAsk',
    '--allowedTools',
    tools.join(','),
    '--max-budget-usd',
    String(input.reservationUsd),
    '--session-id',
    sessionId,
    '--mcp-config',
    mcpConfig(input.repo.root),
    '--strict-mcp-config',
    ...(input.agent.systemPrompt ? ['--system-prompt', input.agent.systemPrompt] : []),
    ...(input.agent.config.model ? ['--model', input.agent.config.model] : []),
  ];
}

export const claudeAdapter: Adapter = async (input) => {
  const bin = process.env.GA_CLAUDE_BIN || 'claude';
  const meter = new StreamMeter({ onToolCall: (call) => input.onToolCall(call) });
  let stopForTampering: string | undefined;
  const p = startAgentProcess(bin, claudeArgs(input, randomUUID()), {
    cwd: input.workspace,
    env: { ...input.env, ...CLAUDE_ENV },
    marker: `GA_RUN=${input.run}`,
    stdin: input.taskText, // the prompt: on stdin, so no flag can swallow it
    onStdoutLine: (line) => {
      for (const ev of meter.push(`${line}\n`)) {
        if (ev.kind === 'usage') input.onSpend({ tokens: ev.tokens, usd: chargeFor(meter, { reservationUsd: 0 }).usd });
        if (ev.kind === 'tampered' && !stopForTampering) {
          stopForTampering = ev.why;
          p.stop();
        }
      }
    },
  });
  input.onProcess(p);
  const { code, started } = await p.done;
  if (!started)
    return notStartedResult(p.tail(), `install Claude Code (npm install -g @anthropic-ai/claude-code) or set GA_CLAUDE_BIN to the path of its claude binary`);
  meter.end();
  const charge = chargeFor(meter, { reservationUsd: input.reservationUsd });
  const outcome = stopForTampering ? 'agent-error' : charge.outcome === 'success' && code !== 0 ? 'nonzero-exit' : charge.outcome;
  return {
    exitCode: code,
    outcome,
    // Cache reads and writes count as input: the token cap is on everything the model processed.
    charge: {
      input_tokens: Math.max(0, charge.tokens - meter.usage.output_tokens),
      output_tokens: meter.usage.output_tokens,
      usd: charge.usd,
      source: charge.source,
    },
    permissionDenials: meter.result?.permission_denials.length ?? 0,
    tail: p
      .tail()
      .filter((l) => !l.startsWith('{'))
      .slice(-10),
    note: stopForTampering ? `stopped: ${stopForTampering}` : meter.garbage ? `${meter.garbage} lines of the stream were not JSON` : undefined,
    resultText: boundedText(
      meter.result?.text ??
        (outcome === 'success'
          ? undefined
          : p
              .tail()
              .filter((l) => !l.startsWith('{'))
              .slice(-3)
              .join('\n')),
    ),
    hint: outcome === 'success' ? undefined : claudeHint(input, meter.result?.text ?? p.tail().join('\n')),
  };
};

/** What a person can do about a claude run that failed, from what it said. */
export function claudeHint(input: Pick<AdapterInput, 'agent'>, said: string): string | undefined {
  if (/not logged in|\/login|invalid api key|api key|authenticat|unauthori[sz]ed|401/i.test(said)) {
    const file = allowlistPath(input.agent.id);
    return input.agent.allowlist.env.includes('ANTHROPIC_API_KEY')
      ? `claude could not authenticate: set ANTHROPIC_API_KEY to a valid key where you run ga run (${file} already lets it through)`
      : `claude could not authenticate: the agent runs with a scratch HOME and a scrubbed environment, so your login does not reach it; add "ANTHROPIC_API_KEY" to env in ${file} (a signed commit: ga commit ${file}) and set it where you run ga run`;
  }
  if (/max[_ ]budget|budget/i.test(said)) return `claude stopped at its budget: max_run_usd in ${agentConfigPath(input.agent.id)} is what each run may spend`;
  if (/max[_ ]turns/i.test(said)) return 'claude stopped at its turn limit: narrow the task';
  return undefined;
}
