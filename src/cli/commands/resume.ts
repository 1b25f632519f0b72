import { requireReason } from '../args.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

export default defineCommand({
  command: 'resume <agent>',
  describe: 'lift a pause (a signed commit); refused while the cause remains',
  builder: (y) =>
    y
      .positional('agent', { type: 'string', demandOption: true, describe: 'the agent id' })
      .option('reason', { type: 'string', describe: 'why (required), recorded in the commit' })
      .option('force', { type: 'boolean', describe: 'resume even though the cause remains (recorded)' }),
  examples: [['ga resume noop --reason "checked its spend"', 'lift the pause, signed with your SSH key']],
  publishes: true,
  async run(ctx, args) {
    const reason = requireReason(args.reason, 'ga resume');
    const [{ resumeAgent }, { checkAgentId }] = await Promise.all([import('../../pause/actions.js'), import('../../layout/layout.js')]);
    const agent = checkAgentId(args.agent);
    const r = await resumeAgent(await ctx.repo(), agent, { reason, force: Boolean(args.force), clock: ctx.clock });
    if (ctx.json) printJson(ctx, { agent, ...r });
    else ctx.io.out(`resumed ${agent} in signed commit ${short(r.commit)}${r.forced ? ' (forced; recorded)' : ''}`);
  },
});
