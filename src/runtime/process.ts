// An agent (or hook) process that cannot outlive its stop: started in a PID
// namespace where the system allows it (`unshare --pid --fork --kill-child`,
// with a user namespace when not root), so that when its first process dies
// the kernel ends every process it started, whatever they did to leave its
// process group or session. Where no namespace can be had, stop() ends the
// process group, every descendant found by walking /proc, and every process
// that still carries the run's marker in its environment. Both streams are
// drained line by line and the last lines kept.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export type Containment = 'pid-namespace' | 'process-tree';

export interface AgentProcess {
  pid: number;
  /** Resolves when the process has exited and its streams are closed. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; started: boolean }>;
  /** SIGTERM to the group, then SIGKILL to everything it started after the grace period. */
  stop(graceMs?: number): void;
  /** The last lines of stdout and stderr. */
  tail(): string[];
  containment: Containment;
}

const TAIL_LINES = 20;
/** The longest line read from an agent's stream (a claude result carries its whole answer). */
const MAX_LINE = 4 * 1024 * 1024;

type Box = { prefix: string[]; containment: Containment };
let probed: Box | undefined;
let probing: Promise<Box> | undefined;

/** The `unshare` commands to try, most contained first. */
const candidates = (): string[][] =>
  process.getuid?.() === 0
    ? [['unshare', '--pid', '--fork', '--kill-child']]
    : [['unshare', '--user', '--map-current-user', '--pid', '--fork', '--kill-child']];

/**
 * What `unshare` that ran `true` gives: a shell is the namespace's first process, and the agent its child: the agent then gets
 * SIGTERM as any process does (a namespace's first process ignores it), and when the shell ends, the kernel ends everything
 * else in the namespace. Its stdin is passed on explicitly (through fd 9, so that fd 3, the spend report channel, reaches the
 * agent untouched).
 */
const contained = (unshare: string[]): Box => ({
  prefix: [...unshare, '/bin/sh', '-c', 'unset PWD OLDPWD; exec 9<&0; "$@" <&9 9<&- & wait $!', 'ga-contained'],
  containment: 'pid-namespace',
});
const PROBE = { stdio: 'ignore', timeout: 3000 } as const;

/** How this system lets ga contain a process tree; probed once per process (see probeContainment). */
export function containment(): Box {
  if (probed) return probed;
  for (const unshare of candidates()) {
    try {
      execFileSync(unshare[0]!, [...unshare.slice(1), 'true'], PROBE);
      return (probed = contained(unshare));
    } catch {
      // not allowed here: the process-tree walk is the fallback
    }
  }
  return (probed = { prefix: [], containment: 'process-tree' });
}

/**
 * The same probe, without blocking: a command that will start a process
 * (a hook, an agent) starts it early, so that it runs while history is
 * read; containment() then has the answer. The probe took 25 ms of
 * `ga execute`'s own time here when it waited on it.
 */
export function probeContainment(): Promise<Box> {
  if (probed) return Promise.resolve(probed);
  probing ??= (async () => {
    for (const unshare of candidates()) {
      const ok = await new Promise<boolean>((resolve) => execFile(unshare[0]!, [...unshare.slice(1), 'true'], PROBE, (e) => resolve(!e)));
      if (ok) return (probed ??= contained(unshare));
    }
    return (probed ??= { prefix: [], containment: 'process-tree' });
  })();
  return probing;
}

/** Every live process below `root` (by parent links in /proc). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of safeReaddir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Live processes whose environment carries `marker` (NAME=value), such as the run's GA_RUN. */
function carrying(marker: string): number[] {
  const out: number[] = [];
  for (const name of safeReaddir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`).toString('latin1').split('\0').includes(marker)) out.push(pid);
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Where `file` would run from, or why it cannot run: looked up before anything starts. */
export function resolveExecutable(file: string, pathVar: string | undefined, cwd: string): { path: string } | { missing: string } {
  const candidates = file.includes('/')
    ? [isAbsolute(file) ? file : resolve(cwd, file)]
    : (pathVar ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, file));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return { path: c };
    } catch {
      // try the next one
    }
  }
  return { missing: file.includes('/') ? `${file} does not exist or is not an executable file` : `${file} was not found on PATH` };
}

/** A process that never started: its `done` says so at once. */
function notStarted(why: string, box: Containment): AgentProcess {
  return { pid: -1, containment: box, done: Promise.resolve({ code: null, signal: null, started: false }), stop: () => undefined, tail: () => [why] };
}

export function startAgentProcess(
  file: string,
  args: string[],
  opts: {
    cwd: string;
    env: Record<string, string>;
    onStdoutLine?: (line: string) => void;
    /** Lines the process writes to its fd 3 (the spend report channel); without it fd 3 is not open. */
    onReportLine?: (line: string) => void;
    stdin?: string;
    marker?: string;
  },
): AgentProcess {
  const box = containment();
  const found = resolveExecutable(file, opts.env.PATH, opts.cwd);
  if ('missing' in found) return notStarted(`could not start ${file}: ${found.missing}`, box.containment);
  const [program, ...rest] = [...box.prefix, found.path, ...args];
  const child = spawn(program!, rest, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: opts.onReportLine ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    if (!line.trim()) return;
    tail.push(line.length > 500 ? `${line.slice(0, 500)}...` : line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const lines = (onLine: (l: string) => void) => {
    let buf = '';
    return {
      data: (b: Buffer) => {
        buf += b.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
        if (buf.length > MAX_LINE) {
          onLine(buf.slice(0, MAX_LINE)); // a line without end: cut, never held without bound
          buf = '';
        }
      },
      end: () => {
        if (buf) onLine(buf);
        buf = '';
      },
    };
  };
  const out = lines((l) => {
    keep(l);
    opts.onStdoutLine?.(l);
  });
  const err = lines(keep);
  child.stdout.on('data', out.data);
  child.stdout.on('end', out.end);
  child.stderr.on('data', err.data);
  child.stderr.on('end', err.end);
  const reports = child.stdio[3];
  if (opts.onReportLine && reports && 'on' in reports) {
    const report = lines((l) => opts.onReportLine!(l));
    reports.on('data', report.data);
    reports.on('end', report.end);
    reports.on('error', () => undefined);
  }
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.stdin ?? '');
  const pid = child.pid ?? -1;
  // Descendants seen while it runs: a double-forked orphan is found even after its parent is gone.
  const seen = new Set<number>();
  const watch = setInterval(() => {
    if (pid > 0) for (const p of descendants(pid)) seen.add(p);
  }, 200);
  watch.unref();
  const killAll = () => {
    if (pid > 0) {
      kill(-pid, 'SIGKILL');
      for (const p of [...seen, ...descendants(pid)]) kill(p, 'SIGKILL');
    }
    if (opts.marker) for (const p of carrying(opts.marker)) kill(p, 'SIGKILL');
  };
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; started: boolean }>((resolve) => {
    child.on('error', (e) => {
      keep(`could not start ${file}: ${e.message}`);
      clearInterval(watch);
      resolve({ code: null, signal: null, started: false });
    });
    child.on('close', (code, signal) => {
      clearInterval(watch);
      resolve({ code, signal, started: true });
    });
  });
  let killTimer: NodeJS.Timeout | undefined;
  void done.then(() => {
    if (killTimer) clearTimeout(killTimer);
    killAll(); // whatever the agent left behind
  });
  return {
    pid,
    done,
    containment: box.containment,
    stop(graceMs = 500) {
      if (pid > 0) kill(-pid, 'SIGTERM');
      killTimer ??= setTimeout(killAll, graceMs);
    },
    tail: () => [...tail],
  };
}

export interface CommandOutcome {
  /** Started at all (the program exists and is executable). */
  started: boolean;
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  durationMs: number;
  /** Last lines of stdout and stderr together. */
  tail: string[];
}

/**
 * Runs a trusted command (a decision hook, a notification) to its end in its
 * own process group, with `input` on stdin, stopped whole at the timeout.
 */
export async function runCommand(
  program: string,
  args: string[],
  o: { cwd: string; input: string; env: NodeJS.ProcessEnv; timeoutMs: number; whileRunning?: (ended: Promise<unknown>) => Promise<void> },
): Promise<CommandOutcome> {
  const started = Date.now();
  const env = Object.fromEntries(Object.entries(o.env).filter((e): e is [string, string] => e[1] !== undefined));
  await probeContainment();
  const p = startAgentProcess(program, args, { cwd: o.cwd, env, stdin: o.input });
  const beside = o.whileRunning?.(p.done); // work of ga's own, done while the program runs
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.stop(2000);
  }, o.timeoutMs);
  const { code, signal, started: ran } = await p.done;
  clearTimeout(timer);
  const outcome = { started: ran, exitCode: code, signal: signal ?? undefined, timedOut, durationMs: Date.now() - started, tail: p.tail() };
  await beside;
  return outcome;
}
