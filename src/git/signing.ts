// The user's git signing setup, checked before ga signs a decision.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { configGet, type Repo } from './repo.js';
import { APPROVERS_PATH } from '../layout/layout.js';
import { agentContext } from '../runtime/processes.js';

export interface SigningSetup {
  ok: boolean;
  email?: string;
  key?: string;
  /** What is missing and how to fix it, when not ok. */
  problem?: string;
}

const HOW = 'git config --global gpg.format ssh && git config --global user.signingkey ~/.ssh/id_ed25519.pub';

export async function signingSetup(repo: Repo | string): Promise<SigningSetup> {
  const [format, key, email] = await Promise.all([configGet(repo, 'gpg.format'), configGet(repo, 'user.signingkey'), configGet(repo, 'user.email')]);
  if (!key) return { ok: false, email, problem: `no signing key is set up; run: ${HOW}` };
  if (format !== 'ssh') {
    return { ok: false, email, key, problem: `git signs with ${format ?? 'openpgp'} (GPG), which ga does not support; switch to SSH signatures: ${HOW}` };
  }
  if (!key.startsWith('key::')) {
    const path = key.startsWith('~/') ? homedir() + key.slice(1) : key;
    if (!existsSync(path))
      return { ok: false, email, key, problem: `user.signingkey points at ${key}, which does not exist; set it to your SSH public key file` };
  }
  if (!email) return { ok: false, key, problem: `git config user.email is not set; set it to your principal in ${APPROVERS_PATH}` };
  return { ok: true, email, key };
}

/** The OpenSSH public key line ("<type> <base64>") of user.signingkey: a key:: literal, or the .pub next to the key file. */
export function publicKeyLine(key: string): string {
  if (key.startsWith('key::')) return key.slice(5).trim();
  const path = key.startsWith('~/') ? homedir() + key.slice(1) : key;
  const pub = path.endsWith('.pub') ? path : `${path}.pub`;
  try {
    return readFileSync(pub, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  } catch {
    throw new UsageError(`cannot read the public key ${pub} of user.signingkey: point user.signingkey at your .pub file`);
  }
}

/**
 * Refuses to sign inside an agent process or without an SSH signing setup.
 * An agent process is one that carries GA_AGENT or GA_RUN, or descends from
 * one that does (agentContext): unsetting GA_AGENT does not make an agent a
 * person, so an agent never approves, rejects, resumes or commits.
 */
export async function requireSigning(repo: Repo, what: string): Promise<SigningSetup & { email: string }> {
  const agent = agentContext();
  if (agent) {
    throw new GovernanceRefusal(`${what} refused: this is an agent process (GA_AGENT/GA_RUN: ${agent.evidence}), and ga never signs inside an agent process`);
  }
  const s = await signingSetup(repo);
  if (!s.ok) throw new GovernanceRefusal(`${what} needs a signed commit: ${s.problem}`);
  return s as SigningSetup & { email: string };
}
