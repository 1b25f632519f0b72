// adapter = "command": any executable. It may report its spend on file
// descriptor 3, one JSON object a line, each an increment:
//   {"usd": 0.012, "input_tokens": 900, "output_tokens": 120}
//   {"result": "published the release notes"}
// Reported spend is metered live against the caps (the runner stops the
// agent the moment one is crossed) and charged as `reported`; a command that
// reports nothing is charged nothing and recorded as unmetered.
import { join } from 'node:path';
import * as z from 'zod';
import { lazySchema } from '../../schema/lazy.js';
import { startAgentProcess } from '../../runtime/process.js';
import { boundedText, notStartedResult, type Adapter } from './types.js';

const reportSchema = lazySchema(() =>
  z.object({
    usd: z.number().finite().nonnegative().max(1e6).optional(),
    input_tokens: z.number().int().nonnegative().max(1e12).optional(),
    output_tokens: z.number().int().nonnegative().max(1e12).optional(),
    result: z.string().optional(),
  }),
);

/** Reads fd 3 lines: the sum of the increments, the last result, and how many lines were not reports. */
export class SpendReports {
  usd = 0;
  inputTokens = 0;
  outputTokens = 0;
  reported = false;
  bad = 0;
  result: string | undefined;

  /** Takes one line; true when it changed the spend. */
  push(line: string): boolean {
    if (!line.trim()) return false;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.bad++;
      return false;
    }
    const r = reportSchema().safeParse(json);
    if (!r.success) {
      this.bad++;
      return false;
    }
    if (r.data.result !== undefined) this.result = r.data.result;
    const spend = r.data.usd !== undefined || r.data.input_tokens !== undefined || r.data.output_tokens !== undefined;
    if (!spend) return false;
    this.reported = true;
    this.usd += r.data.usd ?? 0;
    this.inputTokens += r.data.input_tokens ?? 0;
    this.outputTokens += r.data.output_tokens ?? 0;
    return true;
  }
}

export const commandAdapter: Adapter = async (input) => {
  const [file, ...args] = input.agent.config.command!;
  const program = file!.startsWith('./') || file!.startsWith('../') ? join(input.workspace, file!) : file!;
  const reports = new SpendReports();
  const p = startAgentProcess(program, args, {
    cwd: input.workspace,
    env: input.env,
    stdin: input.taskText,
    marker: `GA_RUN=${input.run}`,
    onReportLine: (line) => {
      if (reports.push(line)) input.onSpend({ tokens: reports.inputTokens + reports.outputTokens, usd: reports.usd });
    },
  });
  input.onProcess(p);
  const { code, started } = await p.done;
  if (!started)
    return notStartedResult(
      p.tail(),
      `check command in agents/${input.agent.id}/agent.toml: the program must exist and be executable (a relative ./path is taken from the agent's workspace)`,
    );
  const notes = [
    ...(reports.reported ? [] : ['unmetered: the command reported no spend on fd 3']),
    ...(reports.bad ? [`${reports.bad} lines on fd 3 were not spend reports`] : []),
  ];
  return {
    exitCode: code,
    outcome: code === 0 ? 'success' : 'nonzero-exit',
    charge: reports.reported
      ? { input_tokens: reports.inputTokens, output_tokens: reports.outputTokens, usd: reports.usd, source: 'reported' }
      : { input_tokens: 0, output_tokens: 0, usd: 0, source: 'unmetered' },
    permissionDenials: 0,
    tail: p.tail(),
    note: notes.length ? notes.join('; ') : undefined,
    resultText: boundedText(reports.result),
  };
};
