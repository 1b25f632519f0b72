import { UsageError } from '../../errors.js';
import type { ExecutionResult } from '../../executor/execute.js';
import { parseDuration } from '../../schema/duration.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

function describeResult(r: ExecutionResult): string {
  if (r.result === 'refused') return `refused ${r.id}: ${r.why}`;
  if (r.result === 'recovered-unknown') return `failed ${r.id}: ${r.why}`;
  const h = r.hook!;
  const what =
    h.ran === 'none'
      ? 'no hook; executed as a no-op'
      : `hook ${h.hook} exited ${h.exitCode ?? h.signal}${h.timedOut ? ' (timed out)' : ''} in ${h.durationMs} ms`;
  return [`${r.result} ${r.id}: ${what}${r.late ? ` (${r.why})` : ''}`, ...h.tail.map((l) => `  | ${l}`)].join('\n');
}

export default defineCommand({
  command: 'execute [id]',
  describe: 'run the hooks of validly approved proposals, exactly once',
  builder: (y) =>
    y
      .positional('id', { type: 'string', describe: 'the proposal id, or a unique prefix of it' })
      .option('all', { type: 'boolean', describe: 'every proposal in approved/' })
      .option('watch', { type: 'boolean', describe: 'keep running: execute each approval the moment it lands' })
      .option('timeout', { type: 'string', describe: 'hook time limit, such as 10m (default 10m)' }),
  examples: [
    ['ga execute 20261124-1000', 'claim it, run its trusted hook, record the outcome'],
    ['ga execute --watch', 'run each hook the moment its approval lands'],
  ],
  async run(ctx, args) {
    let timeoutMs: number | undefined;
    if (args.timeout !== undefined) {
      timeoutMs = parseDuration(args.timeout);
      if (timeoutMs === undefined) throw new UsageError(`--timeout "${args.timeout}" is not a duration; use e.g. 90s or 10m`);
    }
    const repo = await ctx.repo();
    if (args.watch) {
      const [{ executeOnApproval }, { untilSignal }] = await Promise.all([import('../../executor/watch.js'), import('../signals.js')]);
      await executeOnApproval(repo, { clock: ctx.clock, timeoutMs, log: (l) => ctx.io.out(l), until: untilSignal() });
      return 0;
    }
    if (!args.id && !args.all) throw new UsageError('name a proposal id, or give --all or --watch');
    const { executeAll, executeProposal } = await import('../../executor/execute.js');
    const results = args.id ? [await executeProposal(repo, args.id, { clock: ctx.clock, timeoutMs })] : await executeAll(repo, { clock: ctx.clock, timeoutMs });
    if (ctx.json) printJson(ctx, results);
    else ctx.io.out(results.length ? results.map(describeResult).join('\n') : 'nothing approved to execute');
    const refused = results.some((r) => r.result === 'refused');
    const failed = results.some((r) => r.result !== 'executed');
    return refused || (args.id && failed) ? 1 : 0;
  },
});
