import { UsageError } from '../../errors.js';
import { openRepo } from '../../git/repo.js';
import { loadGovernance } from '../../history/replay.js';
import { auditTrail, type TrailRow } from '../../audit/trail.js';
import { printJson, type Context } from '../context.js';
import { visibleJson } from '../../text/visible.js';
import { paint, short, table } from '../format.js';

function time(value: unknown, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(String(value));
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${flag} "${value}" is not a time; use RFC 3339 such as 2026-11-24T10:00:00Z or a date 2026-11-24`);
  return d;
}

const toJson = (r: TrailRow) => ({ ...r, at: r.at.toISOString() });

export default async function audit(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const gov = await loadGovernance(await openRepo(ctx.dir));
  const rows = await auditTrail(gov, {
    agent: args.agent as string | undefined,
    event: args.event as string | undefined,
    since: time(args.since, 'since'),
    until: time(args.until, 'until'),
  });
  if (args.jsonl) {
    ctx.io.out(rows.map((r) => visibleJson(toJson(r))).join('\n'));
    return 0;
  }
  if (ctx.json) {
    printJson(ctx, rows.map(toJson));
    return 0;
  }
  const c = ctx.io.color;
  const sig = (r: TrailRow) => (r.signature === 'good' ? paint(c, 'green', `signed ${r.signer}`) : paint(c, r.signature === 'unsigned' ? 'dim' : 'red', r.signature));
  ctx.io.out(
    table(
      ['TIME', 'COMMIT', 'ACTOR', 'EVENT', 'AGENT', 'PROPOSAL', 'SIGNATURE', 'REASON'],
      rows.map((r) => [r.at.toISOString().replace('.000Z', 'Z'), short(r.commit), r.actor ?? '-', r.event, r.agent ?? '-', r.proposal ?? '-', sig(r), r.valid === false ? paint(c, 'red', `NOT VALID: ${r.invalidBecause ?? ''}`) : r.reason ?? r.outcome ?? '']),
    ),
  );
  return 0;
}
