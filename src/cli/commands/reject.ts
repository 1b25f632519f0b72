import { UsageError } from '../../errors.js';
import { openRepo } from '../../git/repo.js';
import { rejectProposal } from '../../proposals/decide.js';
import { printJson, type Context } from '../context.js';
import { short } from '../format.js';

export default async function reject(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const reason = String(args.reason ?? '').trim();
  if (!reason) throw new UsageError('ga reject needs --reason "why"');
  const r = await rejectProposal(await openRepo(ctx.dir), String(args.id), { clock: ctx.clock, reason });
  if (ctx.json) printJson(ctx, r);
  else ctx.io.out(`rejected ${r.id} in signed commit ${short(r.commit)}`);
  return 0;
}
