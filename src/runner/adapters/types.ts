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
  /** Has the executor run a validly approved proposal (the runner is trusted; an agent never runs a hook). */
  execute(id: string): Promise<ExecutionResult>;
}


export interface AdapterResult {
  exitCode: number | null;
  outcome: 'success' | 'no-result' | 'agent-error' | 'nonzero-exit';
  charge: { input_tokens: number; output_tokens: number; usd: number; source: ChargeSource };
  permissionDenials: number;
  tail: string[];
  /** Anything the record should say (rejected, unmetered, tampering). */
  note?: string;
}

export type Adapter = (input: AdapterInput) => Promise<AdapterResult>;
