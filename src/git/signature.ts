// Signature checks, done by ga itself: the key is read from the SSH signature,
// matched against the trusted approvers, and the signature verified with an
// absolute `ssh-keygen -Y verify`. git's %G? is never consulted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedSignersText, type Approver } from '../schema/approvers.js';
import { runProgram, sshKeygen } from './exec.js';
import type { SignedCommit } from './log.js';

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

/** Reads the public key and namespace out of an armored SSHSIG signature. */
export function parseSshSignature(armored: string): { keyType: string; key: string; namespace: string } | undefined {
  const m = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored);
  if (!m) return undefined;
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  if (buf.subarray(0, 6).toString('latin1') !== 'SSHSIG') return undefined;
  let pos = 10; // magic + uint32 version
  const readString = (): Buffer | undefined => {
    if (pos + 4 > buf.length) return undefined;
    const len = buf.readUInt32BE(pos);
    const s = buf.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
    return s.length === len ? s : undefined;
  };
  const pub = readString();
  const namespace = readString();
  if (!pub || !namespace || pub.length < 4) return undefined;
  const typeLen = pub.readUInt32BE(0);
  return { keyType: pub.subarray(4, 4 + typeLen).toString('latin1'), key: pub.toString('base64'), namespace: namespace.toString('utf8') };
}

/** ssh-keygen's -Overify-time format, from the commit's own time (as git does). */
function verifyTime(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

export async function verifySignature(signed: SignedCommit | undefined, approvers: Approver[], at: Date): Promise<SignatureResult> {
  if (!signed) return { status: 'none' };
  if (signed.signature.includes('BEGIN PGP SIGNATURE') || signed.signature.includes('BEGIN SIGNED MESSAGE')) {
    return { status: 'unsupported', detail: 'GPG or X.509 signature; ga accepts SSH signatures only (git config gpg.format ssh)' };
  }
  const sig = parseSshSignature(signed.signature);
  if (!sig) return { status: 'bad', detail: 'unreadable SSH signature' };
  const key = `${sig.keyType} ${sig.key}`;
  if (sig.namespace !== 'git') return { status: 'bad', key, detail: `signature namespace is "${sig.namespace}", not "git"` };
  const certificate = sig.keyType.includes('-cert-');
  const candidates = certificate
    ? approvers.filter((a) => a.certAuthority)
    : approvers.filter((a) => !a.certAuthority && a.keyType === sig.keyType && a.key === sig.key);
  if (candidates.length === 0) return { status: 'unknown-key', key, detail: 'signing key is not in the trusted approvers' };
  const dir = scratchDir();
  const stamp = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const allowed = join(dir, `allowed-${stamp}`);
  const sigFile = join(dir, `sig-${stamp}`);
  writeFileSync(allowed, allowedSignersText(candidates));
  writeFileSync(sigFile, signed.signature);
  try {
    for (const principal of new Set(candidates.map((c) => c.principal))) {
      const r = await runProgram(
        sshKeygen(),
        ['-Y', 'verify', '-f', allowed, '-I', principal, '-n', 'git', '-s', sigFile, `-Overify-time=${verifyTime(at)}`],
        { cwd: dir, input: signed.payload, allowFailure: true, baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      );
      if (r.code === 0) return { status: 'good', principal, key };
    }
    return { status: 'bad', key, detail: 'signature does not verify for the key it names (forged, or the commit was altered)' };
  } finally {
    rmSync(allowed, { force: true });
    rmSync(sigFile, { force: true });
  }
}
