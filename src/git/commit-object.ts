// A commit object as `git commit-tree` writes it, for ga's unsigned event
// commits (git/commit.ts): tree, parent, author and committer lines, a blank
// line, the message as given (commit-tree adds nothing to it). Only an
// identity git would write as it is comes here: git drops some characters
// from a name or an email (at either end: blanks and . , : ; < > " \ ';
// anywhere: < > and newlines), and finds a missing one elsewhere (EMAIL, the
// system). Any other identity is left to git. test/git/commit-object.test.ts
// checks that git writes the very same object.
import { configGet, type Repo } from './repo.js';

/** Who a commit names as its author and committer. */
export interface Identity {
  name: string;
  email: string;
}

export interface Idents {
  /** `Name <email> <seconds> <zone>`, as the author and committer lines carry them. */
  author: string;
  committer: string;
}

const CRUD = new Set([...' .,:;<>"\\\''.split(''), '\t']);

/** A name or email git writes unchanged. */
function plain(s: string | undefined): s is string {
  if (!s) return false;
  if (CRUD.has(s[0]!) || CRUD.has(s[s.length - 1]!)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 0x3c || c === 0x3e || c === 0x7f) return false; // controls (newline among them), < and >
  }
  return true;
}

/** The zone git writes for `seconds` in this process's time zone: +hhmm or -hhmm. */
export function zoneOf(seconds: number): string {
  const east = -new Date(seconds * 1000).getTimezoneOffset();
  const abs = Math.abs(east);
  return `${east < 0 ? '-' : '+'}${String(Math.floor(abs / 60) * 100 + (abs % 60)).padStart(4, '0')}`;
}

/**
 * Author and committer for a commit made now: `identity` for both, or the
 * user's (author.* and committer.* over user.*, as git reads them).
 * Undefined when git must decide (a part missing, or one git would change).
 */
export async function identities(repo: Repo, identity: Identity | undefined, now = new Date()): Promise<Idents | undefined> {
  const seconds = Math.floor(now.getTime() / 1000);
  const when = `${seconds} ${zoneOf(seconds)}`;
  if (identity) {
    return plain(identity.name) && plain(identity.email)
      ? { author: `${identity.name} <${identity.email}> ${when}`, committer: `${identity.name} <${identity.email}> ${when}` }
      : undefined;
  }
  const get = (key: string) => configGet(repo, key);
  const [userName, userEmail, authorName, authorEmail, committerName, committerEmail] = await Promise.all(
    ['user.name', 'user.email', 'author.name', 'author.email', 'committer.name', 'committer.email'].map(get),
  );
  const an = authorName ?? userName;
  const ae = authorEmail ?? userEmail;
  const cn = committerName ?? userName;
  const ce = committerEmail ?? userEmail;
  if (![an, ae, cn, ce].every(plain)) return undefined;
  return { author: `${an} <${ae}> ${when}`, committer: `${cn} <${ce}> ${when}` };
}

/**
 * Whether git's commit-tree writes `message` as it is: it refuses a NUL, and
 * rewrites what its UTF-8 check rejects (the noncharacters U+FDD0..U+FDEF and
 * U+xxFFFE, U+xxFFFF) as if it were Latin-1.
 */
export function gitKeepsMessage(message: string): boolean {
  for (const ch of message) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || (cp & 0xfffe) === 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef)) return false;
  }
  return true;
}

/** The commit object's bytes. */
export function commitBody(tree: string, parent: string | undefined, idents: Idents, message: string): Buffer {
  return Buffer.from(`tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author ${idents.author}\ncommitter ${idents.committer}\n\n${message}`, 'utf8');
}
