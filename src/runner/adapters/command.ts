// adapter = "command": any executable; its spend is not metered, and the
// run record says so.
import { join } from 'node:path';
import { startAgentProcess } from '../../runtime/process.js';
import type { Adapter } from './types.js';

export const commandAdapter: Adapter = async (input) => {
  const [file, ...args] = input.agent.config.command!;
  const program = file!.startsWith('./') || file!.startsWith('../') ? join(input.workspace, file!) : file!;
  const p = startAgentProcess(program, args, { cwd: input.workspace, env: input.env, stdin: input.taskText, marker: `GA_RUN=${input.run}` });
  input.onProcess(p);
  const { code } = await p.done;
  return {
    exitCode: code,
    outcome: code === 0 ? 'success' : 'nonzero-exit',
    charge: { input_tokens: 0, output_tokens: 0, usd: 0, source: 'unmetered' },
    permissionDenials: 0,
    tail: p.tail(),
    note: 'unmetered: adapter "command" reports no spend',
  };
};
