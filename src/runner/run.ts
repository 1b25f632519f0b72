// `ga run <agent> [task]`: one agent, one task, under every control. Refuse
// before starting if paused, tampered or over budget; reserve max_run_usd;
// run the adapter in a scrubbed environment; stop its process group at once
// on a pause marker, the wall clock or a crossed cap; charge the ledger; and
// record the run (and any pause) in one commit.
import { existsSync, mkdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { GaEvent } from '../audit/events.js';
import { recordEvents } from '../audit/record.js';
import { loadTrustedAgent, loadTrustedTask, type TrustedAgent } from '../agents/trusted.js';
import { budgetStatus, releaseReservation, reserveBudget } from '../budget/budget.js';
import type { Clock } from '../clock.js';
import { GaError, GovernanceRefusal } from '../errors.js';
import { headCommit, type Repo } from '../git/repo.js';
import { loadGovernance, type Governance } from '../history/replay.js';
import { appendCharge, assertExtendsCommitted, ledgerPath, readLedger, type LedgerLine } from '../ledger/ledger.js';
import { newRunId, parseDuration } from '../names.js';
import { pauseState, raiseHighWater } from '../pause/state.js';
import { pausePath, serializePause } from '../schema/pause.js';
import type { AgentProcess } from './process.js';
import { agentEnvironment, makeScratchHome } from './env.js';
import { Heartbeat } from './heartbeat.js';
import { watchdogHealth } from '../watchdog/health.js';
import { watchdogSettings } from '../watchdog/sweep.js';
import { appendOnlyFindings } from '../verify/verify.js';
import type { Adapter, AdapterResult } from './adapters/types.js';

export type RunOutcomeName = 'success' | 'paused' | 'over-budget' | 'wall-clock' | 'no-result' | 'agent-error' | 'nonzero-exit';

export interface RunRecord {
  run: string;
  agent: string;
  task: string;
  adapter: string;
  outcome: RunOutcomeName;
  exitCode: number | null;
  tokens: number;
  usd: number;
  source: string;
  permissionDenials: number;
  note?: string;
  tail: string[];
  /** Set when the run's spend crossed a cap and the agent was paused. */
  pausedForBudget: boolean;
  commit: string;
}

async function adapterFor(name: string): Promise<Adapter> {
  if (name === 'noop') return (await import('./adapters/noop.js')).noopAdapter;
  if (name === 'claude') return (await import('./adapters/claude.js')).claudeAdapter;
  return (await import('./adapters/command.js')).commandAdapter;
}

async function refuse(repo: Repo, agent: string, run: string, task: string, why: string, clock: Clock): Promise<never> {
  const { commit } = await recordEvents(repo, {
    subject: `refuse run of ${agent} (${task}): ${why}`,
    events: [{ event: 'run-refused', actor: 'runner', agent, run, reason: why, detail: { task } }],
    at: clock.now(),
  });
  await raiseHighWater(repo, commit);
  throw new GovernanceRefusal(`run refused: ${why}`);
}

/** Why this run may not start (checked in this order), or undefined; reserves the budget when it may. */
async function whyNotStart(gov: Governance, agent: TrustedAgent, run: string, clock: Clock): Promise<string | undefined> {
  const repo = gov.repo;
  const paused = await pauseState(gov, agent.id);
  if (paused.paused) return `agent ${agent.id} is paused (${paused.why})`;
  if ((await watchdogSettings(gov)).required) {
    const health = watchdogHealth(repo, clock.now());
    if (!health.alive) return `policies/watchdog.toml requires a live watchdog, and it is ${health.detail}`;
  }
  // The working ledger must extend the committed one, and the committed one must only ever have grown.
  const ledgerProblems: string[] = [];
  await appendOnlyFindings(gov, (commit, path, _rule, why) => ledgerProblems.push(`${path} in ${commit.slice(0, 12)}: ${why}`), [ledgerPath(agent.id)]);
  if (ledgerProblems.length) return `the committed ledger was rewritten (${ledgerProblems[0]}); see ga verify`;
  try {
    await assertExtendsCommitted(repo, agent.id);
    await reserveBudget(repo, agent.id, agent.config, run, clock);
  } catch (e) {
    if (e instanceof GaError) return e.message;
    throw e;
  }
  return undefined;
}

export async function runAgent(repo: Repo, agentId: string, task: string, opts: { clock: Clock; parentEnv?: NodeJS.ProcessEnv }): Promise<RunRecord> {
  if (process.env.GA_AGENT) {
    throw new GovernanceRefusal(`ga run refused inside an agent process (GA_AGENT=${process.env.GA_AGENT}): starting an agent is spawn_subagent; propose it`);
  }
  const clock = opts.clock;
  const gov = await loadGovernance(repo);
  const agent = await loadTrustedAgent(gov, agentId);
  const taskText = await loadTrustedTask(gov, agentId, task);
  const run = newRunId(clock.now());

  const refusal = await whyNotStart(gov, agent, run, clock);
  if (refusal) await refuse(repo, agentId, run, task, refusal, clock);

  try {
    const started = await recordEvents(repo, {
      subject: `start run ${run} of ${agentId} (${task})`,
      events: [{ event: 'run-started', actor: 'runner', agent: agentId, run, detail: { task, adapter: agent.config.adapter } }],
      at: clock.now(),
    });
    await raiseHighWater(repo, started.commit);
    const { result, stopReason } = await supervise(repo, agent, task, taskText, run, opts.parentEnv ?? process.env, clock);
    return await finish(repo, agent, task, run, result, stopReason, clock);
  } finally {
    releaseReservation(repo, agentId, run);
  }
}

type StopReason = 'paused' | 'over-budget' | 'wall-clock';

/** Runs the adapter with the runner's controls around it. */
async function supervise(repo: Repo, agent: TrustedAgent, task: string, taskText: string, run: string, parentEnv: NodeJS.ProcessEnv, clock: Clock) {
  const { home, bin } = makeScratchHome(agent.id);
  const workspace = join(repo.root, 'agents', agent.id, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const heartbeat = new Heartbeat(repo, { run, agent: agent.id, task, adapter: agent.config.adapter, runner_pid: process.pid, started_at: clock.now().toISOString() }, clock);
  const controller = new AbortController();
  let stopReason: StopReason | undefined;
  let proc: AgentProcess | undefined;
  const stop = (why: StopReason) => {
    if (stopReason) return;
    stopReason = why;
    proc?.stop();
    controller.abort(why);
  };

  // The pause marker: an inotify watch for speed, a short poll because events can be missed.
  const marker = join(repo.root, pausePath(agent.id));
  const checkMarker = () => existsSync(marker) && stop('paused');
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(join(repo.root, 'agents', agent.id), () => checkMarker());
  } catch {
    // the poll still catches it
  }
  const poll = setInterval(checkMarker, 100);
  const wall = setTimeout(() => stop('wall-clock'), parseDuration(agent.config.timeout)!);
  const budget = budgetStatus(repo, agent.id, agent.config, clock.now());
  heartbeat.start();
  try {
    checkMarker();
    const adapter = await adapterFor(agent.config.adapter);
    const result = await adapter({
      repo, agent, task, taskText, run, workspace, clock,
      env: agentEnvironment(parentEnv, { agent: agent.id, run, home, bin, allowlist: agent.allowlist }),
      reservationUsd: agent.config.budget.max_run_usd,
      stop: controller.signal,
      onProcess: (p) => {
        proc = p;
        heartbeat.beat({ agent_pid: p.pid });
        if (stopReason) p.stop();
      },
      onToolCall: (call) => heartbeat.recordToolCall(call),
      onSpend: (s) => {
        if (budget.usd + s.usd >= budget.usdCap || budget.tokens + s.tokens >= budget.tokenCap) stop('over-budget');
      },
    });
    return { result, stopReason };
  } finally {
    clearInterval(poll);
    clearTimeout(wall);
    watcher?.close();
    heartbeat.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Charges the ledger and records the run, with a pause if a cap was crossed, in one commit. */
async function finish(repo: Repo, agent: TrustedAgent, task: string, run: string, result: AdapterResult, stopReason: StopReason | undefined, clock: Clock): Promise<RunRecord> {
  const line: LedgerLine = await appendCharge(repo, agent.id, { run, ...result.charge }, { window: agent.config.budget.window, clock });
  const after = budgetStatus(repo, agent.id, agent.config, clock.now());
  const crossed = after.overUsd || after.overTokens;
  const outcome: RunOutcomeName = stopReason ?? (crossed ? 'over-budget' : result.outcome);
  const tokens = result.charge.input_tokens + result.charge.output_tokens;
  const at = clock.now();
  const capDetail = `$${after.usd.toFixed(4)} of $${after.usdCap}, ${after.tokens} of ${after.tokenCap} tokens in the ${after.window} window`;
  const events: GaEvent[] = [
    { event: 'charge', actor: 'runner', agent: agent.id, run, detail: { usd: line.usd, input_tokens: line.input_tokens, output_tokens: line.output_tokens, source: line.source } },
    {
      event: 'run-finished', actor: 'runner', agent: agent.id, run, outcome,
      detail: { task, adapter: agent.config.adapter, exit_code: result.exitCode, tokens, usd: result.charge.usd, source: result.charge.source, permission_denials: result.permissionDenials, note: result.note ?? null },
    },
  ];
  const pausePaths = crossed && !existsSync(join(repo.root, pausePath(agent.id)));
  if (pausePaths) events.push({ event: 'agent-paused', actor: 'runner', agent: agent.id, reason: `over-budget: ${capDetail}` });
  const body = [
    `run ${run}: agent ${agent.id}, task ${task}, adapter ${agent.config.adapter}`,
    `exit ${result.exitCode ?? 'none'}, ${tokens} tokens, $${result.charge.usd.toFixed(6)} (${result.charge.source}), ${result.permissionDenials} permission denials`,
    ...(result.note ? [result.note] : []),
    ...(result.tail.length ? ['', 'Last output:', ...result.tail.map((l) => `  ${l}`)] : []),
  ].join('\n');
  const { commit } = await recordEvents(repo, {
    subject: `finish run ${run} of ${agent.id} (${task}): ${outcome}${pausePaths ? ', paused over budget' : ''}`,
    body,
    events,
    files: () => [
      // Read under the repository lock: every whole line appended so far, so the committed ledger only grows.
      { path: ledgerPath(agent.id), content: readLedger(join(repo.root, ledgerPath(agent.id))), keepWorktree: true },
      ...(pausePaths ? [{ path: pausePath(agent.id), content: serializePause({ reason: 'over-budget', detail: capDetail, by: 'runner', at }) }] : []),
    ],
    at,
  });
  await raiseHighWater(repo, (await headCommit(repo)) ?? commit);
  return {
    run, agent: agent.id, task, adapter: agent.config.adapter, outcome, exitCode: result.exitCode, tokens,
    usd: result.charge.usd, source: result.charge.source, permissionDenials: result.permissionDenials, note: result.note,
    tail: result.tail, pausedForBudget: pausePaths, commit,
  };
}
