import { openRepo } from '../../git/repo.js';
import { loadGovernance } from '../../history/replay.js';
import { findProposal } from '../../proposals/find.js';
import { proposalToJson } from '../../schema/proposal.js';
import { printJson, type Context } from '../context.js';
import { short } from '../format.js';
import { visibleField, visibleJson, visibleLine } from '../../text/visible.js';

export default async function show(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const gov = await loadGovernance(await openRepo(ctx.dir));
  const r = findProposal(gov, String(args.id));
  if (ctx.json) {
    printJson(ctx, { id: r.id, state: r.state ?? null, proposal: r.proposal ? proposalToJson(r.proposal) : null, approval: r.approval ?? null, history: r.steps });
    return 0;
  }
  const p = r.proposal;
  const lines = [
    `${r.id}  [${r.state ?? 'gone'}]`,
    p ? visibleLine(p.title) : `unreadable: ${visibleLine(r.parseError ?? '')}`,
  ];
  if (p) {
    lines.push(
      `agent ${p.agent}, action ${p.action_type}, ${p.reversible ? 'reversible' : 'irreversible'}, expected cost ${p.expected_cost.usd} USD / ${p.expected_cost.tokens} tokens`,
      `created ${p.created_at.toISOString()}, expires ${p.expires_at.toISOString()}`,
      '',
      visibleField('rationale: ', p.rationale || '-'),
      visibleField('expected outcome: ', p.expected_outcome || '-'),
      `payload: ${visibleJson(p.payload)}`,
    );
  }
  if (r.approval) lines.push('', `approval: ${r.approval.valid ? 'valid' : 'NOT VALID'} (${r.approval.why})`);
  lines.push('', 'history:');
  for (const s of r.steps) {
    lines.push(`  ${s.at.getTime() ? s.at.toISOString() : '(root)'}  ${short(s.commit)}  ${s.kind}${s.principal ? ` by ${s.principal}` : ''}${s.valid === false ? ' (not valid)' : ''}${s.why ? `: ${s.why}` : ''}`);
  }
  ctx.io.out(lines.join('\n'));
  return 0;
}
