// Reading state for people: `ga status` (health) and `ga scoreboard` (per
// agent spend, runs, proposals, pauses), as data; the CLI renders it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrustedAgent, trustedAgentIds } from '../agents/trusted.js';
import { budgetConfigProblem, budgetOf, type BudgetStatus } from '../budget/budget.js';
import { GaError } from '../errors.js';
import { watchdogSettings } from '../policy/watchdog.js';
import { hubSettings } from '../policy/hub.js';
import { readHubContact } from '../runtime/records.js';
import type { Clock } from '../clock.js';
import { git } from '../git/exec.js';
import { publicKeyLine, signingSetup } from '../git/signing.js';
import type { Governance } from '../history/replay.js';
import { pauseState } from '../agents/paused.js';
import { AGENTS_DIR, APPROVERS_PATH, isAgentDir, isGovernedPath, POLICIES_DIR, PROPOSAL_STATES } from '../layout/layout.js';
import { listFilesAt, localConfig } from '../git/repo.js';
import { fileKind, readRegular } from '../runtime/files.js';
import { indexEntriesUnder, type IndexEntry } from '../git/index-file.js';
import { objectId } from '../git/objects.js';
import { watchdogHealth, type WatchdogHealth } from '../runtime/liveness.js';

export interface UntrustedEdit {
  path: string;
  /**
   * untrusted-commit: HEAD holds a version that is not the trusted one;
   * staged: the index holds one (whoever commits next would carry it);
   * uncommitted: the work tree holds one; not-a-file: a link or special file
   * where a governed file is expected.
   */
  kind: 'untrusted-commit' | 'staged' | 'uncommitted' | 'not-a-file';
  commit?: string;
  why: string;
}

/**
 * Governed files whose committed, staged or working version is not the
 * trusted one. Each is ignored by ga (the trusted version stays in force);
 * they are listed so that nobody signs them by accident.
 */
export async function untrustedEdits(gov: Governance): Promise<UntrustedEdit[]> {
  const repo = gov.repo;
  const edits: UntrustedEdit[] = [];
  const seen = new Set<string>();
  const add = (e: UntrustedEdit) => {
    if (seen.has(`${e.kind} ${e.path}`)) return;
    seen.add(`${e.kind} ${e.path}`);
    edits.push(e);
  };
  // HEAD: only what HEAD still holds (an untrusted edit that a later signed commit replaced is gone).
  const head = new Map(
    (await Promise.all([POLICIES_DIR, AGENTS_DIR].map((p) => listFilesAt(repo, gov.head, p))))
      .flat()
      .filter((e) => isGovernedPath(e.path))
      .map((e) => [e.path, e.oid]),
  );
  const lastUntrusted = new Map(gov.untrusted.map((u) => [u.path, u]));
  for (const [path, oid] of head) {
    if (gov.trusted.get(path)?.blob === oid) continue;
    const u = lastUntrusted.get(path);
    add({ path, kind: 'untrusted-commit', commit: u?.commit, why: u?.why ?? 'HEAD holds a version that is not trusted' });
  }
  // The index: what the next plain `git commit` would carry.
  const staged = await stagedUnder(gov, [POLICIES_DIR, AGENTS_DIR]);
  const index = new Map<string, string>();
  for (const e of staged ?? []) if (isGovernedPath(e.path)) index.set(e.path, e.oid);
  for (const [path, oid] of index) {
    if (oid !== (head.get(path) ?? gov.trusted.get(path)?.blob) && oid !== gov.trusted.get(path)?.blob) {
      add({
        path,
        kind: 'staged',
        why: gov.trusted.has(path)
          ? 'staged in the index, different from its trusted version: a plain git commit would carry it (ignored unless signed)'
          : 'staged in the index with no trusted version (ignored unless signed)',
      });
    }
  }
  for (const path of head.keys())
    if (!index.has(path) && staged) add({ path, kind: 'staged', why: 'removed from the index: a plain git commit would delete it' });
  // The work tree: regular files hashed; anything else named.
  const { files, odd } = listGovernedWorkFiles(repo.root);
  for (const o of odd) add({ path: o.path, kind: 'not-a-file', why: `a ${o.kind} where a governed file is expected (ignored)` });
  // As git hash-object --no-filters hashes them: the bytes as they are (a file that went meanwhile hashes to nothing).
  const hashed = files.map((f) => {
    const bytes = readRegular(join(repo.root, f));
    return bytes && objectId('blob', bytes, gov.head.length);
  });
  files.forEach((f, i) => {
    if (gov.trusted.get(f)?.blob !== hashed[i] && head.get(f) !== hashed[i]) {
      add({ path: f, kind: 'uncommitted', why: gov.trusted.has(f) ? 'differs from its trusted version (ignored)' : 'has no trusted version (ignored)' });
    }
  });
  for (const path of gov.trusted.keys()) {
    if (fileKind(join(repo.root, path)) === 'missing') add({ path, kind: 'uncommitted', why: 'deleted in the work tree (the trusted version stays in force)' });
  }
  return edits;
}

/** The index's entries under `dirs` (every stage), read in process where it can be (git/index-file.ts); undefined when the index does not read. */
async function stagedUnder(gov: Governance, dirs: string[]): Promise<IndexEntry[] | undefined> {
  const read = indexEntriesUnder(gov.repo, dirs, gov.head.length);
  if (read) return read;
  const listed = await git(['ls-files', '-s', '-z', '--', ...dirs], { cwd: gov.repo.root, allowFailure: true });
  if (listed.code !== 0) return undefined;
  return listed.stdout
    .toString('utf8')
    .split('\0')
    .flatMap((entry) => {
      const m = /^(\d+) ([0-9a-f]+) (\d)\t(.*)$/s.exec(entry);
      return m ? [{ path: m[4]!, mode: m[1]!, oid: m[2]!, stage: Number(m[3]) }] : [];
    });
}

/** Governed files in the work tree: regular ones to hash, and anything else (links, FIFOs) to name; links are never followed. */
function listGovernedWorkFiles(root: string): { files: string[]; odd: { path: string; kind: string }[] } {
  const files: string[] = [];
  const odd: { path: string; kind: string }[] = [];
  const walk = (rel: string, depth: number) => {
    if (depth > 32) return;
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const child = `${rel}/${name}`;
      const kind = fileKind(join(root, child));
      if (kind === 'directory') {
        if (!child.endsWith('/workspace')) walk(child, depth + 1);
      } else if (isGovernedPath(child) || (kind !== 'file' && isAgentDir(child))) {
        if (kind === 'file') files.push(child);
        else odd.push({ path: child, kind });
      }
    }
  };
  for (const top of [POLICIES_DIR, AGENTS_DIR]) if (fileKind(join(root, top)) === 'directory') walk(top, 0);
  return { files: files.sort(), odd };
}

const startOfUtcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export interface AgentRow {
  agent: string;
  /** Undefined when the agent's files cannot be read (see error). */
  budget?: BudgetStatus;
  runsToday: number;
  runsTotal: number;
  proposals: Record<string, number>;
  paused: boolean;
  pauseWhy?: string;
  error?: string;
}

/** One row per trusted agent, or for the agents named in `only`. */
export async function scoreboard(gov: Governance, clock: Clock, only?: string[]): Promise<AgentRow[]> {
  const now = clock.now();
  const today = startOfUtcDay(now).getTime();
  const rows: AgentRow[] = [];
  for (const id of trustedAgentIds(gov).filter((a) => !only || only.includes(a))) {
    const runs = gov.runsFinished.filter((r) => r.agent === id).map((r) => r.at.getTime());
    const proposals: Record<string, number> = {};
    for (const state of PROPOSAL_STATES) {
      const n = gov.proposals.count({ agent: id, state });
      if (n) proposals[state] = n;
    }
    const pause = await pauseState(gov, id);
    try {
      const agent = await loadTrustedAgent(gov, id);
      rows.push({
        agent: id,
        budget: budgetOf(gov, id, agent.config, now),
        runsToday: runs.filter((t) => t >= today).length,
        runsTotal: runs.length,
        proposals,
        paused: pause.paused,
        pauseWhy: pause.why,
      });
    } catch (e) {
      rows.push({ agent: id, runsToday: 0, runsTotal: runs.length, proposals, paused: pause.paused, pauseWhy: pause.why, error: (e as Error).message });
    }
  }
  return rows;
}

/** What keeps trusted governed files from being used: a schema failure after a signed commit, a budget no run fits. */
async function governedProblems(gov: Governance, board: AgentRow[]): Promise<string[]> {
  const out: string[] = [];
  const check = async (what: () => Promise<unknown>) => {
    try {
      await what();
    } catch (e) {
      if (!(e instanceof GaError)) throw e;
      out.push(e.message);
    }
  };
  await check(() => gov.policy());
  await check(() => gov.approvers());
  const bad: { path: string; problem: string }[] = [];
  await watchdogSettings(gov, bad);
  out.push(...bad.map((b) => `${b.problem} (the watchdog uses its defaults until it is fixed)`));
  for (const row of board) {
    if (row.error) out.push(row.error);
    else {
      const agent = await loadTrustedAgent(gov, row.agent).catch(() => undefined);
      const problem = agent && budgetConfigProblem(row.agent, agent.config);
      if (problem) out.push(problem);
    }
  }
  return out;
}

/** Hooks git would run for the person: executable files in the hooks directory, and core.hooksPath in the repository's config. */
function gitHooks(repo: Governance['repo']): string[] {
  const found: string[] = [];
  const configured = localConfig(repo, 'core.hooksPath');
  if (configured) found.push(`core.hooksPath = ${configured} (in .git/config)`);
  const dir = join(repo.commonDir, 'hooks');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // no hooks directory
  }
  for (const name of names) {
    if (name.endsWith('.sample')) continue;
    try {
      const st = statSync(join(dir, name));
      if (st.isFile() && st.mode & 0o111) found.push(join(dir, name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function hubState(gov: Governance): Promise<Status['hub']> {
  let settings;
  try {
    settings = await hubSettings(gov);
  } catch (e) {
    if (!(e instanceof GaError)) throw e;
    return { urls: [], branch: '?', ahead: 0, behind: 0, problem: e.message };
  }
  if (!settings) return undefined;
  const contact = readHubContact(gov.repo);
  const counts = await git(['rev-list', '--left-right', '--count', `${gov.head}...refs/ga/hub/${settings.branch}`], { cwd: gov.repo.root, allowFailure: true });
  const [ahead, behind] = counts.code === 0 ? counts.stdout.toString('utf8').trim().split(/\s+/).map(Number) : [undefined, undefined];
  return {
    urls: settings.url,
    branch: settings.branch,
    ahead: ahead ?? Number((await git(['rev-list', '--count', gov.head], { cwd: gov.repo.root })).stdout.toString().trim()),
    behind: behind ?? 0,
    reached_at: contact?.reached_at,
    ...(counts.code === 0 ? {} : { problem: 'never fetched: run ga sync' }),
  };
}

export interface Status {
  repo: string;
  head: string;
  trustRoot: { commit: string; source: string };
  /** approver: whether the signing key is one policies/approvers trusts (a signature by another key counts for nothing). */
  signing: { ok: boolean; email?: string; problem?: string; approver?: boolean };
  watchdog: WatchdogHealth;
  /** The hub (policies/hub.toml): this clone's commits not in it and its commits not here, as of the last fetch, and when it was last reached. */
  hub?: { urls: string[]; branch: string; ahead: number; behind: number; reached_at?: string; problem?: string };
  /** Git hooks that run inside the person's own git commands (never inside ga's): each can change what a plain `git commit -S` signs. */
  gitHooks: string[];
  /** Trusted governed files that cannot be used as they are (schema failures, a budget no run fits): each names the file and the fix. */
  problems: string[];
  untrusted: UntrustedEdit[];
  pending: number;
  paused: { agent: string; why?: string }[];
  runsToday: number;
}

export async function status(gov: Governance, clock: Clock): Promise<Status> {
  const board = await scoreboard(gov, clock);
  const signing = await signingSetup(gov.repo);
  let approver: boolean | undefined;
  let signingProblem = signing.problem;
  if (signing.ok && signing.key) {
    try {
      const blob = publicKeyLine(signing.key).split(/\s+/)[1];
      approver = (await gov.approvers()).some((a) => a.key === blob && !a.certAuthority);
      if (!approver)
        signingProblem = `the signing key of ${signing.email} is not in ${APPROVERS_PATH}: your approvals and resumes will not count; an approver adds its line in a signed commit (ga commit ${APPROVERS_PATH})`;
    } catch (e) {
      if (!(e instanceof GaError)) throw e;
      approver = false;
      signingProblem = e.message;
    }
  }
  return {
    repo: gov.repo.root,
    head: gov.head,
    trustRoot: gov.root,
    signing: { ok: signing.ok, email: signing.email, problem: signingProblem, approver },
    watchdog: watchdogHealth(gov.repo, clock.now()),
    problems: await governedProblems(gov, board),
    gitHooks: gitHooks(gov.repo),
    hub: await hubState(gov),
    untrusted: await untrustedEdits(gov),
    pending: gov.proposals.live('pending').length,
    paused: board.filter((r) => r.paused).map((r) => ({ agent: r.agent, why: r.pauseWhy })),
    runsToday: board.reduce((n, r) => n + r.runsToday, 0),
  };
}
