// Decision hooks: the trusted version of an agent's hooks/ copied into a
// private directory and run from there, never from the working tree.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Governance } from '../history/replay.js';
import { readBlobs } from '../git/repo.js';
import { hooksDir } from '../layout/layout.js';
import { proposalToJson, type Proposal } from '../schema/proposal.js';
import { runCommand } from '../runtime/process.js';

export type HookHandler = (proposal: Record<string, unknown>) => Promise<void> | void;
const registered = new Map<string, HookHandler>();

/**
 * Registers an in-process hook for an action type (programmatic use). A
 * trusted hook file of the agent takes precedence over it.
 */
export function registerHook(actionType: string, handler: HookHandler): void {
  registered.set(actionType, handler);
}

export interface HookOutcome {
  ran: 'file' | 'registered' | 'none';
  hook?: string;
  ok: boolean;
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  durationMs: number;
  /** Last lines of stdout and stderr together. */
  tail: string[];
}

export interface PreparedHooks {
  dir: string;
  files: Map<string, string>;
  refused: string[];
}

/**
 * Copies the trusted hooks/ of an agent into a fresh private directory (the
 * executor does this while its claim is being committed). Remove it with
 * `discardHooks` if the hook does not run.
 */
export async function prepareHooks(gov: Governance, agent: string): Promise<PreparedHooks> {
  const prefix = `${hooksDir(agent)}/`;
  const entries = [...gov.trusted].filter(([p]) => p.startsWith(prefix));
  const dir = mkdtempSync(join(tmpdir(), 'ga-hook-'));
  chmodSync(dir, 0o700);
  const objects = await readBlobs(
    gov.repo,
    entries.map(([, t]) => t.blob),
  );
  const files = new Map<string, string>();
  const refused: string[] = [];
  for (const [path, t] of entries) {
    const rel = path.slice(prefix.length);
    if (t.mode === '120000' || t.mode === '160000' || rel.split('/').includes('..')) {
      refused.push(rel);
      continue;
    }
    const dest = join(dir, rel);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, objects.get(t.blob) ?? '', { mode: t.mode === '100755' ? 0o700 : 0o600 });
    files.set(rel, t.mode);
  }
  return { dir, files, refused };
}

export function discardHooks(prepared: PreparedHooks): void {
  rmSync(prepared.dir, { recursive: true, force: true });
}

/**
 * Runs the trusted hook for `proposal`; `whileRunning` (ga's own work) is
 * done beside it, told when the program has ended, or before this returns
 * (told at once) when no program runs.
 */
export async function runHook(
  gov: Governance,
  proposal: Proposal,
  opts: { timeoutMs: number; prepared?: PreparedHooks; whileRunning?: (ended: Promise<unknown>) => Promise<void> },
): Promise<HookOutcome> {
  const started = Date.now();
  const json = proposalToJson(proposal);
  const { dir, files, refused } = opts.prepared ?? (await prepareHooks(gov, proposal.agent));
  try {
    const type = proposal.action_type;
    if (refused.some((r) => r === type || r.startsWith(`${type}.`))) {
      return {
        ran: 'file',
        hook: type,
        ok: false,
        exitCode: null,
        timedOut: false,
        durationMs: 0,
        tail: [`hook ${type} is a symlink or special file; refused`],
      };
    }
    const choice =
      [
        { name: `${type}.sh`, cmd: ['sh'] },
        { name: `${type}.mjs`, cmd: [process.execPath] },
        { name: `${type}.js`, cmd: [process.execPath] },
      ].find((c) => files.has(c.name)) ?? (files.get(type) === '100755' ? { name: type, cmd: [] as string[] } : undefined);
    if (!choice) {
      const handler = registered.get(type);
      if (!handler) return { ran: 'none', ok: true, exitCode: 0, timedOut: false, durationMs: 0, tail: [] };
      try {
        await handler(json);
        return { ran: 'registered', hook: type, ok: true, exitCode: 0, timedOut: false, durationMs: Date.now() - started, tail: [] };
      } catch (e) {
        return {
          ran: 'registered',
          hook: type,
          ok: false,
          exitCode: 1,
          timedOut: false,
          durationMs: Date.now() - started,
          tail: [String((e as Error).message ?? e)],
        };
      }
    }
    const proposalFile = join(dir, '.proposal.json');
    const input = JSON.stringify(json, null, 2) + '\n';
    writeFileSync(proposalFile, input, { mode: 0o600 });
    const file = join(dir, choice.name);
    const [program, ...args] = choice.cmd.length ? [...choice.cmd, file] : [file];
    const r = await runCommand(program!, args, {
      cwd: dir,
      input,
      env: { ...process.env, GA_PROPOSAL_FILE: proposalFile, GA_PROPOSAL_ID: proposal.id, GA_AGENT: proposal.agent, GA_REPO: gov.repo.root },
      timeoutMs: opts.timeoutMs,
      whileRunning: opts.whileRunning,
    });
    return {
      ran: 'file',
      hook: choice.name,
      ok: r.exitCode === 0 && !r.timedOut,
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      durationMs: Date.now() - started,
      tail: r.tail,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await opts.whileRunning?.(Promise.resolve());
  }
}
