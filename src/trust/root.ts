// The trust root: pinned in the clone's own .git/config (ga.trustRoot), or,
// without a pin, the repository's single root commit, trusted on first use.
import { GovernanceRefusal } from '../errors.js';
import { gitText } from '../git/exec.js';
import { configSetLocal, localConfig, resolveCommit, type Repo } from '../git/repo.js';

export interface TrustRoot {
  commit: string;
  source: 'pinned' | 'first-use';
}

export const TRUST_ROOT_KEY = 'ga.trustRoot';

export async function findTrustRoot(repo: Repo): Promise<TrustRoot> {
  // The clone's own .git/config file itself: never an included file, never the global config.
  const pinned = localConfig(repo, TRUST_ROOT_KEY);
  if (pinned) {
    if (/^[0-9a-f]{40}$/.test(pinned)) return { commit: pinned, source: 'pinned' }; // a missing one fails the log that follows
    try {
      return { commit: await resolveCommit(repo, pinned), source: 'pinned' };
    } catch {
      throw new GovernanceRefusal(`the pinned trust root ${pinned} (git config ${TRUST_ROOT_KEY}) is not in this repository: fetch it, or pin another with ga trust <commit>`);
    }
  }
  const roots = (await gitText(['rev-list', '--max-parents=0', 'HEAD'], { cwd: repo.root })).split('\n').filter(Boolean);
  if (roots.length !== 1) throw new GovernanceRefusal('HEAD has more than one root commit and no pinned trust root: pin one with ga trust <commit>');
  return { commit: roots[0]!, source: 'first-use' };
}

export async function pinTrustRoot(repo: Repo, commit: string): Promise<void> {
  await configSetLocal(repo, TRUST_ROOT_KEY, commit);
}
