import { openRepo } from '../../git/repo.js';
import { runWatchdog } from '../../watchdog/daemon.js';
import { sweepOnce } from '../../watchdog/sweep.js';
import { printJson, type Context } from '../context.js';
import { untilSignal } from '../signals.js';

export default async function watchdog(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const repo = await openRepo(ctx.dir);
  if (args.once) {
    const r = await sweepOnce(repo, ctx.clock);
    if (ctx.json) printJson(ctx, r);
    else {
      for (const p of r.paused) ctx.io.out(`paused ${p.agent} (${p.reason}): ${p.detail}`);
      for (const id of r.expired) ctx.io.out(`expired ${id}`);
      for (const f of r.flagged) ctx.io.out(`flagged bad file ${f.path}: ${f.problem}`);
      if (!r.paused.length && !r.expired.length && !r.flagged.length) ctx.io.out('nothing to do');
    }
    return 0;
  }
  await runWatchdog(repo, { clock: ctx.clock, log: (l) => ctx.io.out(l), until: untilSignal() });
  return 0;
}
