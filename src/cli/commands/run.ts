import { openRepo } from '../../git/repo.js';
import { runAgent } from '../../runner/run.js';
import { printJson, type Context } from '../context.js';
import { paint, short } from '../format.js';

export default async function run(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const repo = await openRepo(ctx.dir);
  const agent = String(args.agent);
  const task = String(args.task ?? 'smoke');
  if (!ctx.json) ctx.io.out(`running ${agent} on task ${task}...`);
  const r = await runAgent(repo, agent, task, { clock: ctx.clock });
  if (ctx.json) {
    printJson(ctx, r);
  } else {
    const ok = r.outcome === 'success';
    ctx.io.out(`${paint(ctx.io.color, ok ? 'green' : 'red', r.outcome)}: run ${r.run} of ${r.agent}, exit ${r.exitCode ?? 'none'}, ${r.tokens} tokens, $${r.usd.toFixed(4)} (${r.source}), ${r.permissionDenials} permission denials; recorded in ${short(r.commit)}`);
    if (r.note) ctx.io.out(`  ${r.note}`);
    for (const l of r.tail.slice(-5)) ctx.io.out(`  | ${l}`);
    if (r.pausedForBudget) ctx.io.out(`  ${r.agent} crossed a cap and is paused (ga resume ${r.agent} --reason ... after raising the cap or in the next window)`);
  }
  return r.outcome === 'success' ? 0 : 1;
}
