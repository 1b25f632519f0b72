// Telling a live ga process from a file that claims one. A pid in a file
// anyone can write proves nothing (pid 1 is always alive); what proves that
// a given ga daemon is running is the process itself: its start time (which
// a reused pid does not share), its program (node) and its command line.
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
  exe: string;
  argv: string[];
}

export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      // another user's process: no exe to compare, so it cannot prove anything
    }
    return { pid, startTicks, exe, argv };
  } catch {
    return undefined;
  }
}

/** This process's identity, for a daemon to record where others can check it. */
export function ownIdentity(): ProcessIdentity {
  return processIdentity(process.pid) ?? { pid: process.pid, startTicks: 0, exe: process.execPath, argv: process.argv };
}

const nodeBinary = (() => {
  try {
    return realpathSync(process.execPath);
  } catch {
    return process.execPath;
  }
})();

/**
 * Whether `claim` (a pid and start time read from a hint file) is a live ga
 * process running `command` (e.g. "watchdog"): same start time, a node
 * binary, and ga's entry point with that command on its command line.
 */
export function isLiveGaProcess(claim: { pid: number; start_ticks: number }, command: string): { alive: boolean; why: string } {
  const p = processIdentity(claim.pid);
  if (!p) return { alive: false, why: `process ${claim.pid} is gone` };
  if (p.startTicks !== claim.start_ticks) return { alive: false, why: `process ${claim.pid} is another process than the one recorded (the pid was reused or forged)` };
  if (p.exe !== nodeBinary && p.exe !== process.execPath) return { alive: false, why: `process ${claim.pid} is not a node process` };
  const entry = p.argv.findIndex((a) => /(^|\/)(bin\/ga(\.js)?|ga|main\.(m?js))$/.test(a));
  if (entry < 0 || !p.argv.slice(entry + 1).includes(command)) return { alive: false, why: `process ${claim.pid} is not ga ${command}` };
  return { alive: true, why: `pid ${claim.pid}` };
}
