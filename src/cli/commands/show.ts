import { visibleField, visibleJson, visibleLine } from '../../text/visible.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

export default defineCommand({
  command: 'show <id>',
  describe: 'one proposal, whether its approval is valid and why, and its whole history',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true, describe: 'the proposal id, or a unique prefix of it' }),
  examples: [['ga show 20261124-1000', 'the proposal, its approval and its history']],
  async run(ctx, args) {
    const [{ loadGovernance }, { locateProposal }, { proposalToJson }, { quorumOf }] = await Promise.all([
      import('../../history/replay.js'),
      import('../../hub/review.js'),
      import('../../schema/proposal.js'),
      import('../../history/proposals.js'),
    ]);
    const repo = await ctx.repo();
    // On the governed branch, or waiting on its review branch (proposals = "pull-request").
    const { gov, record: r, on } = await locateProposal(repo, await loadGovernance(repo), args.id);
    const q = await quorumOf(r, gov.policyOf);
    const waiting = on
      ? `waits for review on branch ${on.branch.branch}: ${r.state === 'approved' ? `approved there; merge it into ${on.hub.branch} with a merge commit (not squash or rebase) and it is executed once it is there` : `approve with ga approve ${r.id}, then merge it with a merge commit`}`
      : undefined;
    if (ctx.json) {
      printJson(ctx, {
        id: r.id,
        state: r.state ?? null,
        branch: on?.branch.branch ?? null,
        proposal: r.proposal ? proposalToJson(r.proposal) : null,
        approval: r.approval ?? null,
        approvals: q.have,
        approvals_needed: q.need,
        history: r.steps,
      });
      return;
    }
    const p = r.proposal;
    const lines = [`${r.id}  [${r.state ?? 'gone'}]`, p ? visibleLine(p.title) : `unreadable: ${visibleLine(r.parseError ?? '')}`];
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
    if (waiting) lines.push('', waiting);
    if (!r.submittedValid) lines.push('', `STRAY: not a validly submitted proposal (${r.notSubmittedWhy}); it can never be decided`);
    if (r.approval) lines.push('', `approval: ${r.approval.valid ? 'valid' : 'NOT VALID'} (${r.approval.why})`);
    else if (r.state === 'pending')
      lines.push('', `approvals: ${q.have} of ${q.need}${q.have ? ` (so far: ${r.approvals.map((a) => a.principal).join(', ')})` : ''}`);
    lines.push('', 'history:');
    for (const s of r.steps) {
      lines.push(
        `  ${s.at.getTime() ? s.at.toISOString() : '(root)'}  ${short(s.commit)}  ${s.kind}${s.principal ? ` by ${s.principal}` : ''}${s.valid === false ? ' (not valid)' : ''}${s.why ? `: ${s.why}` : ''}`,
      );
    }
    ctx.io.out(lines.join('\n'));
  },
});
