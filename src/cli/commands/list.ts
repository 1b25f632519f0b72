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
    const [{ loadGovernance }, { listProposals }, { quorumOf }] = await Promise.all([
      import('../../history/replay.js'),
      import('../../history/find.js'),
      import('../../history/proposals.js'),
    ]);
    const gov = await loadGovernance(await ctx.repo());
    const rows = listProposals(gov, { state: args.state, agent: args.agent });
    const quorums = await Promise.all(rows.map((r) => quorumOf(r, gov.policyOf)));
    if (ctx.json) {
      printJson(
        ctx,
        rows.map((r, i) => ({
          id: r.id,
          state: r.state,
          agent: r.proposal?.agent,
          action_type: r.proposal?.action_type,
          title: r.proposal?.title,
          expires_at: r.proposal?.expires_at,
          approval_valid: r.approval?.valid ?? null,
          approvals: quorums[i]!.have,
          approvals_needed: quorums[i]!.need,
          stray: !r.submittedValid,
        })),
      );
      return;
    }
    // What the state alone does not say: a quorum in progress, an approval that does not count, a stray.
    const stateOf = (r: (typeof rows)[number], i: number) => {
      const q = quorums[i]!;
      const notes = [
        r.state === 'pending' && q.need > 1 ? `${q.have} of ${q.need} approvals` : '',
        r.state === 'approved' && r.approval?.valid === false ? 'NOT VALID' : '',
        r.submittedValid ? '' : 'stray',
      ].filter(Boolean);
      return `${r.state ?? ''}${notes.length ? ` (${notes.join(', ')})` : ''}`;
    };
    // Files under proposals/ that are no proposal at all: never approvable, always reported.
    const strays = gov.strays.map((u) => `stray: ${visibleLine(u.path)} (${u.why})`);
    if (rows.length === 0) {
      ctx.io.out(['no proposals', ...(args.state || args.agent ? [] : strays)].join('\n'));
      return;
    }
    ctx.io.out(
      table(
        ['ID', 'STATE', 'AGENT', 'TYPE', 'TITLE'],
        rows.map((r, i) => [
          r.id,
          stateOf(r, i),
          r.proposal?.agent ?? '?',
          r.proposal?.action_type ?? '?',
          visibleLine(r.proposal?.title ?? r.parseError ?? ''),
        ]),
      ),
    );
    if (strays.length && !args.state && !args.agent) ctx.io.out(strays.join('\n'));
  },
});
