// The only place that starts git (and ssh-keygen). Every git process runs
// hardened: nothing an agent writes into .git/config or .git/hooks runs
// inside ga, replace objects are ignored, and signing uses an absolute
// ssh-keygen, never a program named in repository config.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InternalError, UsageError } from '../errors.js';

let sshKeygenPath: string | undefined;

/** GA_TRACE=1 prints every program ga starts, and the steps it takes in process that grow with a repository, with their durations, on stderr. */
const TRACE = Boolean(process.env.GA_TRACE);

function traceLine(started: number, what: string): void {
  process.stderr.write(`ga trace: +${started.toFixed(0)} ms ${(performance.now() - started).toFixed(1)} ms  ${what}\n`);
}

/** Runs `fn`; under GA_TRACE, says how long it took, as `what`. */
export function traced<T>(what: string, fn: () => T): T {
  if (!TRACE) return fn();
  const started = performance.now();
  const r = fn();
  if (r instanceof Promise) return r.finally(() => traceLine(started, what)) as T;
  traceLine(started, what);
  return r;
}

/** Absolute path of ssh-keygen, looked up once on PATH. */
export function sshKeygen(): string {
  if (sshKeygenPath) return sshKeygenPath;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir.startsWith('/')) continue; // a relative PATH entry could be the agent's
    const candidate = join(dir, 'ssh-keygen');
    try {
      accessSync(candidate, constants.X_OK);
      sshKeygenPath = candidate;
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new UsageError('ssh-keygen was not found on PATH: install OpenSSH (apt-get install openssh-client)');
}

let gitProgramPath: string | null | undefined;

/**
 * The program `git` names for ga's calls, as the kernel will run it (links
 * resolved): the first executable `git` on PATH. Undefined when a relative
 * or empty PATH entry comes first, or PATH is unset (the lookup is then the
 * spawn's own to make).
 */
export function gitProgram(): string | undefined {
  if (gitProgramPath !== undefined) return gitProgramPath ?? undefined;
  gitProgramPath = null;
  for (const dir of process.env.PATH?.split(delimiter) ?? []) {
    if (!dir.startsWith('/')) break;
    const candidate = join(dir, 'git');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    try {
      gitProgramPath = realpathSync(candidate);
    } catch {
      // left to the spawn
    }
    break;
  }
  return gitProgramPath ?? undefined;
}

/** Settings that would make git run other programs, forced off on every call (as `git -c`: the scope `command`). */
export function hardeningSettings(): Record<string, string> {
  return {
    'core.hooksPath': '/dev/null',
    'core.fsmonitor': 'false',
    'core.pager': 'cat',
    'core.quotePath': 'true',
    'gpg.ssh.program': sshKeygen(),
    'gpg.ssh.allowedSignersFile': '/dev/null',
    'gpg.program': '/bin/false',
    'gpg.openpgp.program': '/bin/false',
    'gpg.x509.program': '/bin/false',
    'log.showSignature': 'false',
    'log.mailmap': 'false',
    'commit.gpgSign': 'false',
    'color.ui': 'false',
    'diff.external': '',
    'protocol.ext.allow': 'never',
    'i18n.logOutputEncoding': 'UTF-8',
    'i18n.commitEncoding': 'UTF-8',
  };
}

function hardeningFlags(): string[] {
  return Object.entries(hardeningSettings()).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

/** Variables of the parent environment that git may see. All other GIT_* go. */
const GIT_ENV_KEPT = new Set(['GIT_CONFIG_GLOBAL', 'GIT_CONFIG_NOSYSTEM']);

export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GIT_') && !GIT_ENV_KEPT.has(k)) continue;
    env[k] = v;
  }
  env.GIT_NO_REPLACE_OBJECTS = '1';
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  return { ...env, ...extra };
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** Kill the program after this long (a hub that does not answer): exit code 124, "timed out" on stderr. */
  timeoutMs?: number;
  /** Sees stderr as it comes (a fetch's progress), besides collecting it. */
  onStderr?: (chunk: Buffer) => void;
}

export function runProgram(file: string, args: string[], opts: RunOptions & { baseEnv?: NodeJS.ProcessEnv }): Promise<RunResult> {
  const started = TRACE ? performance.now() : 0;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.baseEnv ?? { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      opts.onStderr?.(b);
    });
    child.on('error', (e) => reject(new InternalError(`could not start ${file}: ${e.message}`)));
    child.stdin.on('error', () => undefined); // the program may exit before reading
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (timedOut) err.push(Buffer.from(`timed out after ${opts.timeoutMs} ms\n`));
      if (TRACE)
        traceLine(
          started,
          `${file.split('/').pop()} ${args
            .filter((a, i) => a !== '-c' && args[i - 1] !== '-c')
            .join(' ')
            .slice(0, 120)}`,
        );
      const result = { code: timedOut ? 124 : (code ?? 128), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
      if (result.code !== 0 && !opts.allowFailure) {
        const first = result.stderr.trim().split('\n')[0] ?? '';
        reject(
          new InternalError(
            `${file.split('/').pop()} ${args
              .filter((a) => !a.startsWith('-c'))
              .slice(0, 3)
              .join(' ')} failed: ${first}`,
          ),
        );
        return;
      }
      resolve(result);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts one hardened git process and hands over its streams (a long-lived reader). */
export function startGit(args: string[], opts: { cwd: string; env?: Record<string, string> }): ChildProcessWithoutNullStreams {
  if (TRACE) process.stderr.write(`ga trace: start git ${args.join(' ').slice(0, 120)}\n`);
  return spawn('git', [...hardeningFlags(), ...args], { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs one hardened git command in a repository (or any directory). */
export function git(args: string[], opts: RunOptions): Promise<RunResult> {
  return runProgram('git', [...hardeningFlags(), ...args], { ...opts, baseEnv: gitEnv(opts.env) });
}

/** Runs git and returns stdout as trimmed text. */
export async function gitText(args: string[], opts: RunOptions): Promise<string> {
  const r = await git(args, opts);
  return r.stdout.toString('utf8').replace(/\n$/, '');
}
