import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { paint, short } from '../format.js';

export default defineCommand({
  command: 'verify [range]',
  describe: 'check history against the rules; exit 1 on any finding',
  builder: (y) =>
    y
      .positional('range', { type: 'string', describe: 'a revision range, such as origin/main..HEAD' })
      .option('trust', { type: 'string', describe: 'the trust root to check from (overrides the pin)' })
      .option('cache', { type: 'boolean', default: true, describe: "go on from this clone's newest signed checkpoint (--no-cache: read all of history)" })
      .option('checkpoint', {
        type: 'boolean',
        default: false,
        describe: 'sign a checkpoint at HEAD with your key, so that the next run reads only newer commits',
      }),
  examples: [
    ['ga verify', 'all of history from the trust root'],
    ['ga verify origin/main..HEAD --trust <root>', "a pull request's commits, as CI checks them"],
    ['ga verify --checkpoint', "check, then sign where this run stopped (an approver's key)"],
  ],
  async run(ctx, args) {
    const { verifyRepository } = await import('../../verify/verify.js');
    const r = await verifyRepository(ctx.dir, { range: args.range, trust: args.trust, noCache: args.cache === false, checkpoint: args.checkpoint });
    if (ctx.json) {
      printJson(ctx, r);
    } else {
      for (const f of r.findings) ctx.io.out(`${short(f.commit) || '-'}  ${f.path}  ${paint(ctx.io.color, 'red', f.rule)}  ${f.explanation}`);
      if (r.from) ctx.io.out(`went on from the checkpoint at ${short(r.from.commit)}, signed by ${r.from.principal}`);
      if (r.signed) ctx.io.out(`signed a checkpoint at ${short(r.signed.commit)} as ${r.signed.principal}: the next run reads only newer commits`);
      ctx.io.out(
        r.findings.length
          ? `${r.findings.length} finding(s) in ${r.checked} commit(s)`
          : `${paint(ctx.io.color, 'green', 'ok')}: ${r.checked} commit(s) from the trust root ${short(r.root)} to ${short(r.head)} follow the rules`,
      );
    }
    return r.findings.length ? 1 : 0;
  },
});
