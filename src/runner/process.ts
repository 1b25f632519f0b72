// An agent process in its own process group: both streams drained line by
// line, the last lines kept, and stop() ending the whole group.
import { spawn } from 'node:child_process';

export interface AgentProcess {
  pid: number;
  /** Resolves when the process has exited and its streams are closed. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the group, SIGKILL after the grace period. */
  stop(graceMs?: number): void;
  /** The last lines of stdout and stderr. */
  tail(): string[];
}

const TAIL_LINES = 20;

export function startAgentProcess(
  file: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; onStdoutLine?: (line: string) => void; stdin?: string },
): AgentProcess {
  const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
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
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.stdin ?? '');
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      keep(`could not start ${file}: ${e.message}`);
      resolve({ code: null, signal: null });
    });
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // the group is gone
    }
  };
  void done.then(() => {
    if (killTimer) clearTimeout(killTimer);
    signalGroup('SIGKILL'); // children the agent left behind in its group
  });
  return {
    pid: child.pid ?? -1,
    done,
    stop(graceMs = 500) {
      signalGroup('SIGTERM');
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), graceMs);
    },
    tail: () => [...tail],
  };
}
