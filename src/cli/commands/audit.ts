import { UsageError } from '../../errors.js';
import { defineCommand } from '../define.js';
import { printJson, snakeKeys } from '../context.js';
import { paint, short, table } from '../format.js';
import { visibleJson } from '../../text/visible.js';

function time(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${flag} "${value}" is not a time; use RFC 3339 such as 2026-11-24T10:00:00Z or a date 2026-11-24`);
  return d;
}

export default defineCommand({
  command: 'audit',
  describe: 'the trail from git: time, actor, event, proposal, agent, reason, signature',
  builder: (y) =>
    y
      .option('agent', { type: 'string', describe: 'only events of this agent' })
      .option('event', {
        type: 'string',
        describe:
          'only this event: proposal-submitted, proposal-approved, proposal-executed, charge, run-finished, agent-paused, policy-changed, ... (a wrong name lists them all)',
      })
      .option('since', { type: 'string', describe: 'from this RFC 3339 time or date' })
      .option('until', { type: 'string', describe: 'up to this RFC 3339 time or date' })
      .option('jsonl', { type: 'boolean', describe: 'one JSON object a line (export)' }),
  examples: [['ga audit --agent noop --since 2026-11-24', "noop's events since a date, each signature checked"]],
  async run(ctx, args) {
    const [{ loadGovernance }, { auditTrail }, { EVENTS }] = await Promise.all([
      import('../../history/replay.js'),
      import('../../report/trail.js'),
      import('../../audit/events.js'),
    ]);
    if (args.event !== undefined && !(EVENTS as readonly string[]).includes(args.event)) {
      throw new UsageError(`--event ${JSON.stringify(args.event)} is not an event; use one of: ${EVENTS.join(', ')}`);
    }
    const gov = await loadGovernance(await ctx.repo());
    const rows = await auditTrail(gov, { agent: args.agent, event: args.event, since: time(args.since, 'since'), until: time(args.until, 'until') });
    const toJson = (r: (typeof rows)[number]) => ({ ...r, at: r.at.toISOString() });
    if (args.jsonl) {
      ctx.io.out(rows.map((r) => visibleJson(snakeKeys(toJson(r)))).join('\n'));
      return;
    }
    if (ctx.json) {
      printJson(ctx, rows.map(toJson));
      return;
    }
    const c = ctx.io.color;
    const sig = (r: (typeof rows)[number]) =>
      r.signature === 'good' ? paint(c, 'green', `signed ${r.signer}`) : paint(c, r.signature === 'unsigned' ? 'dim' : 'red', r.signature);
    ctx.io.out(
      table(
        ['TIME', 'COMMIT', 'ACTOR', 'EVENT', 'AGENT', 'PROPOSAL', 'SIGNATURE', 'REASON'],
        rows.map((r) => [
          r.at.toISOString().replace('.000Z', 'Z'),
          short(r.commit),
          r.actor ?? '-',
          r.event,
          r.agent ?? '-',
          r.proposal ?? '-',
          sig(r),
          r.valid === false ? paint(c, 'red', `NOT VALID: ${r.invalidBecause ?? ''}`) : (r.reason ?? r.outcome ?? ''),
        ]),
      ),
    );
  },
});
