// The user's git signing setup, checked before ga signs a decision.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { runProgram, sshKeygen } from './exec.js';
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
export async function requireSigning(repo: Repo, what: string): Promise<SigningSetup & { email: string; key: string }> {
  const agent = agentContext();
  if (agent) {
    throw new GovernanceRefusal(`${what} refused: this is an agent process (GA_AGENT/GA_RUN: ${agent.evidence}), and ga never signs inside an agent process`);
  }
  const s = await signingSetup(repo);
  if (!s.ok) throw new GovernanceRefusal(`${what} needs a signed commit: ${s.problem}`);
  return s as SigningSetup & { email: string; key: string };
}

/**
 * An SSH signature of `data` in `namespace` with user.signingkey, made as
 * git makes a commit's: an absolute ssh-keygen -Y sign, the key file as
 * configured (a key:: literal is written to a temporary .pub and its private
 * half taken from the agent). The person's environment is passed on (their
 * agent socket, a passphrase prompt); callers check requireSigning first.
 */
export async function signBytes(setup: SigningSetup & { key: string }, data: Buffer, namespace: string): Promise<string> {
  const literal = setup.key.startsWith('key::');
  const dir = literal ? mkdtempSync(join(tmpdir(), 'ga-sign-')) : undefined;
  try {
    let keyFile = setup.key.startsWith('~/') ? homedir() + setup.key.slice(1) : setup.key;
    if (dir) writeFileSync((keyFile = join(dir, 'key.pub')), `${setup.key.slice(5).trim()}\n`);
    const r = await runProgram(sshKeygen(), ['-Y', 'sign', '-n', namespace, '-f', keyFile, ...(literal ? ['-U'] : [])], {
      cwd: dir ?? tmpdir(),
      input: data,
      allowFailure: true,
    });
    const armored = r.stdout.toString('utf8');
    if (r.code !== 0 || !armored.includes('-----BEGIN SSH SIGNATURE-----')) {
      throw new GovernanceRefusal(
        `signing with ${setup.key} failed (${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}); check that the key is readable`,
      );
    }
    return armored;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
