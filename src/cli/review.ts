// `ga review`: the pending proposals one at a time, in the person's own
// terminal (@clack/prompts draws the prompts). Each decision is the same
// signed commit as ga approve or ga reject, bound to the file shown. Every
// text that came from a proposal or an agent is made visible (text/visible)
// before it reaches the terminal: no field can move the cursor or draw a
// prompt of its own.
import type { Clock } from '../clock.js';
import { GaError, UsageError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { loadGovernance } from '../history/replay.js';
import { proposalPath } from '../layout/layout.js';
import { approveProposal, rejectProposal } from '../proposals/decide.js';
import { reviewable, reviewCard, type ReviewCard } from '../report/review.js';
import { visible, visibleLine } from '../text/visible.js';

export interface ReviewTally {
  approved: string[];
  recorded: string[];
  rejected: string[];
  skipped: string[];
}

const indent = (text: string) =>
  visible(text)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

function cardText(c: ReviewCard): string {
  return [
    `agent     ${visibleLine(c.agent)}  (${visibleLine(c.agentState)})`,
    `type      ${visibleLine(c.type)}${c.reversible ? '' : '  (irreversible)'}`,
    `id        ${c.id}`,
    `rationale`,
    indent(c.rationale || '(none given)'),
    `expected outcome`,
    indent(c.expectedOutcome || '(none given)'),
    `payload`,
    indent(c.payload),
    `expected cost  ${c.expectedCost}`,
    `policy    ${visibleLine(c.policy)}`,
    `quorum    ${c.quorum.have} of ${c.quorum.need} approvals so far`,
    `expires   in ${c.expiresIn}`,
    `spend     ${visibleLine(c.spend)}`,
    `similar   ${c.similar.length ? '' : 'no other proposal of this type from this agent'}`,
    ...c.similar.map((s) => `  ${s.id}  ${s.state.padEnd(8)}  ${visibleLine(s.title)}`),
  ].join('\n');
}

export async function review(repo: Repo, clock: Clock): Promise<ReviewTally> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError('ga review is for a terminal: elsewhere use ga list --state pending, ga show <id>, then ga approve or ga reject');
  }
  const p = await import('@clack/prompts');
  const tally: ReviewTally = { approved: [], recorded: [], rejected: [], skipped: [] };
  const ids = reviewable(await loadGovernance(repo)).map((r) => r.id);
  p.intro(`ga review: ${ids.length} proposal${ids.length === 1 ? '' : 's'} waiting for a decision`);
  for (const [i, id] of ids.entries()) {
    // Read afresh for each one: quorum, spend and state change as decisions land.
    const gov = await loadGovernance(repo);
    const r = gov.proposals.get(id);
    if (!r || !reviewable(gov).includes(r)) continue; // decided meanwhile, elsewhere
    const card = await reviewCard(gov, r, clock);
    p.note(cardText(card), `${i + 1} of ${ids.length}: ${visibleLine(card.title)}`);
    for (;;) {
      const action = await p.select({
        message: `Decide ${id}`,
        options: [
          { value: 'approve', label: 'approve', hint: 'a signed commit, as ga approve' },
          { value: 'reject', label: 'reject', hint: 'a reason is required' },
          { value: 'skip', label: 'skip', hint: 'leave it pending' },
          { value: 'raw', label: 'show the raw file' },
          { value: 'quit', label: 'quit' },
        ],
      });
      if (p.isCancel(action) || action === 'quit') {
        p.outro(summary(tally));
        return tally;
      }
      if (action === 'skip') {
        tally.skipped.push(id);
        break;
      }
      if (action === 'raw') {
        p.note(visible(card.raw), `${proposalPath('pending', id)}, as submitted (blob ${card.blob.slice(0, 12)})`);
        continue;
      }
      const reason = await p.text(
        action === 'approve'
          ? { message: 'Reason (optional, Enter to leave out)', placeholder: 'reviewed' }
          : { message: 'Reason for rejecting (required)', validate: (v) => (v?.trim() ? undefined : 'a rejection needs a reason') },
      );
      if (p.isCancel(reason)) continue; // back to the choice
      try {
        if (action === 'approve') {
          const done = await approveProposal(repo, id, { clock, reason: reason.trim() || undefined, blob: card.blob });
          (done.result === 'recorded' ? tally.recorded : tally.approved).push(id);
          p.log.success(
            done.result === 'recorded'
              ? `recorded approval ${done.approvals} of ${done.needed} for ${id} in ${done.commit.slice(0, 12)}`
              : `approved ${id} in signed commit ${done.commit.slice(0, 12)}`,
          );
        } else {
          const done = await rejectProposal(repo, id, { clock, reason: reason.trim() });
          tally.rejected.push(id);
          p.log.success(`rejected ${id} in signed commit ${done.commit.slice(0, 12)}`);
        }
      } catch (e) {
        if (!(e instanceof GaError)) throw e;
        p.log.error(visible(e.message));
      }
      break;
    }
  }
  p.outro(summary(tally));
  return tally;
}

function summary(t: ReviewTally): string {
  const parts = [
    `${t.approved.length} approved`,
    ...(t.recorded.length ? [`${t.recorded.length} approval(s) recorded toward a quorum`] : []),
    `${t.rejected.length} rejected`,
    `${t.skipped.length} skipped`,
  ];
  return parts.join(', ');
}
