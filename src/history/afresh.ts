// What a saved reading says of the proposals still alive, checked against
// the repository itself whenever a reading goes on from one
// (history/saved.ts): the saved reading makes commands fast, and neither
// lets a hook run, nor shows a person what they approve, nor tells them
// that something was approved, on its own word. For each proposal in
// pending/ or approved/: its file at the saved reading's commit is the one
// the reading has (a reviewer is shown, and ga approve moves, that file);
// one in approved/ parses as the reading has it, and one in pending/ is
// parsed from that file when a command first looks at what it says (the
// saved copy is never shown); no proposal file there is missing from
// the reading's live ones (nothing waiting is hidden); for each valid
// approval of one in approved/, each approving commit is one of the
// reading's timeline and carries a good signature by an approver trusted
// now, read and checked afresh (the commit read by its id, the signature
// checked in process).
// When anything does not hold, the command reads all of history instead.
import { readBlobs, type Repo } from '../git/repo.js';
import { isLiveState, LIVE_STATES, parseProposalPath, PROPOSALS_DIR } from '../layout/layout.js';
import type { Approver } from '../schema/approvers.js';
import { parseProposal, type Proposal } from '../schema/proposal.js';
import { fromObject } from './chain.js';
import type { ProposalRecord } from './proposals.js';
import { SignatureJudge } from './signatures.js';

export async function approvalsHoldAfresh(
  repo: Repo,
  head: string,
  records: Iterable<ProposalRecord>,
  approvers: Approver[],
  timeline: { has(id: string): boolean },
): Promise<boolean> {
  const { objects } = repo;
  const judge = new SignatureJudge();
  const tree = (await objects.commit(head)).tree;
  const live = [...records].filter((r) => isLiveState(r.state));
  const files = new Map<string, { oid: string; mode: string }>();
  for (const state of LIVE_STATES) {
    const dir = await objects.entryAt(tree, `${PROPOSALS_DIR}/${state}`);
    for (const e of dir?.mode === '40000' ? await objects.tree(dir.oid) : []) files.set(`${state}/${e.name}`, e);
  }
  // Every proposal file there is one of the reading's live proposals: none is hidden among those that ended (history/book.ts).
  const held = new Set(live.map((r) => `${r.state}/${r.id}.toml`));
  for (const [name, e] of files) if (!held.has(name) && parseProposalPath(`${PROPOSALS_DIR}/${name}`) && e.mode !== '40000') return false;
  const texts = await readBlobs(repo, [...new Set(live.flatMap((r) => (r.blob ? [r.blob] : [])))]);
  const checks = live.map(async (r) => {
    // What a person is shown, and what an approval moves: the file at HEAD, as the reading parsed it.
    if (!r.blob || files.get(`${r.state}/${r.id}.toml`)?.oid !== r.blob) return false;
    if (r.state !== 'approved') {
      if (r.proposal) parseOnFirstLook(r, texts.get(r.blob));
      return true;
    }
    if (r.proposal && JSON.stringify(parsed(texts.get(r.blob), r.id)) !== JSON.stringify(r.proposal)) return false;
    const approval = r.approval;
    if (r.state !== 'approved' || !approval?.valid || approval.by.length === 0) return true; // auto-approved: no person's signature
    for (const id of new Set([approval.commit, ...r.approvals.map((a) => a.commit)])) {
      // Judged as the replay judges a signature (agent principals never approve), afresh.
      const s = await judge.judge(fromObject(await objects.commit(id)), { key: 'afresh', list: approvers });
      if (s.status !== 'good' || !s.principal || !approval.by.includes(s.principal)) return false;
      if (!timeline.has(id)) return false;
    }
    return true;
  });
  return (await Promise.all(checks)).every(Boolean);
}

/**
 * A proposal that waits for a decision lets nothing run, and most commands
 * never look at another one's content (parsing them all was most of a
 * reading's cost with a few dozen waiting): the saved copy of what it reads
 * is dropped, and its file is parsed when a command first looks. A reviewer
 * is shown that, never the saved reading's copy.
 */
function parseOnFirstLook(r: ProposalRecord, text: Buffer | undefined): void {
  const settle = (proposal: Proposal | undefined) =>
    Object.defineProperty(r, 'proposal', { value: proposal, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(r, 'proposal', {
    enumerable: true,
    configurable: true,
    get: () => {
      const proposal = parsed(text, r.id);
      settle(proposal);
      return proposal;
    },
    set: settle,
  });
}

function parsed(text: Buffer | undefined, id: string): Proposal | undefined {
  try {
    return parseProposal(text?.toString('utf8') ?? '', `proposal ${id}`);
  } catch {
    return undefined;
  }
}
