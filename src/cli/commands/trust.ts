import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

export default defineCommand({
  command: 'trust <commit>',
  describe: 'pin the trust root (and the governed branch) for this clone',
  builder: (y) =>
    y
      .positional('commit', {
        type: 'string',
        demandOption: true,
        describe: 'a commit on the first-parent history of HEAD, no later than the first commit signed by an approver its own policies/approvers lists',
      })
      .option('force', { type: 'boolean', describe: 'replace a pin this clone already has (says what it replaced)' }),
  examples: [
    ['ga trust 1136c5dad847', 'in a fresh clone: trust history from this signed commit on'],
    ['ga trust 9f2c01aa7b3e --force', 'move an existing pin, knowingly'],
  ],
  async run(ctx, args) {
    const { trustCommit } = await import('../../init/scaffold.js');
    const r = await trustCommit(ctx.dir, args.commit, { force: Boolean(args.force) });
    if (ctx.json) printJson(ctx, r);
    else ctx.io.out(`trust root pinned: ${r.commit} (git config ga.trustRoot in this clone)${r.replaced ? `; it was ${r.replaced}` : ''}`);
  },
});
