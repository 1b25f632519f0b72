// Shared fixtures: real temporary git repositories, real ssh-keygen keys,
// real signatures. Git config is isolated through GIT_CONFIG_GLOBAL in a
// temporary directory; the user's own config and home are never touched.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../src/cli/main.js';
import type { Clock } from '../../src/clock.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/ga.js');
/** The stand-in for the `claude` binary (GA_CLAUDE_BIN). */
export const FAKE_CLAUDE = join(ROOT, 'test/helpers/fake-claude.mjs');

export interface Person {
  name: string;
  email: string;
  key: string; // private key path; the public key is key + '.pub'
  pub: string; // "ssh-ed25519 AAAA..."
}

export interface Sandbox {
  dir: string;
  people: Record<string, Person>;
  /** Makes `who` the current git identity and signing key (global config of the sandbox). */
  as(who: string): void;
  /** A person with no signing key configured. */
  unsigned(): void;
  /** `who`'s line for policies/approvers. */
  approverLine(who: string): string;
  /** Points GA_CLAUDE_BIN at the fake claude (restored by cleanup). */
  useFakeClaude(): void;
  cleanup(): void;
}

const GIT_ENV = ['GIT_CONFIG_GLOBAL', 'GIT_CONFIG_NOSYSTEM', 'GA_AGENT', 'GA_CLAUDE_BIN'] as const;

/** Creates keys for `names` and points git's global config into the sandbox. */
export function sandbox(names: string[] = ['alice', 'bob', 'mallory']): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'ga-test-'));
  const saved = Object.fromEntries(GIT_ENV.map((k) => [k, process.env[k]]));
  const gitconfig = join(dir, 'gitconfig');
  const quiet = '[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n'; // no housekeeping in the middle of a test
  writeFileSync(gitconfig, quiet);
  process.env.GIT_CONFIG_GLOBAL = gitconfig;
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  delete process.env.GA_AGENT;
  const people: Record<string, Person> = {};
  for (const name of names) {
    const key = join(dir, `${name}_ed25519`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
    const pub = execFileSync('cat', [`${key}.pub`])
      .toString()
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
    people[name] = { name, email: `${name}@example.com`, key, pub };
  }
  const set = (k: string, v: string) => execFileSync('git', ['config', '--global', k, v]);
  return {
    dir,
    people,
    as(who) {
      const p = people[who]!;
      set('user.name', p.name);
      set('user.email', p.email);
      set('gpg.format', 'ssh');
      set('user.signingkey', `${p.key}.pub`);
    },
    approverLine(who) {
      const p = people[who]!;
      return `${p.email} namespaces="git" ${p.pub}\n`;
    },
    useFakeClaude() {
      process.env.GA_CLAUDE_BIN = FAKE_CLAUDE;
    },
    unsigned() {
      writeFileSync(gitconfig, `${quiet}[user]\n\tname = Nobody\n\temail = nobody@example.com\n`);
    },
    cleanup() {
      for (const k of GIT_ENV) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface GaResult {
  code: number;
  out: string;
  err: string;
  /** The last line of stdout (ga propose prints the id there). */
  last: string;
}

/** Runs the CLI in process (so coverage sees it), with an optional clock. */
export async function ga(args: string[], clock?: Clock): Promise<GaResult> {
  let out = '';
  let err = '';
  const io = { out: (t: string) => void (out += t.endsWith('\n') ? t : `${t}\n`), err: (t: string) => void (err += t.endsWith('\n') ? t : `${t}\n`) };
  const code = await run(args, io, clock);
  const lines = out.trim().split('\n');
  return { code, out, err, last: lines[lines.length - 1] ?? '' };
}

/** Runs the built binary as a separate process. */
export function gaProcess(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<GaResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => {
      const lines = out.trim().split('\n');
      resolvePromise({ code: code ?? -1, out, err, last: lines[lines.length - 1] ?? '' });
    });
  });
}

/** Plain git in a repository, as an agent or a person would run it (hooks and all). */
export function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: process.env }).trim();
}

/** Writes a file relative to a repository. */
export function write(repo: string, path: string, content: string): void {
  execFileSync('mkdir', ['-p', join(repo, path, '..')]);
  writeFileSync(join(repo, path), content);
}

/** A governance repository made by `ga init`, with alice as the first approver. */
export async function initRepo(sb: Sandbox, who = 'alice'): Promise<string> {
  sb.as(who);
  const repo = join(sb.dir, `repo-${Math.random().toString(36).slice(2, 8)}`);
  const r = await ga(['init', repo]);
  if (r.code !== 0) throw new Error(`ga init failed: ${r.err}`);
  return repo;
}

export const PUBLISH = `agent = "noop"
action_type = "publish_content"
title = "Publish the launch post"
rationale = "The post is reviewed."
[payload]
url = "https://example.com/launch"
`;

/** Submits a proposal from TOML text through a file; returns the result (id in .last). */
export async function propose(repo: string, toml: string, clock?: Clock): Promise<GaResult> {
  const file = join(repo, '..', `proposal-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, toml);
  return ga(['-C', repo, 'propose', '--file', file], clock);
}

export function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return { now: () => now, set: (s: string) => void (now = new Date(s)) };
}

/**
 * Budgets count spend in UTC calendar windows (a day, a month). A test that
 * spends now and then looks up to `spanMs` ahead expects one window; when the
 * next UTC midnight is closer than that, it waits until just past it, so the
 * test never straddles two windows (once a day at most, for `spanMs`).
 */
export async function clearOfUtcMidnight(spanMs: number): Promise<void> {
  const DAY = 86_400_000;
  const left = DAY - (Date.now() % DAY);
  if (left < spanMs) await new Promise((r) => setTimeout(r, left + 1000));
}

/** Commits on any ref that carry `event` for proposal `id`. */
export function eventCommits(repo: string, event: string, id: string): string[] {
  return git(repo, 'log', '--all', '--format=%H', '--all-match', `--grep=^Ga-Event: ${event}$`, `--grep=^Ga-Proposal: ${id}$`).split('\n').filter(Boolean);
}

/** An audit event's own file: `audit/<agent>/<YYYY-MM-DD>/<HH>/<event id>.json`. */
export const AUDIT_FILE = /^audit\/[^/]+\/\d{4}-\d{2}-\d{2}\/\d{2}\/\d{8}T\d{9}Z-[0-9a-f]{8}(?:-\d+)?\.json$/;

/**
 * The audit records of an agent ("_ga" for events that name none), oldest
 * first: the event files that the governed history added, in commit order.
 */
export function auditRecords(repo: string, agent: string): Record<string, any>[] {
  const added = git(repo, 'log', '--reverse', '--diff-filter=A', '--name-only', '--format=', '--', `audit/${agent}/`)
    .split('\n')
    .filter((f) => AUDIT_FILE.test(f));
  return added.map((f) => JSON.parse(readFileSync(join(repo, f), 'utf8')) as Record<string, any>);
}
