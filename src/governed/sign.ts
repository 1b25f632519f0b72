// `ga commit <paths>`: a person signs exactly the governed files they mean.
// A plain `git commit -S` carries whatever is staged, and an agent can stage
// anything (git update-index) without touching the work tree; this commits
// the named paths as they are in the work tree, and nothing else, after
// showing their diff against HEAD. A malformed file is refused before it is
// signed (once trusted, a malformed policy would fail closed for everyone).
import { recordEvents } from '../audit/record.js';
import type { Clock } from '../clock.js';
import { UsageError } from '../errors.js';
import type { FileWrite } from '../git/commit.js';
import { git } from '../git/exec.js';
import { headCommit, readFileAt, type Repo } from '../git/repo.js';
import { requireSigning } from '../git/signing.js';
import { agentOfAllowlistPath, agentOfConfigPath, agentOfPath, APPROVERS_PATH, GOVERNED_FILES, isGovernedPath, POLICY_PATH, WATCHDOG_PATH } from '../layout/layout.js';
import { fileKind, readRegular } from '../runtime/files.js';
import { parseAgent, parseAllowlist } from '../schema/agent.js';
import { parseApprovers } from '../schema/approvers.js';
import { parsePolicy } from '../schema/policy.js';
import { parseWatchdog } from '../schema/watchdog.js';
import { statSync } from 'node:fs';
import { join } from 'node:path';

export interface SignPlan {
  files: FileWrite[];
  /** `git diff` of the named paths against HEAD, as the person will sign them. */
  diff: string;
}

/** Parses a governed file of a known format; throws the file's own error (exit 2). */
function checkFormat(path: string, text: string): void {
  if (path === POLICY_PATH) parsePolicy(text, path);
  else if (path === APPROVERS_PATH) parseApprovers(text, path);
  else if (path === WATCHDOG_PATH) parseWatchdog(text, path);
  else if (agentOfConfigPath(path)) parseAgent(text, path);
  else if (agentOfAllowlistPath(path)) parseAllowlist(text, path);
}

/** What signing `paths` would commit: their work-tree versions (removals for missing ones), checked. */
export async function planSignedChange(repo: Repo, paths: string[]): Promise<SignPlan> {
  if (paths.length === 0) throw new UsageError(`name the governed files to sign, such as ga commit ${POLICY_PATH}`);
  const head = await headCommit(repo);
  const files: FileWrite[] = [];
  for (const raw of [...new Set(paths)]) {
    const path = raw.replace(/^\.\//, '');
    if (!isGovernedPath(path)) throw new UsageError(`${path} is not a governed file (${GOVERNED_FILES}); commit it with git`);
    const abs = join(repo.root, path);
    const kind = fileKind(abs);
    if (kind === 'missing') {
      if (!(await readFileAt(repo, head, path))) throw new UsageError(`${path} exists neither in the work tree nor in HEAD: nothing to sign`);
      files.push({ path, remove: true });
      continue;
    }
    if (kind !== 'file') throw new UsageError(`${path} is a ${kind}, not a regular file: ga signs regular files only`);
    const content = readRegular(abs)!;
    checkFormat(path, content.toString('utf8'));
    files.push({ path, content, mode: statSync(abs).mode & 0o100 ? '100755' : '100644' });
  }
  const diff = head
    ? (await git(['diff', '--no-ext-diff', '--no-textconv', '--no-color', 'HEAD', '--', ...files.map((f) => f.path)], { cwd: repo.root, allowFailure: true })).stdout.toString('utf8')
    : '';
  return { files, diff };
}

/** Commits a plan in one commit signed by the person's key: only these paths (and the audit line). */
export async function signGovernedFiles(repo: Repo, plan: SignPlan, opts: { message?: string; clock: Clock }): Promise<{ commit: string }> {
  const signer = await requireSigning(repo, 'ga commit');
  const names = plan.files.map((f) => f.path);
  const agents = [...new Set(names.map((p) => agentOfPath(p)).filter((a): a is string => a !== undefined))];
  const reason = opts.message?.trim() || `change ${names.join(', ')}`;
  return recordEvents(repo, {
    subject: reason,
    body: `Signed governed files:\n${names.map((n) => `  ${n}`).join('\n')}`,
    events: [{ event: 'policy-changed', actor: `human:${signer.email}`, agent: agents.length === 1 ? agents[0] : undefined, reason }],
    files: () => plan.files,
    sign: true,
    at: opts.clock.now(),
  });
}
