import { PROPOSAL_STATES } from '../../layout/layout.js';
import type { ProposalRecord } from '../../history/proposals.js';
import type { Governance } from '../../history/replay.js';
import type { Waiting } from '../../hub/review.js';
import { visibleLine } from '../../text/visible.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { table } from '../format.js';

/** Proposals at HEAD that have ended, of `agent` if named. */
function endedCount(gov: Governance, agent: string | undefined): number {
  return gov.proposals.count({ state: 'ended', agent: agent || undefined });
}

/** Waiting proposals that pass the filters. */
function listWaiting(waiting: Waiting[], filter: { state?: string; agent?: string }): ProposalRecord[] {
  return waiting.map((w) => w.record).filter((r) => (!filter.state || r.state === filter.state) && (!filter.agent || r.proposal?.agent === filter.agent));
}

export default defineCommand({
  command: 'list',
  describe: 'proposals waiting at HEAD (pending, approved), newest first; --all for every one',
  builder: (y) =>
    y
      .option('state', { type: 'string', choices: PROPOSAL_STATES, describe: 'only proposals in this state' })
      .option('agent', { type: 'string', describe: 'only proposals of this agent' })
      .option('all', { type: 'boolean', describe: 'also those that have ended (executed, failed, rejected, expired)' }),
  examples: [
    ['ga list --state pending', 'what waits for a decision'],
    ['ga list --all --agent writer', "every proposal of writer's at HEAD"],
  ],
  async run(ctx, args) {
    const [{ loadGovernance }, { listProposals }, { quorumOf }, review] = await Promise.all([
      import('../../history/replay.js'),
      import('../../history/find.js'),
      import('../../history/proposals.js'),
      import('../../hub/review.js'),
    ]);
    const repo = await ctx.repo();
    const gov = await loadGovernance(repo);
    // Proposals waiting on review branches (proposals = "pull-request"), fetched fresh when the hub answers.
    const hub = await review.reviewHub(repo, gov);
    if (hub) await review.refreshReviewBranches(repo, hub);
    const waiting = hub ? await review.waitingForReview(repo, gov) : [];
    const branchOf = new Map(waiting.map((w) => [w.record, w.branch]));
    const rows = [...listProposals(gov, { state: args.state, agent: args.agent, all: args.all }), ...listWaiting(waiting, args)].sort((a, b) =>
      a.id < b.id ? 1 : -1,
    );
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
          branch: branchOf.get(r) ?? null,
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
        branchOf.has(r) ? `on ${branchOf.get(r)}${r.state === 'approved' ? ', needs a merge' : ''}` : '',
      ].filter(Boolean);
      return `${r.state ?? ''}${notes.length ? ` (${notes.join(', ')})` : ''}`;
    };
    // Files under proposals/ that are no proposal at all: never approvable, always reported.
    const strays = gov.strays.map((u) => `stray: ${visibleLine(u.path)} (${u.why})`);
    // What the default leaves out, counted without reading those records.
    const ended = args.state || args.all ? 0 : endedCount(gov, args.agent);
    const more = ended ? [`and ${ended} that ended: ga list --all`] : [];
    if (rows.length === 0) {
      ctx.io.out([`no proposals${ended ? ' waiting' : ''}`, ...more, ...(args.state || args.agent ? [] : strays)].join('\n'));
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
    if (more.length) ctx.io.out(more.join('\n'));
    if (strays.length && !args.state && !args.agent) ctx.io.out(strays.join('\n'));
  },
});
