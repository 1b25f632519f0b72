// Moving a branch from one commit to the next in process, as git's files
// backend does it (refs/files-backend.c): take `<ref>.lock` with O_EXCL (the
// same lock git, and every other git process, takes for that ref), read the
// ref as it is now (its loose file, else its packed-refs line), write the new
// id into the lock only if the ref still names the old one, append the
// reflog line, and rename the lock over the ref. `git update-ref <ref> <new>
// <old>` did the same for 10 to 20 ms a commit, and more where ga's own
// memory is large (a process costs its parent more to start).
//
// Only the plain case is done here: a branch that exists, under refs/heads/
// with a plain name, in a files ref store, in a repository that is not
// shared. Anything else (a new branch, a symbolic ref, reftable, group
// permissions, a directory where a file should be, any error) is git's:
// `undefined` asks the caller to run git update-ref.
import { appendFileSync, closeSync, constants, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readRegularText, fileKind } from '../runtime/files.js';
import { packedRef } from './head.js';
import { OID } from './objects.js';
import { localSettingOn, type Repo } from './repo.js';

/** How long another process's lock on the ref is waited for (git's core.filesRefLockTimeout, 100 ms by default). */
const LOCK_WAIT_MS = 100;
const BRANCH = /^refs\/heads\/[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/** A name git would take as it is: no `..`, `//`, `/.`, `.lock` component end, no trailing `.` or `/`. */
function plainBranch(ref: string): boolean {
  return BRANCH.test(ref) && !/\.\.|\/\/|\/\.|\.lock(?:\/|$)|[./]$/.test(ref);
}

export interface RefSwap {
  ref: string;
  /** The commit the ref must name now. */
  from: string;
  to: string;
  /** The reflog's message, and who and when (the commit's committer). */
  message: string;
  who: string;
}

/** 'swapped'; 'moved' when the ref no longer names `from`; 'locked' when another process held its lock throughout; undefined: not done here, ask git. */
export async function swapRef(repo: Repo, s: RefSwap): Promise<'swapped' | 'moved' | 'locked' | undefined> {
  if (!plainBranch(s.ref) || !OID.test(s.from) || !OID.test(s.to) || s.from.length !== s.to.length) return undefined;
  if (localSettingOn(repo.local, 'core.sharedRepository') || fileKind(join(repo.commonDir, 'reftable')) !== 'missing') return undefined;
  if (/[\n\0]/.test(s.message) || /[\n\0]/.test(s.who)) return undefined;
  const file = join(repo.commonDir, s.ref);
  const lock = `${file}.lock`;
  let fd: number | undefined;
  for (const until = Date.now() + LOCK_WAIT_MS; fd === undefined;) {
    try {
      fd = openSync(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
      if (Date.now() >= until) return 'locked';
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  let renamed = false;
  try {
    const now = currentValue(repo, s.ref, file);
    if (now === undefined) return undefined;
    if (now !== s.from) return 'moved';
    writeSync(fd, `${s.to}\n`);
    closeSync(fd);
    fd = undefined;
    reflog(repo, s);
    renameSync(lock, file);
    renamed = true;
    return 'swapped';
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (!renamed) rmSync(lock, { force: true });
  }
}

/** The id the ref names now: its loose file, else its packed-refs line; undefined when it is anything else (a symbolic ref, missing, unreadable). */
function currentValue(repo: Repo, ref: string, file: string): string | undefined {
  const kind = fileKind(file);
  if (kind === 'file') {
    const text = readRegularText(file, 4096);
    const id = text?.endsWith('\n') ? text.slice(0, -1) : undefined;
    return id !== undefined && OID.test(id) ? id : undefined;
  }
  return kind === 'missing' ? packedRef(repo, ref) : undefined;
}

/**
 * The reflog lines git writes for the update, `<old> <new> <who>\t<message>`: the branch's, and HEAD's when HEAD
 * names the branch (git logs the move there too). Each is appended when the log exists, or made as git makes one
 * (core.logAllRefUpdates unset or true in a repository with a work tree; ga's repositories have one).
 */
function reflog(repo: Repo, s: RefSwap): void {
  const setting = repo.local.get('core.logallrefupdates')?.value.toLowerCase();
  const off = setting !== undefined && ['false', 'no', 'off', '0'].includes(setting);
  const line = `${s.from} ${s.to} ${s.who}\t${s.message}\n`;
  const logs = [join(repo.commonDir, 'logs', s.ref)];
  if (readRegularText(join(repo.gitDir, 'HEAD'), 4096)?.trim() === `ref: ${s.ref}`) logs.push(join(repo.gitDir, 'logs', 'HEAD'));
  for (const log of logs) {
    const kind = fileKind(log);
    if (kind === 'missing') {
      if (off) continue;
      mkdirSync(dirname(log), { recursive: true });
    } else if (kind !== 'file') continue;
    appendFileSync(log, line);
  }
}
