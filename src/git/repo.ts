// Repository discovery and the plain reads every domain needs: HEAD, blobs,
// trees, config, and the integrity checks the contract requires.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { git, gitText } from './exec.js';

export interface Repo {
  /** Absolute path of the work tree. */
  root: string;
  /** Absolute path of the .git directory. */
  gitDir: string;
  /** git config as read once for this command (see readConfig). */
  config?: Promise<ConfigSnapshot>;
}

/** Every config value with its scope; the last one of a key wins, as in git. */
export type ConfigSnapshot = Map<string, { value: string; scope: string }>;

export async function openRepo(dir: string): Promise<Repo> {
  const cwd = resolve(dir);
  if (!existsSync(cwd)) throw new UsageError(`${cwd} does not exist: pass -C <dir> with a governance repository`);
  const r = await git(['rev-parse', '--show-toplevel', '--absolute-git-dir'], { cwd, allowFailure: true });
  if (r.code !== 0) {
    throw new UsageError(`${cwd} is not inside a git repository: run ga init there, or pass -C <dir>`);
  }
  const [root, gitDir] = r.stdout.toString('utf8').trim().split('\n');
  return { root: root!, gitDir: gitDir! };
}

/** The commit HEAD names, or undefined in a repository with no commits. */
export async function headCommit(repo: Repo): Promise<string | undefined> {
  const r = await git(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { cwd: repo.root, allowFailure: true });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/** The ref HEAD points at (refs/heads/main), for compare-and-swap updates. */
export async function headRef(repo: Repo): Promise<string> {
  // .git/HEAD names the branch directly in every ordinary repository; git answers for the rest.
  try {
    const m = /^ref: (refs\/heads\/[^\s]+)\s*$/.exec(readFileSync(join(repo.gitDir, 'HEAD'), 'utf8'));
    if (m) return m[1]!;
  } catch {
    // fall through to git
  }
  const r = await git(['symbolic-ref', '-q', 'HEAD'], { cwd: repo.root, allowFailure: true });
  if (r.code !== 0) throw new GovernanceRefusal('HEAD is detached: check out a branch before ga records anything');
  return r.stdout.toString('utf8').trim();
}

export async function resolveCommit(repo: Repo, rev: string): Promise<string> {
  const r = await git(['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`], { cwd: repo.root, allowFailure: true });
  if (r.code !== 0) throw new UsageError(`"${rev}" does not name a commit in ${repo.root}: give a commit id or ref`);
  return r.stdout.toString('utf8').trim();
}

export interface BatchObject {
  oid: string;
  type: string;
  content: Buffer;
}

/** Reads many objects in one process (`cat-file --batch`). Missing ones map to undefined. */
export async function readObjects(repo: Repo, specs: string[]): Promise<Map<string, BatchObject | undefined>> {
  const found = new Map<string, BatchObject | undefined>();
  if (specs.length === 0) return found;
  const r = await git(['cat-file', '--batch'], { cwd: repo.root, input: specs.join('\n') + '\n' });
  const buf = r.stdout;
  let pos = 0;
  for (const spec of specs) {
    const nl = buf.indexOf(10, pos);
    const header = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    const parts = header.split(' ');
    if (parts.length !== 3 || parts[2] === undefined || !/^\d+$/.test(parts[2])) {
      found.set(spec, undefined); // "<spec> missing" or "ambiguous"
      continue;
    }
    const size = Number(parts[2]);
    found.set(spec, { oid: parts[0]!, type: parts[1]!, content: buf.subarray(pos, pos + size) });
    pos += size + 1;
  }
  return found;
}

export async function readBlob(repo: Repo, spec: string): Promise<Buffer | undefined> {
  return (await readObjects(repo, [spec])).get(spec)?.content;
}

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  path: string;
}

/** Files under `prefixes` in a commit's tree, recursively. */
export async function listTree(repo: Repo, commit: string, prefixes: string[] = []): Promise<TreeEntry[]> {
  const r = await git(['ls-tree', '-r', '--full-tree', commit, '--', ...prefixes], { cwd: repo.root });
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode, type, oid] = line.slice(0, tab).split(' ');
      return { mode: mode!, type: type!, oid: oid!, path: line.slice(tab + 1) };
    });
}

/** All of git config in one process: `config --list --show-scope -z`. */
async function readConfig(cwd: string): Promise<ConfigSnapshot> {
  const r = await git(['config', '--list', '--show-scope', '-z'], { cwd, allowFailure: true });
  const parts = r.stdout.toString('utf8').split('\0');
  const snapshot: ConfigSnapshot = new Map();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const entry = parts[i + 1]!;
    const nl = entry.indexOf('\n');
    const key = (nl < 0 ? entry : entry.slice(0, nl)).toLowerCase();
    snapshot.set(key, { value: nl < 0 ? 'true' : entry.slice(nl + 1), scope: parts[i]! });
  }
  return snapshot;
}

/**
 * A config value; `local` takes it only from the repository's own
 * .git/config. A Repo reads its config once per command.
 */
export async function configGet(repo: Repo | string, key: string, scope: 'any' | 'local' = 'any'): Promise<string | undefined> {
  const snapshot = typeof repo === 'string' ? await readConfig(repo) : await (repo.config ??= readConfig(repo.root));
  const entry = snapshot.get(key.toLowerCase());
  if (!entry || (scope === 'local' && entry.scope !== 'local')) return undefined;
  return entry.value;
}

export async function configSetLocal(repo: Repo, key: string, value: string): Promise<void> {
  await git(['config', '--local', key, value], { cwd: repo.root });
  repo.config = undefined;
}

/**
 * Refuses a repository whose history could be hidden or rewritten under ga:
 * a shallow clone, grafts, replace refs, or more than one root commit.
 */
export async function assertHistoryIsWhole(repo: Repo, tip = 'HEAD'): Promise<void> {
  if (existsSync(join(repo.gitDir, 'shallow'))) {
    throw new GovernanceRefusal(`${repo.root} is a shallow clone: ga needs the whole history (git fetch --unshallow)`);
  }
  if (existsSync(join(repo.gitDir, 'info', 'grafts'))) {
    throw new GovernanceRefusal(`${join(repo.gitDir, 'info', 'grafts')} exists: grafts can hide history; remove it`);
  }
  const replace = await gitText(['for-each-ref', '--format=%(refname)', 'refs/replace/'], { cwd: repo.root });
  if (replace) {
    throw new GovernanceRefusal(`replace refs exist (${replace.split('\n')[0]}): they can hide commits; delete them with git replace -d`);
  }
  const roots = await gitText(['rev-list', '--max-parents=0', tip], { cwd: repo.root });
  if (roots.split('\n').filter(Boolean).length > 1) {
    throw new GovernanceRefusal(`${tip === 'HEAD' ? 'HEAD' : tip.slice(0, 12)} has more than one root commit: a second history was merged in; ga will not judge it`);
  }
}
