import { initRepository } from '../../init/scaffold.js';
import { printJson, type Context } from '../context.js';

export default async function init(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const dir = args.C && args.dir === '.' ? ctx.dir : String(args.dir);
  const r = await initRepository(dir, { clock: ctx.clock });
  if (ctx.json) {
    printJson(ctx, { root: r.repo.root, commit: r.commit, signed: r.signed, approver: r.approver ?? null, next_steps: r.nextSteps });
    return 0;
  }
  ctx.io.out(`initialised ${r.repo.root} in commit ${r.commit.slice(0, 12)}`);
  if (r.signed) ctx.io.out(`signed by ${r.approver}, the first approver; pinned as the trust root (git config ga.trustRoot)`);
  else ctx.io.out(r.nextSteps.join('\n'));
  return 0;
}
