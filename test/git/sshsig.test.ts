// src/git/sshsig.ts against the real /usr/bin/ssh-keygen: unit tests on real
// signatures of every supported key type, and a differential test where at
// least 10,000 generated cases (valid, mutated, crafted) must get the verdict
// `ssh-keygen -Y verify` gives. Keys and files live in one temporary
// directory; ~ and the user's git config are never touched.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { constants, createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSshSig, signingKey, verifiesInProcess, verifyAllowedSigner, verifyTimeArgument, type SshSigVerdict } from '../../src/git/sshsig.js';
import { allowedSignersText, type Approver } from '../../src/schema/approvers.js';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** ga's environment for ssh-keygen (PATH only), plus the zone sshsig.ts reads zone-less times in. */
const ENV = { PATH: '/usr/bin:/bin', TZ: 'UTC' };
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

// ---------------------------------------------------------------- wire helpers

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const bytes = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'latin1') : v);
const str = (v: Buffer | string): Buffer => Buffer.concat([u32(bytes(v).length), bytes(v)]);
const trim0 = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
};
const mpint = (magnitude: Buffer): Buffer => {
  const m = trim0(magnitude);
  return str(m.length > 0 && (m[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.alloc(1), m]) : m);
};

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(): Buffer {
    const len = this.u32();
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

interface Fields {
  version: number;
  pub: Buffer;
  ns: Buffer | string;
  reserved: Buffer | string;
  hash: Buffer | string;
  sig: Buffer;
}

const envelope = (f: Fields): Buffer => Buffer.concat([Buffer.from('SSHSIG'), u32(f.version), str(f.pub), str(f.ns), str(f.reserved), str(f.hash), str(f.sig)]);

function fieldsOf(blob: Buffer): Fields {
  const r = new Reader(blob.subarray(6));
  return { version: r.u32(), pub: r.string(), ns: r.string(), reserved: r.string(), hash: r.string(), sig: r.string() };
}

function armor(blob: Buffer, width = 70): string {
  const b64 = blob.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

const blobOf = (armored: string): Buffer => Buffer.from(armored.split('\n').slice(1, -2).join(''), 'base64');

// ---------------------------------------------------------------- keys

type Family = 'ed25519' | 'ecdsa' | 'rsa';

interface TestKey {
  name: string;
  path: string;
  family: Family;
  keyType: string;
  blob: Buffer;
  priv: KeyObject;
  /** ECDSA: the curve's hash and scalar size. */
  hash: 'sha256' | 'sha384' | 'sha512';
  size: number;
}

const CURVE = {
  'ecdsa-sha2-nistp256': { jwk: 'P-256', hash: 'sha256', size: 32 },
  'ecdsa-sha2-nistp384': { jwk: 'P-384', hash: 'sha384', size: 48 },
  'ecdsa-sha2-nistp521': { jwk: 'P-521', hash: 'sha512', size: 66 },
} as const;

const b64url = (b: Buffer): string => b.toString('base64url');
const toBig = (b: Buffer): bigint => (b.length === 0 ? 0n : BigInt('0x' + b.toString('hex')));
const fromBig = (v: bigint): Buffer => {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
};
const leftPad = (b: Buffer, size: number): Buffer => (b.length >= size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]));

/** The private half of an unencrypted openssh-key-v1 file, as a node KeyObject (for crafting signatures). */
function opensshPrivateKey(text: string): KeyObject {
  const body = text.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const outer = new Reader(Buffer.from(body, 'base64').subarray('openssh-key-v1\0'.length));
  outer.string(); // cipher "none"
  outer.string(); // kdf "none"
  outer.string(); // kdf options
  outer.u32(); // one key
  outer.string(); // public key
  const r = new Reader(outer.string());
  r.u32();
  r.u32(); // check ints
  const type = r.string().toString('latin1');
  if (type === 'ssh-ed25519') {
    const pk = r.string();
    const sk = r.string();
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pk), d: b64url(sk.subarray(0, 32)) }, format: 'jwk' });
  }
  if (type in CURVE) {
    const c = CURVE[type as keyof typeof CURVE];
    r.string(); // curve name
    const q = r.string();
    const d = leftPad(trim0(r.string()), c.size);
    const x = q.subarray(1, 1 + c.size);
    const y = q.subarray(1 + c.size);
    return createPrivateKey({ key: { kty: 'EC', crv: c.jwk, x: b64url(x), y: b64url(y), d: b64url(d) }, format: 'jwk' });
  }
  const [n, e, d, iqmp, p, q] = [r.string(), r.string(), r.string(), r.string(), r.string(), r.string()].map(trim0) as [
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
  ];
  const dp = fromBig(toBig(d) % (toBig(p) - 1n));
  const dq = fromBig(toBig(d) % (toBig(q) - 1n));
  const jwk = { kty: 'RSA', n: b64url(n), e: b64url(e), d: b64url(d), p: b64url(p), q: b64url(q), dp: b64url(dp), dq: b64url(dq), qi: b64url(iqmp) };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

function makeKey(dir: string, name: string, type: string, bits?: number): TestKey {
  const path = join(dir, name);
  execFileSync(SSH_KEYGEN, ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', name, '-f', path], { env: ENV });
  const [keyType, b64] = readFileSync(`${path}.pub`, 'utf8').trim().split(' ') as [string, string];
  const family: Family = keyType === 'ssh-ed25519' ? 'ed25519' : keyType === 'ssh-rsa' ? 'rsa' : 'ecdsa';
  const curve = family === 'ecdsa' ? CURVE[keyType as keyof typeof CURVE] : undefined;
  return {
    name,
    path,
    family,
    keyType,
    blob: Buffer.from(b64, 'base64'),
    priv: opensshPrivateKey(readFileSync(path, 'utf8')),
    hash: curve?.hash ?? 'sha512',
    size: curve?.size ?? 0,
  };
}

const pubB64 = (k: TestKey): string => k.blob.toString('base64');

function approver(k: { keyType: string; key: string }, extra: Partial<Approver> = {}): Approver {
  return { principal: ALICE, certAuthority: false, keyType: k.keyType, key: k.key, comment: '', line: 1, ...extra };
}
const approverOf = (k: TestKey, extra: Partial<Approver> = {}): Approver => approver({ keyType: k.keyType, key: pubB64(k) }, extra);

// ---------------------------------------------------------------- signing

function sshSign(k: TestKey | string, message: Buffer, opts: { namespace?: string; hashalg?: string } = {}): string {
  const path = typeof k === 'string' ? k : k.path;
  return execFileSync(SSH_KEYGEN, ['-Y', 'sign', '-n', opts.namespace ?? 'git', '-f', path, ...(opts.hashalg ? ['-O', `hashalg=${opts.hashalg}`] : [])], {
    input: message,
    env: ENV,
    stdio: ['pipe', 'pipe', 'ignore'],
  }).toString('utf8');
}

/** What ssh-keygen signs: the reserved field always empty. */
function toBeSigned(ns: Buffer | string, hashName: string, digest: Buffer): Buffer {
  return Buffer.concat([Buffer.from('SSHSIG'), str(ns), str(''), str(hashName), str(digest)]);
}

const digestOf = (alg: string, m: Buffer): Buffer => createHash(alg).update(m).digest();

/** A signature blob by `k` over `data`, in the key's wire form (RSA: choose the hash). */
function keySign(k: TestKey, data: Buffer, rsaHash: 'sha1' | 'sha256' | 'sha512' = 'sha512'): { type: string; raw: Buffer; blob: Buffer } {
  if (k.family === 'ed25519') {
    const raw = cryptoSign(null, data, k.priv);
    return { type: 'ssh-ed25519', raw, blob: Buffer.concat([str('ssh-ed25519'), str(raw)]) };
  }
  if (k.family === 'ecdsa') {
    const raw = cryptoSign(k.hash, data, { key: k.priv, dsaEncoding: 'ieee-p1363' });
    const rs = Buffer.concat([mpint(raw.subarray(0, k.size)), mpint(raw.subarray(k.size))]);
    return { type: k.keyType, raw, blob: Buffer.concat([str(k.keyType), str(rs)]) };
  }
  const type = { sha1: 'ssh-rsa', sha256: 'rsa-sha2-256', sha512: 'rsa-sha2-512' }[rsaHash];
  const raw = cryptoSign(rsaHash, data, { key: k.priv, padding: constants.RSA_PKCS1_PADDING });
  return { type, raw, blob: Buffer.concat([str(type), str(raw)]) };
}

/** A key blob with its type renamed (the key material is unchanged). */
function renameKeyType(blob: Buffer, name: string | Buffer): Buffer {
  const r = new Reader(blob);
  const oldType = r.string();
  return Buffer.concat([str(name), blob.subarray(4 + oldType.length)]);
}

const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const le = (b: Buffer): bigint => toBig(Buffer.from(b).reverse());
const toLe = (v: bigint): Buffer => leftPad(fromBig(v), 32).reverse();

interface Base {
  id: string;
  key: TestKey;
  message: Buffer;
  armored: string;
}

/**
 * Signatures ssh-keygen never makes but may meet: same key, valid or not by
 * OpenSSH's rules. Undefined where the variant does not apply to the key.
 */
function craft(k: TestKey, message: Buffer, variant: string): Base | undefined {
  const fields = (
    sigNs: string,
    sigHash: string,
    dataNs = sigNs.replace(/\0$/, ''),
    dataHash = sigHash.replace(/\0$/, ''),
    digestAlg = dataHash,
  ): Fields & { data: Buffer } => ({
    version: 1,
    pub: k.blob,
    ns: sigNs,
    reserved: '',
    hash: sigHash,
    sig: Buffer.alloc(0),
    data: toBeSigned(dataNs, dataHash, digestOf(digestAlg.toLowerCase(), message)),
  });
  const plain = fields('git', 'sha512');
  const make = (f: Fields): Base => ({ id: `${k.name}/${variant}`, key: k, message, armored: armor(envelope(f)) });
  const signed = (f: Fields & { data: Buffer }, rsaHash: 'sha1' | 'sha256' | 'sha512' = 'sha512'): Base =>
    make({ ...f, sig: keySign(k, f.data, rsaHash).blob });
  switch (variant) {
    case 'plain':
      return signed(plain);
    case 'version0':
      return signed({ ...plain, version: 0 });
    case 'reserved':
      return signed({ ...plain, reserved: 'not signed' });
    case 'nsNul':
      return signed(fields('git\0', 'sha512'));
    case 'hashNul':
      return signed(fields('git', 'sha512\0'));
    case 'hash384':
      return signed(fields('git', 'sha384'));
    case 'hashUpper':
      return signed(fields('git', 'SHA512', 'git', 'SHA512', 'sha512'));
    case 'nsFile':
      return signed(fields('file', 'sha512'));
    case 'pubTrailing':
      return signed({ ...plain, pub: Buffer.concat([k.blob, Buffer.alloc(1)]) });
    case 'keyTypeNul':
      return signed({ ...plain, pub: renameKeyType(k.blob, `${k.keyType}\0`) });
    case 'keyTypeShort':
      return signed({ ...plain, pub: renameKeyType(k.blob, { ed25519: 'ED25519', ecdsa: 'ECDSA', rsa: 'RSA' }[k.family]) });
    case 'keyTypeLower':
      return signed({ ...plain, pub: renameKeyType(k.blob, { ed25519: 'ed25519', ecdsa: 'ecdsa', rsa: 'rsa' }[k.family]) });
    case 'sigTypeNul': {
      const s = keySign(k, plain.data);
      return make({ ...plain, sig: Buffer.concat([str(`${s.type}\0`), s.blob.subarray(4 + s.type.length)]) });
    }
    case 'sigTrailing':
      return make({ ...plain, sig: Buffer.concat([keySign(k, plain.data).blob, Buffer.alloc(1)]) });
    case 'wrongData':
      return make({ ...plain, sig: keySign(k, toBeSigned('git', 'sha512', digestOf('sha512', Buffer.from('other')))).blob });
  }
  if (k.family === 'ed25519') {
    const raw = keySign(k, plain.data).raw;
    const withS = (s: Buffer) => make({ ...plain, sig: Buffer.concat([str('ssh-ed25519'), str(Buffer.concat([raw.subarray(0, 32), s]))]) });
    const s = le(raw.subarray(32));
    switch (variant) {
      case 'sPlusL':
        return s + L < 1n << 253n ? withS(toLe(s + L)) : undefined;
      case 'sPlus2L':
        return withS(toLe((s + 2n * L) % (1n << 256n)));
      case 'sTopBit':
        return withS(toLe(s | (1n << 255n)));
      case 'sigShort':
        return make({ ...plain, sig: Buffer.concat([str('ssh-ed25519'), str(raw.subarray(0, 63))]) });
      case 'sigLong':
        return make({ ...plain, sig: Buffer.concat([str('ssh-ed25519'), str(Buffer.concat([raw, Buffer.alloc(1)]))]) });
    }
  }
  if (k.family === 'ecdsa') {
    const raw = keySign(k, plain.data).raw;
    const r = raw.subarray(0, k.size);
    const s = raw.subarray(k.size);
    const withRs = (rs: Buffer, type = k.keyType) => make({ ...plain, sig: Buffer.concat([str(type), str(rs)]) });
    switch (variant) {
      case 'mpintPad':
        return withRs(Buffer.concat([str(Buffer.concat([Buffer.alloc(2), trim0(r)])), mpint(s)]));
      case 'mpintRaw':
        return withRs(Buffer.concat([str(r), str(s)])); // fixed width: negative when the top bit is set
      case 'rsTrailing':
        return withRs(Buffer.concat([mpint(r), mpint(s), Buffer.alloc(1)]));
      case 'sigTypeOtherCurve':
        return withRs(Buffer.concat([mpint(r), mpint(s)]), k.keyType === 'ecdsa-sha2-nistp256' ? 'ecdsa-sha2-nistp384' : 'ecdsa-sha2-nistp256');
      case 'curveMismatch': {
        const other = k.keyType === 'ecdsa-sha2-nistp256' ? 'nistp384' : 'nistp256';
        const rd = new Reader(k.blob);
        rd.string();
        const curve = rd.string();
        return signed({ ...plain, pub: Buffer.concat([str(k.keyType), str(other), k.blob.subarray(8 + k.keyType.length + curve.length)]) });
      }
    }
  }
  if (k.family === 'rsa') {
    const rd = new Reader(k.blob);
    rd.string();
    const e = rd.string();
    const n = rd.string();
    switch (variant) {
      case 'rsaSha256':
        return signed(plain, 'sha256');
      case 'rsaSha1':
        return signed(plain, 'sha1');
      case 'rsaLong': {
        const raw = keySign(k, plain.data).raw;
        return make({ ...plain, sig: Buffer.concat([str('rsa-sha2-512'), str(Buffer.concat([Buffer.alloc(1), raw]))]) });
      }
      case 'keyTypeSha2':
        return signed({ ...plain, pub: renameKeyType(k.blob, 'rsa-sha2-512') });
      case 'ePad':
        return signed({ ...plain, pub: Buffer.concat([str('ssh-rsa'), str(Buffer.concat([Buffer.alloc(2), e])), str(n)]) });
      case 'nNegative':
        return signed({ ...plain, pub: Buffer.concat([str('ssh-rsa'), str(e), str(trim0(n))]) });
    }
  }
  return undefined;
}

const VARIANTS = [
  'plain',
  'version0',
  'reserved',
  'nsNul',
  'hashNul',
  'hash384',
  'hashUpper',
  'nsFile',
  'pubTrailing',
  'keyTypeNul',
  'keyTypeShort',
  'keyTypeLower',
  'sigTypeNul',
  'sigTrailing',
  'wrongData',
  'sPlusL',
  'sPlus2L',
  'sTopBit',
  'sigShort',
  'sigLong',
  'mpintPad',
  'mpintRaw',
  'rsTrailing',
  'sigTypeOtherCurve',
  'curveMismatch',
  'rsaSha256',
  'rsaSha1',
  'rsaLong',
  'keyTypeSha2',
  'ePad',
  'nNegative',
];

/** An RSA signature whose first byte is zero, sent one byte short (ssh-keygen pads it back). */
function shortRsa(k: TestKey): Base {
  for (let i = 0; ; i++) {
    const message = Buffer.from(`short rsa signature ${i}\n`);
    const data = toBeSigned('git', 'sha512', digestOf('sha512', message));
    const { raw } = keySign(k, data);
    if (raw[0] !== 0) continue;
    const sig = Buffer.concat([str('rsa-sha2-512'), str(raw.subarray(1))]);
    return { id: `${k.name}/rsaShort`, key: k, message, armored: armor(envelope({ version: 1, pub: k.blob, ns: 'git', reserved: '', hash: 'sha512', sig })) };
  }
}

// ---------------------------------------------------------------- ssh-keygen

interface Check {
  armored: string;
  message: Buffer;
  allowed: Approver[];
  principal: string;
  at: Date;
}

let dir: string;
let serial = 0;

/** Exit status of `ssh-keygen -Y verify` for one check, run the way ga runs it. */
function sshKeygenExit(c: Check, env: Record<string, string> = ENV): number {
  const stem = join(dir, `unit-${serial++}`);
  writeFileSync(`${stem}.allowed`, allowedSignersText(c.allowed));
  writeFileSync(`${stem}.sig`, c.armored);
  const r = spawnSync(
    SSH_KEYGEN,
    ['-Y', 'verify', '-f', `${stem}.allowed`, '-I', c.principal, '-n', 'git', '-s', `${stem}.sig`, `-Overify-time=${verifyTimeArgument(c.at)}`],
    {
      input: c.message,
      env,
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  return r.status ?? -1;
}

const inProcess = (c: Check): SshSigVerdict => verifyAllowedSigner({ ...c, namespace: 'git' });

/** Both verdicts, for a readable expect(). */
function both(c: Check): { ours: string; sshKeygen: string } {
  return { ours: inProcess(c).verdict, sshKeygen: sshKeygenExit(c) === 0 ? 'good' : 'bad' };
}

// ---------------------------------------------------------------- setup

let keys: Record<string, TestKey>;
const MESSAGES = [
  Buffer.from(
    'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor Alice <alice@example.com> 1718454896 +0000\ncommitter Alice <alice@example.com> 1718454896 +0000\n\napprove P-12\n',
  ),
  Buffer.from('x'),
  Buffer.alloc(0),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
];
const AT = new Date('2024-06-15T12:34:56.789Z');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-sshsig-'));
  keys = {
    ed: makeKey(dir, 'ed', 'ed25519'),
    ed2: makeKey(dir, 'ed2', 'ed25519'),
    p256: makeKey(dir, 'p256', 'ecdsa', 256),
    p256b: makeKey(dir, 'p256b', 'ecdsa', 256),
    p384: makeKey(dir, 'p384', 'ecdsa', 384),
    p521: makeKey(dir, 'p521', 'ecdsa', 521),
    rsa: makeKey(dir, 'rsa', 'rsa', 3072),
    rsa2: makeKey(dir, 'rsa2', 'rsa', 2048),
  };
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- unit tests

describe('parseSshSig', () => {
  it('reads real signatures of every key type', () => {
    const expected: Record<string, string> = {
      ed: 'ssh-ed25519',
      p256: 'ecdsa-sha2-nistp256',
      p384: 'ecdsa-sha2-nistp384',
      p521: 'ecdsa-sha2-nistp521',
      rsa: 'rsa-sha2-512',
    };
    for (const [name, sigType] of Object.entries(expected)) {
      const k = keys[name]!;
      const sig = parseSshSig(sshSign(k, MESSAGES[0]!));
      expect(sig).toMatchObject({
        version: 1,
        keyType: k.keyType,
        publicKeyBase64: pubB64(k),
        namespace: 'git',
        hashAlgorithm: 'sha512',
        signatureType: sigType,
      });
      expect(sig!.publicKey.equals(k.blob)).toBe(true);
      expect(sig!.reserved.length).toBe(0);
      expect(signingKey(sshSign(k, MESSAGES[1]!, { hashalg: 'sha256' }))).toEqual({ keyType: k.keyType, key: pubB64(k), namespace: 'git' });
    }
  });

  it('is undefined for malformed signatures', () => {
    const good = sshSign(keys.ed!, MESSAGES[0]!);
    const blob = blobOf(good);
    const f = fieldsOf(blob);
    const body = good.split('\n').slice(1, -2).join('');
    const malformed: Record<string, string> = {
      truncated: armor(blob.subarray(0, blob.length - 1)),
      'trailing bytes': armor(Buffer.concat([blob, Buffer.from([0])])),
      'wrong magic': armor(Buffer.concat([Buffer.from('SSHSIH'), blob.subarray(6)])),
      'version 2': armor(envelope({ ...f, version: 2 })),
      'bad base64 character': good.replace(body.slice(0, 10), `${body.slice(0, 9)}!`),
      'missing padding': `-----BEGIN SSH SIGNATURE-----\n${body.replace(/=+$/, '')}\n-----END SSH SIGNATURE-----\n`,
      'slack bits set': `-----BEGIN SSH SIGNATURE-----\n${body.replace(/(.)(=+)$/, (_m, c: string, pad: string) => String.fromCharCode(c.charCodeAt(0) + 1) + pad)}\n-----END SSH SIGNATURE-----\n`,
      'header not at the start': ` ${good}`,
      'no footer': good.replace('-----END SSH SIGNATURE-----', ''),
      'NUL inside': good.replace(body.slice(0, 10), `${body.slice(0, 5)}\0${body.slice(5, 10)}`),
      'namespace with NUL inside': armor(envelope({ ...f, ns: 'g\0t' })),
      empty: '',
    };
    for (const [what, armored] of Object.entries(malformed)) expect(parseSshSig(armored), what).toBeUndefined();
    expect(parseSshSig(armor(envelope({ ...f, version: 0 })))?.version).toBe(0);
    expect(parseSshSig(good.replace(/\n(?=[A-Za-z0-9+/])/g, '\n\t') + 'trailing text'), 'whitespace, and text after the footer').toBeDefined();
  });
});

describe('verifyAllowedSigner on real signatures', () => {
  it('accepts each key type and hash, as ssh-keygen does', () => {
    for (const k of Object.values(keys)) {
      for (const hashalg of ['sha512', 'sha256']) {
        const c = { armored: sshSign(k, MESSAGES[0]!, { hashalg }), message: MESSAGES[0]!, allowed: [approverOf(k)], principal: ALICE, at: AT };
        expect(both(c), `${k.name} ${hashalg}`).toEqual({ ours: 'good', sshKeygen: 'good' });
      }
    }
  });

  it('refuses what ssh-keygen refuses', () => {
    const k = keys.p256!;
    const armored = sshSign(k, MESSAGES[0]!);
    const ok = { armored, message: MESSAGES[0]!, allowed: [approverOf(k)], principal: ALICE, at: AT };
    const cases: Record<string, Check> = {
      'altered message': { ...ok, message: Buffer.concat([MESSAGES[0]!, Buffer.from(' ')]) },
      'another principal': { ...ok, principal: BOB },
      'another key': { ...ok, allowed: [approverOf(keys.p256b!)] },
      'namespace not allowed': { ...ok, allowed: [approverOf(k, { namespaces: ['file'] })] },
      'signed in another namespace': { ...ok, armored: sshSign(k, MESSAGES[0]!, { namespace: 'file' }) },
      'key expired': { ...ok, allowed: [approverOf(k, { validBefore: '20240615123455Z' })] },
      'key not yet valid': { ...ok, allowed: [approverOf(k, { validAfter: '20240615123457Z' })] },
      'valid-before not after valid-after': { ...ok, allowed: [approverOf(k, { validAfter: '20240101', validBefore: '20240101' })] },
      'valid-after at the epoch (read as unset, so invalid)': { ...ok, allowed: [approverOf(k, { validAfter: '19700101Z' })] },
      'no allowed lines': { ...ok, allowed: [] },
    };
    for (const [what, c] of Object.entries(cases)) expect(both(c), what).toEqual({ ours: 'bad', sshKeygen: 'bad' });
    const r = inProcess(cases['key expired']!);
    expect(r.verdict === 'bad' && r.why).toContain('expired');
  });

  it('treats valid-after and valid-before as inclusive, at whole seconds, zone-less times as UTC', () => {
    const k = keys.ed!;
    const armored = sshSign(k, MESSAGES[1]!);
    const at = (iso: string) => new Date(iso);
    const table: [Partial<Approver>, string, string][] = [
      [{ validAfter: '20240615123456' }, '2024-06-15T12:34:56.000Z', 'good'],
      [{ validAfter: '20240615123456Z' }, '2024-06-15T12:34:55.999Z', 'bad'],
      [{ validBefore: '20240615123456' }, '2024-06-15T12:34:56.999Z', 'good'],
      [{ validBefore: '20240615123456Z' }, '2024-06-15T12:34:57.000Z', 'bad'],
      [{ validAfter: '20240615' }, '2024-06-15T00:00:00.000Z', 'good'],
      [{ validAfter: '20240615z' }, '2024-06-14T23:59:59.999Z', 'bad'],
      [{ validBefore: '20240615' }, '2024-06-15T00:00:00.500Z', 'good'],
      [{ validBefore: '20240615UTC' }, '2024-06-15T00:00:01.000Z', 'bad'],
      [{ validAfter: '202406151234' }, '2024-06-15T12:34:00.000Z', 'good'],
      [{ validAfter: '20240230' }, '2024-03-01T00:00:00.000Z', 'good'], // Feb 30 rolls over to Mar 1
      [{ validAfter: '20240101235961' }, '2024-01-02T00:00:01.000Z', 'good'], // second 61 is accepted
      [{ validAfter: '20240101235962' }, '2024-06-15T00:00:00.000Z', 'bad'],
      [{ validAfter: '20241301' }, '2025-06-15T00:00:00.000Z', 'bad'],
      [{ validAfter: '19691231' }, '2024-06-15T00:00:00.000Z', 'bad'],
      [{}, '1970-01-01T00:00:00.999Z', 'bad'], // a verify time of 0 is refused
      [{}, '1970-01-01T00:00:01.000Z', 'good'],
    ];
    for (const [extra, iso, verdict] of table) {
      const c = { armored, message: MESSAGES[1]!, allowed: [approverOf(k, extra)], principal: ALICE, at: at(iso) };
      expect(both(c), `${JSON.stringify(extra)} at ${iso}`).toEqual({ ours: verdict, sshKeygen: verdict });
    }
  });

  it("reads zone-less times in ssh-keygen's zone, which is why ssh-keygen must run with TZ=UTC", () => {
    const k = keys.ed!;
    const c = {
      armored: sshSign(k, MESSAGES[1]!),
      message: MESSAGES[1]!,
      allowed: [approverOf(k, { validAfter: '20240615' })],
      principal: ALICE,
      at: new Date('2024-06-15T00:00:00Z'),
    };
    const fiveHoursWest = { PATH: ENV.PATH, TZ: 'XST5' }; // POSIX zone string: no tzdata needed
    expect(inProcess(c).verdict).toBe('good');
    expect(sshKeygenExit(c)).toBe(0);
    expect(sshKeygenExit(c, fiveHoursWest)).not.toBe(0); // local midnight there is 05:00Z
    expect(sshKeygenExit({ ...c, at: new Date('2024-06-15T05:00:00Z') }, fiveHoursWest)).toBe(0);
    expect(sshKeygenExit({ ...c, allowed: [approverOf(k, { validAfter: '20240615Z' })] }, fiveHoursWest)).toBe(0);
  });

  it('mirrors OpenSSH where it is lenient or strict in ways a forger could use', () => {
    const expectations: [string, string, string][] = [
      ['ed', 'sPlusL', 'good'], // ref10 reduces S mod L; OpenSSL alone would refuse
      ['ed', 'sTopBit', 'bad'],
      ['ed', 'version0', 'good'],
      ['ed', 'reserved', 'good'],
      ['ed', 'nsNul', 'good'],
      ['ed', 'keyTypeShort', 'good'],
      ['p256', 'mpintPad', 'good'],
      ['p256', 'keyTypeShort', 'bad'],
      ['p384', 'curveMismatch', 'bad'],
      ['rsa', 'rsaSha256', 'good'],
      ['rsa', 'rsaSha1', 'bad'], // sshsig allows rsa-sha2-512 and rsa-sha2-256 only
      ['rsa', 'rsaLong', 'bad'],
      ['rsa', 'ePad', 'good'],
      ['rsa', 'hash384', 'bad'],
    ];
    for (const [name, variant, verdict] of expectations) {
      const k = keys[name]!;
      const b = craft(k, MESSAGES[0]!, variant)!;
      const c = { armored: b.armored, message: b.message, allowed: [approverOf(k)], principal: ALICE, at: AT };
      expect(both(c), `${name} ${variant}`).toEqual({ ours: verdict, sshKeygen: verdict });
    }
    const short = shortRsa(keys.rsa!);
    expect(both({ ...short, allowed: [approverOf(keys.rsa!)], principal: ALICE, at: AT })).toEqual({ ours: 'good', sshKeygen: 'good' });
  });

  it('leaves certificates, security keys, DSA and cert-authority lines to ssh-keygen', () => {
    const user = keys.ed!;
    execFileSync(SSH_KEYGEN, ['-q', '-s', keys.ed2!.path, '-I', 'alice', '-n', ALICE, `${user.path}.pub`], { env: ENV });
    const certSig = sshSign(`${user.path}-cert.pub`, MESSAGES[0]!);
    expect(parseSshSig(certSig)?.keyType).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(verifiesInProcess('ssh-ed25519-cert-v01@openssh.com')).toBe(false);
    const caLine = approverOf(keys.ed2!, { certAuthority: true });
    const cert = { armored: certSig, message: MESSAGES[0]!, allowed: [caLine], principal: ALICE, at: AT };
    expect(inProcess(cert).verdict).toBe('fallback');
    expect(sshKeygenExit(cert)).toBe(0);
    rmSync(`${user.path}-cert.pub`);

    const dsa = join(dir, 'dsa');
    execFileSync(SSH_KEYGEN, ['-q', '-t', 'dsa', '-N', '', '-f', dsa], { env: ENV });
    const [dsaType, dsaKey] = readFileSync(`${dsa}.pub`, 'utf8').split(' ') as [string, string];
    const dsaCheck = {
      armored: sshSign(dsa, MESSAGES[0]!),
      message: MESSAGES[0]!,
      allowed: [approver({ keyType: dsaType, key: dsaKey })],
      principal: ALICE,
      at: AT,
    };
    expect(inProcess(dsaCheck).verdict).toBe('fallback');

    const skPub = Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(Buffer.alloc(32, 7)), str('ssh:')]);
    const sk = armor(
      envelope({
        version: 1,
        pub: skPub,
        ns: 'git',
        reserved: '',
        hash: 'sha512',
        sig: Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(Buffer.alloc(64))]),
      }),
    );
    expect(inProcess({ armored: sk, message: MESSAGES[0]!, allowed: [], principal: ALICE, at: AT }).verdict).toBe('fallback');

    // A plain key never matches a cert-authority line in ssh-keygen; the module still defers.
    const plain = {
      armored: sshSign(user, MESSAGES[0]!),
      message: MESSAGES[0]!,
      allowed: [approverOf(user, { certAuthority: true })],
      principal: ALICE,
      at: AT,
    };
    expect(inProcess(plain).verdict).toBe('fallback');
    expect(sshKeygenExit(plain)).not.toBe(0);
    expect(inProcess({ ...plain, allowed: [approverOf(user, { certAuthority: true }), approverOf(user)] }).verdict).toBe('good');
    // A time only strptime can read ("2024 101": glibc skips the blank).
    expect(inProcess({ ...plain, allowed: [approverOf(user, { validAfter: '2024 101' })] }).verdict).toBe('fallback');
  });

  it('never throws, and never calls junk good', () => {
    const k = keys.ed!;
    const signed = sshSign(k, MESSAGES[0]!); // the random messages below are never MESSAGES[0]
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 20 }), fc.date(), (junk, message, text, at) => {
        const allowed = [approverOf(k), approverOf(k, { validAfter: text, namespaces: [text] }), approver({ keyType: text, key: text }, { principal: text })];
        for (const armored of [junk, signed.slice(0, junk.length) + junk, `-----BEGIN SSH SIGNATURE-----\n${junk}\n-----END SSH SIGNATURE-----\n`]) {
          parseSshSig(armored);
          if (verifyAllowedSigner({ armored, message: Buffer.from(message), allowed, principal: ALICE, namespace: 'git', at }).verdict === 'good') return false;
        }
        return true;
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------- differential

const PRINCIPALS = [
  ALICE,
  BOB,
  '*@example.com',
  `${ALICE},${BOB}`,
  `!${ALICE},*`,
  `${BOB},!${ALICE}`,
  'alice@*',
  '?lice@example.com',
  `#${ALICE}`,
  'ALICE@example.com',
];
const NAMESPACE_LISTS = [
  ['git'],
  ['file'],
  ['git', 'file'],
  ['file', 'git'],
  ['g*'],
  ['!git', '*'],
  ['*'],
  [''],
  ['gi?'],
  ['git', '!git'],
  ['file', 'git '],
  ['GIT'],
];
const ANCHORS = [
  '2024-06-15T00:00:00Z',
  '2024-06-15T12:34:00Z',
  '2024-06-15T12:34:56Z',
  '2024-03-01T00:00:00Z',
  '1970-01-01T00:00:01Z',
  '9999-12-31T23:59:59Z',
].map((s) => Date.parse(s));
const AT_DELTAS_MS = [0, 1, 999, 1000, -1, -1000, 59_999, 60_000, -60_000, 86_400_000, -86_400_000];
const TIME_OFFSETS_S = [0, -1, 1, -60, 60, -86_400, 86_400, -315_360_000, 315_360_000];
const TIME_FORMATS = ['14', '14Z', '12', '12Z', '8', '8Z', '8z', '8UTC', '14utc'];
const ODD_TIMES = [
  '20241301',
  '20240230',
  '19700101',
  '19700101000001',
  '19691231',
  '20240101235961',
  '00000101',
  '99991231235959Z',
  '2024010',
  '20240615 ',
  '2024-06-15',
];
const ARMOUR_STYLES = [
  'crlf',
  'crlfBody',
  'oneLine',
  'wrap4',
  'noFinalNewline',
  'garbageAfter',
  'leadingSpace',
  'spaces',
  'tabs',
  'unpadded',
  'extraPad',
  'lowerHeader',
  'nulEnd',
  'nulMid',
  'blankLines',
  'verticalTab',
  'nonAscii',
  'secondFooter',
] as const;
const FIELD_VALUES = {
  ns: ['git', 'file', 'git\0', 'gi', '', 'GIT', 'git\0x'],
  hash: ['sha256', 'sha512', 'sha384', 'SHA512', 'sha512\0', 'md5', ''],
  version: [0, 1, 2, 0x80000000],
  reserved: ['', 'x', '\0'],
};

type TimeSpec = { offset: number; format: string } | { odd: string };
type KeyChoice = { kind: 'signer' } | { kind: 'other'; index: number } | { kind: 'alias' };
interface LineSpec {
  principal: string;
  key: KeyChoice;
  namespaces: string[] | null;
  validAfter: TimeSpec | null;
  validBefore: TimeSpec | null;
  ca: boolean;
}
type SigMutation =
  | { kind: 'none' }
  | { kind: 'blobBit'; pos: number; bit: number }
  | { kind: 'armourBit'; pos: number; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; extra: Uint8Array }
  | { kind: 'field'; field: 'ns' | 'hash' | 'version' | 'reserved' | 'pub'; choice: number }
  | { kind: 'format'; style: (typeof ARMOUR_STYLES)[number] };
type MessageMutation = { kind: 'same' } | { kind: 'bit'; pos: number; bit: number } | { kind: 'append'; byte: number } | { kind: 'other'; index: number };
interface CaseSpec {
  base: number;
  sig: SigMutation;
  message: MessageMutation;
  lines: LineSpec[];
  principal: string;
  anchor: number;
  delta: number;
}

function caseArbitrary(pool: Base[], sshBases: number, keyCount: number): fc.Arbitrary<CaseSpec> {
  const timeSpec: fc.Arbitrary<TimeSpec> = fc.oneof(
    { weight: 12, arbitrary: fc.record({ offset: fc.constantFrom(...TIME_OFFSETS_S), format: fc.constantFrom(...TIME_FORMATS) }) },
    { weight: 1, arbitrary: fc.record({ odd: fc.constantFrom(...ODD_TIMES) }) },
  );
  const keyChoice: fc.Arbitrary<KeyChoice> = fc.oneof(
    { weight: 10, arbitrary: fc.constant({ kind: 'signer' as const }) },
    { weight: 3, arbitrary: fc.nat({ max: keyCount - 1 }).map((index) => ({ kind: 'other' as const, index })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'alias' as const }) },
  );
  const sometimes = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });
  const line: fc.Arbitrary<LineSpec> = fc.record({
    principal: fc.oneof(
      { weight: 14, arbitrary: fc.constant(ALICE) },
      { weight: 3, arbitrary: fc.constant(BOB) },
      { weight: 3, arbitrary: fc.constantFrom(...PRINCIPALS) },
    ),
    key: keyChoice,
    namespaces: fc.option(fc.constantFrom(...NAMESPACE_LISTS), { freq: 2 }),
    validAfter: sometimes(timeSpec),
    validBefore: sometimes(timeSpec),
    ca: fc.oneof({ weight: 50, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
  const sig: fc.Arbitrary<SigMutation> = fc.oneof(
    { weight: 75, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('blobBit' as const), pos: fc.nat(), bit: fc.nat({ max: 7 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('armourBit' as const), pos: fc.nat(), bit: fc.nat({ max: 7 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 3 }) }) },
    {
      weight: 7,
      arbitrary: fc.record({
        kind: fc.constant('field' as const),
        field: fc.constantFrom('ns' as const, 'hash' as const, 'version' as const, 'reserved' as const, 'pub' as const),
        choice: fc.nat(),
      }),
    },
    { weight: 7, arbitrary: fc.record({ kind: fc.constant('format' as const), style: fc.constantFrom(...ARMOUR_STYLES) }) },
  );
  const message: fc.Arbitrary<MessageMutation> = fc.oneof(
    { weight: 60, arbitrary: fc.constant({ kind: 'same' as const }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('bit' as const), pos: fc.nat(), bit: fc.nat({ max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('append' as const), byte: fc.nat({ max: 255 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('other' as const), index: fc.nat({ max: MESSAGES.length - 1 }) }) },
  );
  return fc.record({
    base: fc.oneof({ weight: 3, arbitrary: fc.nat({ max: sshBases - 1 }) }, { weight: 2, arbitrary: fc.integer({ min: sshBases, max: pool.length - 1 }) }),
    sig,
    message,
    lines: fc.array(line, { minLength: 1, maxLength: 3 }),
    principal: fc.oneof({ weight: 6, arbitrary: fc.constant(ALICE) }, { weight: 1, arbitrary: fc.constant(BOB) }),
    anchor: fc.oneof({ weight: 10, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(4, 5) }),
    delta: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...AT_DELTAS_MS) },
      { weight: 1, arbitrary: fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }) },
    ),
  });
}

/** An ssh-keygen timestamp for `seconds` in one of its accepted shapes. */
function formatTime(seconds: number, format: string): string {
  const d = new Date(seconds * 1000);
  if (d.getUTCFullYear() > 9999) return '99991231235959Z';
  const digits = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const [, width, suffix] = /^(\d+)(.*)$/.exec(format)!;
  return digits.slice(0, Number(width)) + suffix;
}

const timeOf = (t: TimeSpec | null, anchor: number): string | undefined =>
  t === null ? undefined : 'odd' in t ? t.odd : formatTime(Math.floor(anchor / 1000) + t.offset, t.format);

function lineOf(spec: LineSpec, signer: TestKey, keyList: TestKey[], anchor: number, line: number): Approver {
  const k = spec.key.kind === 'other' ? keyList[spec.key.index]! : signer;
  const alias = { ed25519: 'ED25519', rsa: 'rsa-sha2-512', ecdsa: k.keyType === 'ecdsa-sha2-nistp256' ? 'ecdsa-sha2-nistp384' : 'ecdsa-sha2-nistp256' }[
    k.family
  ];
  const a: Approver = {
    principal: spec.principal,
    certAuthority: spec.ca,
    keyType: spec.key.kind === 'alias' ? alias : k.keyType,
    key: pubB64(k),
    comment: '',
    line,
  };
  if (spec.namespaces) a.namespaces = [...spec.namespaces];
  const after = timeOf(spec.validAfter, anchor);
  const before = timeOf(spec.validBefore, anchor);
  if (after !== undefined) a.validAfter = after;
  if (before !== undefined) a.validBefore = before;
  return a;
}

function restyle(armored: string, style: (typeof ARMOUR_STYLES)[number]): string {
  const lines = armored.split('\n');
  const [head, body, foot] = [lines[0]!, lines.slice(1, -2), lines.at(-2)!];
  const b64 = body.join('');
  const wrap = (parts: string[], sep = '\n') => `${head}\n${parts.join(sep)}\n${foot}\n`;
  switch (style) {
    case 'crlf':
      return armored.replace(/\n/g, '\r\n');
    case 'crlfBody':
      return wrap(body, '\r\n');
    case 'oneLine':
      return wrap([b64]);
    case 'wrap4':
      return wrap(b64.match(/.{1,4}/g)!);
    case 'noFinalNewline':
      return armored.slice(0, -1);
    case 'garbageAfter':
      return `${armored}junk\x01\xff`;
    case 'leadingSpace':
      return ` ${armored}`;
    case 'spaces':
      return wrap(body.map((l) => l.replace(/(.{10})/g, '$1 ')));
    case 'tabs':
      return wrap(body.map((l) => `\t${l}`));
    case 'unpadded':
      return wrap([b64.replace(/=+$/, '')]);
    case 'extraPad':
      return wrap([`${b64}=`]);
    case 'lowerHeader':
      return armored.replace('BEGIN SSH SIGNATURE', 'begin ssh signature');
    case 'nulEnd':
      return wrap([`${b64}\0`]);
    case 'nulMid':
      return wrap([b64.slice(0, 20), `\0${b64.slice(20)}`]);
    case 'blankLines':
      return wrap(body, '\n\n');
    case 'verticalTab':
      return wrap(body, '\v\n');
    case 'nonAscii':
      return wrap([`${b64.slice(0, 30)}é${b64.slice(30)}`]);
    case 'secondFooter':
      return `${armored}${foot}\n${head}\n`;
  }
}

function mutateSig(armored: string, m: SigMutation, keyList: TestKey[]): string {
  if (m.kind === 'none') return armored;
  if (m.kind === 'format') return restyle(armored, m.style);
  if (m.kind === 'armourBit') {
    const i = m.pos % armored.length;
    return armored.slice(0, i) + String.fromCharCode(armored.charCodeAt(i) ^ (1 << m.bit)) + armored.slice(i + 1);
  }
  const blob = blobOf(armored);
  if (m.kind === 'blobBit') {
    const b = Buffer.from(blob);
    const i = m.pos % b.length;
    b[i] = b[i]! ^ (1 << m.bit);
    return armor(b);
  }
  if (m.kind === 'truncate') return armor(blob.subarray(0, m.keep % blob.length));
  if (m.kind === 'append') return armor(Buffer.concat([blob, Buffer.from(m.extra)]));
  const f = fieldsOf(blob);
  if (m.field === 'pub') {
    const pubs = [
      ...keyList.map((k) => k.blob),
      renameKeyType(f.pub, 'ED25519'),
      renameKeyType(f.pub, 'ssh-rsa'),
      renameKeyType(f.pub, 'ssh-ed25519-cert-v01@openssh.com'),
    ];
    return armor(envelope({ ...f, pub: pubs[m.choice % pubs.length]! }));
  }
  if (m.field === 'version') return armor(envelope({ ...f, version: FIELD_VALUES.version[m.choice % FIELD_VALUES.version.length]! }));
  const values = FIELD_VALUES[m.field];
  return armor(envelope({ ...f, [m.field]: values[m.choice % values.length]! }));
}

function mutateMessage(message: Buffer, m: MessageMutation): Buffer {
  if (m.kind === 'same') return message;
  if (m.kind === 'other') return MESSAGES[m.index]!;
  if (m.kind === 'append' || message.length === 0) return Buffer.concat([message, Buffer.from([m.kind === 'append' ? m.byte : 0])]);
  const b = Buffer.from(message);
  const i = m.pos % b.length;
  b[i] = b[i]! ^ (1 << m.bit);
  return b;
}

/** One ssh-keygen per check, from a few small shell loops (cheaper to fork from than node). */
const WORKER = `while read -r allowed principal sig time msg; do
  ${SSH_KEYGEN} -Y verify -f "$allowed" -I "$principal" -n git -s "$sig" -Overify-time="$time" <"$msg" >/dev/null 2>&1
  echo $?
done`;

/** Checks handed out as they are generated, so signing-up-front and mutation overlap ssh-keygen's work. */
class SshKeygenPool {
  private readonly workers: { done: Promise<number[]>; write: (line: string) => void; end: () => void; kill: () => void; indices: number[] }[];

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => {
      const p = spawn('/bin/sh', ['-c', WORKER], { env: ENV, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const done = new Promise<number[]>((resolve, reject) => {
        p.on('error', reject);
        p.on('close', () => resolve(out.split('\n').filter(Boolean).map(Number)));
      });
      return { done, write: (line: string) => p.stdin.write(`${line}\n`), end: () => p.stdin.end(), kill: () => p.kill(), indices: [] };
    });
  }

  submit(index: number, job: string): void {
    const w = this.workers[index % this.workers.length]!;
    w.indices.push(index);
    w.write(job);
  }

  /** Stops the workers after a failure, without waiting for their queues. */
  kill(): void {
    for (const w of this.workers) w.kill();
  }

  /** Exit status per submitted index. */
  async exits(): Promise<Map<number, number>> {
    for (const w of this.workers) w.end();
    const exits = new Map<number, number>();
    for (const w of this.workers) {
      const codes = await w.done;
      if (codes.length !== w.indices.length) throw new Error(`an ssh-keygen worker answered ${codes.length} of ${w.indices.length} checks`);
      w.indices.forEach((i, k) => exits.set(i, codes[k]!));
    }
    return exits;
  }
}

interface Materialized extends Check {
  spec: CaseSpec;
  baseId: string;
}

function describeCase(c: Materialized, ours: SshSigVerdict, exit: number): string {
  return [
    `base ${c.baseId}; spec ${JSON.stringify(c.spec, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`,
    `in-process: ${JSON.stringify(ours)}; ssh-keygen -Y verify exit ${exit}`,
    `-I ${JSON.stringify(c.principal)} -Overify-time=${(() => {
      try {
        return verifyTimeArgument(c.at);
      } catch {
        return 'invalid';
      }
    })()}`,
    `allowed signers:\n${allowedSignersText(c.allowed)}`,
    `signature: ${JSON.stringify(c.armored)}`,
    `message (hex): ${c.message.toString('hex')}`,
  ].join('\n');
}

/** The fallbacks the generator can reach: a key type renamed to a certificate's, or a cert-authority line. */
const deferredKey = (v: SshSigVerdict): boolean => v.verdict === 'fallback' && v.why.endsWith('keys are verified by ssh-keygen');

/** Signatures to mutate: ssh-keygen's own first (their count is returned), then crafted ones. */
function basePool(keyList: TestKey[]): { pool: Base[]; sshBases: number } {
  const pool: Base[] = [];
  for (const k of keyList) {
    const sign = (message: Buffer, opts: { namespace?: string; hashalg?: string }, tag: string) =>
      pool.push({ id: `${k.name}/ssh-keygen/${tag}`, key: k, message, armored: sshSign(k, message, opts) });
    sign(MESSAGES[0]!, {}, 'm0');
    sign(MESSAGES[0]!, { hashalg: 'sha256' }, 'm0-sha256');
    sign(MESSAGES[1]!, {}, 'm1');
    sign(MESSAGES[2]!, {}, 'm2');
    sign(MESSAGES[3]!, { hashalg: 'sha256' }, 'm3-sha256');
    sign(MESSAGES[0]!, { namespace: 'file' }, 'm0-file');
  }
  const sshBases = pool.length;
  keyList.forEach((k, i) => {
    for (const v of VARIANTS) {
      const b = craft(k, MESSAGES[i % 2]!, v);
      if (b) pool.push(b);
    }
  });
  pool.push(shortRsa(keys.rsa!));
  return { pool, sshBases };
}

/** Writes each distinct content once; returns its path. */
function fileStore(work: string): (content: Buffer | string, ext: string) => string {
  mkdirSync(work);
  const files = new Map<string, string>();
  return (content, ext) => {
    const name = `${createHash('sha256').update(content).digest('hex').slice(0, 32)}.${ext}`;
    let path = files.get(name);
    if (!path) {
      path = join(work, name);
      writeFileSync(path, content);
      files.set(name, path);
    }
    return path;
  };
}

describe('verifyAllowedSigner against ssh-keygen', () => {
  it('agrees with ssh-keygen -Y verify on at least 10,000 generated cases', async () => {
    const seed = Number(process.env.SSHSIG_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const keyList = Object.values(keys);
    const { pool, sshBases } = basePool(keyList);
    const fileFor = fileStore(join(dir, 'differential'));
    const arbitrary = caseArbitrary(pool, sshBases, keyList.length);
    const checks: { c: Materialized; ours: SshSigVerdict }[] = [];
    const seen = new Set<string>();
    let decided = 0; // checks whose in-process verdict is good or bad, not fallback
    const workers = new SshKeygenPool(4); // two cores; process creation, not the CPU, is the limit

    const consider = async (spec: CaseSpec): Promise<void> => {
      const base = pool[spec.base]!;
      const anchor = ANCHORS[spec.anchor]!;
      const c: Materialized = {
        spec,
        baseId: base.id,
        principal: spec.principal,
        at: new Date(anchor + spec.delta),
        armored: mutateSig(base.armored, spec.sig, keyList),
        message: mutateMessage(base.message, spec.message),
        allowed: spec.lines.map((l, i) => lineOf(l, base.key, keyList, anchor, i + 1)),
      };
      const time = verifyTimeArgument(c.at);
      const allowedText = allowedSignersText(c.allowed);
      const id = createHash('sha256')
        .update(JSON.stringify([c.armored, c.message.toString('hex'), allowedText, c.principal, time]))
        .digest('hex');
      if (seen.has(id)) return;
      seen.add(id);
      const ours = inProcess(c);
      if (ours.verdict !== 'fallback') decided++;
      workers.submit(checks.length, [fileFor(allowedText, 'allowed'), c.principal, fileFor(c.armored, 'sig'), time, fileFor(c.message, 'msg')].join(' '));
      checks.push({ c, ours });
      if (checks.length % 64 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the workers' pipes drain
    };

    try {
      for (let round = 0; decided < 10_000; round++) {
        for (const spec of fc.sample(arbitrary, { numRuns: 2_000, seed: seed + round })) {
          await consider(spec);
          if (decided >= 10_000) break;
        }
      }
    } catch (e) {
      workers.kill();
      throw e;
    }

    const exits = await workers.exits();
    const disagreements: string[] = [];
    checks.forEach(({ c, ours }, i) => {
      const exit = exits.get(i)!;
      const agrees =
        ours.verdict !== 'fallback' ? (ours.verdict === 'good') === (exit === 0) : deferredKey(ours) || (ours.why.includes('cert-authority') && exit !== 0); // ssh-keygen never lets a CA line vouch for a plain key
      if (!agrees) disagreements.push(describeCase(c, ours, exit));
    });
    if (disagreements.length > 0) {
      throw new Error(
        `${disagreements.length} of ${checks.length} cases disagree with ssh-keygen (seed ${seed}; rerun with SSHSIG_SEED=${seed}):\n\n${disagreements.slice(0, 5).join('\n\n')}`,
      );
    }
    const good = checks.filter((x) => x.ours.verdict === 'good').length;
    expect(decided).toBeGreaterThanOrEqual(10_000);
    expect(good).toBeGreaterThan(1_000); // the generator reaches both sides
    expect(decided - good).toBeGreaterThan(1_000);
  }, 600_000);
});
