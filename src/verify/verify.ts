// `ga verify`: the contract's rules checked against history, independently
// of whatever ga did at the time. Each finding: commit, path, rule, why.
import { EVENTS, parseTrailers } from '../audit/events.js';
import { GaError, GovernanceRefusal, UsageError } from '../errors.js';
import { git } from '../git/exec.js';
import { firstParentPatches, type FileDiff } from '../git/log.js';
import { configGet, listFilesAt, mayHaveUpstream, openRepo, readBlobs, resolveCommit, type Repo } from '../git/repo.js';
import { commitCount, commitsAfter, loadGovernance, placesInTimeline, type Commit, type ExecutionTrail, type Governance } from '../history/replay.js';
import type { ProposalRecord } from '../history/proposals.js';
import {
  agentConfigPath,
  agentOfLedgerPath,
  anyProposalPath,
  appendOnlyKind,
  AUDIT_DIR,
  LEDGER_DIR,
  parseAuditEventPath,
  proposalPath,
} from '../layout/layout.js';
import { parseAgent } from '../schema/agent.js';
import type { LedgerWindow } from '../ledger/ledger.js';
import { findTrustRoot } from '../trust/root.js';
import { trustedAgentIds } from '../agents/trusted.js';
import { verifyLedger } from '../ledger/ledger.js';
import { appendProblem } from '../ledger/history.js';
import { readHighWater } from '../trust/highwater.js';
import { appendDiffs } from './appended.js';
import {
  readCheckpoints,
  signCheckpoint,
  type AppendState,
  type Chain,
  type Checkpoint,
  type ChecksState,
  type ProposalFindingsOf,
  type TrailersOf,
  type TrailerState,
} from './checkpoint.js';

export interface VerifyFinding {
  commit: string;
  path: string;
  rule: string;
  explanation: string;
}

/** A signed checkpoint (verify/checkpoint.ts): its commit and who signed it. */
export interface CheckpointInfo {
  commit: string;
  principal: string;
}

export interface VerifyResult {
  root: string;
  head: string;
  checked: number;
  findings: VerifyFinding[];
  /** The checkpoint this run went on from; absent when it read all of history. */
  from?: CheckpointInfo;
  /** The checkpoint this run signed (`checkpoint: true`). */
  signed?: CheckpointInfo;
}

export interface VerifyOptions {
  range?: string;
  trust?: string;
  /** Reads all of history, not from a checkpoint. */
  noCache?: boolean;
  /** Signs a checkpoint at HEAD once the run is done (verify/checkpoint.ts). */
  checkpoint?: boolean;
}

/**
 * Every rule, against the history from the trust root (or a range of it).
 * A run of all of history goes on from this clone's newest signed
 * checkpoint when one holds (never from a file nobody signed); `noCache`
 * reads everything afresh. A repository ga refuses to read at all
 * (alternates, grafts, a refused config key, a corrupt object) is one
 * finding, rule "history".
 */
export async function verifyRepository(dir: string | Repo, opts: VerifyOptions = {}): Promise<VerifyResult> {
  let gov: Governance;
  let repo: Repo;
  let early: EarlyPatches | undefined;
  let chain: Chain | undefined;
  let from: Checkpoint | undefined;
  let upstream: Promise<string | undefined> | undefined;
  try {
    repo = typeof dir === 'string' ? await openRepo(dir) : dir;
    upstream = upstreamOf(repo); // asked now, while history is read (a failure is met where it is awaited)
    upstream.catch(() => undefined);
    const tip = opts.range?.includes('..') ? opts.range.split(/\.\.\.?/)[1] || 'HEAD' : 'HEAD';
    const whole = !opts.range && !opts.trust;
    if (opts.checkpoint && !whole) throw new UsageError('ga verify --checkpoint signs a checkpoint of all of history: give no range and no --trust');
    // A chain that cannot be read is no chain: all of history is read, which reports what is wrong.
    chain = whole && (opts.checkpoint || !opts.noCache) ? await readCheckpoints(repo).catch(() => undefined) : undefined;
    from = opts.noCache ? undefined : chain?.newest;
    // The diffs of the append-only check run while history is replayed: both take a while (from a checkpoint, they are made from the replay's own reading,
    // once the user's config says where no attributes file is: read now, while the replay goes on).
    if (from?.checks) void configGet(repo, 'core.attributesFile').catch(() => undefined);
    else early = await startAppendPatches(repo, tip, opts.trust ?? chain?.root).catch(() => undefined);
    gov = await loadGovernance(repo, { trust: opts.trust, at: tip, from: from?.place });
  } catch (e) {
    if (!(e instanceof GaError) || e.exitCode !== 1) throw e;
    return { root: '', head: '', checked: 0, findings: [{ commit: '-', path: '-', rule: 'history', explanation: e.message }] };
  }
  const inRange = opts.range ? await rangeCommits(repo, opts.range) : undefined;
  const findings: VerifyFinding[] = [];
  const add = (commit: string, path: string, rule: string, explanation: string) => {
    if (!inRange || inRange.has(commit) || commit === '-') findings.push({ commit, path, rule, explanation });
  };

  findings.push(...(await historyFindings(gov, opts.trust, await upstream)));
  for (const u of gov.untrusted) add(u.commit, u.path, 'governed-file', `change ignored: ${u.why}`);
  for (const u of gov.strays) add(u.commit, u.path, 'proposal-file', u.why);
  for (const f of gov.findings) add(f.commit, f.path, f.rule, f.why);
  const proposals = proposalFindings(gov, add, from && gov.savedAt === from.commit ? from.checks?.proposals : undefined);
  const append = await appendOnlyFindings(gov, add, [LEDGER_DIR, AUDIT_DIR], { saved: from?.checks?.append, early, windows: await trustedWindows(gov) });
  const trailers = trailerFindings(gov, add, from?.checks);
  const result: VerifyResult = { root: gov.root.commit, head: gov.head, checked: inRange ? inRange.size : commitCount(gov) + 1, findings };
  if (from && gov.savedAt === from.commit) result.from = { commit: from.commit, principal: from.principal };
  if (opts.checkpoint) {
    if (!chain) throw new GovernanceRefusal(`no checkpoint written: the trust root's approvers could not be read in ${repo.root}`);
    result.signed = await signCheckpoint(repo, gov, { append, trailers, proposals }, chain);
  }
  return result;
}

async function rangeCommits(repo: Repo, range: string): Promise<Set<string>> {
  const r = await git(['rev-list', '--end-of-options', range], { cwd: repo.root, allowFailure: true });
  if (r.code !== 0) throw new UsageError(`"${range}" is not a revision range here: give one such as origin/main..HEAD`);
  return new Set(r.stdout.toString().split('\n').filter(Boolean));
}

/** The commit the branch's upstream names, if it has one. */
async function upstreamOf(repo: Repo): Promise<string | undefined> {
  if (!(await mayHaveUpstream(repo))) return undefined;
  const r = await git(['rev-parse', '-q', '--verify', '@{upstream}'], { cwd: repo.root, allowFailure: true });
  const remote = r.stdout.toString().trim();
  return r.code === 0 && remote ? remote : undefined;
}

/** The history itself: the pinned root, and nothing dropped that a remote (`remote`, the upstream's commit) or ga has seen. */
async function historyFindings(gov: Governance, trust: string | undefined, remote: string | undefined): Promise<VerifyFinding[]> {
  const out: VerifyFinding[] = [];
  const repo = gov.repo;
  const contains = async (commit: string) => (await git(['merge-base', '--is-ancestor', commit, gov.head], { cwd: repo.root, allowFailure: true })).code === 0;
  if (trust) {
    const pinned = await resolveCommit(repo, trust);
    if (!(await contains(pinned))) out.push({ commit: pinned, path: '-', rule: 'history', explanation: `HEAD does not descend from the trust root ${trust}` });
  }
  if (remote && !(await contains(remote))) {
    const dropped = (await git(['rev-list', '--count', `${gov.head}..${remote}`], { cwd: repo.root })).stdout.toString().trim();
    out.push({
      commit: remote,
      path: '-',
      rule: 'history-rewritten',
      explanation: `HEAD does not contain its upstream ${remote.slice(0, 12)}: ${dropped} commit(s) of the remote's history were dropped or rewritten`,
    });
  }
  const mark = readHighWater(repo);
  if (mark && !(await contains(mark))) {
    out.push({
      commit: mark,
      path: '-',
      rule: 'history-rewritten',
      explanation: `HEAD no longer contains ${mark.slice(0, 12)}, the newest commit this clone's runner or watchdog saw`,
    });
  }
  return out;
}

export type Add = (commit: string, path: string, rule: string, explanation: string) => void;

/**
 * The proposal and execution rules, judged per proposal id. Going on from a
 * checkpoint (`saved`, its findings by id), an id whose record and trail are
 * both still as the checkpoint's reading packed them keeps the findings the
 * checkpoint had: nothing since has touched either, and their commits keep
 * their places in the timeline. Every other id is judged now. Returns the
 * findings by id, for the next checkpoint.
 */
function proposalFindings(gov: Governance, add: Add, saved: ProposalFindingsOf[] | undefined): ProposalFindingsOf[] {
  const order = placesInTimeline(gov);
  const byId = new Map<string, VerifyFinding[]>();
  const to = (id: string) => (commit: string, path: string, rule: string, explanation: string) => {
    const list = byId.get(id) ?? [];
    list.push({ commit, path, rule, explanation });
    byId.set(id, list);
  };
  let records: ProposalRecord[];
  let trails: Iterable<[string, ExecutionTrail]>;
  if (saved) {
    const touched = new Set([...gov.proposals.openIds(), ...gov.executions.openIds()]);
    for (const [id, findings] of saved) if (!touched.has(id)) byId.set(id, findings);
    records = gov.proposals.pick(touched);
    trails = [...touched].flatMap((id): [string, ExecutionTrail][] => {
      const t = gov.executions.get(id);
      return t ? [[id, t]] : [];
    });
  } else {
    records = gov.proposals.all();
    trails = gov.executions;
  }
  for (const r of records) {
    const found = to(r.id);
    let outcomes = 0;
    for (const s of r.steps) {
      const path = s.kind === 'approved' || s.kind === 'auto-approved' ? proposalPath('approved', r.id) : anyProposalPath(r.id);
      if ((s.kind === 'approved' || s.kind === 'auto-approved' || s.kind === 'approval-recorded') && s.valid === false)
        found(s.commit, path, 'approval', `${r.id}: ${s.why ?? 'not a valid approval'}`);
      if (s.kind === 'changed') found(s.commit, anyProposalPath(r.id), 'proposal-file', s.why ?? 'changed outside the rules');
      if (s.kind === 'submitted' && s.valid === false)
        found(
          s.commit,
          proposalPath('pending', r.id),
          'proposal-file',
          `${r.id} is a stray, not a validly submitted proposal: ${s.why}; it can never be named by a prefix or decided`,
        );
      if (s.kind === 'executed' || s.kind === 'failed') {
        outcomes++;
        const claim = gov.executions.get(r.id)?.claims[0];
        if (!claim || (order.get(claim.commit) ?? Infinity) > (order.get(s.commit) ?? -1))
          found(s.commit, proposalPath(s.kind, r.id), 'execution', `moved to ${s.kind}/ without an earlier claim`);
        if (outcomes > 1) found(s.commit, proposalPath(s.kind, r.id), 'execution', 'a second outcome for one proposal');
      }
    }
  }
  // A claim that no executor could have made: of a proposal that was never validly approved before it.
  for (const [id, trail] of trails) {
    const found = to(id);
    const r = gov.proposals.get(id);
    const approvedAt = r?.approval?.valid ? order.get(r.approval.commit) : undefined;
    for (const claim of trail.claims) {
      if (approvedAt === undefined || (order.get(claim.commit) ?? -1) < approvedAt) {
        found(
          claim.commit,
          proposalPath('approved', id),
          'execution',
          `a claim of ${id}, which is not validly approved${r ? '' : ' (no such proposal)'}: no executor makes one`,
        );
      }
    }
    if (trail.claims.length > 1) found(trail.claims[1]!.commit, proposalPath('approved', id), 'execution', `a second claim of ${id}`);
  }
  const out = [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [, findings] of out) for (const f of findings) add(f.commit, f.path, f.rule, f.explanation);
  return out;
}

/** The window of each agent's trusted agent.toml, for each commit of the timeline (ledger lines must name it). */
async function trustedWindows(gov: Governance): Promise<(agent: string, commit: string) => LedgerWindow | undefined> {
  const order = placesInTimeline(gov);
  const changes = new Map<string, { at: number; blob: string | undefined }[]>();
  for (const t of gov.trustedLog) {
    const list = changes.get(t.path) ?? [];
    list.push({ at: order.get(t.commit) ?? -1, blob: t.blob });
    changes.set(t.path, list);
  }
  const blobs = await readBlobs(
    gov.repo,
    [...changes.values()]
      .flat()
      .map((c) => c.blob)
      .filter((b): b is string => b !== undefined),
  );
  const windowOf = new Map<string, LedgerWindow | undefined>();
  for (const [oid, text] of blobs) {
    try {
      windowOf.set(oid, text ? parseAgent(text.toString('utf8'), agentConfigPath('?')).budget.window : undefined);
    } catch {
      windowOf.set(oid, undefined);
    }
  }
  return (agent, commit) => {
    const at = order.get(commit) ?? Infinity;
    const list = changes.get(agentConfigPath(agent)) ?? [];
    let blob: string | undefined;
    for (const c of list) if (c.at <= at) blob = c.blob;
    return blob ? windowOf.get(blob) : undefined;
  };
}

/** The append-only diffs, started before the replay on the range it will most likely need. */
interface EarlyPatches {
  root: string;
  tip: string;
  from: string;
  patches: Promise<Map<string, FileDiff[]>>;
}

async function startAppendPatches(repo: Repo, tipRev: string, rootRev: string | undefined): Promise<EarlyPatches> {
  const tip = await resolveCommit(repo, tipRev);
  const root = rootRev ? await resolveCommit(repo, rootRev) : (await findTrustRoot(repo)).commit;
  const from = `${root}^@`;
  const patches = firstParentPatches(repo, [tip, `^${from}`], [LEDGER_DIR, AUDIT_DIR]);
  patches.catch(() => undefined); // a wrong guess is dropped; the check recomputes
  return { root, tip, from, patches };
}

/** A checkpoint's append-only state, and the commits after it, if it was made on this history. */
function onThisHistory(gov: Governance, st: AppendState | undefined): { saved: AppendState; after: Commit[] } | undefined {
  const after = st && st.root === gov.root.commit ? commitsAfter(gov, st.commit) : undefined;
  return st && after ? { saved: st, after } : undefined;
}

/**
 * Ledger and audit files only grow; ledger chains and totals hold; audit
 * lines match trailers. `paths` narrows it; `saved` (a signed checkpoint's)
 * lets it start from where that run stopped. Returns where it stopped now.
 */
export async function appendOnlyFindings(
  gov: Governance,
  add: Add,
  paths: string[] = [LEDGER_DIR, AUDIT_DIR],
  opts: { saved?: AppendState; early?: EarlyPatches; windows?: (agent: string, commit: string) => LedgerWindow | undefined } = {},
): Promise<AppendState> {
  const auditChecked = paths.includes('audit');
  const on = onThisHistory(gov, opts.saved);
  const saved = on?.saved;
  const earlyFits =
    opts.early && opts.early.root === gov.root.commit && opts.early.tip === gov.head && opts.early.from === (saved?.commit ?? `${gov.root.commit}^@`);
  const lineCount = new Map<string, number>(saved?.lineCount);
  const ledgerText = new Map<string, { text: string; addedBy: string[] }>(saved?.ledgers);
  const findings: VerifyFinding[] = [...(saved?.findings ?? [])];
  const record: Add = (commit, path, rule, explanation) => findings.push({ commit, path, rule, explanation });
  // A root pinned after the start: its parent's files are where the appends begin.
  const before = gov.rootCommit.parents[0];
  if (before && !saved) {
    const entries = [...(await listFilesAt(gov.repo, before, LEDGER_DIR)), ...(await listFilesAt(gov.repo, before, AUDIT_DIR))].filter((e) =>
      appendOnlyKind(e.path),
    );
    const blobs = await readBlobs(
      gov.repo,
      entries.map((e) => e.oid),
    );
    for (const e of entries) {
      const text = blobs.get(e.oid)?.toString('utf8') ?? '';
      const n = text.split('\n').length - 1;
      lineCount.set(e.path, n);
      if (appendOnlyKind(e.path)?.kind === 'ledger') ledgerText.set(e.path, { text, addedBy: Array<string>(n).fill('') });
    }
  }
  const from = saved ? saved.commit : `${gov.root.commit}^@`;
  const patches =
    (on && (await appendDiffs(gov.repo, on.after, paths))) ||
    (earlyFits ? await opts.early!.patches : await firstParentPatches(gov.repo, [gov.head, `^${from}`], paths));
  for (const c of on ? on.after : [gov.rootCommit, ...gov.commits]) {
    const diffs = patches.get(c.id) ?? [];
    const auditAdded: AuditAdded[] = [];
    for (const d of diffs) {
      if (auditChecked && d.path.startsWith(`${AUDIT_DIR}/`) && !appendOnlyKind(d.path) && d.path !== `${AUDIT_DIR}/.gitkeep`) {
        eventFileFinding(c, d, auditAdded, record);
        continue;
      }
      const m = appendOnlyKind(d.path);
      if (!m) continue;
      const problem = appendProblem(d, lineCount.get(d.path) ?? 0);
      if (problem) {
        record(c.id, d.path, `${m.kind}-append-only`, problem);
        lineCount.set(d.path, d.deleted ? 0 : Math.max(0, (lineCount.get(d.path) ?? 0) + d.hunks.reduce((n, h) => n + h.newCount - h.oldCount, 0)));
        if (m.kind === 'ledger') ledgerText.delete(d.path);
        continue;
      }
      const added = d.hunks.flatMap((h) => h.added);
      lineCount.set(d.path, (lineCount.get(d.path) ?? 0) + added.length);
      if (m.kind === 'audit') auditAdded.push(...added.map((text) => ({ agent: m.agent, path: d.path, text })));
      else {
        const l = ledgerText.get(d.path) ?? { text: '', addedBy: [] };
        l.text += added.map((a) => `${a}\n`).join('');
        l.addedBy.push(...added.map(() => c.id));
        ledgerText.set(d.path, l);
      }
    }
    if (c !== gov.rootCommit && auditChecked) auditMatchesTrailers(c, auditAdded, record);
  }
  const stopped = { root: gov.root.commit, commit: gov.head, lineCount: [...lineCount], ledgers: [...ledgerText], findings };
  for (const f of findings) add(f.commit, f.path, f.rule, f.explanation);
  for (const [path, l] of ledgerText) {
    const agent = agentOfLedgerPath(path);
    const window = opts.windows && agent ? (line: number) => (l.addedBy[line - 1] ? opts.windows!(agent, l.addedBy[line - 1]!) : undefined) : undefined;
    for (const p of verifyLedger(l.text, window).problems) {
      const commit = l.addedBy[p.line - 1];
      if (commit !== '') add(commit ?? '-', path, 'ledger-chain', `line ${p.line}: ${p.why}`); // '' = before the trust root
    }
  }
  return stopped;
}

/** An event's record as a commit added it: a line of an audit/<agent>.jsonl, or an event's own file. */
interface AuditAdded {
  agent: string;
  path: string;
  text: string;
  /** For an event's own file: the UTC day and hour its path files it under. */
  filed?: { day: string; hour: string; id: string };
}

/** A change under audit/ other than to an earlier-layout file: only a new event file is allowed. */
function eventFileFinding(c: Commit, d: FileDiff, added: AuditAdded[], add: Add): void {
  const e = parseAuditEventPath(d.path);
  if (!e) {
    add(c.id, d.path, 'audit', 'not an audit file: audit/ holds audit/<agent>/<YYYY-MM-DD>/<HH>/<event id>.json (or the earlier audit/<agent>.jsonl)');
  } else if (d.deleted) {
    add(c.id, d.path, 'audit-append-only', 'an audit file was removed: audit files are only ever added');
  } else if (d.created === undefined) {
    add(c.id, d.path, 'audit-append-only', 'an audit file was changed: audit files are only ever added');
  } else if (d.created !== '100644' || d.binary) {
    add(c.id, d.path, 'audit', 'an audit file that is not a regular text file');
  } else {
    added.push({ agent: e.agent ?? 'ga', path: d.path, text: d.hunks.flatMap((h) => h.added).join('\n'), filed: e });
  }
}

function auditMatchesTrailers(c: Commit, added: AuditAdded[], add: Add): void {
  // A merge's diff against its first parent carries the audit records of the commits it brings in.
  const messages = [...(c.merge?.brought ?? []).map((b) => b.message), c.message];
  const expected = messages
    .flatMap((m) => parseTrailers(m))
    .filter((t) => t.event)
    .map((t) => `${t.agent ?? 'ga'} ${t.event}`);
  const missing = [...expected];
  for (const a of added) {
    let j: { event?: unknown; at?: unknown; id?: unknown };
    try {
      j = JSON.parse(a.text) as typeof j;
      if (typeof j !== 'object' || j === null) throw new Error('not an object');
    } catch {
      add(c.id, a.path, 'audit', a.filed ? 'an audit file that is not one JSON object' : 'an audit line that is not JSON');
      continue;
    }
    if (a.filed) {
      const at = typeof j.at === 'string' ? new Date(j.at) : undefined;
      const iso = at && !Number.isNaN(at.getTime()) ? at.toISOString() : '';
      if (iso.slice(0, 10) !== a.filed.day || iso.slice(11, 13) !== a.filed.hour || j.id !== a.filed.id)
        add(c.id, a.path, 'audit', `an audit file whose path does not match its id and time (${String(j.id)}, ${String(j.at)})`);
    }
    const key = `${a.agent} ${String(j.event)}`;
    const i = missing.indexOf(key);
    if (i >= 0) missing.splice(i, 1);
    else add(c.id, a.path, 'audit', `an audit ${a.filed ? 'file' : 'line'} (${String(j.event)}) with no matching Ga-Event trailer in its commit`);
  }
  for (const m of missing) {
    const [agent, event] = m.split(' ');
    add(c.id, `${AUDIT_DIR}/${agent}/`, 'audit', `Ga-Event ${event} has no audit file in its commit`);
  }
}

/**
 * Every trailer names a known event, a proposal of history and a trusted
 * agent (as at HEAD: a later commit may make an earlier finding go). Going
 * on from a checkpoint (`saved`), its doubtful trailers are judged again
 * with those of the commits since, and the rest stand while every agent it
 * trusted still is (TrailerState); otherwise every commit's are judged.
 * Returns what the next checkpoint keeps.
 */
function trailerFindings(gov: Governance, add: Add, saved: ChecksState | undefined): TrailerState {
  const agents = new Set(['ga', ...trustedAgentIds(gov)]);
  const since = saved ? commitsAfter(gov, saved.append.commit) : undefined;
  const stand = since && saved!.trailers.agents.every((a) => agents.has(a));
  const doubtful: TrailersOf[] = [];
  const judge = (commit: string, ts: TrailersOf[1]) => {
    let found = false;
    const finding = (explanation: string) => {
      add(commit, '-', 'trailer', explanation);
      found = true;
    };
    for (const t of ts) {
      if (!t.event || !(EVENTS as readonly string[]).includes(t.event)) finding(`unknown Ga-Event "${t.event ?? ''}"`);
      if (t.proposal && !gov.proposals.has(t.proposal)) finding(`Ga-Proposal ${t.proposal} names no proposal in history`);
      if (t.agent && !agents.has(t.agent)) finding(`Ga-Agent ${t.agent} names no trusted agent`);
    }
    if (found) doubtful.push([commit, ts]);
  };
  if (stand) for (const [commit, ts] of saved!.trailers.doubtful) judge(commit, ts);
  for (const c of stand ? since : gov.commits) {
    const ts = parseTrailers(c.message).map(({ event, proposal, agent }) => ({ event, proposal, agent }));
    if (ts.length) judge(c.id, ts);
  }
  return { agents: [...agents].sort(), doubtful };
}
