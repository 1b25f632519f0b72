// Signature checks, done by ga itself: the key is read from the SSH signature,
// matched against the trusted approvers, and the signature verified in
// process (sshsig.ts: the verdict `ssh-keygen -Y verify` would give, in a
// fraction of a millisecond), or by an absolute `ssh-keygen -Y verify` for
// what only it can judge (certificates, security keys). git's %G? is never
// consulted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedSignersText, type Approver } from '../schema/approvers.js';
import { runProgram, sshKeygen } from './exec.js';
import { signingKey, verifyAllowedSigner, verifyTimeArgument } from './sshsig.js';

export type SignatureStatus = 'good' | 'bad' | 'unknown-key' | 'unsupported' | 'none';

export interface SignatureResult {
  status: SignatureStatus;
  /** The principal the trusted approvers give the signing key (status good). */
  principal?: string;
  /** "ssh-ed25519 AAAA..." of the signing key, when readable. */
  key?: string;
  detail?: string;
}

let scratch: string | undefined;
function scratchDir(): string {
  if (!scratch) {
    scratch = mkdtempSync(join(tmpdir(), 'ga-sig-'));
    const dir = scratch;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

export async function verifySignature(signed: { armored: string; payload: Buffer } | undefined, approvers: Approver[], at: Date): Promise<SignatureResult> {
  if (!signed) return { status: 'none' };
  if (signed.armored.includes('BEGIN PGP SIGNATURE') || signed.armored.includes('BEGIN SIGNED MESSAGE')) {
    return { status: 'unsupported', detail: 'GPG or X.509 signature; ga accepts SSH signatures only (git config gpg.format ssh)' };
  }
  const sig = signingKey(signed.armored);
  if (!sig) return { status: 'bad', detail: 'unreadable SSH signature' };
  const key = `${sig.keyType} ${sig.key}`;
  if (sig.namespace !== 'git') return { status: 'bad', key, detail: `signature namespace is "${sig.namespace}", not "git"` };
  const certificate = sig.keyType.includes('-cert-');
  const candidates = certificate
    ? approvers.filter((a) => a.certAuthority)
    : approvers.filter((a) => !a.certAuthority && a.keyType === sig.keyType && a.key === sig.key);
  if (candidates.length === 0) return { status: 'unknown-key', key, detail: 'signing key is not in the trusted approvers' };
  for (const principal of new Set(candidates.map((c) => c.principal))) {
    const inProcess = verifyAllowedSigner({ armored: signed.armored, message: signed.payload, allowed: candidates, principal, namespace: 'git', at });
    const good = inProcess.verdict === 'fallback' ? await sshKeygenVerifies(signed, candidates, principal, at) : inProcess.verdict === 'good';
    if (good) return { status: 'good', principal, key };
  }
  return { status: 'bad', key, detail: 'signature does not verify for the key it names (forged, or the commit was altered)' };
}

/**
 * What the in-process check cannot decide exactly (certificates, security
 * keys): an absolute ssh-keygen, with only PATH and TZ=UTC (so timestamps
 * without "Z" read as the in-process check reads them).
 */
async function sshKeygenVerifies(signed: { armored: string; payload: Buffer }, candidates: Approver[], principal: string, at: Date): Promise<boolean> {
  const dir = scratchDir();
  const stamp = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const allowed = join(dir, `allowed-${stamp}`);
  const sigFile = join(dir, `sig-${stamp}`);
  writeFileSync(allowed, allowedSignersText(candidates));
  writeFileSync(sigFile, signed.armored);
  try {
    const r = await runProgram(
      sshKeygen(),
      ['-Y', 'verify', '-f', allowed, '-I', principal, '-n', 'git', '-s', sigFile, `-Overify-time=${verifyTimeArgument(at)}`],
      { cwd: dir, input: signed.payload, allowFailure: true, baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC' } },
    );
    return r.code === 0;
  } finally {
    rmSync(allowed, { force: true });
    rmSync(sigFile, { force: true });
  }
}
