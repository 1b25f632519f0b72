// Telling a live ga process from a file that claims one, and an agent's
// process from a person's. A pid in a file anyone can write proves nothing
// (pid 1 is always alive); what proves that a given ga daemon is running is
// the process itself, read from /proc: its start time (which a reused pid
// does not share), its state (a stopped or zombie process runs nothing), its
// program (node), its script (this installation's own bin/ga.js, by real
// path), its command line and the repository it works on. Likewise an agent
// is known by the markers the runner put in its environment (GA_AGENT,
// GA_RUN): on the process itself or on any process it descends from, since
// an agent can clear its own environment but not its ancestors'.
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
  /** Scheduler state (/proc/<pid>/stat field 3): R, S, D, T (stopped), t (traced), Z (zombie), X (dead)... */
  state: string;
  ppid: number;
  /** Process group and session (/proc/<pid>/stat fields 5 and 6). */
  pgrp: number;
  session: number;
  exe: string;
  argv: string[];
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const fields = statFields(pid);
    const startTicks = Number(fields[19]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      // another user's process, or a zombie: no exe to compare, so it cannot prove anything
    }
    return { pid, startTicks, state: fields[0] ?? '?', ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]), exe, argv };
  } catch {
    return undefined;
  }
}

/**
 * This process's pid as /proc names it. Inside a PID namespace (an agent's
 * containment) process.pid is the namespace's number, and /proc/<that> is
 * another process; /proc/self is always this one.
 */
function procSelf(): number {
  try {
    return Number(readlinkSync('/proc/self'));
  } catch {
    return process.pid;
  }
}

/** This process's identity, for a daemon to record where others can check it. */
export function ownIdentity(): ProcessIdentity {
  return (
    processIdentity(procSelf()) ??
    processIdentity(process.pid) ?? {
      pid: process.pid,
      startTicks: 0,
      state: 'R',
      ppid: process.ppid,
      pgrp: 0,
      session: 0,
      exe: process.execPath,
      argv: process.argv,
    }
  );
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

const nodeBinary = realOr(process.execPath);

/**
 * The script a ga process runs: this installation's bin/ga.js (what the
 * `ga` on PATH, npm's link and the runner's scratch `ga` all start), by real
 * path. This module sits two levels below the package root in src/, in
 * dist/ and in the bundle alike.
 */
export const GA_ENTRY = realOr(resolve(import.meta.dirname, '../../bin/ga.js'));

/** States of a process that runs nothing: stopped, stopped by a tracer, zombie, dead. */
const NOT_RUNNING: Record<string, string> = { T: 'stopped', t: 'stopped by a debugger', Z: 'a zombie', X: 'dead', x: 'dead' };

/** Values of NODE_OPTIONS that only tune node: anything else (--import, --require, --inspect ...) could make "ga" another program. */
const BENIGN_NODE_OPTION =
  /^--(max-old-space-size|max-semi-space-size|stack-size|enable-source-maps|no-warnings|no-deprecation|trace-warnings|trace-deprecation|trace-uncaught|pending-deprecation|unhandled-rejections|use-openssl-ca|use-bundled-ca|use-system-ca|openssl-legacy-provider|dns-result-order|max-http-header-size|tls-[a-z0-9-]+)(=[\w.:-]*)?$/;

/** Variables that load other code into any program, node included. */
const INJECTING = ['LD_PRELOAD', 'LD_AUDIT'];

function readEnviron(pid: number | 'self'): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`).toString('latin1').split('\0').filter(Boolean);
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/** Why an environment could turn a ga command line into another program, if it could. */
function injectedCode(environ: string[]): string | undefined {
  for (const entry of environ) {
    const eq = entry.indexOf('=');
    const [name, value] = [entry.slice(0, eq), entry.slice(eq + 1)];
    if (INJECTING.includes(name) && value.trim()) return `${name} is set`;
    if (name === 'NODE_OPTIONS') {
      const odd = value
        .split(/\s+/)
        .filter(Boolean)
        .find((o) => !BENIGN_NODE_OPTION.test(o));
      if (odd !== undefined) return `NODE_OPTIONS holds ${JSON.stringify(odd.slice(0, 60))}`;
    }
  }
  return undefined;
}

/** Whether `dir` is `root`, or a directory under it that git would not take for another repository. */
function withinRepository(dir: string, root: string): boolean {
  if (dir === root) return true;
  if (!dir.startsWith(root.endsWith(sep) ? root : root + sep)) return false;
  for (let d = dir; d !== root && d.length > root.length; d = dirname(d)) {
    if (existsSync(resolve(d, '.git'))) return false; // a repository of its own
  }
  return true;
}

/** A ga command line (argv after node) as ga's CLI reads the parts that matter here. */
interface GaArgs {
  positional: string[];
  /** -C's value; '' when given without one. */
  C?: string;
  flags: Set<string>;
  /** Options other than -C, --json and --once, as written. */
  unknown: string[];
}

/**
 * Reads a ga command line the way yargs reads ga's (`-C dir`, `-Cdir`,
 * `-C=dir`, `--C dir`, `--C=dir`, `--json`, `--once`, `--` ending the
 * options), without loading yargs (a tenth of a second on every command
 * that checks a process). Anything it does not know is `unknown`, so a
 * caller fails closed on a form it cannot read.
 */
function parseGaArgs(args: string[]): GaArgs {
  const out: GaArgs = { positional: [], flags: new Set(), unknown: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.positional.push(...args.slice(i + 1));
      break;
    }
    const c = /^--?C(=?)(.*)$/s.exec(a);
    if (c) {
      out.C = c[1] || c[2] ? c[2] : (args[++i] ?? '');
      continue;
    }
    if (a === '--json' || a === '--once') out.flags.add(a.slice(2));
    else if (a.startsWith('-') && a !== '-') out.unknown.push(a);
    else out.positional.push(a);
  }
  return out;
}

/**
 * Whether a ga command line (argv after node) runs `command` as a daemon on
 * the repository at `root`, read the way ga's CLI reads it (yargs: `-C dir`,
 * `-Cdir`, `-C=dir`, `--C dir`; no -C: the process's own directory). `cwd`
 * is the process's working directory. A one-shot `--once` or `--help` is
 * not a daemon, and a command line ga would refuse never runs one.
 */
export function gaDaemonArgs(args: string[], command: string, cwd: string, root: string): { ok: boolean; why: string } {
  const parsed = parseGaArgs(args);
  const positional = parsed.positional;
  if (positional.length !== 1 || positional[0] !== command) return { ok: false, why: `runs ga ${positional.join(' ') || '(nothing)'}, not ga ${command}` };
  if (parsed.unknown.length) return { ok: false, why: `runs ga ${command} with options ga does not take (${parsed.unknown.join(', ')})` };
  if (parsed.flags.has('once')) return { ok: false, why: `runs ga ${command} --once, which is not the daemon` };
  const c = parsed.C;
  if (c === '') return { ok: false, why: `runs ga ${command} with an unusable -C` };
  if (!isAbsolute(cwd)) return { ok: false, why: 'its working directory cannot be read' };
  const dir = c === undefined ? cwd : resolve(cwd, c);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return { ok: false, why: `works on ${dir}, which does not exist` };
  }
  if (!withinRepository(real, realOr(root))) return { ok: false, why: `works on ${real}, not on this repository (${root})` };
  return { ok: true, why: `works on ${real}` };
}

/**
 * Whether `claim` (a pid and start time read from a hint file) is a live ga
 * process running `command` (e.g. "watchdog") on the repository at `root`:
 * the same start time; a running process (not stopped, traced or a zombie);
 * the node binary running this installation's bin/ga.js as its script, with
 * no environment that loads other code into it; that command as a daemon;
 * and this repository as the one it works on.
 */
export function isLiveGaProcess(claim: { pid: number; start_ticks: number }, command: string, root: string): { alive: boolean; why: string } {
  const p = processIdentity(claim.pid);
  const no = (why: string) => ({ alive: false, why: `process ${claim.pid} ${why}` });
  if (!p) return { alive: false, why: `process ${claim.pid} is gone` };
  if (p.startTicks !== claim.start_ticks) return no('is another process than the one recorded (the pid was reused or forged)');
  const halted = NOT_RUNNING[p.state];
  if (halted) return no(`is ${halted} (state ${p.state})`);
  if (p.exe !== nodeBinary && p.exe !== process.execPath) return no('is not a node process');
  let cwd = '';
  try {
    cwd = readlinkSync(`/proc/${p.pid}/cwd`);
  } catch {
    return no('has a working directory ga cannot read');
  }
  const script = p.argv[1];
  if (script === undefined || realOr(resolve(cwd, script)) !== GA_ENTRY) return no(`is not ga ${command}: it does not run ${GA_ENTRY}`);
  const environ = readEnviron(p.pid);
  if (!environ) return no('has an environment ga cannot read');
  const injected = injectedCode(environ);
  if (injected) return no(`may not be ga ${command}: ${injected}`);
  const args = gaDaemonArgs(p.argv.slice(2), command, cwd, root);
  if (!args.ok) return no(args.why);
  // Re-read last: the process checked above is still the one recorded, and still running.
  const again = processIdentity(claim.pid);
  if (!again || again.startTicks !== claim.start_ticks || NOT_RUNNING[again.state]) return no('stopped while it was being checked');
  return { alive: true, why: `pid ${claim.pid}` };
}

/** The work tree git would find from `dir` (the nearest directory up that holds a .git), found without running git. */
export function workTreeOf(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(resolve(d, '.git'))) return realOr(d);
    if (dirname(d) === d) return undefined;
  }
}

/** The signal `ga pause` sends a runner of this repository directly, so that a pause whose commit cannot land still stops the agent. */
export const PAUSE_SIGNAL = 'SIGUSR2';

/**
 * The live `ga run <agent>` processes of this user that run one of `agents`
 * on the repository at `root`, judged as the watchdog's liveness is: the node
 * binary running this installation's bin/ga.js, `run <agent>` on its command
 * line, `-C` (or its working directory) inside this repository. `ga pause`
 * signals them directly, so a pause stops a run even when the agent has made
 * the marker hard to see (a checkout, a detached HEAD, a broken config).
 */
export function localRunners(root: string, agents?: readonly string[]): { pid: number; agent: string }[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const realRoot = realOr(root);
  const self = procSelf();
  const found: { pid: number; agent: string }[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (pid === self || pid === process.pid) continue;
    const p = processIdentity(pid);
    if (!p || NOT_RUNNING[p.state] || (p.exe !== nodeBinary && p.exe !== process.execPath)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    const script = p.argv[1];
    if (script === undefined || realOr(resolve(cwd, script)) !== GA_ENTRY) continue;
    const parsed = parseGaArgs(p.argv.slice(2));
    const [command, agent] = parsed.positional;
    if (command !== 'run' || agent === undefined || (agents && !agents.includes(agent))) continue;
    const dir = parsed.C ? resolve(cwd, parsed.C) : cwd;
    if (withinRepository(realOr(dir), realRoot)) found.push({ pid, agent });
  }
  return found;
}

// ---------------------------------------------------------------- inside an agent?

/** The variables the runner gives every agent process (src/runner/env.ts); either one marks an agent. */
export const AGENT_MARKERS = ['GA_AGENT', 'GA_RUN'] as const;

export interface AgentContext {
  /** The agent's id when GA_AGENT names it, else undefined. */
  agent?: string;
  /** Which marker was found where, e.g. "GA_RUN=r-1 on process 1234 (sh)". */
  evidence: string;
}

function markerIn(entries: Iterable<[string, string | undefined]>): [string, string] | undefined {
  for (const [k, v] of entries) {
    if ((AGENT_MARKERS as readonly string[]).includes(k) && v) return [k, v];
  }
  return undefined;
}

function environMarker(pid: number | 'self'): [string, string] | undefined {
  const environ = readEnviron(pid);
  if (!environ) return undefined;
  return markerIn(environ.map((e): [string, string] => [e.slice(0, Math.max(0, e.indexOf('='))), e.slice(e.indexOf('=') + 1)]));
}

function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * Whether this process runs inside an agent: GA_AGENT or GA_RUN in its
 * environment (now, or as it was started), or in the environment of any
 * process it descends from, or of its process group's or session's leader.
 * An agent that unsets GA_AGENT, or double-forks away from its parent,
 * still runs under the processes the runner started with the markers (in a
 * PID namespace, orphans are adopted by one of them). Environments ga cannot
 * read (another user's processes) are passed over. The one answer to "am I
 * an agent?" for everything ga refuses to do inside one.
 */
export function agentContext(env: NodeJS.ProcessEnv = process.env): AgentContext | undefined {
  const found = (where: string, [name, value]: [string, string]): AgentContext => ({
    agent: name === 'GA_AGENT' ? value : undefined,
    evidence: `${name}=${value} ${where}`,
  });
  const own = markerIn(Object.entries(env));
  if (own) return found('in its environment', own);
  const started = environMarker('self');
  if (started) return found('in the environment it was started with', started);
  const self = procSelf();
  const seen = new Set<number>([self]);
  const leaders: number[] = [];
  let pid = self;
  for (let depth = 0; depth < 4096; depth++) {
    let fields: string[];
    try {
      fields = statFields(pid);
    } catch {
      break;
    }
    if (depth === 0) leaders.push(Number(fields[2]), Number(fields[3]));
    const ppid = Number(fields[1]);
    if (!Number.isInteger(ppid) || ppid <= 0 || seen.has(ppid)) break;
    seen.add(ppid);
    const m = environMarker(ppid);
    if (m) return found(`on its ancestor process ${ppid} (${commandName(ppid)})`, m);
    pid = ppid;
  }
  for (const leader of leaders) {
    if (!Number.isInteger(leader) || leader <= 0 || seen.has(leader)) continue;
    seen.add(leader);
    const m = environMarker(leader);
    if (m) return found(`on its session or process group leader ${leader} (${commandName(leader)})`, m);
  }
  return undefined;
}
