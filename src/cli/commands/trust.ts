import { trustCommit } from '../../init/scaffold.js';
import { printJson, type Context } from '../context.js';

export default async function trust(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const r = await trustCommit(ctx.dir, String(args.commit));
  if (ctx.json) printJson(ctx, r);
  else ctx.io.out(`trust root pinned: ${r.commit} (git config ga.trustRoot in this clone)`);
  return 0;
}
