// adapter = "claude": Claude Code in print mode, default deny. Only the
// trusted allowlist's tools (and `ga propose`) are allowed, permission
// prompts are denied (dontAsk), the budget is the reservation, and spend is
// metered live from the stream-json output.
import { randomUUID } from 'node:crypto';
import { chargeFor, StreamMeter } from '../stream.js';
import { startAgentProcess } from '../../runtime/process.js';
import type { Adapter, AdapterInput } from './types.js';

/** What every agent needs besides its allowlist: submitting proposals. */
export const PROPOSE_TOOL = 'Bash(ga propose:*)';

export function claudeArgs(input: Pick<AdapterInput, 'agent' | 'reservationUsd'>, sessionId: string): string[] {
  const tools = [...new Set([...input.agent.allowlist.allowed_tools, PROPOSE_TOOL])];
  return [
    '-p',
    '--output-format', 'stream-json',
    '--verbose',
    '--permission-mode', 'dontAsk',
    '--allowedTools', tools.join(','),
    '--max-budget-usd', String(input.reservationUsd),
    '--session-id', sessionId,
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
    env: input.env,
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
  const { code } = await p.done;
  meter.end();
  const charge = chargeFor(meter, { reservationUsd: input.reservationUsd });
  const outcome = stopForTampering ? 'agent-error' : charge.outcome === 'success' && code !== 0 ? 'nonzero-exit' : charge.outcome;
  return {
    exitCode: code,
    outcome,
    // Cache reads and writes count as input: the token cap is on everything the model processed.
    charge: { input_tokens: Math.max(0, charge.tokens - meter.usage.output_tokens), output_tokens: meter.usage.output_tokens, usd: charge.usd, source: charge.source },
    permissionDenials: meter.result?.permission_denials.length ?? 0,
    tail: p.tail().filter((l) => !l.startsWith('{')).slice(-10),
    note: stopForTampering ? `stopped: ${stopForTampering}` : meter.garbage ? `${meter.garbage} lines of the stream were not JSON` : undefined,
  };
};
