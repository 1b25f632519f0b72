// Repository discovery and the plain reads every domain needs: HEAD, files
// at a commit (through the verified object store), config, and the checks
// that make ga refuse a repository it cannot judge: shallow, grafted,
// alternates, replace refs, a second root, a .git/config that would make
// git run a program or send traffic elsewhere, or a file git reads on every
// call (config, HEAD, index, attributes) that is not a regular file: a FIFO
// there would hang git, a link would make it read elsewhere.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { fileKind, readRegular, readRegularText, type FileKind } from '../runtime/files.js';
import { parseSimpleConfig, userConfigFiles } from './config-file.js';
import { git, gitProgram, gitText, hardeningSettings } from './exec.js';
import { OID, ObjectStore } from './objects.js';

export interface Repo {
  /** Absolute path of the work tree. */
  root: string;
  /** Absolute path of the .git directory. */
  gitDir: string;
  /** Where objects, refs and the shared config live (the git dir, or a worktree's common dir). */
  commonDir: string;
  /** The repository's own .git/config, read without following includes. */
  local: ConfigSnapshot;
  /** git config in every scope, as read once for this command (see readConfig). */
  config?: Promise<ConfigSnapshot>;
  /** Verified objects: every read of history goes through here. */
  objects: ObjectStore;
  /** The commits this process made here (git/commit.ts), by id: each one's parent and the paths it wrote. */
  made?: Map<string, MadeCommit>;
}

/** A commit this process made: its parent and the paths it wrote. */
export interface MadeCommit {
  parent: string | undefined;
  paths: string[];
}

/**
 * The commits this process made that `commit` stands on, newest first,
 * `commit` included, down to `stop` or to the first commit it did not make
 * (`below`: that commit, or `stop`). Repo.made knows their parents and the
 * paths each wrote, so nothing is read.
 */
export function madeChain(repo: Repo, commit: string, stop?: string): { chain: { id: string; paths: string[] }[]; below: string | undefined } {
  const chain: { id: string; paths: string[] }[] = [];
  const seen = new Set<string>();
  let at: string | undefined = commit;
  while (at !== undefined && at !== stop && !seen.has(at)) {
    const own: MadeCommit | undefined = repo.made?.get(at);
    if (!own) break;
    seen.add(at);
    chain.push({ id: at, paths: own.paths });
    at = own.parent;
  }
  return { chain, below: at };
}

/** Every config value with its scope; the last one of a key wins, as in git. */
export type ConfigSnapshot = Map<string, { value: string; scope: string }>;

/**
 * Keys of the repository's own config that make git run a program, read
 * other config, send traffic elsewhere or move the work tree (DESIGN "Hardened
 * git"). They belong in the user's global config, which an agent's scrubbed
 * environment cannot reach.
 */
const REFUSED_KEYS: RegExp[] = [
  /^core\.(sshcommand|gitproxy|askpass|worktree)$/,
  /^credential\.(.+\.)?helper$/,
  /^url\..+\.(insteadof|pushinsteadof)$/,
  /^remote\..+\.(uploadpack|receivepack)$/,
  /^protocol\.(.+\.)?allow$/,
  /^include\.path$/,
  /^includeif\./,
  /^hook\./,
  /^filter\./,
  /^diff\..+\.(textconv|command)$/,
  /^merge\..+\.driver$/,
];

export async function openRepo(dir: string): Promise<Repo> {
  const cwd = resolve(dir);
  if (!existsSync(cwd)) throw new UsageError(`${cwd} does not exist: pass -C <dir> with a governance repository`);
  if (!isDirectory(cwd)) throw new UsageError(`${cwd}: not a directory; pass -C <dir> with a governance repository`);
  // Before git runs at all: a FIFO as .git/config or .git/HEAD hangs even rev-parse.
  for (const file of gitFilesBeforeDiscovery(cwd)) assertRegularIfPresent(file);
  const plain = plainRepositoryAbove(cwd);
  const found = plain ?? (await discoverWithGit(cwd));
  const repo: Repo = {
    ...found,
    local: new Map(),
    objects: new ObjectStore(found.root, join(found.commonDir, 'objects'), join(found.commonDir, 'ga', 'wide-trees')),
  };
  for (const file of gitFilesRead(repo)) assertRegularIfPresent(file);
  await assertSoundRepository(repo);
  // A .git/config that makes the directory bare is git's to judge: it finds no work tree there.
  if (plain && localSettingOn(repo.local, 'core.bare')) await discoverWithGit(cwd);
  return repo;
}

type Found = Pick<Repo, 'root' | 'gitDir' | 'commonDir'>;

async function discoverWithGit(cwd: string): Promise<Found> {
  const r = await git(['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], { cwd, allowFailure: true });
  if (r.code !== 0) {
    throw new UsageError(`${cwd} is not inside a git repository: run ga init there, or pass -C <dir>`);
  }
  const [root, gitDir, common] = r.stdout.toString('utf8').trim().split('\n') as [string, string, string];
  // A relative answer is relative to where git ran: the real directory, not a link's path to it.
  return { root, gitDir, commonDir: isAbsolute(common) ? common : resolve(realpathSync(cwd), common) };
}

/**
 * What `git rev-parse --show-toplevel --absolute-git-dir` would answer from
 * `cwd`, found without a git process, in the one plain case: the nearest
 * `.git` up from `cwd` (its real path, as git's getcwd gives it) is a
 * directory of this user's, with a HEAD naming a branch or a commit and its
 * own objects and refs, in a directory of this user's on the same file
 * system. Anything else (a .git file, a worktree's commondir, being inside a
 * .git directory or a bare repository, another owner, which git's
 * safe.directory decides on, a mount point crossed) is undefined: git is asked.
 */
export function plainRepositoryAbove(cwd: string): Found | undefined {
  try {
    return plainFrom(realpathSync(cwd));
  } catch {
    return undefined; // a directory that cannot be read on the way: git says what is wrong
  }
}

function plainFrom(start: string): Found | undefined {
  let d = start;
  const uid = process.geteuid?.();
  const dev = statSync(d).dev;
  for (;;) {
    const dotGit = join(d, '.git');
    const kind = fileKind(dotGit);
    if (kind === 'directory') return looksPlain(dotGit, uid) && ownedBy(d, uid) ? { root: d, gitDir: dotGit, commonDir: dotGit } : undefined;
    if (kind !== 'missing' || basename(d) === '.git' || fileKind(join(d, 'HEAD')) !== 'missing') return undefined;
    const up = dirname(d);
    if (up === d || statSync(up).dev !== dev) return undefined;
    d = up;
  }
}

function looksPlain(gitDir: string, uid: number | undefined): boolean {
  if (!ownedBy(gitDir, uid) || fileKind(join(gitDir, 'commondir')) !== 'missing') return false;
  if (fileKind(join(gitDir, 'objects')) !== 'directory' || fileKind(join(gitDir, 'refs')) !== 'directory') return false;
  const head = fileKind(join(gitDir, 'HEAD')) === 'file' ? readRegularText(join(gitDir, 'HEAD'), 4096) : undefined;
  return head !== undefined && /^(ref: refs\/\S+|[0-9a-f]{40}|[0-9a-f]{64})\n?$/.test(head);
}

function ownedBy(path: string, uid: number | undefined): boolean {
  return uid !== undefined && statSync(path).uid === uid;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const KIND_WORDS: Record<Exclude<FileKind, 'file' | 'missing'>, string> = {
  directory: 'a directory',
  symlink: 'a symbolic link',
  fifo: 'a FIFO',
  other: 'a device or special file',
};

/**
 * Refuses a tampered repository: `path`, a file git opens on its own, is
 * there and is not a regular file (checked without following a link).
 */
function assertRegularIfPresent(path: string): void {
  const kind = fileKind(path);
  if (kind === 'file' || kind === 'missing') return;
  throw new GovernanceRefusal(
    `${path} is ${KIND_WORDS[kind]}, not a regular file: the repository has been tampered with (git would hang on it or read elsewhere); ga refuses to act here until it is a regular file again`,
  );
}

/**
 * The config and HEAD of the repository git will find from `cwd`, found the
 * way git finds them (the nearest .git directory, or a .git file naming
 * one), so they can be checked before any git process opens them.
 */
function gitFilesBeforeDiscovery(cwd: string): string[] {
  for (let d = cwd; ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    let gitDir: string | undefined;
    try {
      const st = statSync(dotGit);
      if (st.isDirectory()) gitDir = dotGit;
      else if (st.isFile()) {
        const named = /^gitdir: (.+)$/m.exec(readRegularText(dotGit, 4096) ?? '')?.[1]?.trim();
        if (named) gitDir = resolve(d, named);
      }
    } catch {
      // nothing usable here: git looks further up too
    }
    if (gitDir) {
      const common = readRegularText(join(gitDir, 'commondir'), 4096)?.trim();
      const commonDir = common ? resolve(gitDir, common) : gitDir;
      return [join(gitDir, 'HEAD'), join(gitDir, 'config.worktree'), join(commonDir, 'config'), join(commonDir, 'HEAD')];
    }
    if (dirname(d) === d) return [];
  }
}

/** The files git reads on the calls ga makes, each of which must be a regular file when present. */
function gitFilesRead(repo: Repo): string[] {
  const files = [
    join(repo.gitDir, 'HEAD'),
    join(repo.commonDir, 'config'),
    join(repo.gitDir, 'config.worktree'),
    join(repo.gitDir, 'index'),
    join(repo.root, '.gitattributes'),
    join(repo.commonDir, 'info', 'attributes'),
    join(repo.commonDir, 'info', 'exclude'),
    join(repo.commonDir, 'packed-refs'),
  ];
  // The branch HEAD names, when it is a loose ref (read without git, and bounded).
  const ref = /^ref: (refs\/[^\s]+)\s*$/.exec(readRegularText(join(repo.gitDir, 'HEAD'), 4096) ?? '')?.[1];
  if (ref && !ref.split('/').includes('..')) files.push(join(repo.commonDir, ref));
  return files;
}

/** Refuses what git would follow behind ga's back; reads the local config on the way. */
async function assertSoundRepository(repo: Repo): Promise<void> {
  for (const [file, why] of [
    ['shallow', 'is a shallow clone: ga needs the whole history (git fetch --unshallow)'],
    ['info/grafts', 'has grafts (info/grafts), which can hide history; remove the file'],
    [
      'objects/info/alternates',
      'reads objects from elsewhere (objects/info/alternates); ga trusts only its own object store: run git repack -a -d, then remove the file',
    ],
  ] as const) {
    if (existsSync(join(repo.commonDir, file)) || existsSync(join(repo.gitDir, file))) throw new GovernanceRefusal(`${repo.root} ${why}`);
  }
  const files = [join(repo.commonDir, 'config')];
  if (existsSync(join(repo.gitDir, 'config.worktree'))) files.push(join(repo.gitDir, 'config.worktree'));
  for (const file of files) {
    const snapshot = await readConfigFile(repo.root, file);
    for (const key of snapshot.keys()) {
      if (REFUSED_KEYS.some((k) => k.test(key))) {
        throw new GovernanceRefusal(
          `${file} sets ${key}, which makes git run a program, read other config or send traffic elsewhere; ga refuses to act here: remove it (git config --local --unset ${key}) or move it to your global config`,
        );
      }
    }
    for (const [k, v] of snapshot) repo.local.set(k, v);
  }
}

const CONFIG_READ = 1024 * 1024;

/** One config file on its own: no includes followed, no other scope. Read in process when it has only the plain lines git writes, else by git. */
async function readConfigFile(cwd: string, file: string): Promise<ConfigSnapshot> {
  const plain = plainConfigFile(file);
  if (plain) return new Map([...plain].map(([key, value]) => [key, { value, scope: 'local' }]));
  const r = await git(['config', '--file', file, '--no-includes', '--list', '-z'], { cwd, allowFailure: true });
  if (r.code !== 0 && existsSync(file)) throw new GovernanceRefusal(`${file} is not a config file git can read: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  return parseConfigList(r.stdout.toString('utf8'), 'local');
}

/**
 * One config file read in process: its entries when it has only the plain
 * lines git writes (parseSimpleConfig), none when it is missing; undefined
 * for anything else (not a regular file, larger than CONFIG_READ, other
 * lines), which is git's to read.
 */
function plainConfigFile(file: string): Map<string, string> | undefined {
  if (fileKind(file) === 'missing') return new Map();
  const bytes = readRegular(file, CONFIG_READ + 1);
  return bytes && bytes.length <= CONFIG_READ ? parseSimpleConfig(bytes.toString('utf8')) : undefined;
}

function parseConfigList(text: string, scopeOf: string | ((i: number, parts: string[]) => string), scoped = false): ConfigSnapshot {
  const parts = text.split('\0');
  const snapshot: ConfigSnapshot = new Map();
  const step = scoped ? 2 : 1;
  for (let i = 0; i + step - 1 < parts.length; i += step) {
    const entry = parts[i + step - 1]!;
    if (!entry) continue;
    const nl = entry.indexOf('\n');
    const key = (nl < 0 ? entry : entry.slice(0, nl)).toLowerCase();
    const scope = typeof scopeOf === 'string' ? scopeOf : scopeOf(i, parts);
    snapshot.set(key, { value: nl < 0 ? 'true' : entry.slice(nl + 1), scope });
  }
  return snapshot;
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

export interface FileAt {
  oid: string;
  mode: string;
  content: Buffer;
}

/** A file at a commit, read through verified trees; undefined when absent or not a file. */
export function readFileAt(repo: Repo, commit: string | undefined, path: string): Promise<FileAt | undefined> {
  return commit ? repo.objects.blobAt(commit, path) : Promise.resolve(undefined);
}

/** Verified blobs by id; a missing one maps to undefined. */
export async function readBlobs(repo: Repo, oids: string[]): Promise<Map<string, Buffer | undefined>> {
  const unique = [...new Set(oids)];
  const objs = await repo.objects.getMany(unique);
  return new Map(unique.map((oid, i) => [oid, objs[i]?.type === 'blob' ? objs[i]!.content : undefined]));
}

/** Files under `prefix` at a commit (recursively), through verified trees. */
export async function listFilesAt(repo: Repo, commit: string, prefix: string): Promise<{ path: string; mode: string; oid: string }[]> {
  const c = await repo.objects.commit(commit);
  return repo.objects.listFiles(c.tree, prefix);
}

/** All of git config in one process: `config --list --show-scope -z`. */
async function readConfig(cwd: string): Promise<ConfigSnapshot> {
  const r = await git(['config', '--list', '--show-scope', '-z'], { cwd, allowFailure: true });
  return parseConfigList(r.stdout.toString('utf8'), (i, parts) => parts[i]!, true);
}

/**
 * What readConfig would answer, read in process (its process was a fifth of
 * `ga propose`): the system and global files (userConfigFiles), the
 * repository's own (already read: repo.local), and the settings ga gives
 * every git call. Undefined, so git is asked, when any file is not a plain
 * regular one (a link, quotes, escapes) or has includes, or when a
 * config.worktree may add a scope.
 */
export function readConfigInProcess(repo: Repo, env: NodeJS.ProcessEnv = process.env, program = gitProgram()): ConfigSnapshot | undefined {
  if (fileKind(join(repo.gitDir, 'config.worktree')) !== 'missing') return undefined;
  const files = userConfigFiles(env, program);
  if (!files) return undefined;
  const snapshot: ConfigSnapshot = new Map();
  for (const { file, scope } of files) {
    const plain = plainConfigFile(file);
    if (!plain) return undefined;
    for (const [key, value] of plain) {
      if (key.startsWith('include.') || key.startsWith('includeif.')) return undefined;
      snapshot.set(key, { value, scope });
    }
  }
  for (const [key, entry] of repo.local) snapshot.set(key, entry);
  for (const [key, value] of Object.entries(hardeningSettings())) snapshot.set(key.toLowerCase(), { value, scope: 'command' });
  return snapshot;
}

/**
 * A config value from any scope (the user's identity and signing key). A
 * Repo reads its config once per command. Anything that decides trust reads
 * `localConfig` instead: the repository's own file, no includes.
 */
export async function configGet(repo: Repo | string, key: string): Promise<string | undefined> {
  const snapshot = typeof repo === 'string' ? await readConfig(repo) : await configOf(repo);
  return snapshot.get(key.toLowerCase())?.value;
}

function configOf(repo: Repo): Promise<ConfigSnapshot> {
  return (repo.config ??= Promise.resolve(readConfigInProcess(repo) ?? readConfig(repo.root)));
}

/**
 * Whether the checked-out branch may have an upstream (`@{upstream}`): not
 * when HEAD names no branch, nor when no scope of the config sets
 * branch.<name>.merge, without which git knows no upstream (so git need not
 * be asked). A key whose subsection differs only in case counts as set.
 */
export async function mayHaveUpstream(repo: Repo): Promise<boolean> {
  const branch = await headRef(repo).catch(() => undefined);
  if (!branch) return false;
  const merge = `branch.${branch.slice('refs/heads/'.length)}.merge`.toLowerCase();
  for (const key of (await configOf(repo)).keys()) if (key.toLowerCase() === merge) return true;
  return false;
}

/**
 * Whether the repository's own config turns `key` on (a boolean, or
 * core.sharedRepository's modes): where git writes its files differently
 * (group permissions, a split index, a sparse checkout), ga leaves the
 * writing of them to git.
 */
export function localSettingOn(local: ConfigSnapshot, key: string): boolean {
  const v = local.get(key.toLowerCase())?.value.toLowerCase();
  return v !== undefined && !['false', 'no', 'off', '0', 'umask'].includes(v);
}

/** A value of the repository's own .git/config file itself, never an included or global one. */
export function localConfig(repo: Repo, key: string): string | undefined {
  return repo.local.get(key.toLowerCase())?.value;
}

export async function configSetLocal(repo: Repo, key: string, value: string): Promise<void> {
  await git(['config', '--file', join(repo.commonDir, 'config'), key, value], { cwd: repo.root });
  repo.local.set(key.toLowerCase(), { value, scope: 'local' });
  repo.config = undefined;
}

/**
 * True when the ref files plainly hold no ref under `prefix` (refs/replace/):
 * no loose ref directory for it, and no packed-refs line naming one. Any
 * other case (such a directory, an unreadable packed-refs, another ref
 * store) is undefined: ask git.
 */
function noRefsUnderFromFiles(repo: Repo, prefix: string): true | undefined {
  if (fileKind(join(repo.commonDir, 'reftable')) !== 'missing' || fileKind(join(repo.commonDir, prefix)) !== 'missing') return undefined;
  const packed = join(repo.commonDir, 'packed-refs');
  const kind = fileKind(packed);
  if (kind === 'missing') return true;
  if (kind !== 'file') return undefined;
  const text = readRegularText(packed, 64 * 1024 * 1024);
  return text !== undefined && !text.includes(` ${prefix}`) ? true : undefined;
}

async function countRoots(repo: Repo, tip: string, ...exclude: string[]): Promise<number> {
  return (await gitText(['rev-list', '--max-parents=0', tip, ...exclude, '--'], { cwd: repo.root })).split('\n').filter(Boolean).length;
}

/**
 * A memo of looks by Repo and key, for what cannot change under the key (a
 * commit id names its ancestors for good): one command or one daemon asks
 * once. At most 16 keys a Repo (a daemon looks at every new HEAD); a look
 * that failed is not kept.
 */
export function memoByRepo<T>(): (repo: Repo, key: string, look: () => Promise<T>) => Promise<T> {
  const memos = new WeakMap<Repo, Map<string, Promise<T>>>();
  return (repo, key, look) => {
    let memo = memos.get(repo);
    if (!memo) memos.set(repo, (memo = new Map()));
    let found = memo.get(key);
    if (!found) {
      if (memo.size >= 16) memo.clear();
      const kept = memo;
      found = look();
      kept.set(key, found);
      found.catch(() => kept.delete(key));
    }
    return found;
  };
}

const rootCounts = memoByRepo<number>();

/** How many root commits `tip` has behind it (all parents, not only the first); one git walk per Repo and commit, shared by the reading's check and the trust root's. */
export function rootCount(repo: Repo, tip: string): Promise<number> {
  return OID.test(tip) ? rootCounts(repo, tip, () => countRoots(repo, tip)) : countRoots(repo, tip);
}

/**
 * Refuses a history that could be hidden or rewritten under ga: replace refs,
 * or more than one root commit behind `tip`. For a history that grew from a
 * whole one (`grown.from`, the new commits read verified and linked to it),
 * only a merge among them can bring in another root.
 */
export async function assertHistoryIsWhole(repo: Repo, tip = 'HEAD', grown?: { from: string; merges: boolean }): Promise<void> {
  // Ref files that plainly hold no replace ref spare a git process (a daemon looks at every commit).
  const replace = noRefsUnderFromFiles(repo, 'refs/replace/')
    ? ''
    : await gitText(['for-each-ref', '--format=%(refname)', 'refs/replace/'], { cwd: repo.root });
  if (replace) {
    throw new GovernanceRefusal(`replace refs exist (${replace.split('\n')[0]}): they can hide commits; delete them with git replace -d`);
  }
  // Grown from a whole history: only a merge among the new commits can bring in a root, and one not behind `from` (a walk of the new commits).
  if (grown && (!grown.merges || (await countRoots(repo, tip, `^${grown.from}`)) === 0)) return;
  if ((await rootCount(repo, tip)) > 1) {
    throw new GovernanceRefusal(
      `${tip === 'HEAD' ? 'HEAD' : tip.slice(0, 12)} has more than one root commit: a second history was merged in; ga will not judge it`,
    );
  }
}
