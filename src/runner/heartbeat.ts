// A run's heartbeat and the tool calls it saw, under .ga/runs/: hints for
// the watchdog and `ga status`, never evidence for anything that lets a run go.
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Repo } from '../git/repo.js';
import { runtimeDir } from '../store/lock.js';

export interface RunInfo {
  run: string;
  agent: string;
  task: string;
  adapter: string;
  runner_pid: number;
  agent_pid?: number;
  started_at: string;
}

export const runsDir = (repo: Repo) => join(runtimeDir(repo), 'runs');

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly file: string;
  readonly toolsFile: string;

  constructor(repo: Repo, private readonly info: RunInfo, private readonly clock: Clock) {
    mkdirSync(runsDir(repo), { recursive: true });
    this.file = join(runsDir(repo), `${info.run}.json`);
    this.toolsFile = join(runsDir(repo), `${info.run}.tools.jsonl`);
  }

  start(intervalMs = 2000): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  beat(extra: Partial<RunInfo> = {}): void {
    Object.assign(this.info, extra);
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...this.info, updated_at: this.clock.now().toISOString() }) + '\n');
    renameSync(tmp, this.file);
  }

  recordToolCall(call: { name: string; input: unknown }): void {
    appendFileSync(this.toolsFile, JSON.stringify({ at: this.clock.now().toISOString(), name: call.name, input: call.input }) + '\n');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    rmSync(this.file, { force: true });
    rmSync(this.toolsFile, { force: true });
  }
}
