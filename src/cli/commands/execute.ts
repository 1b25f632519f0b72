import { UsageError } from '../../errors.js';
import { openRepo } from '../../git/repo.js';
import { executeAll, executeProposal, type ExecutionResult } from '../../executor/execute.js';
import { parseDuration } from '../../names.js';
import { printJson, type Context } from '../context.js';

function describe(r: ExecutionResult): string {
  if (r.result === 'refused') return `refused ${r.id}: ${r.why}`;
  if (r.result === 'recovered-unknown') return `failed ${r.id}: ${r.why}`;
  const h = r.hook!;
  const what = h.ran === 'none' ? 'no hook; executed as a no-op' : `hook ${h.hook} exited ${h.exitCode ?? h.signal}${h.timedOut ? ' (timed out)' : ''} in ${h.durationMs} ms`;
  return [`${r.result} ${r.id}: ${what}`, ...h.tail.map((l) => `  | ${l}`)].join('\n');
}

export default async function execute(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const repo = await openRepo(ctx.dir);
  let timeoutMs: number | undefined;
  if (args.timeout !== undefined) {
    timeoutMs = parseDuration(String(args.timeout));
    if (timeoutMs === undefined) throw new UsageError(`--timeout "${args.timeout}" is not a duration; use e.g. 90s or 10m`);
  }
  if (args.watch) {
    const { executeOnApproval } = await import('../../executor/watch.js');
    const { untilSignal } = await import('../signals.js');
    await executeOnApproval(repo, { clock: ctx.clock, timeoutMs, log: (l) => ctx.io.out(l), until: untilSignal() });
    return 0;
  }
  if (!args.id && !args.all) throw new UsageError('name a proposal id, or give --all or --watch');
  const results = args.id
    ? [await executeProposal(repo, String(args.id), { clock: ctx.clock, timeoutMs })]
    : await executeAll(repo, { clock: ctx.clock, timeoutMs });
  if (ctx.json) printJson(ctx, results);
  else ctx.io.out(results.length ? results.map(describe).join('\n') : 'nothing approved to execute');
  const refused = results.some((r) => r.result === 'refused');
  const failed = results.some((r) => r.result !== 'executed');
  return refused || (args.id && failed) ? 1 : 0;
}
