import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

export default defineCommand({
  command: 'expire',
  describe: 'move pending proposals past expires_at to expired/',
  builder: (y) => y,
  examples: [['ga expire', 'expire every pending proposal past its expires_at, in one commit']],
  publishes: true,
  async run(ctx) {
    const [{ expireProposals }, { actorFromEnvironment }] = await Promise.all([import('../../proposals/decide.js'), import('../../audit/record.js')]);
    const repo = await ctx.repo();
    const ids = await expireProposals(repo, { clock: ctx.clock, actor: await actorFromEnvironment(repo) });
    if (ctx.json) printJson(ctx, { expired: ids });
    else ctx.io.out(ids.length ? ids.map((id) => `expired ${id}`).join('\n') : 'nothing to expire');
  },
});
