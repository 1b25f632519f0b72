import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

export default defineCommand({
  command: 'init [dir]',
  describe: 'scaffold the layout in one signed commit (the trust root)',
  builder: (y) => y.positional('dir', { type: 'string', default: '.', describe: 'where (created if missing; default: here)' }),
  examples: [['ga init my-governance', 'layout, default policy and the noop agent, signed with your SSH key']],
  async run(ctx, args) {
    const { initRepository } = await import('../../init/scaffold.js');
    const dir = ctx.dir !== process.cwd() && args.dir === '.' ? ctx.dir : args.dir;
    const r = await initRepository(dir, { clock: ctx.clock });
    if (ctx.json) {
      printJson(ctx, { root: r.repo.root, commit: r.commit, signed: r.signed, approver: r.approver ?? null, next_steps: r.nextSteps });
      return;
    }
    ctx.io.out(`initialised ${r.repo.root} in commit ${r.commit.slice(0, 12)}`);
    if (r.signed) ctx.io.out(`signed by ${r.approver}, the first approver; pinned as the trust root (git config ga.trustRoot)`);
    else ctx.io.out(r.nextSteps.join('\n'));
  },
});
