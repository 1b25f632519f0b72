import { UsageError } from '../../errors.js';
import { configGet, openRepo } from '../../git/repo.js';
import { loadGovernance } from '../../history/replay.js';
import { trustedAgentIds } from '../../agents/trusted.js';
import { pauseAgents } from '../../pause/actions.js';
import { checkAgentId } from '../../names.js';
import { printJson, type Context } from '../context.js';

export default async function pause(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const reason = String(args.reason ?? '').trim();
  if (!reason) throw new UsageError('ga pause needs --reason "why"');
  if (!args.agent && !args.all) throw new UsageError('name an agent, or give --all');
  const repo = await openRepo(ctx.dir);
  const agents = args.all ? trustedAgentIds(await loadGovernance(repo)) : [checkAgentId(String(args.agent))];
  const by = process.env.GA_AGENT ? `agent:${process.env.GA_AGENT}` : `human:${(await configGet(repo, 'user.email')) ?? 'unknown'}`;
  const paused = await pauseAgents(repo, agents, { reason: 'manual', detail: reason, by }, ctx.clock);
  if (ctx.json) printJson(ctx, { paused });
  else ctx.io.out(paused.length ? `paused ${paused.join(', ')}` : 'already paused');
  return 0;
}
