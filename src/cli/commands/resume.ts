import { UsageError } from '../../errors.js';
import { openRepo } from '../../git/repo.js';
import { resumeAgent } from '../../pause/actions.js';
import { checkAgentId } from '../../names.js';
import { printJson, type Context } from '../context.js';
import { short } from '../format.js';

export default async function resume(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const reason = String(args.reason ?? '').trim();
  if (!reason) throw new UsageError('ga resume needs --reason "why"');
  const agent = checkAgentId(String(args.agent));
  const r = await resumeAgent(await openRepo(ctx.dir), agent, { reason, force: Boolean(args.force), clock: ctx.clock });
  if (ctx.json) printJson(ctx, { agent, ...r });
  else ctx.io.out(`resumed ${agent} in signed commit ${short(r.commit)}${r.forced ? ' (forced; recorded)' : ''}`);
  return 0;
}
