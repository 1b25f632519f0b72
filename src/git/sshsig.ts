// SSH signatures (OpenSSH PROTOCOL.sshsig) checked in process: the verdict
// `ssh-keygen -Y verify` would give, computed with node:crypto, for plain
// ed25519, ECDSA (nistp256/384/521) and RSA keys. Whatever this module cannot
// decide exactly (certificates, security keys, DSA, cert-authority lines,
// approver fields ssh-keygen would tokenize differently, timestamps in forms
// glibc's strptime reads loosely) comes back as `fallback`: run ssh-keygen.
// Pure: no git, no processes, no files.
//
// The rules are OpenSSH 9.2's (sshsig.c, sshkey.c, ssh-ed25519.c,
// ssh-ecdsa.c, ssh-rsa.c, sshbuf-getput-*.c, misc.c, match.c, base64.c),
// including its leniencies, because "good" here must mean exactly "ssh-keygen
// exits 0": version 0 is accepted, the reserved field is not signed, a single
// trailing NUL ends a string, mpints may carry leading zeros, RSA signatures
// shorter than the modulus are zero-padded, an Ed25519 S in [L, 2^253) is
// reduced mod L, a key type may be spelled by its short name ("ED25519",
// "RSA"), and keys are compared by value, not by encoding.
//
// Time zone: valid-after / valid-before values without "Z" (or "UTC") are read
// by ssh-keygen with mktime(), i.e. in ssh-keygen's local zone: $TZ, else
// /etc/localtime (ga starts it with only PATH). This module reads them as UTC,
// which is ssh-keygen's answer when it runs with TZ=UTC (or on a UTC host):
// the caller should start ssh-keygen with TZ=UTC so both paths agree.
import { constants, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Approver } from '../schema/approvers.js';

export type SshSigVerdict = { verdict: 'good' } | { verdict: 'bad'; why: string } | { verdict: 'fallback'; why: string };

/** An armored SSH signature, read the way ssh-keygen reads it. */
export interface SshSig {
  /** 1, or 0: ssh-keygen refuses only versions above 1. */
  version: number;
  /** Key type named inside the public key blob (e.g. "ssh-ed25519"). */
  keyType: string;
  /** The public key wire blob, and its base64 as in a .pub line. */
  publicKey: Buffer;
  publicKeyBase64: string;
  namespace: string;
  reserved: Buffer;
  hashAlgorithm: string;
  /** Algorithm named inside the signature blob (e.g. "rsa-sha2-512"). */
  signatureType: string;
  /** The signature wire blob: string(type) followed by type-specific data. */
  signatureBlob: Buffer;
}

export interface VerifyAllowedSignerOptions {
  armored: string;
  message: Buffer;
  /** The lines ga would hand ssh-keygen, via allowedSignersText(allowed). */
  allowed: Approver[];
  /** `-I`: the principal the signature must verify for. */
  principal: string;
  /** `-n`: the namespace, "git" for commits. */
  namespace: string;
  /** `-Overify-time`, formatted by verifyTimeArgument. */
  at: Date;
}

/** ssh-keygen's -Overify-time value for an instant: UTC, whole seconds (as git passes it). */
export function verifyTimeArgument(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

/** Parses an armored signature; undefined when ssh-keygen would refuse its armour or layout. */
export function parseSshSig(armored: string): SshSig | undefined {
  const blob = dearmor(armored);
  const env = blob && parseEnvelope(blob);
  if (!env) return undefined;
  const keyType = new Wire(env.publicKey).cstring();
  const signatureType = new Wire(env.signature).cstring();
  if (!keyType || !signatureType) return undefined;
  return {
    version: env.version,
    keyType: keyType.toString('latin1'),
    publicKey: env.publicKey,
    publicKeyBase64: env.publicKey.toString('base64'),
    namespace: env.namespace.toString('utf8'),
    reserved: env.reserved,
    hashAlgorithm: env.hashAlgorithm.toString('latin1'),
    signatureType: signatureType.toString('latin1'),
    signatureBlob: env.signature,
  };
}

/** The signing key and namespace of a signature, in .pub-line form (drop-in for signature.ts). */
export function signingKey(armored: string): { keyType: string; key: string; namespace: string } | undefined {
  const sig = parseSshSig(armored);
  return sig && { keyType: sig.keyType, key: sig.publicKeyBase64, namespace: sig.namespace };
}

/** True for key types this module verifies itself; others always come back as fallback. */
export function verifiesInProcess(keyType: string): boolean {
  const family = resolveKeyType(Buffer.from(keyType, 'utf8'));
  return family !== undefined && family !== 'deferred';
}

/** What `ssh-keygen -Y verify -f <allowedSignersText(allowed)> -I principal -n namespace -Overify-time=…` decides. */
export function verifyAllowedSigner(opts: VerifyAllowedSignerOptions): SshSigVerdict {
  try {
    return decide(opts);
  } catch (e) {
    // Hostile input is handled above as 'bad'; reaching here is a bug, and ssh-keygen still knows the answer.
    return { verdict: 'fallback', why: `in-process check failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function decide(o: VerifyAllowedSignerOptions): SshSigVerdict {
  const now = verifySeconds(o.at);
  if (now === undefined) return bad('verify time is outside what ssh-keygen accepts (1970-01-01T00:00:01Z to year 9999)');
  if (o.namespace === '' || o.namespace.includes('\0') || o.principal.includes('\0')) {
    return bad('namespace or principal cannot be passed to ssh-keygen');
  }
  const blob = dearmor(o.armored);
  if (!blob) return bad('unreadable SSH signature armour');
  const env = parseEnvelope(blob);
  if (!env) return bad('malformed SSH signature');
  const hashAlgorithm = env.hashAlgorithm.toString('latin1');
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') return bad(`unsupported hash algorithm "${hashAlgorithm}"`);
  if (!env.namespace.equals(Buffer.from(o.namespace, 'utf8'))) {
    return bad(`signature namespace is "${env.namespace.toString('utf8')}", not "${o.namespace}"`);
  }
  const key = readPublicKey(env.publicKey);
  if (key.kind === 'invalid') return bad(key.why);
  if (key.kind === 'deferred') return { verdict: 'fallback', why: `${key.type} keys are verified by ssh-keygen` };

  const ctx: LineContext = { signerId: keyId(key.key), principal: latin1(o.principal), namespace: latin1(o.namespace), now };
  const lines = o.allowed.map((a) => judgeLine(a, ctx));
  const matched = lines.some((l) => l.result === 'match');
  const unknown = lines.find((l): l is LineVerdict & { result: 'unknown' } => l.result === 'unknown')?.why;
  if (!matched && unknown === undefined) {
    const near = lines.find((l): l is LineVerdict & { result: 'skip' } => l.result === 'skip' && l.keyMatched);
    return bad(near?.why ?? `signing key is not an allowed signer for ${o.principal}`);
  }
  const data = signedData(Buffer.from(o.namespace, 'utf8'), hashAlgorithm, o.message);
  if (!verifyKeySignature(key.key, env.signature, data)) return bad('signature does not verify (forged, or the data was altered)');
  return matched ? { verdict: 'good' } : { verdict: 'fallback', why: unknown! };
}

function bad(why: string): SshSigVerdict {
  return { verdict: 'bad', why };
}

/** Binary strings: one char per UTF-8 byte, so pattern matching is bytewise like match.c. */
function latin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

// ---------------------------------------------------------------- wire format

/** sshbuf reads: the first failure sticks, so a chain of reads is checked once at the end. */
class Wire {
  private pos = 0;
  private failed = false;
  constructor(private readonly buf: Buffer) {}

  get atEnd(): boolean {
    return !this.failed && this.pos === this.buf.length;
  }

  u32(): number | undefined {
    if (this.failed || this.pos + 4 > this.buf.length) return this.fail();
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  string(): Buffer | undefined {
    const len = this.u32();
    if (len === undefined || len > this.buf.length - this.pos) return this.fail();
    const s = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** sshbuf_get_cstring: a NUL is allowed only as the last byte, and C then ends the string there. */
  cstring(): Buffer | undefined {
    const s = this.string();
    if (!s) return undefined;
    const nul = s.indexOf(0);
    if (nul < 0) return s;
    return nul === s.length - 1 ? s.subarray(0, nul) : this.fail();
  }

  /** sshbuf_get_bignum2: non-negative, at most 2048 bytes after one 0x00 pad; leading zeros trimmed. */
  mpint(): Buffer | undefined {
    const s = this.string();
    if (!s) return undefined;
    if (s.length > 0 && (s[0]! & 0x80) !== 0) return this.fail();
    if (s.length > MAX_BIGNUM + 1 || (s.length === MAX_BIGNUM + 1 && s[0] !== 0)) return this.fail();
    let i = 0;
    while (i < s.length && s[i] === 0) i++;
    return s.subarray(i);
  }

  private fail(): undefined {
    this.failed = true;
    return undefined;
  }
}

const MAX_BIGNUM = 2048;
const MAGIC = Buffer.from('SSHSIG', 'latin1');

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

// ---------------------------------------------------------------- armour

const BEGIN = Buffer.from('-----BEGIN SSH SIGNATURE-----\n', 'latin1');
const END = Buffer.from('\n-----END SSH SIGNATURE-----', 'latin1');

/** sshsig_dearmor: the header must open the file; the body ends at the first footer; after it, anything. */
function dearmor(armored: string): Buffer | undefined {
  const text = Buffer.from(armored, 'utf8'); // the bytes ga writes to the signature file
  if (text.length < BEGIN.length || !text.subarray(0, BEGIN.length).equals(BEGIN)) return undefined;
  const rest = text.subarray(BEGIN.length);
  const end = rest.indexOf(END);
  if (end < 0) return undefined;
  let body = rest.subarray(0, end);
  const nul = body.indexOf(0);
  if (nul >= 0) {
    if (nul !== body.length - 1) return undefined;
    body = body.subarray(0, nul);
  }
  return decodeBase64(body);
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_VALUE[B64_ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d;

function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * OpenBSD b64_pton, which is stricter than Buffer.from(…, 'base64'): whitespace
 * anywhere, but exact padding, nothing but whitespace after it, and zero slack bits.
 */
function decodeBase64(src: Buffer): Buffer | undefined {
  const out = Buffer.alloc(Math.ceil(src.length * 0.75) + 3);
  let n = 0;
  let state = 0;
  let i = 0;
  for (; i < src.length; i++) {
    const c = src[i]!;
    if (isCSpace(c)) continue;
    if (c === PAD) break;
    const v = B64_VALUE[c]!;
    if (v < 0) return undefined;
    if (state === 0) out[n] = v << 2;
    else if (state === 1) {
      out[n] = out[n]! | (v >> 4);
      out[++n] = (v & 0x0f) << 4;
    } else if (state === 2) {
      out[n] = out[n]! | (v >> 2);
      out[++n] = (v & 0x03) << 6;
    } else {
      out[n] = out[n]! | v;
      n++;
    }
    state = (state + 1) % 4;
  }
  if (i === src.length) return state === 0 ? out.subarray(0, n) : undefined;
  if (state < 2) return undefined;
  i++;
  if (state === 2) {
    while (i < src.length && isCSpace(src[i]!)) i++;
    if (src[i] !== PAD) return undefined;
    i++;
  }
  for (; i < src.length; i++) if (!isCSpace(src[i]!)) return undefined;
  return out[n] === 0 ? out.subarray(0, n) : undefined;
}

// ---------------------------------------------------------------- envelope

interface Envelope {
  version: number;
  publicKey: Buffer;
  namespace: Buffer;
  reserved: Buffer;
  hashAlgorithm: Buffer;
  signature: Buffer;
}

/** sshsig_parse_preamble + sshsig_wrap_verify's reads, with no trailing bytes. */
function parseEnvelope(blob: Buffer): Envelope | undefined {
  if (blob.length < MAGIC.length || !blob.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const w = new Wire(blob.subarray(MAGIC.length));
  const version = w.u32();
  const publicKey = w.string();
  const namespace = w.cstring();
  const reserved = w.string();
  const hashAlgorithm = w.cstring();
  const signature = w.string();
  if (!w.atEnd || version === undefined || version > 1) return undefined;
  return { version, publicKey: publicKey!, namespace: namespace!, reserved: reserved!, hashAlgorithm: hashAlgorithm!, signature: signature! };
}

/** The data the key signs: the reserved field is signed empty whatever the signature carries. */
function signedData(namespace: Buffer, hashAlgorithm: 'sha256' | 'sha512', message: Buffer): Buffer {
  const digest = createHash(hashAlgorithm).update(message).digest();
  return Buffer.concat([MAGIC, sshString(namespace), sshString(Buffer.alloc(0)), sshString(Buffer.from(hashAlgorithm, 'latin1')), sshString(digest)]);
}

// ---------------------------------------------------------------- keys

interface Curve {
  keyType: string;
  name: string;
  jwk: 'P-256' | 'P-384' | 'P-521';
  hash: 'sha256' | 'sha384' | 'sha512';
  bytes: number;
  p: bigint;
  b: bigint;
  n: bigint;
  nBits: number;
}

const CURVES: Curve[] = [
  {
    keyType: 'ecdsa-sha2-nistp256',
    name: 'nistp256',
    jwk: 'P-256',
    hash: 'sha256',
    bytes: 32,
    nBits: 256,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  {
    keyType: 'ecdsa-sha2-nistp384',
    name: 'nistp384',
    jwk: 'P-384',
    hash: 'sha384',
    bytes: 48,
    nBits: 384,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  {
    keyType: 'ecdsa-sha2-nistp521',
    name: 'nistp521',
    jwk: 'P-521',
    hash: 'sha512',
    bytes: 66,
    nBits: 521,
    p: (1n << 521n) - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
];

type PlainKey = { family: 'ed25519'; pk: Buffer } | { family: 'ecdsa'; curve: Curve; point: Buffer } | { family: 'rsa'; n: Buffer; e: Buffer };

type KeyRead = { kind: 'plain'; key: PlainKey } | { kind: 'deferred'; type: string } | { kind: 'invalid'; why: string };

type Family = 'ed25519' | 'ecdsa' | 'rsa' | 'deferred';

/** sshkey_type_from_name: exact names, or a plain type's short name in any case. */
const EXACT_TYPES = new Map<string, Family>([
  ['ssh-ed25519', 'ed25519'],
  ['ecdsa-sha2-nistp256', 'ecdsa'],
  ['ecdsa-sha2-nistp384', 'ecdsa'],
  ['ecdsa-sha2-nistp521', 'ecdsa'],
  ['ssh-rsa', 'rsa'],
  ['rsa-sha2-256', 'rsa'],
  ['rsa-sha2-512', 'rsa'],
  ['ssh-dss', 'deferred'],
  ['sk-ssh-ed25519@openssh.com', 'deferred'],
  ['sk-ecdsa-sha2-nistp256@openssh.com', 'deferred'],
  ['webauthn-sk-ecdsa-sha2-nistp256@openssh.com', 'deferred'],
  ['ssh-xmss@openssh.com', 'deferred'],
]);
const SHORT_TYPES = new Map<string, Family>([
  ['ED25519', 'ed25519'],
  ['ECDSA', 'ecdsa'],
  ['RSA', 'rsa'],
  ['ED25519-SK', 'deferred'],
  ['ECDSA-SK', 'deferred'],
  ['DSA', 'deferred'],
  ['XMSS', 'deferred'],
]);

function resolveKeyType(name: Buffer): Family | undefined {
  const s = name.toString('latin1');
  if (s.endsWith('-cert-v01@openssh.com')) return 'deferred'; // ssh-keygen says bad to the ones it does not know
  return EXACT_TYPES.get(s) ?? SHORT_TYPES.get(s.replace(/[a-z]/g, (c) => c.toUpperCase())); // strcasecmp: ASCII only
}

/** sshkey_from_blob: the type decides the layout; every byte must be used. */
function readPublicKey(blob: Buffer): KeyRead {
  const w = new Wire(blob);
  const type = w.cstring();
  if (!type) return { kind: 'invalid', why: 'unreadable public key in the signature' };
  const family = resolveKeyType(type);
  const name = type.toString('latin1');
  if (family === undefined) return { kind: 'invalid', why: `unknown key type "${name}"` };
  if (family === 'deferred') return { kind: 'deferred', type: name };
  const key = family === 'ed25519' ? readEd25519(w) : family === 'rsa' ? readRsa(w) : readEcdsa(w, name);
  if (!key || !w.atEnd) return { kind: 'invalid', why: `malformed ${name} public key` };
  return { kind: 'plain', key };
}

function readEd25519(w: Wire): PlainKey | undefined {
  const pk = w.string();
  return pk?.length === 32 ? { family: 'ed25519', pk } : undefined;
}

function readRsa(w: Wire): PlainKey | undefined {
  const e = w.mpint();
  const n = w.mpint();
  if (!e || !n || bitLength(n) < 1024) return undefined; // SSH_RSA_MINIMUM_MODULUS_SIZE
  return { family: 'rsa', n, e };
}

function readEcdsa(w: Wire, typeName: string): PlainKey | undefined {
  const curve = CURVES.find((c) => c.keyType === typeName); // the short name "ECDSA" names no curve
  const curveName = w.cstring();
  const point = w.string();
  if (!curve || !curveName || !point || curveName.toString('latin1') !== curve.name) return undefined;
  return validPoint(curve, point) ? { family: 'ecdsa', curve, point } : undefined;
}

/** EC_POINT_oct2point (uncompressed only) + sshkey_ec_validate_public. */
function validPoint(c: Curve, point: Buffer): boolean {
  if (point.length !== 1 + 2 * c.bytes || point[0] !== 0x04) return false;
  const x = toBigInt(point.subarray(1, 1 + c.bytes));
  const y = toBigInt(point.subarray(1 + c.bytes));
  if (x >= c.p || y >= c.p) return false;
  const rhs = (((x * x * x - 3n * x + c.b) % c.p) + c.p) % c.p;
  if ((y * y) % c.p !== rhs) return false;
  const half = Math.floor(c.nBits / 2);
  if (bigBits(x) <= half || bigBits(y) <= half) return false;
  return x < c.n - 1n && y < c.n - 1n; // prime-order curves: n·Q = O holds for every point on them
}

function toBigInt(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + b.toString('hex'));
}

function bigBits(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

function bitLength(magnitude: Buffer): number {
  return magnitude.length === 0 ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/** Keys compare by value (sshkey_equal), so one identity string per value. */
function keyId(k: PlainKey): string {
  if (k.family === 'ed25519') return `ed25519:${k.pk.toString('hex')}`;
  if (k.family === 'ecdsa') return `${k.curve.name}:${k.point.toString('hex')}`;
  return `rsa:${k.e.toString('hex')}:${k.n.toString('hex')}`;
}

const keyObjects = new Map<string, KeyObject>();

/** createPublicKey is a large share of a verification; approvers are few, so keep them. */
function keyObject(k: PlainKey): KeyObject {
  const id = keyId(k);
  let obj = keyObjects.get(id);
  if (!obj) {
    obj = createPublicKey({ key: jwk(k), format: 'jwk' });
    if (keyObjects.size >= 256) keyObjects.clear();
    keyObjects.set(id, obj);
  }
  return obj;
}

function jwk(k: PlainKey): { [name: string]: string } {
  if (k.family === 'ed25519') return { kty: 'OKP', crv: 'Ed25519', x: k.pk.toString('base64url') };
  if (k.family === 'rsa') return { kty: 'RSA', n: k.n.toString('base64url'), e: k.e.toString('base64url') };
  const size = k.curve.bytes;
  return {
    kty: 'EC',
    crv: k.curve.jwk,
    x: k.point.subarray(1, 1 + size).toString('base64url'),
    y: k.point.subarray(1 + size).toString('base64url'),
  };
}

// ---------------------------------------------------------------- signatures

function verifyKeySignature(k: PlainKey, sigBlob: Buffer, data: Buffer): boolean {
  try {
    if (k.family === 'ed25519') return verifyEd25519(k, sigBlob, data);
    if (k.family === 'ecdsa') return verifyEcdsa(k, sigBlob, data);
    return verifyRsa(k, sigBlob, data);
  } catch {
    return false; // e.g. a key OpenSSL will not load: ssh-keygen cannot verify with it either
  }
}

const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

/**
 * ssh_ed25519_verify + the SUPERCOP ref open(): a 64-byte blob, S below 2^253,
 * and S used mod L. OpenSSL insists on S < L, so S is reduced first.
 */
function verifyEd25519(k: PlainKey & { family: 'ed25519' }, sigBlob: Buffer, data: Buffer): boolean {
  const w = new Wire(sigBlob);
  const type = w.cstring();
  const raw = w.string();
  if (!w.atEnd || type?.toString('latin1') !== 'ssh-ed25519' || raw?.length !== 64) return false;
  if ((raw[63]! & 0xe0) !== 0) return false;
  const s = toBigInt(Buffer.from(raw.subarray(32)).reverse()) % ED25519_L;
  const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return cryptoVerify(null, data, keyObject(k), Buffer.concat([raw.subarray(0, 32), sBytes]));
}

/** ssh_ecdsa_verify: type must name the key's curve; r and s are mpints; the hash follows the curve. */
function verifyEcdsa(k: PlainKey & { family: 'ecdsa' }, sigBlob: Buffer, data: Buffer): boolean {
  const w = new Wire(sigBlob);
  const type = w.cstring();
  const inner = w.string();
  if (!w.atEnd || !inner || type?.toString('latin1') !== k.curve.keyType) return false;
  const iw = new Wire(inner);
  const r = iw.mpint();
  const s = iw.mpint();
  const size = k.curve.bytes;
  if (!iw.atEnd || !r || !s || r.length > size || s.length > size) return false; // longer means ≥ the order
  const p1363 = Buffer.concat([leftPad(r, size), leftPad(s, size)]);
  return cryptoVerify(k.curve.hash, data, { key: keyObject(k), dsaEncoding: 'ieee-p1363' }, p1363);
}

/** sshsig allows rsa-sha2-512 and rsa-sha2-256 only (never ssh-rsa/SHA-1); short signatures are zero-padded. */
function verifyRsa(k: PlainKey & { family: 'rsa' }, sigBlob: Buffer, data: Buffer): boolean {
  const w = new Wire(sigBlob);
  const type = w.cstring()?.toString('latin1');
  const raw = w.string();
  const hash = type === 'rsa-sha2-512' ? 'sha512' : type === 'rsa-sha2-256' ? 'sha256' : undefined;
  const modulusBytes = Math.ceil(bitLength(k.n) / 8);
  if (!w.atEnd || !raw || !hash || raw.length > modulusBytes) return false;
  return cryptoVerify(hash, data, { key: keyObject(k), padding: constants.RSA_PKCS1_PADDING }, leftPad(raw, modulusBytes));
}

function leftPad(b: Buffer, size: number): Buffer {
  return b.length >= size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]);
}

// ---------------------------------------------------------------- allowed signers

interface LineContext {
  signerId: string;
  principal: string;
  namespace: string;
  now: number;
}

type LineVerdict = { result: 'match' } | { result: 'skip'; why: string; keyMatched: boolean } | { result: 'unknown'; why: string };

/** Characters that would make ssh-keygen split or unquote allowedSignersText's line differently. */
const UNSAFE_TOKEN = /[\0\t\n\r "]/;
const UNSAFE_VALUE = /[\0\n\r"\\]/;

/** check_allowed_keys_line for one approver, as allowedSignersText writes it. */
function judgeLine(a: Approver, ctx: LineContext): LineVerdict {
  const values = [...(a.namespaces ?? []), a.validAfter ?? '', a.validBefore ?? ''];
  const tokens = [a.principal, a.keyType, a.key];
  if (tokens.some((t) => t === '' || UNSAFE_TOKEN.test(t)) || values.some((v) => UNSAFE_VALUE.test(v))) {
    return { result: 'unknown', why: `approver line ${a.line} holds characters ssh-keygen would tokenize differently` };
  }
  const skip = (why: string, keyMatched = false): LineVerdict => ({ result: 'skip', why, keyMatched });
  if (a.principal.startsWith('#')) return skip('a comment line');
  if (matchPatternList(ctx.principal, latin1(a.principal)) !== 1) return skip('principal does not match');
  if (a.certAuthority) return { result: 'unknown', why: `approver line ${a.line} is a cert-authority line` };
  const key = lineKey(a);
  if (!key || keyId(key) !== ctx.signerId) return skip('a different key');

  const after = a.validAfter ? parseSshTime(a.validAfter) : undefined;
  const before = a.validBefore ? parseSshTime(a.validBefore) : undefined;
  const invalid = (t: SshTime | undefined) => t === 'invalid' || t === 0; // 0 reads as "no limit", so sshsigopt_parse refuses it
  if (invalid(after) || invalid(before)) return skip(`approver line ${a.line} has an invalid valid-after/valid-before time`, true);
  if (typeof after === 'number' && typeof before === 'number' && before <= after) {
    return skip(`approver line ${a.line} has valid-before not after valid-after`, true);
  }
  if (a.namespaces && matchPatternList(ctx.namespace, latin1(a.namespaces.join(','))) !== 1) {
    return skip(`the key is not allowed to sign in namespace "${Buffer.from(ctx.namespace, 'latin1').toString('utf8')}"`, true);
  }
  if (typeof after === 'number' && ctx.now < after) return skip(`the key is not yet valid (valid-after ${a.validAfter})`, true);
  if (typeof before === 'number' && ctx.now > before) return skip(`the key has expired (valid-before ${a.validBefore})`, true);
  if (after === 'unknown' || before === 'unknown') {
    return { result: 'unknown', why: `approver line ${a.line} has a time ssh-keygen's strptime must read` };
  }
  return { result: 'match' };
}

/** LINE_TYPES: sshkey_read's peek_type_nid knows exact names only. */
const LINE_TYPES = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512']);

/** sshkey_read: the blob's type must be the line's type (any RSA name for RSA; the same curve for ECDSA). */
function lineKey(a: Approver): PlainKey | undefined {
  if (!LINE_TYPES.has(a.keyType)) return undefined;
  const blob = decodeBase64(Buffer.from(a.key, 'utf8'));
  const read = blob && readPublicKey(blob);
  if (read?.kind !== 'plain') return undefined;
  const k = read.key;
  const lineFamily = EXACT_TYPES.get(a.keyType);
  if (k.family !== lineFamily) return undefined;
  if (k.family === 'ecdsa' && k.curve.keyType !== a.keyType) return undefined;
  return k;
}

// ---------------------------------------------------------------- times

/** Seconds since the epoch; 'invalid' where ssh-keygen refuses; 'unknown' where only strptime knows. */
type SshTime = number | 'invalid' | 'unknown';

/**
 * misc.c parse_absolute_time: YYYYMMDD[HHMM[SS]] with an optional Z/UTC (any
 * case); glibc strptime ranges (seconds up to 61); out-of-range days roll over
 * (Feb 30 is Mar 1/2) as timegm does; before the epoch is invalid. Without
 * Z the value is local time in ssh-keygen; here it is read as UTC (see top).
 */
function parseSshTime(value: string): SshTime {
  let s = latin1(value);
  if (s.length > 1 && s.slice(-1).toLowerCase() === 'z') s = s.slice(0, -1);
  else if (s.length > 3 && s.slice(-3).toLowerCase() === 'utc') s = s.slice(0, -3);
  if (s.length !== 8 && s.length !== 12 && s.length !== 14) return 'invalid';
  if (!/^\d+$/.test(s)) return 'unknown'; // strptime skips blanks and more; let ssh-keygen judge
  const num = (from: number) => (s.length > from ? Number(s.slice(from, from + 2)) : 0);
  const [year, month, day, hour, minute, second] = [Number(s.slice(0, 4)), num(4), num(6), num(8), num(10), num(12)];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 61) return 'invalid';
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  d.setUTCHours(hour, minute, second, 0);
  const t = d.getTime() / 1000;
  return t < 0 ? 'invalid' : t;
}

/** The -Overify-time ga passes, as ssh-keygen reads it; undefined where ssh-keygen exits with an error. */
function verifySeconds(at: Date): number | undefined {
  if (Number.isNaN(at.getTime())) return undefined;
  const t = parseSshTime(verifyTimeArgument(at));
  return typeof t === 'number' && t > 0 ? t : undefined;
}

// ---------------------------------------------------------------- patterns

/** match.c match_pattern_list: 1 on a positive match, -1 on a negated one, else 0; bytewise, case-sensitive. */
function matchPatternList(s: string, list: string): 1 | 0 | -1 {
  let positive = false;
  let i = 0;
  while (i < list.length) {
    const negated = list[i] === '!';
    if (negated) i++;
    const comma = list.indexOf(',', i);
    const stop = comma < 0 ? list.length : comma;
    const sub = list.slice(i, stop);
    if (sub.length >= 1023) return 0; // match.c's fixed sub[1024]
    i = comma < 0 ? stop : stop + 1;
    if (matchPattern(s, sub, 0, 0)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** match.c match_pattern: '*' and '?' wildcards. */
function matchPattern(s: string, p: string, si: number, pi: number): boolean {
  for (;;) {
    if (pi === p.length) return si === s.length;
    if (p[pi] === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true;
      for (; si < s.length; si++) {
        if ((p[pi] === '?' || s[si] === p[pi]) && matchPattern(s, p, si, pi)) return true;
      }
      return false;
    }
    if (si === s.length) return false;
    if (p[pi] !== '?' && p[pi] !== s[si]) return false;
    si++;
    pi++;
  }
}
