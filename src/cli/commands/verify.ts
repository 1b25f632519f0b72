import { verifyRepository } from '../../verify/verify.js';
import { printJson, type Context } from '../context.js';
import { paint, short } from '../format.js';

export default async function verify(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const r = await verifyRepository(ctx.dir, { range: args.range as string | undefined, trust: args.trust as string | undefined, noCache: args.cache === false });
  if (ctx.json) {
    printJson(ctx, r);
  } else {
    for (const f of r.findings) ctx.io.out(`${short(f.commit) || '-'}  ${f.path}  ${paint(ctx.io.color, 'red', f.rule)}  ${f.explanation}`);
    ctx.io.out(
      r.findings.length
        ? `${r.findings.length} finding(s) in ${r.checked} commit(s)`
        : `${paint(ctx.io.color, 'green', 'ok')}: ${r.checked} commit(s) from the trust root ${short(r.root)} to ${short(r.head)} follow the rules`,
    );
  }
  return r.findings.length ? 1 : 0;
}
