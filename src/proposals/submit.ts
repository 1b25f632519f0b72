// `ga propose`: validate a submission, apply the policy table, store it.
import { actorFromEnvironment, recordEvents } from '../audit/record.js';
import type { GaEvent } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal, UsageError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { loadGovernance } from '../history/replay.js';
import { decideOutcome } from '../policy/outcome.js';
import { checkProposalSize, parseSubmissionText, serializeProposal, submissionSchema, type Proposal, type Submission } from '../schema/proposal.js';
import { validate } from '../schema/toml.js';
import { agentConfigPath, newId, proposalPath } from '../layout/layout.js';

export interface SubmitResult {
  proposal: Proposal;
  state: 'pending' | 'approved';
  commit: string;
}

/** Parses and checks a submission given as TOML text (exit 2 on any problem); src/schema/proposal.ts owns the rules and bounds. */
export function parseSubmission(text: string | Buffer, file: string): Submission {
  return parseSubmissionText(text, file);
}

/**
 * Submits a proposal: `input` is TOML (a string or the bytes of a file, at
 * most MAX_PROPOSAL_BYTES) or the fields as an object (from flags).
 */
export async function submitProposal(repo: Repo, input: unknown, opts: { clock: Clock; file: string; text?: string }): Promise<SubmitResult> {
  const sub = typeof input === 'string' || Buffer.isBuffer(input) ? parseSubmission(input, opts.file) : validate(submissionSchema(), input, opts.file);
  const envAgent = process.env.GA_AGENT;
  if (envAgent && sub.agent !== envAgent) {
    throw new GovernanceRefusal(`agent ${envAgent} may only propose as itself, not as ${sub.agent}`);
  }
  // Who is proposing (a person's email comes from git config, one process) is asked while the reading is made.
  const actorAsked = actorFromEnvironment(repo);
  actorAsked.catch(() => undefined);
  const gov = await loadGovernance(repo);
  if (!gov.trusted.has(agentConfigPath(sub.agent))) {
    throw new UsageError(`${opts.file}: agent: "${sub.agent}" has no trusted ${agentConfigPath(sub.agent)}; add the agent in a signed commit first`);
  }
  const policy = await gov.policy();
  const outcome = decideOutcome(policy, sub);
  const now = opts.clock.now();
  const actor = await actorAsked;

  if (outcome.kind === 'refused') {
    const event: GaEvent = { event: 'flag-self-approval', actor, agent: sub.agent, reason: outcome.why, detail: { action_type: sub.action_type, title: sub.title } };
    await recordEvents(repo, { subject: `flag self-approval by ${sub.agent}: ${sub.title}`, events: [event], at: now });
    throw new GovernanceRefusal(`refused: ${outcome.why}; submit it with requires_approval = true and a human will decide (flagged in the audit trail)`);
  }

  const created = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const latest = created.getTime() + outcome.settings.expiresAfterMs;
  if (sub.expires_at && (sub.expires_at.getTime() <= now.getTime() || sub.expires_at.getTime() > latest)) {
    throw new UsageError(`${opts.file}: expires_at: must be in the future and no later than ${new Date(latest).toISOString()} (the policy's expires_after for ${sub.action_type})`);
  }
  const proposal: Proposal = {
    id: newId(now),
    ...sub,
    requires_approval: outcome.requiresApproval,
    created_at: created,
    expires_at: new Date(sub.expires_at?.getTime() ?? latest),
  };
  const state = outcome.kind === 'auto-approved' ? 'approved' : 'pending';
  const content = serializeProposal(proposal);
  // What is stored must be readable back: history refuses a proposal file over the limit unparsed.
  checkProposalSize(content, `${opts.file} (as stored)`);
  const events: GaEvent[] = [{ event: 'proposal-submitted', actor, agent: proposal.agent, proposal: proposal.id }];
  if (state === 'approved') events.push({ event: 'proposal-auto-approved', actor, agent: proposal.agent, proposal: proposal.id });
  const { commit } = await recordEvents(repo, {
    subject: `propose ${proposal.id}${state === 'approved' ? ' (auto-approved)' : ''}: ${proposal.title}`,
    events,
    files: () => [{ path: proposalPath(state, proposal.id), content }],
    at: now,
  });
  return { proposal, state, commit };
}
