// policies/approvers: git's allowed-signers format (ssh-keygen(1), ALLOWED
// SIGNERS), restricted to one literal principal a line, never `agent:<id>`.
import * as z from 'zod';
import { lazySchema } from './lazy.js';
import { FileError } from './toml.js';
import { APPROVERS_PATH } from '../layout/layout.js';

export interface Approver {
  principal: string;
  certAuthority: boolean;
  namespaces?: string[];
  validAfter?: string;
  validBefore?: string;
  keyType: string;
  /** Base64 of the public key blob, as in an OpenSSH public key line. */
  key: string;
  comment: string;
  line: number;
}

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-dss',
]);
const TIMESTAMP = /^\d{8}(\d{4}(\d{2})?)?Z?$/;
const optionSchema = lazySchema(() =>
  z.union([
    z.object({ name: z.literal('cert-authority'), value: z.undefined().optional() }),
    z.object({ name: z.literal('namespaces'), value: z.string().min(1) }),
    z.object({ name: z.enum(['valid-after', 'valid-before']), value: z.string().regex(TIMESTAMP) }),
  ]),
);

export function parseApprovers(text: string, file = APPROVERS_PATH): Approver[] {
  const approvers: Approver[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const at = i + 1;
    const fail = (column: number, problem: string): never => {
      throw new FileError(file, at, column, problem);
    };
    const tokens = tokenize(line);
    const [principalTok, ...rest] = tokens;
    const principal = principalTok!.text;
    if (/[,*?!]/.test(principal)) {
      fail(principalTok!.column, `principal "${principal}" must be one literal email (no lists, no wildcards)`);
    }
    if (principal.toLowerCase().startsWith('agent:')) {
      fail(principalTok!.column, `principal "${principal}" names an agent; agents may never be approvers`);
    }
    let idx = 0;
    const entry: Partial<Approver> = { principal, certAuthority: false, line: at };
    if (rest[0] && !KEY_TYPES.has(rest[0].text)) {
      for (const opt of splitOptions(rest[0].text)) {
        const parsed = optionSchema().safeParse(opt);
        if (!parsed.success) {
          fail(
            rest[0].column,
            `option "${opt.name}${opt.value !== undefined ? `=${opt.value}` : ''}" is not valid here; use cert-authority, namespaces="git", valid-after="YYYYMMDD" or valid-before="YYYYMMDD"`,
          );
        }
        if (opt.name === 'cert-authority') entry.certAuthority = true;
        if (opt.name === 'namespaces') entry.namespaces = opt.value!.split(',');
        if (opt.name === 'valid-after') entry.validAfter = opt.value;
        if (opt.name === 'valid-before') entry.validBefore = opt.value;
      }
      idx = 1;
    }
    const keyType = rest[idx];
    const key = rest[idx + 1];
    if (!keyType || !KEY_TYPES.has(keyType.text)) {
      fail(keyType?.column ?? line.length + 1, `expected a key type such as ssh-ed25519 after the principal; paste the line of a .pub file`);
    }
    if (!key || !/^[A-Za-z0-9+/]+={0,2}$/.test(key.text)) {
      fail(key?.column ?? line.length + 1, 'expected the base64 public key after the key type');
    }
    entry.keyType = keyType!.text;
    entry.key = key!.text;
    entry.comment = rest
      .slice(idx + 2)
      .map((t) => t.text)
      .join(' ');
    approvers.push(entry as Approver);
  });
  return approvers;
}

interface Token {
  text: string;
  column: number;
}

/** Whitespace-separated fields; double quotes group (option values may hold spaces). */
function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    let quoted = false;
    while (i < line.length && (quoted || !/\s/.test(line[i]!))) {
      if (line[i] === '"') quoted = !quoted;
      i++;
    }
    tokens.push({ text: line.slice(start, i), column: start + 1 });
  }
  return tokens;
}

function splitOptions(text: string): { name: string; value?: string }[] {
  const out: { name: string; value?: string }[] = [];
  let i = 0;
  while (i < text.length) {
    let j = i;
    let quoted = false;
    while (j < text.length && (quoted || text[j] !== ',')) {
      if (text[j] === '"') quoted = !quoted;
      j++;
    }
    const part = text.slice(i, j);
    const eq = part.indexOf('=');
    if (eq < 0) out.push({ name: part.toLowerCase() });
    else out.push({ name: part.slice(0, eq).toLowerCase(), value: part.slice(eq + 1).replace(/^"|"$/g, '') });
    i = j + 1;
  }
  return out;
}

/** The allowed-signers text ga hands to ssh-keygen: the parsed lines, re-emitted. */
export function allowedSignersText(approvers: Approver[]): string {
  return (
    approvers
      .map((a) => {
        const opts = [
          a.certAuthority ? 'cert-authority' : '',
          a.namespaces ? `namespaces="${a.namespaces.join(',')}"` : '',
          a.validAfter ? `valid-after="${a.validAfter}"` : '',
          a.validBefore ? `valid-before="${a.validBefore}"` : '',
        ].filter(Boolean);
        return [a.principal, opts.join(','), a.keyType, a.key].filter(Boolean).join(' ');
      })
      .join('\n') + '\n'
  );
}
