import { requireReason } from '../args.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

export default defineCommand({
  command: 'reject <id>',
  describe: 'reject a pending proposal (a signed commit)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'the proposal id, or a unique prefix of it' })
      .option('reason', { type: 'string', describe: 'why (required), recorded in the commit' }),
  examples: [['ga reject 20261124-1000 --reason "wrong audience"', 'reject with a reason, signed with your SSH key']],
  publishes: true,
  async run(ctx, args) {
    const reason = requireReason(args.reason, 'ga reject');
    const { rejectProposal } = await import('../../proposals/decide.js');
    const r = await rejectProposal(await ctx.repo(), args.id, { clock: ctx.clock, reason });
    if (ctx.json) printJson(ctx, r);
    else
      ctx.io.out(
        r.branch
          ? `rejected ${r.id} in signed commit ${short(r.commit)} on its review branch, merged into ${r.branch}; the review branch is removed`
          : `rejected ${r.id} in signed commit ${short(r.commit)}`,
      );
  },
});
