// What every benchmark shares: where ga is, statistics, and a sandbox whose
// git config (and throwaway SSH signing key) lives in a temporary directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin/ga.js');

const sorted = (xs) => [...xs].sort((a, b) => a - b);
export const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
export const p95 = (xs) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

/** Whether process `pid` is still there. */
export const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const parentOf = (pid) => {
  try {
    return Number(
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ')[1],
    );
  } catch {
    return 0;
  }
};
/**
 * The pid, as seen from here, of the agent's `sleep 600` among the
 * descendants of the runner `runnerPid`, once it is there (the agent's
 * shell says it started just before it becomes the sleep). The runner starts
 * an agent in a PID namespace of its own where the system allows it
 * (runtime/process.ts): the pid the agent sees of itself ($$) is not one
 * this process can signal.
 */
export async function agentOf(runnerPid, ms = 60_000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 2))) {
    for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (cmd !== 'sleep\u0000600\u0000') continue;
      for (let p = Number(name); p > 1; p = parentOf(p)) if (p === runnerPid) return Number(name);
    }
  }
  throw new Error(`the agent's sleep was not found under its runner (pid ${runnerPid}) within ${ms / 1000} s`);
}

/** Runs a program and returns its stdout; throws with its stderr on failure. */
export function run(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * A temporary directory with alice's SSH key and a git config of its own
 * (GIT_CONFIG_GLOBAL), so that nothing of the user's is read or written.
 */
export function sandbox(name, kept) {
  const dir = kept ?? mkdtempSync(join(tmpdir(), `ga-bench-${name}-`));
  for (const k of Object.keys(process.env)) if (k.startsWith('GIT_')) delete process.env[k];
  delete process.env.GA_AGENT;
  process.env.GIT_CONFIG_GLOBAL = join(dir, 'gitconfig');
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  const key = join(dir, 'alice');
  if (kept) return { dir, key }; // a sandbox kept from an earlier run: its key and config as they are
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
  writeFileSync(
    process.env.GIT_CONFIG_GLOBAL,
    `[user]\n\tname = Alice\n\temail = alice@example.com\n\tsigningkey = ${key}.pub\n[gpg]\n\tformat = ssh\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n`,
  );
  return { dir, key };
}
