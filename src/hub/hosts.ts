// Pull requests on the hosts people use (DESIGN "Pull requests"): a proposal
// sent for review gets a pull request opened with the host's own CLI (gh for
// GitHub, glab for GitLab) when it is installed and logged in; otherwise the
// person is told the branch and the next step. Nothing here decides anything:
// a pull request is only where people read the proposal.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runProgram } from '../git/exec.js';
import type { Hub } from '../git/remote.js';
import { REVIEW_BRANCH_PREFIX } from '../layout/layout.js';

export interface ReviewOpened {
  id: string;
  branch: string;
  /** The pull request's address, when one was opened. */
  url?: string;
  /** What the person does next. */
  next: string;
}

interface Host {
  cli: 'gh' | 'glab';
  host: string;
  project: string;
}

/** The host and project of the first hub URL on GitHub or GitLab: `git@github.com:acme/gov.git`, `https://gitlab.com/a/b`. */
export function hostOf(urls: string[]): Host | undefined {
  for (const url of urls) {
    const m = /^(?:[\w.-]+@([\w.-]+):|(?:ssh|https?):\/\/(?:[^@/]+@)?([\w.-]+)(?::\d+)?\/)(.+?)(?:\.git)?\/?$/.exec(url);
    const host = m?.[1] ?? m?.[2];
    const project = m?.[3];
    if (!host || !project) continue;
    if (host === 'github.com' || host.startsWith('github.')) return { cli: 'gh', host, project };
    if (host === 'gitlab.com' || host.startsWith('gitlab.')) return { cli: 'glab', host, project };
  }
  return undefined;
}

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const file = join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const HOST_MS = 30_000;

/** Opens a pull request from the proposal's branch into the hub's branch, when the host's CLI can; says what to do otherwise. */
export async function openReview(root: string, hub: Hub, id: string, title: string): Promise<ReviewOpened> {
  const branch = `${REVIEW_BRANCH_PREFIX}${id}`;
  const next = `open a pull request from ${branch} into ${hub.branch}, or approve from a terminal: ga approve ${id} (then merge with a merge commit)`;
  const host = hostOf(hub.urls);
  const cli = host && onPath(host.cli);
  if (!host || !cli) return { id, branch, next };
  const run = (args: string[]) => runProgram(cli, args, { cwd: root, allowFailure: true, timeoutMs: HOST_MS, baseEnv: process.env });
  const loggedIn = await run(['auth', 'status', '--hostname', host.host]);
  if (loggedIn.code !== 0) return { id, branch, next: `${host.cli} is not logged in to ${host.host} (${host.cli} auth login); ${next}` };
  const body = [
    `Proposal ${id}, sent for review by ga.`,
    '',
    `Read proposals/pending/${id}.toml in this pull request. Approve from a terminal with \`ga approve ${id}\` (a signed commit on this branch),`,
    "then merge with a merge commit. A squash or rebase merge drops the approver's signature, and the proposal is not executed.",
  ].join('\n');
  const r =
    host.cli === 'gh'
      ? await run([
          'pr',
          'create',
          '--repo',
          `${host.host === 'github.com' ? '' : `${host.host}/`}${host.project}`,
          '--head',
          branch,
          '--base',
          hub.branch,
          '--title',
          title,
          '--body',
          body,
        ])
      : await run([
          'mr',
          'create',
          '--repo',
          host.project,
          '--source-branch',
          branch,
          '--target-branch',
          hub.branch,
          '--title',
          title,
          '--description',
          body,
          '--yes',
        ]);
  const url = /https?:\/\/\S+/.exec(r.stdout.toString('utf8'))?.[0];
  if (r.code !== 0 || !url) {
    return { id, branch, next: `${host.cli} could not open the pull request (${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}); ${next}` };
  }
  return { id, branch, url, next: `review it there; approve from a terminal: ga approve ${id}, then merge with a merge commit` };
}
