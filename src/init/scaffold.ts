// `ga init` and `ga trust`: scaffold the layout in one commit, signed by the
// first approver, and pin it as the trust root of this clone.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commitMessage } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { commitEvent, type FileWrite } from '../git/commit.js';
import { git } from '../git/exec.js';
import { headCommit, headRef, openRepo, resolveCommit, type Repo } from '../git/repo.js';
import { publicKeyLine, signingSetup } from '../git/signing.js';
import { pinTrustRoot } from '../trust/root.js';
import { pinGovernedBranch } from '../trust/branch.js';
import { auditFiles } from '../audit/record.js';
import {
  agentConfigPath,
  allowlistPath,
  APPROVERS_PATH,
  hookPath,
  KEEP_DIRS,
  POLICY_PATH,
  systemPromptPath,
  taskPath,
  WATCHDOG_PATH,
  workspaceDir,
} from '../layout/layout.js';
import * as t from './templates.js';

export interface InitResult {
  repo: Repo;
  commit: string;
  signed: boolean;
  approver?: string;
  /** Steps to add the first approver when no signing key was set up. */
  nextSteps: string[];
}

function plannedFiles(approverLine: string | undefined): FileWrite[] {
  return [
    { path: POLICY_PATH, content: t.DEFAULT_POLICY },
    { path: APPROVERS_PATH, content: t.approversFile(approverLine) },
    { path: WATCHDOG_PATH, content: t.DEFAULT_WATCHDOG },
    { path: agentConfigPath('noop'), content: t.NOOP_AGENT },
    { path: allowlistPath('noop'), content: t.NOOP_ALLOWLIST },
    { path: systemPromptPath('noop'), content: t.NOOP_CLAUDE_MD },
    { path: taskPath('noop', 'smoke'), content: t.NOOP_SMOKE_TASK },
    { path: hookPath('noop', 'publish_content.sh'), content: t.NOOP_PUBLISH_HOOK, mode: '100755' },
    ...[...KEEP_DIRS, workspaceDir('noop')].map((d) => ({ path: `${d}/.gitkeep`, content: '' })),
    { path: '.github/workflows/ga-verify.yml', content: t.VERIFY_WORKFLOW },
    { path: '.gitlab/ga-verify.yml', content: t.GITLAB_VERIFY },
  ];
}

export async function initRepository(dir: string, opts: { clock: Clock }): Promise<InitResult> {
  if (process.env.GA_AGENT) throw new GovernanceRefusal('ga init refused: GA_AGENT is set, and ga never signs inside an agent process');
  const target = resolve(dir);
  mkdirSync(target, { recursive: true });
  const signing = await signingSetup(target);
  const approverLine = signing.ok ? `${signing.email} namespaces="git" ${publicKeyLine(signing.key!)}` : undefined;
  const files = plannedFiles(approverLine);

  // A governance repository already: say so, rather than list every file as a collision.
  if (existsSync(join(target, APPROVERS_PATH)) && existsSync(join(target, POLICY_PATH))) {
    throw new UsageError(
      `${target} is already initialised (${APPROVERS_PATH} and ${POLICY_PATH} are there); nothing was written. See ga status, or ga init <new dir> for another`,
    );
  }
  // Pass one: every collision is listed and nothing is written, not even .git.
  const collisions = files.map((f) => f.path).filter((p) => existsSync(join(target, p)));
  if (collisions.length) {
    throw new UsageError(
      `ga init would overwrite ${collisions.length} file(s) in ${target}: ${collisions.join(', ')}; move them away or init elsewhere (nothing was written)`,
    );
  }
  if (!existsSync(join(target, '.git'))) {
    const inside = await git(['rev-parse', '--show-toplevel'], { cwd: target, allowFailure: true });
    if (inside.code !== 0 || resolve(inside.stdout.toString().trim()) !== target) {
      await git(['init', '-q', '-b', 'main', target], { cwd: target });
    }
  }
  const repo = await openRepo(target);
  const gitignore = join(repo.root, '.gitignore');
  const ignoreText = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  if (!ignoreText.split('\n').some((l) => l.trim() === t.GITIGNORE_LINE)) {
    files.push({ path: '.gitignore', content: `${ignoreText}${ignoreText && !ignoreText.endsWith('\n') ? '\n' : ''}${t.GITIGNORE_LINE}\n` });
  }

  // Pass two: one commit, signed by the first approver when there is one.
  const now = opts.clock.now();
  const actor = signing.ok ? `human:${signing.email}` : 'human:unknown';
  const event = { event: 'policy-changed' as const, actor, agent: 'noop', reason: 'ga init: layout, default policy and first approver' };
  files.push(...auditFiles([event], now));
  const { commit } = await commitEvent(repo, async () => ({
    message: commitMessage('ga init: governance layout, default policy and the noop agent', [event]),
    files,
    sign: signing.ok,
    identity: signing.ok ? undefined : { name: 'ga init', email: 'init@ga.invalid' },
  }));
  if (signing.ok) await pinTrustRoot(repo, commit);
  await pinGovernedBranch(repo, (await headRef(repo)).replace(/^refs\/heads\//, ''));
  const nextSteps = signing.ok
    ? []
    : [
        `No SSH signing key is set up (${signing.problem}). To add the first approver:`,
        '  1. ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519        (skip if you have a key)',
        '  2. git config --global gpg.format ssh',
        '     git config --global user.signingkey ~/.ssh/id_ed25519.pub',
        '     git config --global user.email you@example.com',
        `  3. echo "$(git config user.email) namespaces=\\"git\\" $(cut -d' ' -f1,2 ~/.ssh/id_ed25519.pub)" >> ${join(repo.root, APPROVERS_PATH)}`,
        `  4. git -C ${repo.root} commit -S -m "add the first approver" ${APPROVERS_PATH}`,
        `  5. ga -C ${repo.root} trust HEAD      (pins that signed commit as the trust root)`,
      ];
  return { repo, commit, signed: signing.ok, approver: signing.email, nextSteps };
}

export async function trustCommit(dir: string, rev: string, opts: { force?: boolean } = {}): Promise<{ commit: string; replaced?: string }> {
  if (process.env.GA_AGENT) throw new GovernanceRefusal('ga trust refused: GA_AGENT is set; only a person pins the trust root');
  const repo = await openRepo(dir);
  const commit = await resolveCommit(repo, rev);
  const head = await headCommit(repo);
  const chain = await git(['rev-list', '--first-parent', head!], { cwd: repo.root });
  if (!chain.stdout.toString().split('\n').includes(commit)) {
    throw new GovernanceRefusal(`${rev} is not on the first-parent history of HEAD; pin a commit of the governed branch`);
  }
  const { replaced } = await pinTrustRoot(repo, commit, { replace: opts.force });
  await pinGovernedBranch(repo, (await headRef(repo)).replace(/^refs\/heads\//, ''));
  return { commit, ...(replaced ? { replaced } : {}) };
}
