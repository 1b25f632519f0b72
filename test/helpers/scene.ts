// Scenes for attacks and checks: what an agent with a shell does with plain
// git (unsigned commits, planted objects and files), and how the tests read
// ga's verdict (ga verify's findings, whether a hook ran). Shared by the red
// team suites so that each attack is written once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { BIN, ga, git, propose, PUBLISH, write, type GaResult, type Sandbox } from './fixture.js';

export const HOOK = 'agents/noop/hooks/publish_content.sh';
export const APPROVERS = 'policies/approvers';
export const POLICY = 'policies/proposal_policy.toml';
export const WATCHDOG = 'policies/watchdog.toml';
export const PAUSED = 'agents/noop/PAUSED';
export const pendingPath = (id: string) => `proposals/pending/${id}.toml`;
export const approvedPath = (id: string) => `proposals/approved/${id}.toml`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds or `ms` pass (then fails with `what`). */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Submits a proposal (exit 0 expected); returns its id. */
export async function submit(repo: string, toml = PUBLISH): Promise<string> {
  const p = await propose(repo, toml);
  expect(p.code, p.err).toBe(0);
  return p.last;
}

/** What an agent does: an unsigned commit of whatever is staged. */
export function commitUnsigned(repo: string, message: string, ...extra: string[]): string {
  git(repo, '-c', 'commit.gpgSign=false', 'commit', '-q', ...extra, '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** A signed commit with the key that sb.as() selected. */
export function commitSigned(repo: string, message: string, ...config: string[]): string {
  git(repo, ...config, 'commit', '-q', '-S', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** Writes governed files and commits them signed by `who` (alice by default). */
export function commitGoverned(sb: Sandbox, repo: string, files: Record<string, string>, message = 'change governed files', who = 'alice'): string {
  sb.as(who);
  for (const [path, content] of Object.entries(files)) {
    write(repo, path, content);
    if (path.includes('/hooks/')) chmodSync(join(repo, path), 0o755);
    git(repo, 'add', path);
  }
  return commitSigned(repo, message);
}

/** A hook that appends one line to `counter` each time it runs (and prints `published: <title>`). */
export function countingHook(counter: string): string {
  return `#!/bin/sh\necho ran >> "${counter}"\necho "published: $(sed -n 's/.*"title": "\\(.*\\)",*/\\1/p' "$GA_PROPOSAL_FILE" | head -n 1)"\n`;
}

export const runsOf = (counter: string): number => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);

export interface Finding {
  commit: string;
  path: string;
  rule: string;
  explanation: string;
}

export interface Verified {
  code: number;
  findings: Finding[];
  raw: GaResult;
}

export async function verify(repo: string, ...args: string[]): Promise<Verified> {
  const r = await ga(['-C', repo, '--json', 'verify', ...args]);
  let findings: Finding[] = [];
  try {
    findings = (JSON.parse(r.out) as { findings: Finding[] }).findings;
  } catch {
    // an error prints nothing on stdout
  }
  return { code: r.code, findings, raw: r };
}

export async function expectClean(repo: string, ...args: string[]): Promise<void> {
  const v = await verify(repo, ...args);
  expect(v.findings, JSON.stringify(v.findings, null, 2) + v.raw.err).toEqual([]);
  expect(v.code, v.raw.err).toBe(0);
}

/** ga verify exits 1 with a finding of `rule` whose path or explanation matches `match`. */
export async function expectFinding(repo: string, rule: string, match?: RegExp, ...args: string[]): Promise<Finding[]> {
  const v = await verify(repo, ...args);
  const show = JSON.stringify(v.findings, null, 2) + v.raw.err;
  expect(v.code, show).toBe(1);
  const hits = v.findings.filter((f) => f.rule === rule && (!match || match.test(`${f.path} ${f.explanation}`)));
  expect(hits.length, `no ${rule} finding matching ${match} in ${show}`).toBeGreaterThan(0);
  return hits;
}

/** Replaces the body of a loose object while keeping its id (what only git fsck notices). */
export function swapLooseObject(repo: string, oid: string, type: 'blob' | 'tree' | 'commit', body: string | Buffer): void {
  const file = join(repo, '.git', 'objects', oid.slice(0, 2), oid.slice(2));
  expect(existsSync(file), `${oid} is not a loose object`).toBe(true);
  chmodSync(file, 0o644);
  writeLooseObject(join(repo, '.git', 'objects'), oid, type, body);
}

/** Writes a loose object file under `objectsDir` with any body at any id. */
export function writeLooseObject(objectsDir: string, oid: string, type: 'blob' | 'tree' | 'commit', body: string | Buffer): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  mkdirSync(join(objectsDir, oid.slice(0, 2)), { recursive: true });
  writeFileSync(join(objectsDir, oid.slice(0, 2), oid.slice(2)), deflateSync(Buffer.concat([Buffer.from(`${type} ${bytes.length}\0`), bytes])));
}

/** The blob id of `path` at `rev`. */
export const blobAt = (repo: string, rev: string, path: string) => git(repo, 'rev-parse', `${rev}:${path}`);

/** A ga process running in the background (a daemon, a waiting run), with its output collected. */
export interface Background {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number>;
  stop(): Promise<number>;
}

export function background(args: string[], env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Pids of live processes whose command line contains `token`. */
export function processesWith(token: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', token], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Live processes whose environment carries `marker` (NAME=value), such as a
 * run's GA_RUN. The way to find an agent's processes from outside: inside its
 * PID namespace, its own pid means nothing here.
 */
export function pidsCarrying(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`).toString('latin1').split('\0').includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') out.push(pid);
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

/** Kills every process whose environment carries `marker`: orphans a test left behind. */
export function killCarrying(marker: string): void {
  for (const pid of pidsCarrying(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
