// adapter = "noop": no model. It proposes (as the agent, through `ga propose`
// in the agent's environment), waits for the decision by watching the
// repository, and once the proposal is validly approved the run has the
// executor carry it out: the runner is trusted, the agent never runs a hook.
import { LiveReading } from '../../history/replay.js';
import { GA_BIN } from '../env.js';
import { Coalescer, refPaths, watchRepository } from '../../runtime/watch.js';
import { startAgentProcess } from '../../runtime/process.js';
import type { ProposalState } from '../../layout/layout.js';
import type { Adapter, AdapterResult } from './types.js';

const zero = { input_tokens: 0, output_tokens: 0, usd: 0, source: 'metered' as const };

export const noopAdapter: Adapter = async (input) => {
  const title =
    input.taskText
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean)
      ?.slice(0, 200) ?? `noop task ${input.task}`;
  const payload = JSON.stringify({ task: input.task, run: input.run });
  const p = startAgentProcess(
    process.execPath,
    [
      GA_BIN,
      'propose',
      '--agent',
      input.agent.id,
      '--type',
      'publish_content',
      '--title',
      title,
      '--rationale',
      `noop agent, task ${input.task}`,
      '--payload',
      payload,
    ],
    {
      cwd: input.workspace,
      env: input.env,
      marker: `GA_RUN=${input.run}`,
    },
  );
  input.onProcess(p);
  const { code } = await p.done;
  const tail = p.tail();
  const id = tail[tail.length - 1]?.trim();
  const result = (outcome: AdapterResult['outcome'], note: string, exitCode: number | null = code): AdapterResult => ({
    exitCode,
    outcome,
    charge: zero,
    permissionDenials: 0,
    tail,
    note,
  });
  if (code !== 0 || !id) return result('nonzero-exit', `ga propose failed: ${tail.join(' | ')}`);
  input.say(`proposed ${id}; waiting for your decision: ga approve ${id} (this run then executes it), or ga reject ${id} --reason "..."`);
  const decision = await waitWhileIn(input, id, 'pending');
  if (decision === 'stopped') return result('success', `proposal ${id} still pending when the run was stopped`);
  if (decision !== 'approved') return result('success', `proposal ${id} was ${decision}; nothing to do`);
  // The executor judges the approval; an invalid one is refused and flagged there.
  const executed = await input.execute(id);
  tail.push(...(executed.hook?.tail ?? []));
  if (executed.result === 'executed') return result('success', `proposal ${id} approved and executed`);
  if (executed.result === 'refused' && (executed.refusal === 'claimed' || executed.refusal === 'already-ran')) {
    // `ga execute --watch` got there first: its outcome is this run's.
    const outcome = await waitWhileIn(input, id, 'approved');
    if (outcome === 'executed') return result('success', `proposal ${id} approved and executed by another executor`);
    return result('nonzero-exit', `proposal ${id} approved; another executor recorded ${outcome}`, 1);
  }
  return result('nonzero-exit', `proposal ${id} approved but ${executed.result}: ${executed.why ?? `hook exited ${executed.hook?.exitCode}`}`, 1);
};

type Decision = ProposalState | 'gone' | 'stopped';

/**
 * Waits on the repository's refs (chokidar) for the proposal to leave
 * `state`; events are hints, so each one reads the commits added since (a
 * reading kept in memory), and a slow timer backs them up. Returns where it went.
 */
async function waitWhileIn(input: Parameters<Adapter>[0], id: string, state: ProposalState): Promise<Decision> {
  let settle: (d: Decision) => void = () => undefined;
  const decided = new Promise<Decision>((resolve) => (settle = resolve));
  const reading = new LiveReading(input.repo);
  const check = new Coalescer(async () => {
    try {
      const now = (await reading.current()).proposals.get(id)?.state;
      if (now !== state) settle(now ?? 'gone');
    } catch {
      // a half-written moment in the repository: the next event or tick retries
    }
  });
  const watcher = await watchRepository(refPaths(input.repo), () => check.poke());
  const tick = setInterval(() => check.poke(), 1000);
  const stopped = () => settle('stopped');
  if (input.stop.aborted) stopped();
  input.stop.addEventListener('abort', stopped);
  check.poke();
  try {
    return await decided;
  } finally {
    clearInterval(tick);
    input.stop.removeEventListener('abort', stopped);
    await watcher.close();
    await check.idle();
  }
}
