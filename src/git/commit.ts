// Event commits: each one holds only its own paths (never whatever the user
// has staged), is built from its parent's tree by rewriting only the trees on
// those paths (tree-edit.ts: no index, so no clean filter or hook from
// repository config runs, and the cost does not grow with the repository),
// lands with a compare-and-swap on the branch, and is made under the
// repository-wide lock.
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GovernanceRefusal, InternalError } from '../errors.js';
import { runtimeDir, withRepoLock } from '../runtime/lock.js';
import { git, traced } from './exec.js';
import { ZERO_OID } from './objects.js';
import { editTree, type TreeEdit } from './tree-edit.js';
import { objectWriter, type ObjectWriter } from './loose.js';
import { indexChange, updateIndex, type IndexChange, type IndexUpdate } from './index-file.js';
import { commitBody, gitKeepsMessage, identities, type Identity } from './commit-object.js';
import { swapRef } from './ref-swap.js';
import { readHead } from './head.js';
import { headRef, type Repo } from './repo.js';

export interface FileWrite {
  path: string;
  /** New content (a move writes the same bytes, so the blob id stays). */
  content?: Buffer | string;
  mode?: '100644' | '100755';
  /** Remove the path (and anything under it, should it be a directory). */
  remove?: boolean;
  /**
   * Leave the working file alone: it already holds this content and may have
   * grown since (an append-only ledger that other runners write under a lock).
   */
  keepWorktree?: boolean;
}

export type { Identity } from './commit-object.js';

export interface CommitPlan {
  message: string;
  files: FileWrite[];
  /** Sign with the user's SSH signing key (a human's decision). */
  sign: boolean;
  /** Author and committer; undefined uses the user's git identity. */
  identity?: Identity;
}

export interface CommitResult {
  commit: string;
  parent: string | undefined;
  /** With `deferIndex`: the index's update for the commit's paths, which the caller must see done (sync) or carried. */
  index?: DeferredIndex;
}

/** An index update left to the caller: made once, by sync, or carried into a later commit's own update. */
export interface DeferredIndex {
  /** Updates the index for the commit's paths, unless that is done, under way or carried; once, however often called. */
  sync(): Promise<void>;
  /** The commit's paths, for the next commit's update to make with its own (sync then does nothing); undefined once sync has started. */
  carry(): FileWrite[] | undefined;
}

/** Where a commit lands: HEAD's branch, or a named branch (then the work tree is synced only when HEAD is on it). */
export interface CommitTarget {
  ref?: string;
  /**
   * Leave the index's update to the caller (CommitResult.index), for a
   * commit whose paths no other commit touches: ga execute's claim (its own
   * audit file). At 100,000 audit files the index is 16 MB, rewritten whole
   * for each update: the claim's is made beside a hook that runs a while,
   * and carried into the outcome's after a quick one (one rewrite, not two).
   */
  deferIndex?: boolean;
  /** A deferred update (of an earlier commit on this branch) that this commit's update makes too, if it is still pending. */
  carryIndex?: DeferredIndex;
}

/**
 * Builds a plan against the current tip and commits it, all under the repo
 * lock. `build` runs again if someone outside ga moved the branch meanwhile.
 */
export function commitEvent(repo: Repo, build: (head: string | undefined) => Promise<CommitPlan>, target?: CommitTarget): Promise<CommitResult>;
/** As above; a build that returns undefined (nothing to do at this tip) makes no commit. */
export function commitEvent(
  repo: Repo,
  build: (head: string | undefined) => Promise<CommitPlan | undefined>,
  target?: CommitTarget,
): Promise<CommitResult | undefined>;
export function commitEvent(
  repo: Repo,
  build: (head: string | undefined) => Promise<CommitPlan | undefined>,
  target: CommitTarget = {},
): Promise<CommitResult | undefined> {
  return withRepoLock(repo, async () => {
    let locked: string | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const checkedOut = await headRef(repo).catch(() => undefined);
      const ref = target.ref ?? checkedOut;
      if (!ref) throw new GovernanceRefusal('HEAD is detached: check out a branch before ga records anything');
      const onHead = ref === checkedOut;
      // From the ref files when they are plain: update-ref below swaps only from this very commit.
      const head = onHead ? await readHead(repo) : await refCommit(repo, ref);
      const plan = await build(head);
      if (!plan) return undefined;
      const { commit, committer } = await writeCommitRetrying(repo, head, plan);
      // In process where the ref is plain (git/ref-swap.ts), else git; either swaps only from `head`.
      const inProcess =
        head && committer
          ? await traced('ref moved in process', () => swapRef(repo, { ref, from: head, to: commit, message: 'ga', who: committer }))
          : undefined;
      locked = inProcess === 'locked' ? ref : undefined;
      if (inProcess === 'moved' || inProcess === 'locked') continue; // a commit landed outside ga (or is landing): rebuild on top of it
      if (inProcess === undefined) {
        const swapped = await git(['update-ref', '-m', 'ga', ref, commit, head ?? ZERO_OID], { cwd: repo.root, allowFailure: true });
        locked = /\.lock'?: File exists/.test(swapped.stderr) ? ref : undefined;
        if (swapped.code !== 0) continue;
      }
      (repo.made ??= new Map()).set(commit, { parent: head, paths: plan.files.map((f) => f.path) });
      if (onHead) {
        syncWorkTree(repo, plan.files);
        const files = [...(target.carryIndex?.carry() ?? []), ...plan.files];
        let synced: Promise<void> | undefined;
        const sync = () =>
          (synced ??= syncIndex(repo, files, commit.length).catch((e: Error) =>
            process.emitWarning(`the index was not updated after ga's commit: ${e.message}`),
          ));
        const carry = () => {
          if (synced) return undefined;
          synced = Promise.resolve(); // the next commit's update makes it
          return files;
        };
        if (target.deferIndex) return { commit, parent: head, index: { sync, carry } };
        await sync();
      }
      return { commit, parent: head };
    }
    if (locked) {
      throw new GovernanceRefusal(
        `${join(repo.commonDir, `${locked}.lock`)} stayed in place while ga tried to commit: another git process is updating the branch, or one was killed while it did; if no git process is running, remove that file and try again`,
      );
    }
    throw new GovernanceRefusal('the branch kept moving while ga tried to commit; try again');
  });
}

async function refCommit(repo: Repo, ref: string): Promise<string | undefined> {
  const r = await git(['rev-parse', '--verify', '-q', `${ref}^{commit}`], { cwd: repo.root, allowFailure: true });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/**
 * Makes a commit of `plan` on `head` without moving any ref (ga sync's
 * replay; commitEvent's own step). Its temporary files live under .ga/tmp: if
 * that directory vanishes meanwhile (anything can delete .ga), it is made
 * again and the commit built again, never a crash.
 */
export async function writeCommit(repo: Repo, head: string | undefined, plan: CommitPlan): Promise<string> {
  return (await writeCommitRetrying(repo, head, plan)).commit;
}

async function writeCommitRetrying(repo: Repo, head: string | undefined, plan: CommitPlan): Promise<Written> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await writeCommitOnce(repo, head, plan);
    } catch (e) {
      const gone = (e as NodeJS.ErrnoException).code === 'ENOENT' || /No such file or directory|unable to (create|write)/i.test((e as Error).message);
      if (!gone || e instanceof GovernanceRefusal) throw e;
      if (attempt >= 8) {
        throw new GovernanceRefusal(
          `${runtimeDir(repo)} kept disappearing while ga built a commit in it (something deletes it); nothing was committed: stop whatever deletes it and try again`,
        );
      }
      await new Promise((r) => setTimeout(r, 5 * (attempt + 1)));
    }
  }
}

async function writeCommitOnce(repo: Repo, head: string | undefined, plan: CommitPlan): Promise<Written> {
  const tmp = join(runtimeDir(repo), 'tmp');
  mkdirSync(tmp, { recursive: true });
  const base = head ? (await repo.objects.commit(head)).tree : undefined;
  const idLength = base ? base.length : await idLengthOf(repo);
  const write = objectWriter(repo, tmp, idLength);
  const tree = await traced('tree built and written', async () => editTree(repo.objects, write, base, await edits(plan.files, write), idLength));
  // An unsigned commit of a plain identity is written in process, as git's commit-tree writes it; a signed one is git's (it runs ssh-keygen).
  const idents = await identities(repo, plan.identity);
  if (idents && !plan.sign && gitKeepsMessage(plan.message)) {
    const [commit] = await write('commit', [commitBody(tree, head, idents, plan.message)]);
    return { commit: commit!, committer: idents.committer };
  }
  const args = ['commit-tree', tree, ...(head ? ['-p', head] : []), plan.sign ? '-S' : '--no-gpg-sign', '-F', '-'];
  const identity: Record<string, string> = plan.identity
    ? {
        GIT_AUTHOR_NAME: plan.identity.name,
        GIT_AUTHOR_EMAIL: plan.identity.email,
        GIT_COMMITTER_NAME: plan.identity.name,
        GIT_COMMITTER_EMAIL: plan.identity.email,
      }
    : {};
  const signing = plan.sign ? ['-c', 'gpg.format=ssh'] : [];
  const r = await git([...signing, ...args], { cwd: repo.root, env: identity, input: plan.message, allowFailure: true });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').pop() ?? '';
    if (plan.sign) throw new GovernanceRefusal(`signing the commit failed (${why}); check git config user.signingkey and that the key is readable`);
    throw new InternalError(`git commit-tree failed: ${why}`);
  }
  return { commit: r.stdout.toString().trim(), committer: idents?.committer };
}

interface Written {
  commit: string;
  /** Who committed, and when (`Name <email> <seconds> <zone>`), for the reflog; undefined when git alone knows (its identity rules). */
  committer?: string;
}

/** The length of the repository's ids, for its first commit: 64 in a sha256 repository, else 40. */
async function idLengthOf(repo: Repo): Promise<number> {
  const r = await git(['rev-parse', '--show-object-format'], { cwd: repo.root, allowFailure: true });
  return r.stdout.toString().trim() === 'sha256' ? 64 : 40;
}

/** The plan as tree edits: new blobs written first (no filters: the bytes are the file's), removals as they are. */
async function edits(files: FileWrite[], write: ObjectWriter): Promise<TreeEdit[]> {
  const fresh = files.filter((f) => !f.remove);
  const oids = await write(
    'blob',
    fresh.map((f) => (typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : (f.content ?? Buffer.alloc(0)))),
  );
  return files.map((f) => (f.remove ? { path: f.path, remove: true as const } : { path: f.path, blob: oids[fresh.indexOf(f)]!, mode: f.mode ?? '100644' }));
}

/**
 * Mirrors the committed paths into the work tree (atomic renames). The
 * commit has landed by now, so nothing here may throw: a path whose parent is
 * not a real directory (an agent's symlink) is left alone, with a warning,
 * rather than written through.
 */
function syncWorkTree(repo: Repo, files: FileWrite[]): void {
  for (const f of files) {
    if (f.keepWorktree) continue;
    const abs = join(repo.root, f.path);
    try {
      if (!parentsAreDirectories(repo.root, f.path)) {
        process.emitWarning(`${f.path} was committed, but its directory in the work tree is not a real directory; left alone (run git status)`);
        continue;
      }
      if (f.remove) {
        rmSync(abs, { force: true, recursive: true });
        continue;
      }
      mkdirSync(dirname(abs), { recursive: true });
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st && !st.isFile() && !st.isSymbolicLink()) rmSync(abs, { recursive: true, force: true });
      const tmp = `${abs}.ga-tmp-${process.pid}`;
      writeFileSync(tmp, f.content ?? '', { mode: f.mode === '100755' ? 0o755 : 0o644 });
      renameSync(tmp, abs);
    } catch (e) {
      process.emitWarning(`${f.path} was committed, but the work tree could not be updated: ${(e as Error).message}`);
    }
  }
}

/** Every existing directory on the way to `path` is a real directory, not a link to elsewhere. */
function parentsAreDirectories(root: string, path: string): boolean {
  const parts = path.split('/').slice(0, -1);
  let dir = root;
  for (const p of parts) {
    dir = join(dir, p);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st) return true; // created below
    if (!st.isDirectory()) return false;
  }
  return true;
}

/**
 * Makes the user's index agree with HEAD for our paths, so `git status` stays
 * clean and the person's next commit does not undo ours: in process where
 * index-file.ts can (its cost does not grow with the index), else with git
 * reset. Another git process (a person's git status, an editor's background
 * refresh) holds index.lock for milliseconds: wait for it, as a person would,
 * up to INDEX_WAIT_MS.
 */
async function syncIndex(repo: Repo, writes: FileWrite[], idLength: number): Promise<void> {
  const files = [...new Map(writes.map((f) => [f.path, f])).values()]; // a path written twice (a carried update's, then this one's): the last
  const paths = files.map((f) => f.path);
  const changes = files.map((f) => indexChange(f.path, f.content, f.mode, f.remove, idLength));
  const until = Date.now() + INDEX_WAIT_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    let why: string;
    const inProcess = traced('index updated in process', () => updateIndexOrDecline(repo, changes, idLength));
    if (inProcess === 'done') return;
    if (inProcess === 'locked') why = 'index.lock exists';
    else {
      const r = await git(['reset', '-q', '--no-refresh', 'HEAD', '--', ...paths], { cwd: repo.root, allowFailure: true });
      if (r.code === 0) return;
      why = r.stderr.trim().split('\n')[0] ?? '';
    }
    if (!/index\.lock/.test(why) || Date.now() + wait > until) {
      const shown = paths.length > 3 ? `${paths.slice(0, 3).join(' ')} ...` : paths.join(' ');
      process.emitWarning(`the index was not updated after ga's commit (${why}): run git reset -q -- ${shown} before you commit`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** The in-process update; one that fails part-way (a full disk) has changed nothing, and git gets to try. */
function updateIndexOrDecline(repo: Repo, changes: IndexChange[], idLength: number): IndexUpdate {
  try {
    return updateIndex(repo, changes, idLength);
  } catch {
    return 'declined';
  }
}

const INDEX_WAIT_MS = 5_000;
