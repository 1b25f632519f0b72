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
      .option('reason', { type: 'string', describe: 'why (required), recorded in the marker and the commit' }),
  examples: [
    ['ga pause noop --reason "checking its last run"', 'stop noop now and keep it stopped'],
    ['ga pause --all --reason "incident"', 'pause every agent in one commit'],
  ],
  publishes: true,
  async run(ctx, args) {
    const reason = requireReason(args.reason, 'ga pause');
    if (!args.agent && !args.all) throw new UsageError('name an agent, or give --all');
    const [{ pauseAgents, stopLocalRuns }, { actorFromEnvironment }, { loadGovernance }, { requireKnownAgent, trustedAgentIds }, { workTreeOf }] =
      await Promise.all([
        import('../../pause/actions.js'),
        import('../../audit/record.js'),
        import('../../history/replay.js'),
        import('../../agents/trusted.js'),
        import('../../runtime/processes.js'),
      ]);
    let repo;
    try {
      repo = await ctx.repo();
    } catch (e) {
      // The repository cannot be opened (an agent may have broken it on purpose): the local runs still stop.
      const root = workTreeOf(ctx.dir);
      const stopped = root ? stopLocalRuns(root, args.all ? undefined : [args.agent!]) : [];
      if (stopped.length)
        ctx.io.err(`stopped ${stopped.length} local run(s) of ${[...new Set(stopped.map((r) => r.agent))].join(', ')} directly; no pause could be committed:`);
      throw e;
    }
    const gov = await loadGovernance(repo);
    const agents = args.all ? trustedAgentIds(gov) : [requireKnownAgent(gov, args.agent!)];
    let paused: string[] = [];
    let stopped: { pid: number; agent: string }[] = [];
    try {
      paused = await pauseAgents(repo, agents, { reason: 'manual', detail: reason, by: await actorFromEnvironment(repo) }, ctx.clock);
    } finally {
      // After the commit (so a stopped run finds the person's marker, not its own), and even when it failed.
      stopped = stopLocalRuns(repo.root, agents);
    }
    if (ctx.json) printJson(ctx, { paused, stopped_runs: stopped.map((r) => ({ pid: r.pid, agent: r.agent })) });
    else {
      ctx.io.out(paused.length ? `paused ${paused.join(', ')}` : 'already paused');
      if (stopped.length) ctx.io.out(`stopped ${stopped.length} local run(s) directly (pid ${stopped.map((r) => r.pid).join(', ')})`);
    }
  },
});
