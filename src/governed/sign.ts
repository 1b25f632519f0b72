// `ga commit <paths>`: a person signs exactly the governed files they mean.
// A plain `git commit -S` carries whatever is staged, and an agent can stage
// anything (git update-index) without touching the work tree; this commits
// the named paths as they are in the work tree, and nothing else, after
// showing their diff against HEAD. A malformed file is refused before it is
// signed (once trusted, a malformed policy would fail closed for everyone).
//
// What is shown is what is signed: each file's bytes are read once, and that
// one buffer is both diffed (against the verified HEAD blob, outside the
// repository, so no attribute, filter or textconv can change or hide it; see
// git/diff-bytes.ts) and committed (hash-object --no-filters). The commit is
// checked afterwards to hold exactly those blobs, and undone if it does not.
import { recordEvents } from '../audit/record.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal, UsageError } from '../errors.js';
import type { CommitResult, FileWrite } from '../git/commit.js';
import { blobId, diffBytes } from '../git/diff-bytes.js';
import { git } from '../git/exec.js';
import { headCommit, headRef, readFileAt, type Repo } from '../git/repo.js';
import { requireSigning } from '../git/signing.js';
import {
  agentOfAllowlistPath,
  agentOfConfigPath,
  agentOfPath,
  APPROVERS_PATH,
  GOVERNED_FILES,
  isGovernedPath,
  NOTIFY_PATH,
  POLICY_PATH,
  WATCHDOG_PATH,
} from '../layout/layout.js';
import { fileKind, kindOf, readRegular } from '../runtime/files.js';
import { withRepoLock } from '../runtime/lock.js';
import { parseAgent, parseAllowlist } from '../schema/agent.js';
import { parseApprovers } from '../schema/approvers.js';
import { parsePolicy } from '../schema/policy.js';
import { parseWatchdog } from '../schema/watchdog.js';
import { parseNotify } from '../schema/notify.js';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';

export interface SignPlan {
  /** The exact bytes (and modes) to commit: the same buffers the diff was computed from. */
  files: FileWrite[];
  /** The diff of the named paths against HEAD, computed from those bytes (see diffBytes). */
  diff: string;
  /** The HEAD the diff was computed against. */
  head: string | undefined;
}

/** Parses a governed file of a known format; throws the file's own error (exit 2). */
function checkFormat(path: string, text: string): void {
  if (path === POLICY_PATH) parsePolicy(text, path);
  else if (path === APPROVERS_PATH) parseApprovers(text, path);
  else if (path === WATCHDOG_PATH) parseWatchdog(text, path);
  else if (path === NOTIFY_PATH) parseNotify(text, path);
  else if (agentOfConfigPath(path)) parseAgent(text, path);
  else if (agentOfAllowlistPath(path)) parseAllowlist(text, path);
}

/** What signing `paths` would commit: their work-tree bytes, read once (removals for missing ones), checked and diffed. */
export async function planSignedChange(repo: Repo, paths: string[]): Promise<SignPlan> {
  if (paths.length === 0) throw new UsageError(`name the governed files to sign, such as ga commit ${POLICY_PATH}`);
  const head = await headCommit(repo);
  const files: FileWrite[] = [];
  const diffs: string[] = [];
  for (const path of [...new Set(paths.map((p) => p.replace(/^\.\//, '')))]) {
    if (!isGovernedPath(path)) throw new UsageError(`${path} is not a governed file (${GOVERNED_FILES}); commit it with git`);
    const before = await readFileAt(repo, head, path);
    const abs = join(repo.root, path);
    const kind = fileKind(abs);
    if (kind === 'missing') {
      if (!before) throw new UsageError(`${path} exists neither in the work tree nor in HEAD: nothing to sign`);
      files.push({ path, remove: true });
      diffs.push(await diffBytes(path, before, undefined));
      continue;
    }
    if (kind !== 'file') throw new UsageError(`${path} is a ${kind}, not a regular file: ga signs regular files only`);
    const content = readRegular(abs);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!content || kindOf(st) !== 'file') throw new UsageError(`${path} changed while ga read it: run ga commit again`);
    checkFormat(path, content.toString('utf8'));
    const mode = st!.mode & 0o100 ? '100755' : '100644';
    files.push({ path, content, mode });
    diffs.push(await diffBytes(path, before, { content, mode }));
  }
  return { files, diff: diffs.filter(Boolean).join(''), head };
}

/** Commits a plan in one commit signed by the person's key: only these paths (and the audit files). */
export async function signGovernedFiles(repo: Repo, plan: SignPlan, opts: { message?: string; clock: Clock; command?: string }): Promise<{ commit: string }> {
  const signer = await requireSigning(repo, opts.command ?? 'ga commit');
  const names = plan.files.map((f) => f.path);
  const agents = [...new Set(names.map((p) => agentOfPath(p)).filter((a): a is string => a !== undefined))];
  const reason = opts.message?.trim() || `change ${names.join(', ')}`;
  const result = await recordEvents(repo, {
    subject: reason,
    body: `Signed governed files:\n${names.map((n) => `  ${n}`).join('\n')}`,
    events: [{ event: 'policy-changed', actor: `human:${signer.email}`, agent: agents.length === 1 ? agents[0] : undefined, reason }],
    files: async (head) => {
      await assertUnchangedSince(repo, plan, head);
      return plan.files;
    },
    sign: true,
    at: opts.clock.now(),
  });
  await assertCommittedAsShown(repo, result, plan.files);
  return result;
}

/**
 * The diff was shown against plan.head; if the branch moved since (a ledger
 * or audit commit), the named paths must still be as they were there, or the
 * commit would change them from something the person never saw.
 */
async function assertUnchangedSince(repo: Repo, plan: SignPlan, head: string | undefined): Promise<void> {
  if (head === plan.head) return;
  for (const f of plan.files) {
    const [was, is] = await Promise.all([readFileAt(repo, plan.head, f.path), readFileAt(repo, head, f.path)]);
    if (was?.oid !== is?.oid || was?.mode !== is?.mode) {
      throw new GovernanceRefusal(
        `${f.path} changed in HEAD since its diff was shown: nothing was signed; run ga commit again to see the diff against the new HEAD`,
      );
    }
  }
}

/**
 * The signed commit holds exactly the bytes that were shown (and nothing
 * else at those paths). Should it not (a blob swapped while it was being
 * written), the branch is moved back to its parent, compare-and-swap, before
 * anyone can take the commit for the person's decision.
 */
export async function assertCommittedAsShown(repo: Repo, result: CommitResult, files: FileWrite[]): Promise<void> {
  const wrong: string[] = [];
  for (const f of files) {
    const got = await readFileAt(repo, result.commit, f.path);
    if (f.remove) {
      if (got) wrong.push(f.path);
      continue;
    }
    const want = blobId(Buffer.from(f.content ?? ''), result.commit.length);
    if (!got || got.oid !== want || got.mode !== (f.mode ?? '100644')) wrong.push(f.path);
  }
  if (!wrong.length) return;
  const undone = await withRepoLock(repo, async () => {
    const ref = await headRef(repo);
    const args = result.parent
      ? ['update-ref', '-m', 'ga: undo a signed commit that does not hold the bytes shown', ref, result.parent, result.commit]
      : ['update-ref', '-d', ref, result.commit];
    return (await git(args, { cwd: repo.root, allowFailure: true })).code === 0;
  });
  const where = undone ? 'the branch was moved back to its parent' : 'the branch has moved on since, so it was NOT undone: revert it with git revert';
  throw new GovernanceRefusal(
    `commit ${result.commit.slice(0, 12)} does not hold the bytes you were shown for ${wrong.join(', ')} (they were changed while it was written); ${where}, and nothing of it should be trusted`,
  );
}
