// What an adapter gets from the runner and gives back. The runner owns the
// controls (pause, wall clock, caps); an adapter only starts and reads the agent.
import type { TrustedAgent } from '../../agents/trusted.js';
import type { Clock } from '../../clock.js';
import type { Repo } from '../../git/repo.js';
import type { AgentProcess } from '../process.js';

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
}

export type ChargeSource = 'reported' | 'metered' | 'reservation' | 'unmetered';

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
