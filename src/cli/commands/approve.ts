import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

export default defineCommand({
  command: 'approve <id>',
  describe: 'approve a pending proposal (a signed commit)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true, describe: 'the proposal id, or a unique prefix of it' })
      .option('reason', { type: 'string', describe: 'why, recorded in the commit' }),
  examples: [['ga approve 20261124-1000 --reason "reviewed"', 'approve by a unique prefix of the id, signed with your SSH key']],
  publishes: true,
  async run(ctx, args) {
    const { approveProposal } = await import('../../proposals/decide.js');
    const r = await approveProposal(await ctx.repo(), args.id, { clock: ctx.clock, reason: args.reason });
    if (ctx.json) printJson(ctx, r);
    else if (r.branch)
      ctx.io.out(
        r.result === 'recorded'
          ? `recorded approval ${r.approvals} of ${r.needed} for ${r.id} on ${r.branch} in ${short(r.commit)}; it stays pending until the quorum is met`
          : `approved ${r.id} on ${r.branch} in signed commit ${short(r.commit)}; merge it with a merge commit (not squash or rebase) and the executor runs it once it is on the hub's branch`,
      );
    else if (r.result === 'recorded')
      ctx.io.out(`recorded approval ${r.approvals} of ${r.needed} for ${r.id} in ${short(r.commit)}; it stays pending until the quorum is met`);
    else if (r.waitingRuns?.length)
      ctx.io.out(`approved ${r.id} in signed commit ${short(r.commit)}; the waiting run ${r.waitingRuns.join(', ')} executes it now`);
    else
      ctx.io.out(`approved ${r.id} in signed commit ${short(r.commit)}; ga execute ${r.id} runs its hook (ga execute --watch runs each one as it is approved)`);
  },
});
