// A run's heartbeat and the tool calls it saw, under .ga/runs/: hints for
// the watchdog and `ga status`, never evidence for anything that lets a run go.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import type { Repo } from '../git/repo.js';
import { appendRegular } from '../runtime/files.js';
import { runHeartbeatFile, runsDir, toolCallsFile } from '../runtime/records.js';

export interface RunInfo {
  run: string;
  agent: string;
  task: string;
  adapter: string;
  runner_pid: number;
  agent_pid?: number;
  started_at: string;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly file: string;
  readonly toolsFile: string;

  constructor(
    repo: Repo,
    private readonly info: RunInfo,
    private readonly clock: Clock,
  ) {
    mkdirSync(runsDir(repo), { recursive: true });
    this.file = runHeartbeatFile(repo, info.run);
    this.toolsFile = toolCallsFile(repo, info.run);
  }

  start(intervalMs = 2000): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  beat(extra: Partial<RunInfo> = {}): void {
    Object.assign(this.info, extra);
    try {
      const tmp = `${this.file}.${process.pid}.tmp`;
      rmSync(tmp, { force: true, recursive: true });
      writeFileSync(tmp, JSON.stringify({ ...this.info, updated_at: this.clock.now().toISOString() }) + '\n', { flag: 'wx' });
      renameSync(tmp, this.file);
    } catch {
      // a hint only: the watchdog calls a run whose heartbeat stops stuck, which fails closed
    }
  }

  recordToolCall(call: { name: string; input: unknown }): void {
    appendRegular(this.toolsFile, JSON.stringify({ at: this.clock.now().toISOString(), name: call.name, input: call.input }) + '\n');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    rmSync(this.file, { force: true, recursive: true });
    rmSync(this.toolsFile, { force: true, recursive: true });
  }
}
