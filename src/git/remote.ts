// Talking to the hub: ls-remote, fetch and push, through the one hardened
// git module (exec.ts), to the URLs the trusted policies/hub.toml names and
// never to one taken from .git/config. A push is never forced: the hub's ref
// update is the compare-and-swap that makes an act count once. Every call has
// a time limit, so a hub that does not answer fails the call, never hangs it.
import { git, type RunResult } from './exec.js';
import { readRefFromFiles } from './head.js';
import { REVIEW_BRANCH_PREFIX, REVIEW_REFS, reviewRef } from '../layout/layout.js';
import type { Repo } from './repo.js';

export interface Hub {
  /** URLs that reach the same hub, tried in order. */
  urls: string[];
  branch: string;
  /** proposals = "pull-request": each submission goes to its own branch for review (DESIGN "Pull requests"). */
  review?: boolean;
}

/** How long one network call may take. */
const NETWORK_MS = 20_000;

/** Where the hub's branch is kept locally once fetched. */
export const hubRef = (hub: Hub) => `refs/ga/hub/${hub.branch}`;

export class HubUnreachable extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

/**
 * A push refused because the hub's branch moved: another clone won the race
 * (refused as not a fast-forward, or the hub's own compare-and-swap on the
 * ref failed while two pushes landed at once).
 */
const RACE_LOST = /\[rejected\]|\[remote rejected\]|non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|incorrect old value/;

/** Options that keep a network call to the URL given: no other protocol helper, no prompt. */
const NETWORK_FLAGS = ['-c', 'protocol.ext.allow=never', '-c', 'protocol.fd.allow=never'];

/**
 * git's progress for a fetch or a push that takes more than a moment, on a
 * terminal only: held back for the first GA_PROGRESS_AFTER_MS (default 1 s),
 * then shown as git prints it. Undefined when stderr is not a terminal.
 */
function progress(): { flag: string[]; onStderr?: (chunk: Buffer) => void } {
  if (!process.stderr.isTTY) return { flag: [] };
  const after = Number(process.env.GA_PROGRESS_AFTER_MS ?? 1000);
  const started = Date.now();
  const held: Buffer[] = [];
  let showing = false;
  return {
    flag: ['--progress'],
    onStderr: (chunk) => {
      if (showing) process.stderr.write(chunk);
      else if (Date.now() - started >= after) {
        showing = true;
        process.stderr.write(Buffer.concat([...held, chunk]));
      } else held.push(chunk);
    },
  };
}

async function onEachUrl(repo: Repo, hub: Hub, args: (url: string) => string[], onStderr?: (chunk: Buffer) => void): Promise<{ url: string; r: RunResult }> {
  const failures: string[] = [];
  for (const url of hub.urls) {
    const r = await git([...NETWORK_FLAGS, ...args(url)], { cwd: repo.root, allowFailure: true, timeoutMs: NETWORK_MS, onStderr });
    if (r.code === 0 || RACE_LOST.test(r.stderr + r.stdout.toString('utf8'))) return { url, r };
    failures.push(`${url}: ${r.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`}`);
  }
  throw new HubUnreachable(failures.join('; '));
}

/** The hub's tip (a cheap look: ls-remote), or undefined when the branch does not exist there yet. */
export async function hubTip(repo: Repo, hub: Hub): Promise<string | undefined> {
  const { r } = await onEachUrl(repo, hub, (url) => ['ls-remote', '--', url, `refs/heads/${hub.branch}`]);
  return /^([0-9a-f]{40,64})\t/.exec(r.stdout.toString('utf8'))?.[1];
}

/** Fetches the hub's branch into hubRef; its tip, or undefined when the hub has no such branch yet. */
export async function fetchHub(repo: Repo, hub: Hub): Promise<string | undefined> {
  const tip = await hubTip(repo, hub);
  if (!tip) return undefined;
  // Fetched before, or the hub has not moved past what this clone already has: the cheap look was enough.
  if (readRefFromFiles(repo, hubRef(hub)) === tip) return tip;
  if ((await git(['cat-file', '-e', `${tip}^{commit}`], { cwd: repo.root, allowFailure: true })).code === 0) {
    await git(['update-ref', hubRef(hub), tip], { cwd: repo.root, allowFailure: true });
    return tip;
  }
  const shown = progress();
  await onEachUrl(
    repo,
    hub,
    (url) => [
      'fetch',
      ...(shown.flag.length ? shown.flag : ['--quiet']),
      '--no-tags',
      '--no-recurse-submodules',
      '--no-write-fetch-head',
      '--',
      url,
      `+refs/heads/${hub.branch}:${hubRef(hub)}`,
    ],
    shown.onStderr,
  );
  const r = await git(['rev-parse', '--verify', '-q', `${hubRef(hub)}^{commit}`], { cwd: repo.root, allowFailure: true });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/**
 * Pushes `commit` to the hub's branch, fast-forward only: 'pushed', or
 * 'rejected' when the hub moved meanwhile (fetch, replay and try again).
 */
export async function pushHub(repo: Repo, hub: Hub, commit: string): Promise<'pushed' | 'rejected'> {
  const pushed = await pushBranch(repo, hub, commit, hub.branch);
  if (pushed === 'pushed') await git(['update-ref', hubRef(hub), commit], { cwd: repo.root, allowFailure: true });
  return pushed;
}

/** Pushes `commit` to `branch` on the hub, fast-forward only (a new branch, or one that only grows); never forced. */
export async function pushBranch(repo: Repo, hub: Hub, commit: string, branch: string): Promise<'pushed' | 'rejected'> {
  const shown = progress();
  const { r } = await onEachUrl(
    repo,
    hub,
    (url) => ['push', '--porcelain', '--no-verify', ...shown.flag, '--', url, `${commit}:refs/heads/${branch}`],
    shown.onStderr,
  );
  return r.code === 0 ? 'pushed' : 'rejected';
}

/** Removes a proposal's review branch from the hub (once decided on the hub's branch); best effort. */
export async function deleteReviewBranch(repo: Repo, hub: Hub, id: string): Promise<void> {
  await onEachUrl(repo, hub, (url) => ['push', '--porcelain', '--no-verify', '--', url, `:refs/heads/${REVIEW_BRANCH_PREFIX}${id}`]).catch(() => undefined);
  await git(['update-ref', '-d', reviewRef(id)], { cwd: repo.root, allowFailure: true });
}

/** Fetches every proposal branch of the hub into refs/ga/proposals/*, dropping those the hub no longer has. */
export async function fetchReviewBranches(repo: Repo, hub: Hub): Promise<void> {
  await onEachUrl(repo, hub, (url) => [
    'fetch',
    '--quiet',
    '--prune',
    '--no-tags',
    '--no-recurse-submodules',
    '--no-write-fetch-head',
    '--',
    url,
    `+refs/heads/${REVIEW_BRANCH_PREFIX}*:${REVIEW_REFS}*`,
  ]);
}
