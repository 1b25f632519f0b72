// `ga run <agent> [task]`: one agent, one task, under every control. Refuse
// before starting if paused, tampered or over budget; reserve max_run_usd;
// run the adapter in a scrubbed environment; stop everything it started at
// once on a pause (in the work tree or committed), the wall clock or a
// crossed cap; charge the ledger; and record the run (and any pause) in one
// commit, made under the ledger lock so no uncommitted line is ever seen.
import { mkdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { GaEvent } from '../audit/events.js';
import { recordEvents } from '../audit/record.js';
import { loadTrustedAgent, loadTrustedTask, type TrustedAgent } from '../agents/trusted.js';
import { budgetStatus, releaseReservation, reserveBudget } from '../budget/budget.js';
import type { Clock } from '../clock.js';
import { GaError, GovernanceRefusal } from '../errors.js';
import { headCommit, type Repo } from '../git/repo.js';
import { loadGovernance, type Governance } from '../history/replay.js';
import { agentDir, ledgerPath, newId, pausePath, WATCHDOG_PATH, workspaceDir } from '../layout/layout.js';
import { appendCharge, assertMatchesCommitted, ledgerLockTarget, readLedger, type LedgerLine } from '../ledger/ledger.js';
import { pauseState, workTreeMarker } from '../agents/paused.js';
import { raiseHighWater } from '../trust/highwater.js';
import { withLock } from '../runtime/lock.js';
import { requireGovernedBranch } from '../trust/branch.js';
import { HeadWatcher } from '../git/head.js';
import { serializePause } from '../schema/pause.js';
import type { AgentProcess, Containment } from '../runtime/process.js';
import { agentEnvironment, makeScratchHome } from './env.js';
import { Heartbeat } from './heartbeat.js';
import { watchdogHealth } from '../runtime/liveness.js';
import { watchdogSettings } from '../policy/watchdog.js';
import { ledgerRewrite } from '../ledger/history.js';
import { executeProposal } from '../executor/execute.js';
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
  /** How the agent's processes were contained. */
  containment?: Containment;
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
  await raiseHighWater(repo, commit).catch(() => undefined);
  throw new GovernanceRefusal(`run refused: ${why}`);
}

/** Why this run may not start (checked in this order), or undefined; reserves the budget when it may. */
async function whyNotStart(gov: Governance, agent: TrustedAgent, run: string, clock: Clock): Promise<string | undefined> {
  const repo = gov.repo;
  const paused = await pauseState(gov, agent.id);
  if (paused.paused) return `agent ${agent.id} is paused (${paused.why})`;
  if ((await watchdogSettings(gov)).required) {
    const health = watchdogHealth(repo, clock.now());
    if (!health.alive) return `${WATCHDOG_PATH} requires a live watchdog, and it is ${health.detail}`;
  }
  // The committed ledger must only ever have grown.
  const rewrite = await ledgerRewrite(gov, agent.id);
  if (rewrite) return `the committed ledger was rewritten (${ledgerPath(agent.id)} in ${rewrite.commit.slice(0, 12)}: ${rewrite.why}); see ga verify`;
  const held = gov.heldLines.get(ledgerPath(agent.id));
  try {
    // Under the ledger lock: the working ledger is exactly the committed one, and the reservation fits.
    await reserveBudget(repo, agent.id, agent.config, run, clock, held?.lines ?? [], () => assertMatchesCommitted(repo, agent.id, gov.head));
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
  await requireGovernedBranch(repo, `ga run ${agentId}`);
  const gov = await loadGovernance(repo);
  const agent = await loadTrustedAgent(gov, agentId);
  const taskText = await loadTrustedTask(gov, agentId, task);
  const run = newId(clock.now());

  const refusal = await whyNotStart(gov, agent, run, clock);
  if (refusal) await refuse(repo, agentId, run, task, refusal, clock);

  try {
    const started = await recordEvents(repo, {
      subject: `start run ${run} of ${agentId} (${task})`,
      events: [{ event: 'run-started', actor: 'runner', agent: agentId, run, detail: { task, adapter: agent.config.adapter } }],
      at: clock.now(),
    });
    await raiseHighWater(repo, started.commit);
    const held = gov.heldLines.get(ledgerPath(agentId))?.lines ?? [];
    const supervised = await supervise({ repo, agent, task, taskText, run, parentEnv: opts.parentEnv ?? process.env, clock, held });
    return await finish({ repo, agent, task, run, clock, held, ...supervised });
  } finally {
    releaseReservation(repo, agentId, run);
  }
}

type StopReason = 'paused' | 'over-budget' | 'wall-clock';

interface SuperviseInput {
  repo: Repo;
  agent: TrustedAgent;
  task: string;
  taskText: string;
  run: string;
  parentEnv: NodeJS.ProcessEnv;
  clock: Clock;
  held: string[];
}

/**
 * Runs the adapter with the runner's controls around it. A pause is seen in
 * two ways, either of which stops the agent: the marker in the work tree
 * (an inotify watch and a 100 ms poll), and the marker in each new commit of
 * the branch (the ref, read directly; the tree, read verified), which no
 * move of the agent's own directories can hide. When the work tree cannot be
 * looked into, the agent is stopped.
 */
async function supervise(input: SuperviseInput): Promise<{ result: AdapterResult; stopReason: StopReason | undefined; containment?: Containment }> {
  const { repo, agent, task, taskText, run, parentEnv, clock } = input;
  const { home, bin } = makeScratchHome(agent.id);
  const workspace = join(repo.root, workspaceDir(agent.id));
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

  const checkWorkTree = () => workTreeMarker(repo.root, agent.id).present && stop('paused');
  const commits = new HeadWatcher(
    repo,
    async (head) => {
      const tree = (await repo.objects.commit(head)).tree;
      if (await repo.objects.entryAt(tree, pausePath(agent.id))) stop('paused');
    },
    () => stop('paused'), // a commit that cannot be read: ga cannot tell, so the agent stops
  );
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(join(repo.root, agentDir(agent.id)), () => checkWorkTree());
  } catch {
    // the poll still catches it
  }
  const poll = setInterval(() => {
    checkWorkTree();
    commits.check();
  }, 100);
  const wall = setTimeout(() => stop('wall-clock'), agent.config.timeout);
  const budget = budgetStatus(repo, agent.id, agent.config, clock.now(), input.held);
  heartbeat.start();
  try {
    checkWorkTree();
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
      execute: (id) => executeProposal(repo, id, { clock }),
    });
    return { result, stopReason, containment: proc?.containment };
  } finally {
    clearInterval(poll);
    clearTimeout(wall);
    watcher?.close();
    commits.close();
    heartbeat.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

interface FinishInput {
  repo: Repo;
  agent: TrustedAgent;
  task: string;
  run: string;
  clock: Clock;
  held: string[];
  result: AdapterResult;
  stopReason: StopReason | undefined;
  containment?: Containment;
}

/** Charges the ledger and records the run, with a pause if a cap was crossed, in one commit, under the ledger lock. */
async function finish(f: FinishInput): Promise<RunRecord> {
  const { repo, agent, task, run, clock, result } = f;
  return withLock(ledgerLockTarget(repo, agent.id), async () => {
    const line: LedgerLine = await appendCharge(repo, agent.id, { run, ...result.charge }, { window: agent.config.budget.window, clock, locked: true });
    const after = budgetStatus(repo, agent.id, agent.config, clock.now(), f.held);
    const crossed = after.overUsd || after.overTokens;
    const outcome: RunOutcomeName = f.stopReason ?? (crossed ? 'over-budget' : result.outcome);
    const tokens = result.charge.input_tokens + result.charge.output_tokens;
    const at = clock.now();
    const capDetail = `$${after.usd.toFixed(4)} of $${after.usdCap}, ${after.tokens} of ${after.tokenCap} tokens in the ${after.window} window`;
    const events: GaEvent[] = [
      { event: 'charge', actor: 'runner', agent: agent.id, run, detail: { usd: line.usd, input_tokens: line.input_tokens, output_tokens: line.output_tokens, source: line.source } },
      {
        event: 'run-finished', actor: 'runner', agent: agent.id, run, outcome,
        detail: { task, adapter: agent.config.adapter, exit_code: result.exitCode, tokens, usd: result.charge.usd, source: result.charge.source, permission_denials: result.permissionDenials, note: result.note ?? null, containment: f.containment ?? null },
      },
    ];
    const pausing = crossed && !workTreeMarker(repo.root, agent.id).present;
    if (pausing) events.push({ event: 'agent-paused', actor: 'runner', agent: agent.id, reason: `over-budget: ${capDetail}` });
    const body = [
      `run ${run}: agent ${agent.id}, task ${task}, adapter ${agent.config.adapter}${f.containment ? `, contained by ${f.containment}` : ''}`,
      `exit ${result.exitCode ?? 'none'}, ${tokens} tokens, $${result.charge.usd.toFixed(6)} (${result.charge.source}), ${result.permissionDenials} permission denials`,
      ...(result.note ? [result.note] : []),
      ...(result.tail.length ? ['', 'Last output:', ...result.tail.map((l) => `  ${l}`)] : []),
    ].join('\n');
    const { commit } = await recordEvents(repo, {
      subject: `finish run ${run} of ${agent.id} (${task}): ${outcome}${pausing ? ', paused over budget' : ''}`,
      body,
      events,
      files: () => [
        { path: ledgerPath(agent.id), content: readLedger(join(repo.root, ledgerPath(agent.id))), keepWorktree: true },
        ...(pausing ? [{ path: pausePath(agent.id), content: serializePause({ reason: 'over-budget', detail: capDetail, by: 'runner', at }) }] : []),
      ],
      at,
    });
    await raiseHighWater(repo, (await headCommit(repo)) ?? commit).catch(() => undefined);
    return {
      run, agent: agent.id, task, adapter: agent.config.adapter, outcome, exitCode: result.exitCode, tokens,
      usd: result.charge.usd, source: result.charge.source, permissionDenials: result.permissionDenials, note: result.note,
      tail: result.tail, pausedForBudget: pausing, containment: f.containment, commit,
    };
  });
}
