// `ga run <agent> [task]`: one agent, one task, under every control. Refuse
// before starting if paused, tampered or over budget; reserve max_run_usd;
// run the adapter in a scrubbed environment; stop everything it started at
// once on a pause (in the work tree or committed), the wall clock or a
// crossed cap; charge the ledger; and record the run (and any pause) in one
// commit, made under the ledger lock so no uncommitted line is ever seen.
import { mkdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { GaEvent } from '../audit/events.js';
import { recordEvents, recordPlanned } from '../audit/record.js';
import { loadTrustedAgent, loadTrustedTask, type TrustedAgent } from '../agents/trusted.js';
import { budgetConfigProblem, budgetOf, budgetOfLedgerText, budgetStatus, capProblem } from '../budget/budget.js';
import { leaseUntil, rfc3339, type Clock } from '../clock.js';
import { GaError, GovernanceRefusal } from '../errors.js';
import { readFileAt, type Repo } from '../git/repo.js';
import { extendGovernance, loadGovernance, type Governance } from '../history/replay.js';
import { agentDir, ledgerPath, newId, pausePath, WATCHDOG_PATH, workspaceDir } from '../layout/layout.js';
import { appendCharge, appendChargeToText, assertMatchesCommitted, ledgerLockTarget, readLedger, type LedgerLine } from '../ledger/ledger.js';
import { pauseState, workTreeMarker } from '../agents/paused.js';
import { raiseHighWater } from '../trust/highwater.js';
import { withLock } from '../runtime/lock.js';
import { governedBranch, onGovernedBranch, requireGovernedBranch } from '../trust/branch.js';
import { HeadWatcher, readHead } from '../git/head.js';
import { serializePause } from '../schema/pause.js';
import { probeContainment, type AgentProcess, type Containment } from '../runtime/process.js';
import { agentEnvironment, makeScratchHome } from './env.js';
import { Heartbeat } from './heartbeat.js';
import { watchdogHealth } from '../runtime/liveness.js';
import { PAUSE_SIGNAL } from '../runtime/processes.js';
import { watchdogSettings } from '../policy/watchdog.js';
import { ledgerRewrite } from '../ledger/history.js';
import { executeProposal } from '../executor/execute.js';
import { hubOf } from '../hub/sync.js';
import { fetchHub, hubTip, type Hub } from '../git/remote.js';
import { hubSettings } from '../policy/hub.js';
import { publishAct, publishAfter } from '../hub/publish.js';
import type { Adapter, AdapterResult } from './adapters/types.js';

export type RunOutcomeName = 'success' | 'paused' | 'over-budget' | 'wall-clock' | 'interrupted' | 'not-started' | 'no-result' | 'agent-error' | 'nonzero-exit';

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
  /** The agent's final answer or error text (bounded). */
  resultText?: string;
  /** What to do about an outcome that is not success. */
  hint?: string;
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
    ref: (await governedBranch(repo)).ref,
    subject: `refuse run of ${agent} (${task}): ${why}`,
    events: [{ event: 'run-refused', actor: 'runner', agent, run, reason: why, detail: { task } }],
    at: clock.now(),
  });
  await raiseHighWater(repo, commit).catch(() => undefined);
  throw new GovernanceRefusal(`run refused: ${why}`);
}

/** Why this run may not start, from what does not change under the ledger lock (checked in this order), or undefined. */
async function whyNotStart(gov: Governance, agent: TrustedAgent, clock: Clock): Promise<string | undefined> {
  const repo = gov.repo;
  const paused = await pauseState(gov, agent.id);
  if (paused.paused) return `agent ${agent.id} is paused (${paused.why})`;
  const config = budgetConfigProblem(agent.id, agent.config);
  if (config) return config;
  if ((await watchdogSettings(gov)).required) {
    const health = watchdogHealth(repo, clock.now());
    if (!health.alive) return `${WATCHDOG_PATH} requires a live watchdog, and it is ${health.detail}`;
  }
  // The committed ledger must only ever have grown.
  const rewrite = await ledgerRewrite(gov, agent.id);
  if (rewrite) return `the committed ledger was rewritten (${ledgerPath(agent.id)} in ${rewrite.commit.slice(0, 12)}: ${rewrite.why}); see ga verify`;
  return undefined;
}

/**
 * Reserves max_run_usd by committing run-started (with the reserved USD and
 * its lease), decided under the ledger lock against the HEAD it lands on:
 * the working ledger is exactly the committed one, and this reservation and
 * every live one of runs in flight fit under the cap. Returns the refusal,
 * or the reading of history the run goes on with.
 */
async function reserve(
  gov: Governance,
  agent: TrustedAgent,
  run: string,
  task: string,
  clock: Clock,
  input: { ref: string },
): Promise<{ gov: Governance } | { refusal: string }> {
  const repo = gov.repo;
  let current = gov;
  let refusal: string | undefined;
  let landed: string | undefined;
  await withLock(ledgerLockTarget(repo, agent.id), async () => {
    const at = clock.now();
    const usd = agent.config.budget.max_run_usd;
    const made = await recordPlanned(repo, { actor: 'runner', at, ref: input.ref }, async () => {
      current = await extendGovernance(current, () => loadGovernance(repo));
      try {
        await assertMatchesCommitted(repo, agent.id, current.head);
      } catch (e) {
        if (e instanceof GaError) return void (refusal = e.message);
        throw e;
      }
      const problem = capProblem(budgetOf(current, agent.id, agent.config, at), usd);
      if (problem) return void (refusal = `over budget: ${problem}`);
      return {
        subject: `start run ${run} of ${agent.id} (${task}), reserving $${usd}`,
        events: [
          {
            event: 'run-started',
            actor: 'runner',
            agent: agent.id,
            run,
            lease: rfc3339(leaseUntil(at, agent.config.timeout)),
            reserved: String(usd),
            detail: { task, adapter: agent.config.adapter, reserved_usd: usd },
          },
        ],
        files: [],
      };
    });
    landed = made?.commit;
  });
  if (refusal) return { refusal };
  // With a hub, the reservation counts only once it is in the hub: runs of one agent on two machines never together cross its cap.
  const hub = await hubOf(repo, current);
  if (hub && landed) {
    const p = await publishAct(repo, hub, landed, clock);
    if (!p.published) return { refusal: `the reservation did not reach the hub: ${p.why}` };
  }
  return { gov: current };
}

export async function runAgent(
  repo: Repo,
  agentId: string,
  task: string,
  opts: { clock: Clock; parentEnv?: NodeJS.ProcessEnv; say?: (line: string) => void },
): Promise<RunRecord> {
  if (process.env.GA_AGENT) {
    throw new GovernanceRefusal(`ga run refused inside an agent process (GA_AGENT=${process.env.GA_AGENT}): starting an agent is spawn_subagent; propose it`);
  }
  // From here on the pause signal stops this run (at its start if it comes early); its default action would kill the runner mid-commit.
  const pauseSignal: PauseLatch = { received: false };
  const onPauseSignal = () => {
    pauseSignal.received = true;
    pauseSignal.onSignal?.();
  };
  process.on(PAUSE_SIGNAL, onPauseSignal);
  try {
    return await runUnderLatch(repo, agentId, task, opts, pauseSignal);
  } finally {
    process.off(PAUSE_SIGNAL, onPauseSignal);
  }
}

async function runUnderLatch(
  repo: Repo,
  agentId: string,
  task: string,
  opts: { clock: Clock; parentEnv?: NodeJS.ProcessEnv; say?: (line: string) => void },
  pauseSignal: PauseLatch,
): Promise<RunRecord> {
  const clock = opts.clock;
  void probeContainment(); // how the agent will be contained, found while history is read
  await requireGovernedBranch(repo, `ga run ${agentId}`);
  const first = await loadGovernance(repo);
  const agent = await loadTrustedAgent(first, agentId);
  const taskText = await loadTrustedTask(first, agentId, task);
  const run = newId(clock.now());

  const early = await whyNotStart(first, agent, clock);
  if (early) await refuse(repo, agentId, run, task, early, clock);
  // Everything the run records lands on the governed branch, wherever the agent moves HEAD meanwhile.
  const { ref } = await governedBranch(repo);
  const reserved = await reserve(first, agent, run, task, clock, { ref });
  if ('refusal' in reserved) return refuse(repo, agentId, run, task, reserved.refusal, clock);
  const gov = reserved.gov;
  await raiseHighWater(repo, (await readHead(repo, ref)) ?? gov.head);
  const held = gov.heldLines.get(ledgerPath(agentId))?.lines ?? [];
  const supervised = await supervise({
    repo,
    agent,
    task,
    taskText,
    run,
    parentEnv: opts.parentEnv ?? process.env,
    clock,
    held,
    ref,
    say: opts.say ?? (() => undefined),
    pauseSignal,
    hub: await hubWatch(gov),
  });
  const record = await finish({ repo, agent, task, run, clock, held, ref, ...supervised });
  // The finish (its charge and its release of the reservation) reaches the hub now, or with the next ga sync.
  const note = await publishAfter(repo, clock);
  if (note) opts.say?.(note);
  return record;
}

type StopReason = 'paused' | 'over-budget' | 'wall-clock' | 'interrupted';

/** The hub to watch during a run, if this clone has one. */
async function hubWatch(gov: Governance): Promise<SuperviseInput['hub']> {
  const settings = await hubSettings(gov);
  return settings && { hub: { urls: settings.url, branch: settings.branch }, interval: settings.sync_interval };
}

/** Polls the hub's tip; stops the run when a tip it has not seen holds the agent's pause marker. A hub that does not answer changes nothing. */
function watchHubForPause(repo: Repo, watch: NonNullable<SuperviseInput['hub']>, agent: string, stop: () => void): NodeJS.Timeout {
  let seen: string | undefined;
  let busy = false;
  const look = async () => {
    if (busy) return;
    busy = true;
    try {
      const tip = await hubTip(repo, watch.hub);
      if (!tip || tip === seen) return;
      await fetchHub(repo, watch.hub);
      seen = tip;
      const tree = (await repo.objects.commit(tip)).tree;
      if (await repo.objects.entryAt(tree, pausePath(agent))) stop();
    } catch {
      // the hub is away: the local controls still hold
    } finally {
      busy = false;
    }
  };
  return setInterval(() => void look(), watch.interval);
}

interface SuperviseInput {
  repo: Repo;
  agent: TrustedAgent;
  task: string;
  taskText: string;
  run: string;
  parentEnv: NodeJS.ProcessEnv;
  clock: Clock;
  held: string[];
  /** The governed branch. */
  ref: string;
  say: (line: string) => void;
  /** `ga pause` signalling this runner directly (PAUSE_SIGNAL), latched for the runner's whole life. */
  pauseSignal: PauseLatch;
  /** The hub, looked at every `interval` ms for a pause made on another clone. */
  hub?: { hub: Hub; interval: number };
}

/** Whether PAUSE_SIGNAL came, and who to tell when it does. */
interface PauseLatch {
  received: boolean;
  onSignal?: () => void;
}

/**
 * Runs the adapter with the runner's controls around it. A pause is seen in
 * three ways, any of which stops the agent: the marker in the work tree
 * (an inotify watch and a 100 ms poll), the marker in each new commit of
 * the governed branch (the ref, read directly; the tree, read verified),
 * which no move of the agent's own directories and no checkout can hide,
 * and `ga pause` signalling this runner directly. When the work tree cannot
 * be looked into, the agent is stopped.
 */
async function supervise(
  input: SuperviseInput,
): Promise<{ result: AdapterResult; stopReason: StopReason | undefined; signalled: boolean; containment?: Containment }> {
  const { repo, agent, task, taskText, run, parentEnv, clock } = input;
  const { home, bin } = makeScratchHome(agent.id);
  const workspace = join(repo.root, workspaceDir(agent.id));
  mkdirSync(workspace, { recursive: true });
  const heartbeat = new Heartbeat(
    repo,
    { run, agent: agent.id, task, adapter: agent.config.adapter, runner_pid: process.pid, started_at: clock.now().toISOString() },
    clock,
  );
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
    input.ref,
  );
  input.pauseSignal.onSignal = () => stop('paused');
  if (input.pauseSignal.received) stop('paused');
  // A pause made on another clone: a cheap look at the hub's ref every sync_interval, its tree read only when it moved.
  const hubPoll = input.hub && watchHubForPause(repo, input.hub, agent.id, () => stop('paused'));
  // Ctrl-C or a TERM: the agent is stopped and the run still finishes, is charged and recorded.
  const onInterrupt = () => stop('interrupted');
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
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
    await probeContainment();
    const result = await adapter({
      repo,
      agent,
      task,
      taskText,
      run,
      workspace,
      clock,
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
        // A run may spend what it reserved and no more: the reservations of runs in flight (on this clone or any
        // other) add up to at most the cap, so only this keeps concurrent runs together under it.
        const reserved = agent.config.budget.max_run_usd;
        if (budget.usd + s.usd >= budget.usdCap || budget.tokens + s.tokens >= budget.tokenCap || (s.usd > 0 && s.usd >= reserved)) stop('over-budget');
      },
      execute: (id) => executeProposal(repo, id, { clock }),
      say: input.say,
    });
    return { result, stopReason, signalled: input.pauseSignal.received, containment: proc?.containment };
  } finally {
    input.pauseSignal.onSignal = undefined;
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    clearInterval(poll);
    clearTimeout(wall);
    watcher?.close();
    commits.close();
    if (hubPoll) clearInterval(hubPoll);
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
  ref: string;
  result: AdapterResult;
  stopReason: StopReason | undefined;
  /** Stopped by `ga pause` signalling this runner. */
  signalled: boolean;
  containment?: Containment;
}

/**
 * Charges the ledger and records the run, with a pause if a cap was crossed
 * (or `ga pause` reached the run directly and its own commit did not land),
 * in one commit on the governed branch, under the ledger lock.
 */
async function finish(f: FinishInput): Promise<RunRecord> {
  const { repo, agent, task, run, clock, result } = f;
  return withLock(ledgerLockTarget(repo, agent.id), async () => {
    const rel = ledgerPath(agent.id);
    const charge = { run, ...result.charge };
    const window = agent.config.budget.window;
    // On the governed branch the charge is appended to the working ledger (which the commit keeps);
    // when the agent checked out something else, it goes onto the governed branch's committed ledger.
    const onBranch = await onGovernedBranch(repo);
    const tip = onBranch ? undefined : await readHead(repo, f.ref);
    const offBranch = onBranch
      ? undefined
      : appendChargeToText((tip && (await readFileAt(repo, tip, rel))?.content) || Buffer.alloc(0), charge, { window, clock }, `${rel} at ${f.ref}`);
    const line: LedgerLine = offBranch ? offBranch.line : await appendCharge(repo, agent.id, charge, { window, clock, locked: true });
    const after = offBranch
      ? budgetOfLedgerText(agent.config, clock.now(), offBranch.text, f.held)
      : budgetStatus(repo, agent.id, agent.config, clock.now(), f.held);
    const crossed = after.overUsd || after.overTokens;
    const outcome: RunOutcomeName = f.stopReason ?? (crossed ? 'over-budget' : result.outcome);
    const tokens = result.charge.input_tokens + result.charge.output_tokens;
    const at = clock.now();
    const capDetail = `$${after.usd.toFixed(4)} of $${after.usdCap}, ${after.tokens} of ${after.tokenCap} tokens in the ${after.window} window`;
    const events: GaEvent[] = [
      {
        event: 'charge',
        actor: 'runner',
        agent: agent.id,
        run,
        detail: { usd: line.usd, input_tokens: line.input_tokens, output_tokens: line.output_tokens, source: line.source },
      },
      {
        event: 'run-finished',
        actor: 'runner',
        agent: agent.id,
        run,
        outcome,
        detail: {
          task,
          adapter: agent.config.adapter,
          exit_code: result.exitCode,
          tokens,
          usd: result.charge.usd,
          source: result.charge.source,
          permission_denials: result.permissionDenials,
          note: result.note ?? null,
          result: result.resultText ?? null,
          hint: result.hint ?? null,
          containment: f.containment ?? null,
        },
      },
    ];
    const markerAt = async () =>
      (await readHead(repo, f.ref)
        .then((h) => (h ? repo.objects.commit(h) : undefined))
        .then((c) => (c ? repo.objects.entryAt(c.tree, pausePath(agent.id)) : undefined))) !== undefined;
    const alreadyMarked = workTreeMarker(repo.root, agent.id).present || (await markerAt());
    const pausing = (crossed || f.signalled) && !alreadyMarked;
    const pauseReason = crossed
      ? { reason: 'over-budget' as const, detail: capDetail }
      : { reason: 'manual' as const, detail: 'ga pause stopped this run directly' };
    if (pausing) events.push({ event: 'agent-paused', actor: 'runner', agent: agent.id, reason: `${pauseReason.reason}: ${pauseReason.detail}` });
    const body = [
      `run ${run}: agent ${agent.id}, task ${task}, adapter ${agent.config.adapter}${f.containment ? `, contained by ${f.containment}` : ''}`,
      `exit ${result.exitCode ?? 'none'}, ${tokens} tokens, $${result.charge.usd.toFixed(6)} (${result.charge.source}), ${result.permissionDenials} permission denials`,
      ...(result.note ? [result.note] : []),
      ...(result.resultText ? ['', 'Result:', ...result.resultText.split('\n').map((l) => `  ${l}`)] : []),
      ...(result.hint ? ['', `What to do: ${result.hint}`] : []),
      ...(result.tail.length ? ['', 'Last output:', ...result.tail.map((l) => `  ${l}`)] : []),
    ].join('\n');
    const { commit } = await recordEvents(repo, {
      ref: f.ref,
      subject: `finish run ${run} of ${agent.id} (${task}): ${outcome}${pausing ? (crossed ? ', paused over budget' : ', paused') : ''}`,
      body,
      events,
      files: () => [
        offBranch ? { path: rel, content: offBranch.text } : { path: rel, content: readLedger(join(repo.root, rel)), keepWorktree: true },
        ...(pausing ? [{ path: pausePath(agent.id), content: serializePause({ ...pauseReason, by: 'runner', at }) }] : []),
      ],
      at,
    });
    await raiseHighWater(repo, commit).catch(() => undefined);
    return {
      run,
      agent: agent.id,
      task,
      adapter: agent.config.adapter,
      outcome,
      exitCode: result.exitCode,
      tokens,
      usd: result.charge.usd,
      source: result.charge.source,
      permissionDenials: result.permissionDenials,
      note: result.note,
      resultText: result.resultText,
      hint: result.hint,
      tail: result.tail,
      pausedForBudget: pausing,
      containment: f.containment,
      commit,
    };
  });
}
