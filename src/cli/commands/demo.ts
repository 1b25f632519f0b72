import { runDemo } from '../../demo/demo.js';
import type { Context } from '../context.js';

export default async function demo(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const keep = Boolean(args.keep);
  const { dir } = await runDemo({ keep, clock: ctx.clock, print: (l) => ctx.io.out(l) });
  ctx.io.out(`\nThe loop held: self-approval refused, forgery refused and flagged, one signed approval, one execution.`);
  if (keep) ctx.io.out(`kept: ${dir}/governance`);
  return 0;
}
