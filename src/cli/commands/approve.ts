import { openRepo } from '../../git/repo.js';
import { approveProposal } from '../../proposals/decide.js';
import { printJson, type Context } from '../context.js';
import { short } from '../format.js';

export default async function approve(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const r = await approveProposal(await openRepo(ctx.dir), String(args.id), { clock: ctx.clock, reason: args.reason as string | undefined });
  if (ctx.json) printJson(ctx, r);
  else if (r.result === 'recorded') ctx.io.out(`recorded approval ${r.approvals} of ${r.needed} for ${r.id} in ${short(r.commit)}; it stays pending until the quorum is met`);
  else ctx.io.out(`approved ${r.id} in signed commit ${short(r.commit)}; ga execute ${r.id} runs its hook`);
  return 0;
}
