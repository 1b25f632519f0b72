// The files under .ga/ that ga's processes leave for each other, each with
// one typed reader and writer: run heartbeats and tool calls, the
// watchdog's remembered bad files and notifications, the append-only check's
// saved state.
// They are hints that make things fast or visible, never evidence: a reader
// gets undefined for anything missing, malformed or not a regular file, and
// nothing it returns lets a hook run or an agent start.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { lazySchema } from '../schema/lazy.js';
import { fileKind, readJsonHint, readRegularText } from './files.js';
import { runtimeDir, type RepoPaths } from './lock.js';

/** Writes JSON atomically (a temporary file renamed over), never through whatever was planted at the path. */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true, recursive: true });
  writeFileSync(tmp, JSON.stringify(value) + '\n', { flag: 'wx' });
  renameSync(tmp, file);
}

function parsed<S extends z.ZodType>(schema: S, file: string, maxBytes?: number): z.output<S> | undefined {
  const r = schema.safeParse(readJsonHint(file, maxBytes));
  return r.success ? r.data : undefined;
}

// ---------------------------------------------------------------- runs

export const runsDir = (repo: RepoPaths) => join(runtimeDir(repo), 'runs');

export const runHeartbeatSchema = lazySchema(() =>
  z.object({
    run: z.string().min(1),
    agent: z.string().min(1),
    task: z.string().optional(),
    adapter: z.string().optional(),
    runner_pid: z.number().int(),
    agent_pid: z.number().int().optional(),
    started_at: z.string().optional(),
    updated_at: z.string(),
  }),
);
export type RunHeartbeat = z.output<ReturnType<typeof runHeartbeatSchema>>;

export const runHeartbeatFile = (repo: RepoPaths, run: string) => join(runsDir(repo), `${run}.json`);
export const toolCallsFile = (repo: RepoPaths, run: string) => join(runsDir(repo), `${run}.tools.jsonl`);

export function readRunHeartbeat(file: string): RunHeartbeat | undefined {
  return parsed(runHeartbeatSchema(), file);
}

/** The runs under .ga/runs/: each heartbeat file (parsed, or undefined when unreadable) and its tool calls file, if any. */
export function listRuns(repo: RepoPaths): { run: string; file: string; heartbeat: RunHeartbeat | undefined; tools?: string }[] {
  let names: string[];
  try {
    names = readdirSync(runsDir(repo));
  } catch {
    return [];
  }
  const runs = new Map<string, { run: string; file: string; heartbeat: RunHeartbeat | undefined; tools?: string }>();
  for (const name of names) {
    const m = /^(.+?)(\.json|\.tools\.jsonl)$/.exec(name);
    if (!m) continue;
    const run = m[1]!;
    const entry = runs.get(run) ?? { run, file: runHeartbeatFile(repo, run), heartbeat: undefined };
    if (m[2] === '.json') entry.heartbeat = readRunHeartbeat(entry.file);
    else entry.tools = join(runsDir(repo), name);
    runs.set(run, entry);
  }
  return [...runs.values()];
}

const toolCallSchema = lazySchema(() => z.object({ name: z.string(), input: z.unknown() }));

/** The tool calls a run recorded, one JSON object a line; a line that is not one is reported by number. */
export function readToolCalls(file: string): { calls: { name: string; input: unknown }[]; badLines: number[] } {
  const text = readRegularText(file, 16 * 1024 * 1024) ?? '';
  const lines = text.split('\n');
  const calls: { name: string; input: unknown }[] = [];
  const badLines: number[] = [];
  lines.forEach((line, i) => {
    if (!line) return;
    let c: unknown;
    try {
      c = JSON.parse(line);
    } catch {
      if (i < lines.length - 1) badLines.push(i + 1); // the last line may be an append in flight
      return;
    }
    const call = toolCallSchema().safeParse(c);
    if (call.success) calls.push({ name: call.data.name, input: call.data.input });
    else badLines.push(i + 1);
  });
  return { calls, badLines };
}

/** Retires a dead run's heartbeat so that it is not judged again. */
export function retireRunHeartbeat(file: string): void {
  try {
    if (fileKind(file) !== 'missing') renameSync(file, `${file}.stale`);
  } catch {
    // gone meanwhile
  }
}

// ---------------------------------------------------------------- the watchdog's heartbeat

export const watchdogHeartbeatSchema = lazySchema(() =>
  z.object({
    pid: z.number().int(),
    /** The process's start time (/proc/<pid>/stat field 22): a reused pid does not match it. */
    start_ticks: z.number().int(),
    started_at: z.string(),
    updated_at: z.string(),
  }),
);
export type WatchdogHeartbeat = z.output<ReturnType<typeof watchdogHeartbeatSchema>>;

export const watchdogHeartbeatFile = (repo: Pick<RepoPaths, 'root'>) => join(runtimeDir(repo), 'watchdog.json');

export function readWatchdogHeartbeat(repo: Pick<RepoPaths, 'root'>): WatchdogHeartbeat | undefined {
  return parsed(watchdogHeartbeatSchema(), watchdogHeartbeatFile(repo));
}

export function writeWatchdogHeartbeat(repo: Pick<RepoPaths, 'root'>, hb: WatchdogHeartbeat): void {
  writeJsonAtomic(watchdogHeartbeatFile(repo), hb);
}

// ---------------------------------------------------------------- the watchdog's memory of bad files

export const flagMemoryFile = (repo: RepoPaths) => join(runtimeDir(repo), 'watchdog-flags.json');

export function readFlagMemory(repo: RepoPaths): string[] {
  return parsed(z.array(z.string()), flagMemoryFile(repo)) ?? [];
}

export function writeFlagMemory(repo: RepoPaths, keys: string[]): void {
  writeJsonAtomic(flagMemoryFile(repo), keys);
}

// ---------------------------------------------------------------- what the watchdog has notified

/**
 * Notifications sent: every event of the commits up to `through` (by commit
 * id), and of the commits after it, those whose keys are in `done`. A hint:
 * forged, it can only make a notification be skipped or sent twice.
 */
export const notifyStateSchema = lazySchema(() => z.object({ through: z.string(), done: z.array(z.string()) }));
export type NotifyState = z.output<ReturnType<typeof notifyStateSchema>>;
export const notifyStateFile = (repo: RepoPaths) => join(runtimeDir(repo), 'notified.json');

export function readNotifyState(repo: RepoPaths): NotifyState | undefined {
  return parsed(notifyStateSchema(), notifyStateFile(repo));
}

export function writeNotifyState(repo: RepoPaths, state: NotifyState): void {
  writeJsonAtomic(notifyStateFile(repo), state);
}

// ---------------------------------------------------------------- the hub, last reached

/** When this clone last reached its hub, and the hub's tip then (for ga status; never evidence). */
export const hubContactSchema = lazySchema(() => z.object({ reached_at: z.string(), tip: z.string().optional() }));
export type HubContact = z.output<ReturnType<typeof hubContactSchema>>;

export const hubContactFile = (repo: Pick<RepoPaths, 'root'>) => join(runtimeDir(repo), 'hub.json');

export function readHubContact(repo: Pick<RepoPaths, 'root'>): HubContact | undefined {
  return parsed(hubContactSchema(), hubContactFile(repo));
}

export function writeHubContact(repo: Pick<RepoPaths, 'root'>, contact: HubContact): void {
  try {
    writeJsonAtomic(hubContactFile(repo), contact);
  } catch {
    // only a convenience for ga status
  }
}
