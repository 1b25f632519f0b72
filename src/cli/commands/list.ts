import { PROPOSAL_STATES } from '../../layout/layout.js';
import { visibleLine } from '../../text/visible.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { table } from '../format.js';

export default defineCommand({
  command: 'list',
  describe: 'proposals at HEAD, newest first',
  builder: (y) =>
    y
      .option('state', { type: 'string', choices: PROPOSAL_STATES, describe: 'only proposals in this state' })
      .option('agent', { type: 'string', describe: 'only proposals of this agent' }),
  examples: [['ga list --state pending', 'what waits for a decision']],
  async run(ctx, args) {
    const [{ loadGovernance }, { listProposals }] = await Promise.all([import('../../history/replay.js'), import('../../history/find.js')]);
    const gov = await loadGovernance(await ctx.repo());
    const rows = listProposals(gov, { state: args.state, agent: args.agent });
    if (ctx.json) {
      printJson(ctx, rows.map((r) => ({ id: r.id, state: r.state, agent: r.proposal?.agent, action_type: r.proposal?.action_type, title: r.proposal?.title, expires_at: r.proposal?.expires_at, approval_valid: r.approval?.valid ?? null, stray: !r.submittedValid })));
      return;
    }
    if (rows.length === 0) {
      ctx.io.out('no proposals');
      return;
    }
    ctx.io.out(table(['ID', 'STATE', 'AGENT', 'TYPE', 'TITLE'], rows.map((r) => [r.id, `${r.state ?? ''}${r.submittedValid ? '' : ' (stray)'}`, r.proposal?.agent ?? '?', r.proposal?.action_type ?? '?', visibleLine(r.proposal?.title ?? r.parseError ?? '')])));
  },
});
