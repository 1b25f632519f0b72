// The governed branch: the one branch whose history is the record. Claims,
// outcomes, runs and pauses count only there, and only there does ga run a
// hook or an agent, or raise the high-water mark. It is pinned in the
// clone's own config (`ga.branch`, set by ga init and ga trust; the hub's
// branch once a hub is named); without a pin, the branch checked out is
// taken on first use, as the trust root is.
import { GovernanceRefusal } from '../errors.js';
import { configSetLocal, headRef, localConfig, type Repo } from '../git/repo.js';

export const BRANCH_KEY = 'ga.branch';

export interface GovernedBranch {
  /** refs/heads/<name> */
  ref: string;
  name: string;
  source: 'pinned' | 'first-use';
}

export async function governedBranch(repo: Repo): Promise<GovernedBranch> {
  const pinned = localConfig(repo, BRANCH_KEY);
  if (pinned && /^[A-Za-z0-9._/-]+$/.test(pinned) && !pinned.includes('..')) return { ref: `refs/heads/${pinned}`, name: pinned, source: 'pinned' };
  const ref = await headRef(repo);
  return { ref, name: ref.replace(/^refs\/heads\//, ''), source: 'first-use' };
}

/** Whether HEAD is on the governed branch. */
export async function onGovernedBranch(repo: Repo): Promise<boolean> {
  try {
    return (await headRef(repo)) === (await governedBranch(repo)).ref;
  } catch {
    return false; // detached
  }
}

/** Refuses an act that counts only on the governed branch. */
export async function requireGovernedBranch(repo: Repo, what: string): Promise<void> {
  const branch = await governedBranch(repo);
  let ref: string;
  try {
    ref = await headRef(repo);
  } catch {
    throw new GovernanceRefusal(`${what} refused: HEAD is detached; check out the governed branch ${branch.name}`);
  }
  if (ref !== branch.ref)
    throw new GovernanceRefusal(
      `${what} refused: HEAD is on ${ref.replace(/^refs\/heads\//, '')}, not the governed branch ${branch.name}; check out ${branch.name} (what happens elsewhere does not count)`,
    );
}

export async function pinGovernedBranch(repo: Repo, name: string): Promise<void> {
  await configSetLocal(repo, BRANCH_KEY, name);
}
