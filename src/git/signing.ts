// The user's git signing setup, checked before ga signs a decision.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { GovernanceRefusal } from '../errors.js';
import { configGet, type Repo } from './repo.js';
import { APPROVERS_PATH } from '../layout/layout.js';

export interface SigningSetup {
  ok: boolean;
  email?: string;
  key?: string;
  /** What is missing and how to fix it, when not ok. */
  problem?: string;
}

const HOW = 'git config --global gpg.format ssh && git config --global user.signingkey ~/.ssh/id_ed25519.pub';

export async function signingSetup(repo: Repo | string): Promise<SigningSetup> {
  const [format, key, email] = await Promise.all([
    configGet(repo, 'gpg.format'),
    configGet(repo, 'user.signingkey'),
    configGet(repo, 'user.email'),
  ]);
  if (!key) return { ok: false, email, problem: `no signing key is set up; run: ${HOW}` };
  if (format !== 'ssh') {
    return { ok: false, email, key, problem: `git signs with ${format ?? 'openpgp'} (GPG), which ga does not support; switch to SSH signatures: ${HOW}` };
  }
  if (!key.startsWith('key::')) {
    const path = key.startsWith('~/') ? homedir() + key.slice(1) : key;
    if (!existsSync(path)) return { ok: false, email, key, problem: `user.signingkey points at ${key}, which does not exist; set it to your SSH public key file` };
  }
  if (!email) return { ok: false, key, problem: `git config user.email is not set; set it to your principal in ${APPROVERS_PATH}` };
  return { ok: true, email, key };
}

/** Refuses to sign inside an agent process or without an SSH signing setup. */
export async function requireSigning(repo: Repo, what: string): Promise<SigningSetup & { email: string }> {
  if (process.env.GA_AGENT) {
    throw new GovernanceRefusal(`${what} refused: GA_AGENT is set (${process.env.GA_AGENT}), and ga never signs inside an agent process`);
  }
  const s = await signingSetup(repo);
  if (!s.ok) throw new GovernanceRefusal(`${what} needs a signed commit: ${s.problem}`);
  return s as SigningSetup & { email: string };
}
