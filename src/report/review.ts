// What `ga review` shows of one pending proposal: everything a person needs
// to decide it, read from the same verified reading the decision is made on:
// the proposal as submitted, what the trusted policy says of it and why, the
// quorum so far, time left, the agent's spend against its caps, and the
// agent's recent proposals of the same type.
import type { Clock } from '../clock.js';
import { loadTrustedAgent } from '../agents/trusted.js';
import { budgetOf } from '../budget/budget.js';
import { pauseState } from '../agents/paused.js';
import type { Governance } from '../history/replay.js';
import { quorumOf, type ProposalRecord } from '../history/proposals.js';
import { decideOutcome } from '../policy/outcome.js';
import { humanDuration } from '../schema/duration.js';

export interface ReviewCard {
  id: string;
  /** The blob shown: the decision is refused if the proposal is another by then. */
  blob: string;
  title: string;
  agent: string;
  type: string;
  rationale: string;
  expectedOutcome: string;
  payload: string;
  expectedCost: string;
  reversible: boolean;
  policy: string;
  quorum: { have: number; need: number };
  expiresIn: string;
  spend: string;
  /** Whether the agent is paused now, and why. */
  agentState: string;
  similar: { id: string; state: string; title: string }[];
  /** The file as stored (the "raw" view). */
  raw: string;
}

const LIST_WORDS = {
  never: 'is on never_auto_approve: a person always decides',
  auto: 'is on auto_approve, but this proposal asked for a decision (or is irreversible)',
  neither: 'is on neither list: [defaults] (or its rule) says a person decides',
} as const;

const span = (ms: number) => (ms <= 0 ? 'expired' : humanDuration(ms));

/** The pending proposals a person can decide, oldest first. */
export function reviewable(gov: Governance): ProposalRecord[] {
  return gov.proposals
    .live('pending')
    .filter((r) => r.submittedValid && r.proposal && !r.parseError && r.blob === r.submittedBlob)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

export async function reviewCard(gov: Governance, r: ProposalRecord, clock: Clock): Promise<ReviewCard> {
  const p = r.proposal!;
  const now = clock.now();
  const policy = await gov.policyOf(r.submittedPolicyBlob);
  const outcome = decideOutcome(policy, p);
  const quorum = await quorumOf(r, gov.policyOf);
  let spend: string;
  try {
    const agent = await loadTrustedAgent(gov, p.agent);
    const b = budgetOf(gov, p.agent, agent.config, now);
    spend = `$${b.usd.toFixed(4)} of $${b.usdCap} this ${b.window}, ${b.tokens} of ${b.tokenCap} tokens${b.overUsd || b.overTokens ? ' (OVER its cap)' : b.warn ? ' (near its cap)' : ''}`;
  } catch (e) {
    spend = `unknown: ${(e as Error).message}`;
  }
  const pause = await pauseState(gov, p.agent);
  const similar: ReviewCard['similar'] = [];
  // The agent's proposals newest first, unpacked one by one until five of the same type are found.
  const ofAgent = gov.proposals
    .briefs({ agent: p.agent })
    .filter((o) => o.id !== r.id)
    .sort((a, b) => (a.id < b.id ? 1 : -1));
  for (const b of ofAgent) {
    if (similar.length === 5) break;
    const o = gov.proposals.get(b.id);
    if (o?.proposal?.action_type === p.action_type) similar.push({ id: o.id, state: o.state ?? 'gone', title: o.proposal.title });
  }
  return {
    id: r.id,
    blob: r.submittedBlob!,
    title: p.title,
    agent: p.agent,
    type: p.action_type,
    rationale: p.rationale,
    expectedOutcome: p.expected_outcome,
    payload: JSON.stringify(p.payload, null, 2),
    expectedCost: `$${p.expected_cost.usd}, ${p.expected_cost.tokens} tokens`,
    reversible: p.reversible,
    policy: `${p.action_type} ${LIST_WORDS[outcome.settings.list]}; ${outcome.settings.minApprovals} approval${outcome.settings.minApprovals === 1 ? '' : 's'} needed (the policy trusted when it was submitted)`,
    quorum,
    expiresIn: `${span(p.expires_at.getTime() - now.getTime())} (${p.expires_at.toISOString()})`,
    spend,
    agentState: pause.paused ? `PAUSED${pause.why ? `: ${pause.why}` : ''}` : 'active',
    similar,
    raw: (await gov.repo.objects.blob(r.submittedBlob!)).toString('utf8'),
  };
}
