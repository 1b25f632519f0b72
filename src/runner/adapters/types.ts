// What an adapter gets from the runner and gives back. The runner owns the
// controls (pause, wall clock, caps); an adapter only starts and reads the agent.
import type { TrustedAgent } from '../../agents/trusted.js';
import type { Clock } from '../../clock.js';
import type { Repo } from '../../git/repo.js';
import type { AgentProcess } from '../../runtime/process.js';
import type { ExecutionResult } from '../../executor/execute.js';
import type { ChargeSource } from '../../schema/ledger.js';

export interface AdapterInput {
  repo: Repo;
  agent: TrustedAgent;
  task: string;
  taskText: string;
  run: string;
  env: Record<string, string>;
  workspace: string;
  reservationUsd: number;
  clock: Clock;
  /** Aborted when the runner stops the run (pause, wall clock, cap). */
  stop: AbortSignal;
  /** Hands the runner the agent process, so that it can stop its group. */
  onProcess(p: AgentProcess): void;
  onToolCall(call: { name: string; input: unknown }): void;
  /** Live metered spend of this run so far. */
  onSpend(spend: { tokens: number; usd: number }): void;
  /** Tells the person running ga run what is going on (a proposal waiting for them). */
  say(line: string): void;
  /** Has the executor run a validly approved proposal (the runner is trusted; an agent never runs a hook). */
  execute(id: string): Promise<ExecutionResult>;
}

export interface AdapterResult {
  exitCode: number | null;
  /** not-started: the agent process never ran (nothing to charge). */
  outcome: 'success' | 'no-result' | 'agent-error' | 'nonzero-exit' | 'not-started';
  charge: { input_tokens: number; output_tokens: number; usd: number; source: ChargeSource };
  permissionDenials: number;
  tail: string[];
  /** Anything the record should say (rejected, unmetered, tampering). */
  note?: string;
  /** The agent's own final answer or error text, bounded (shown, committed and audited). */
  resultText?: string;
  /** What the person can do about an outcome that is not success. */
  hint?: string;
}

/** How much of an agent's final text a record keeps. */
export const RESULT_TEXT_MAX = 2000;

export function boundedText(text: string | undefined): string | undefined {
  if (text === undefined || !text.trim()) return undefined;
  const t = text.trim();
  return t.length > RESULT_TEXT_MAX ? `${t.slice(0, RESULT_TEXT_MAX)}... (${t.length - RESULT_TEXT_MAX} more characters)` : t;
}

/** The result of a run whose agent process never started: it costs nothing. */
export function notStartedResult(tail: string[], hint: string): AdapterResult {
  return {
    exitCode: null,
    outcome: 'not-started',
    charge: { input_tokens: 0, output_tokens: 0, usd: 0, source: 'metered' },
    permissionDenials: 0,
    tail,
    note: tail[tail.length - 1],
    hint,
  };
}

export type Adapter = (input: AdapterInput) => Promise<AdapterResult>;
