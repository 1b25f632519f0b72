// adapter = "noop": no model. It proposes (as the agent, through `ga propose`
// in the agent's environment), waits for the decision by watching the
// repository, and once the proposal is validly approved the run has the
// executor carry it out: the runner is trusted, the agent never runs a hook.
import { join } from 'node:path';
import { executeProposal } from '../../executor/execute.js';
import { loadGovernance } from '../../history/replay.js';
import { GA_BIN } from '../env.js';
import { startAgentProcess } from '../process.js';
import type { Adapter, AdapterResult } from './types.js';

const zero = { input_tokens: 0, output_tokens: 0, usd: 0, source: 'metered' as const };

export const noopAdapter: Adapter = async (input) => {
  const title = input.taskText.split('\n').map((l) => l.trim()).find(Boolean)?.slice(0, 200) ?? `noop task ${input.task}`;
  const payload = JSON.stringify({ task: input.task, run: input.run });
  const p = startAgentProcess(process.execPath, [GA_BIN, 'propose', '--agent', input.agent.id, '--type', 'publish_content', '--title', title, '--rationale', `noop agent, task ${input.task}`, '--payload', payload], {
    cwd: input.workspace,
    env: input.env,
  });
  input.onProcess(p);
  const { code } = await p.done;
  const tail = p.tail();
  const id = tail[tail.length - 1]?.trim();
  const result = (outcome: AdapterResult['outcome'], note: string, exitCode: number | null = code): AdapterResult => ({
    exitCode, outcome, charge: zero, permissionDenials: 0, tail, note,
  });
  if (code !== 0 || !id) return result('nonzero-exit', `ga propose failed: ${tail.join(' | ')}`);
  const decision = await waitForDecision(input, id);
  if (decision === 'stopped') return result('success', `proposal ${id} still pending when the run was stopped`);
  if (decision !== 'approved') return result('success', `proposal ${id} was ${decision}; nothing to do`);
  const executed = await executeProposal(input.repo, id, { clock: input.clock });
  tail.push(...(executed.hook?.tail ?? []));
  if (executed.result === 'executed') return result('success', `proposal ${id} approved and executed`);
  return result('nonzero-exit', `proposal ${id} approved but ${executed.result}: ${executed.why ?? `hook exited ${executed.hook?.exitCode}`}`, 1);
};

type Decision = 'approved' | 'rejected' | 'expired' | 'gone' | 'stopped';

/**
 * Waits on the repository's refs (chokidar) for the proposal to leave
 * pending/; events are hints, so each one re-reads history, and a slow timer
 * backs them up.
 */
async function waitForDecision(input: Parameters<Adapter>[0], id: string): Promise<Decision> {
  const { watch } = await import('chokidar');
  const git = input.repo.gitDir;
  const watcher = watch([join(git, 'HEAD'), join(git, 'refs', 'heads'), join(git, 'packed-refs')], { ignoreInitial: true, ignored: (p) => p.endsWith('.lock') });
  try {
    return await new Promise<Decision>((settle) => {
      let tick: NodeJS.Timeout | undefined;
      const resolve = (d: Decision) => {
        clearInterval(tick);
        settle(d);
      };
      let checking = false;
      let again = false;
      const check = async () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          const gov = await loadGovernance(input.repo);
          const r = gov.proposals.get(id);
          const state = r?.state;
          // The executor judges the approval; an invalid one is refused and flagged there.
          if (state === 'approved') resolve('approved');
          else if (state === 'rejected' || state === 'expired') resolve(state);
          else if (state !== 'pending') resolve('gone');
        } catch {
          // a half-written moment in the repository: the next event or tick retries
        } finally {
          checking = false;
          if (again) {
            again = false;
            void check();
          }
        }
      };
      watcher.on('all', () => void check());
      tick = setInterval(() => void check(), 1000);
      input.stop.addEventListener('abort', () => resolve('stopped'));
      void check();
    });
  } finally {
    await watcher.close();
  }
}
