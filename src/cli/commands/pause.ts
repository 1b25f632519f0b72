import { UsageError } from '../../errors.js';
import { requireReason } from '../args.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

export default defineCommand({
  command: 'pause [agent]',
  describe: 'pause an agent (or --all) with a committed marker',
  builder: (y) =>
    y
      .positional('agent', { type: 'string', describe: 'the agent id' })
      .option('all', { type: 'boolean', describe: 'pause every agent that has a trusted agent.toml' })
      .option('reason', { type: 'string', demandOption: 'give --reason "why"', describe: 'why (required), recorded in the marker and the commit' }),
  examples: [
    ['ga pause noop --reason "checking its last run"', 'stop noop now and keep it stopped'],
    ['ga pause --all --reason "incident"', 'pause every agent in one commit'],
  ],
  async run(ctx, args) {
    const reason = requireReason(args.reason, 'ga pause');
    if (!args.agent && !args.all) throw new UsageError('name an agent, or give --all');
    const [{ pauseAgents }, { actorFromEnvironment }, { loadGovernance }, { trustedAgentIds }, { checkAgentId }] = await Promise.all([
      import('../../pause/actions.js'), import('../../audit/record.js'), import('../../history/replay.js'), import('../../agents/trusted.js'), import('../../layout/layout.js'),
    ]);
    const repo = await ctx.repo();
    const agents = args.all ? trustedAgentIds(await loadGovernance(repo)) : [checkAgentId(args.agent!)];
    const paused = await pauseAgents(repo, agents, { reason: 'manual', detail: reason, by: await actorFromEnvironment(repo) }, ctx.clock);
    if (ctx.json) printJson(ctx, { paused });
    else ctx.io.out(paused.length ? `paused ${paused.join(', ')}` : 'already paused');
  },
});
