import { configGet, openRepo } from '../../git/repo.js';
import { expireProposals } from '../../proposals/decide.js';
import { printJson, type Context } from '../context.js';

export default async function expire(ctx: Context): Promise<number> {
  const repo = await openRepo(ctx.dir);
  const actor = process.env.GA_AGENT ? `agent:${process.env.GA_AGENT}` : `human:${(await configGet(repo, 'user.email')) ?? 'unknown'}`;
  const ids = await expireProposals(repo, { clock: ctx.clock, actor });
  if (ctx.json) printJson(ctx, { expired: ids });
  else ctx.io.out(ids.length ? ids.map((id) => `expired ${id}`).join('\n') : 'nothing to expire');
  return 0;
}
