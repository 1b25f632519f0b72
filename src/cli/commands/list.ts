import { openRepo } from '../../git/repo.js';
import { loadGovernance } from '../../history/replay.js';
import { listProposals } from '../../proposals/find.js';
import { printJson, type Context } from '../context.js';
import { table } from '../format.js';
import { visibleLine } from '../../text/visible.js';

export default async function list(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const gov = await loadGovernance(await openRepo(ctx.dir));
  const rows = listProposals(gov, { state: args.state as string | undefined, agent: args.agent as string | undefined });
  if (ctx.json) {
    printJson(ctx, rows.map((r) => ({ id: r.id, state: r.state, agent: r.proposal?.agent, action_type: r.proposal?.action_type, title: r.proposal?.title, expires_at: r.proposal?.expires_at, approval_valid: r.approval?.valid ?? null, stray: !r.submittedValid })));
    return 0;
  }
  if (rows.length === 0) {
    ctx.io.out('no proposals');
    return 0;
  }
  ctx.io.out(table(['ID', 'STATE', 'AGENT', 'TYPE', 'TITLE'], rows.map((r) => [r.id, `${r.state ?? ''}${r.submittedValid ? '' : ' (stray)'}`, r.proposal?.agent ?? '?', r.proposal?.action_type ?? '?', visibleLine(r.proposal?.title ?? r.parseError ?? '')])));
  return 0;
}
