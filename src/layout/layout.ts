// The repository layout (DESIGN "Repository layout", "Names and values"):
// the only place that builds or parses a governance path or matches an id.
// Writers and judges both ask here, so they can never disagree about a path.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';

// ---------------------------------------------------------------- ids

export const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const ACTION_TYPE = AGENT_ID;
export const TASK_NAME = AGENT_ID;
export const PROPOSAL_ID = /^[a-z0-9][a-z0-9-]{0,79}$/;
/** The shape of the ids ga assigns: only these can be named by a prefix. */
export const ASSIGNED_ID = /^\d{8}-\d{6}-\d{3}-[0-9a-z]{5}$/;

export function checkAgentId(id: string, where = 'agent id'): string {
  if (!AGENT_ID.test(id)) {
    throw new UsageError(`${where} "${id}" is not valid: use 1-64 of a-z 0-9 _ - starting with a letter or digit`);
  }
  return id;
}

export function checkProposalRef(ref: string): string {
  if (!PROPOSAL_ID.test(ref)) {
    throw new UsageError(`proposal id "${ref}" is not valid: use a-z 0-9 and -, as printed by ga propose or ga list`);
  }
  return ref;
}

export function checkTaskName(agent: string, task: string): string {
  if (!TASK_NAME.test(task)) throw new UsageError(`task "${task}" is not valid: use a-z 0-9 _ - (the file ${taskPath(agent, '<task>')})`);
  return task;
}

/**
 * A new id, sortable by creation time to the millisecond and unique through
 * a random suffix: 20261123-100000-123-k3f9a. Proposals, runs and events use it.
 */
export function newId(at: Date): string {
  const iso = at.toISOString(); // 2026-11-23T10:00:00.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${iso.slice(20, 23)}`;
  const suffix = randomBytes(4).readUInt32LE(0).toString(36).padStart(7, '0').slice(-5); // node:crypto's: the Web Crypto global loads its own modules first
  return `${stamp}-${suffix}`;
}

/** How ga run runs an agent (agent.toml's adapter): Claude Code, any program, or no model. */
export const ADAPTERS = ['claude', 'command', 'noop'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

// ---------------------------------------------------------------- policies

export const POLICIES_DIR = 'policies';
export const POLICY_PATH = 'policies/proposal_policy.toml';
export const APPROVERS_PATH = 'policies/approvers';
export const WATCHDOG_PATH = 'policies/watchdog.toml';
export const HUB_PATH = 'policies/hub.toml';
export const NOTIFY_PATH = 'policies/notify.toml';

// ---------------------------------------------------------------- agents

export const AGENTS_DIR = 'agents';
export const agentDir = (agent: string) => `${AGENTS_DIR}/${agent}`;
export const agentConfigPath = (agent: string) => `${agentDir(agent)}/agent.toml`;
export const allowlistPath = (agent: string) => `${agentDir(agent)}/tool_allowlist.toml`;
export const systemPromptPath = (agent: string) => `${agentDir(agent)}/CLAUDE.md`;
export const taskPath = (agent: string, task: string) => `${agentDir(agent)}/tasks/${task}.md`;
export const hooksDir = (agent: string) => `${agentDir(agent)}/hooks`;
export const pausePath = (agent: string) => `${agentDir(agent)}/PAUSED`;
export const workspaceDir = (agent: string) => `${agentDir(agent)}/workspace`;

export const hookPath = (agent: string, file: string) => `${hooksDir(agent)}/${file}`;

const AGENT_FILE = /^agents\/([^/]+)\/(agent\.toml|tool_allowlist\.toml|CLAUDE\.md|tasks\/.+|hooks\/.+)$/;

/** What counts as governed, in words (for help and errors). */
export const GOVERNED_FILES = "policies/**, and each agent's agent.toml, tool_allowlist.toml, CLAUDE.md, tasks/** and hooks/**";

/** Governed files: used only in their trusted version. */
export function isGovernedPath(path: string): boolean {
  return path.startsWith('policies/') || AGENT_FILE.test(path);
}

/** The agent whose directory holds this path (`agents/<id>/...`), if any. */
export function agentOfPath(path: string): string | undefined {
  return /^agents\/([^/]+)\//.exec(path)?.[1];
}

/** An agent directory itself (`agents/<id>`). */
export const isAgentDir = (path: string) => /^agents\/[^/]+$/.test(path);

/** The agent whose allowlist this path is, if it is one. */
export function agentOfAllowlistPath(path: string): string | undefined {
  return /^agents\/([^/]+)\/tool_allowlist\.toml$/.exec(path)?.[1];
}

/** The agent whose config this path is (`agents/<id>/agent.toml`), if it is one. */
export function agentOfConfigPath(path: string): string | undefined {
  const m = /^agents\/([^/]+)\/agent\.toml$/.exec(path);
  return m && AGENT_ID.test(m[1]!) ? m[1] : undefined;
}

/**
 * The agent whose pause marker this path is: `agents/<id>/PAUSED` itself, or
 * anything under it (a marker replaced by a directory is still a marker).
 */
export function agentOfPausePath(path: string): string | undefined {
  const m = /^agents\/([^/]+)\/PAUSED(?:\/.*)?$/.exec(path);
  return m?.[1];
}

// ---------------------------------------------------------------- proposals

export const PROPOSALS_DIR = 'proposals';
export const PROPOSAL_STATES = ['pending', 'approved', 'rejected', 'executed', 'failed', 'expired'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];
/** The states a proposal is still alive in: waiting for a person, or for the executor. The others are ended. */
export const LIVE_STATES = ['pending', 'approved'] as const;
export type LiveState = (typeof LIVE_STATES)[number];
export const isLiveState = (s: ProposalState | undefined): s is LiveState => s === 'pending' || s === 'approved';

export const proposalPath = (state: ProposalState, id: string) => `${PROPOSALS_DIR}/${state}/${id}.toml`;
export const proposalStateDir = (state: ProposalState) => `${PROPOSALS_DIR}/${state}`;
/** A proposal in whatever state (for reports about a proposal's whole life). */
export const anyProposalPath = (id: string) => `${PROPOSALS_DIR}/*/${id}.toml`;
export const isUnderProposals = (path: string) => path.startsWith(`${PROPOSALS_DIR}/`);

const PROPOSAL_FILE = /^proposals\/([a-z]+)\/(.+)\.toml$/;

/** `proposals/<state>/<id>.toml` split into its parts, or undefined for any other path. */
export function parseProposalPath(path: string): { state: ProposalState; id: string } | undefined {
  const m = PROPOSAL_FILE.exec(path);
  if (!m || !(PROPOSAL_STATES as readonly string[]).includes(m[1]!)) return undefined;
  if (!PROPOSAL_ID.test(m[2]!)) return undefined;
  return { state: m[1] as ProposalState, id: m[2]! };
}

/** A path under proposals/ that is not a proposal file (nor a directory's .gitkeep): never a proposal, always reported. */
export function isStrayProposalPath(path: string): boolean {
  return path.startsWith(`${PROPOSALS_DIR}/`) && !parseProposalPath(path) && !path.endsWith('/.gitkeep');
}

// ---------------------------------------------------------------- ledger and audit

export const LEDGER_DIR = 'ledger';
export const AUDIT_DIR = 'audit';
export const KEEP_DIRS = [...PROPOSAL_STATES.map((s) => proposalStateDir(s)), LEDGER_DIR, AUDIT_DIR] as const;

/** The ledger of an agent; the id becomes a path, so it is checked (no "..", no "/"). */
export function ledgerPath(agent: string): string {
  return `${LEDGER_DIR}/${checkAgentId(agent)}.jsonl`;
}

export function agentOfLedgerPath(path: string): string | undefined {
  const m = /^ledger\/([^/]+)\.jsonl$/.exec(path);
  return m?.[1];
}

/** Events that name no agent go here: a name no agent id can take (ids start with a letter or digit). */
export const NO_AGENT_AUDIT_DIR = '_ga';

/**
 * The file of one event (DESIGN "Commits and the audit trail"):
 * `audit/<agent>/<YYYY-MM-DD>/<HH>/<event id>.json`, by UTC day and hour, so
 * that no directory grows large and no two clones ever write the same path.
 */
export function auditEventPath(agent: string | undefined, at: Date, eventId: string): string {
  const iso = new Date(at.getTime()).toISOString();
  return `${AUDIT_DIR}/${agent === undefined ? NO_AGENT_AUDIT_DIR : checkAgentId(agent)}/${iso.slice(0, 10)}/${iso.slice(11, 13)}/${eventId}.json`;
}

/** An event id: sortable by time (to the millisecond), then unique by a random tail. */
export const AUDIT_EVENT_ID = /^\d{8}T\d{6}\d{3}Z-[0-9a-f]{8}(?:-\d{1,6})?$/;

export interface AuditEventPath {
  /** The agent the event names, or undefined for events that name none. */
  agent: string | undefined;
  day: string;
  hour: string;
  id: string;
}

export function parseAuditEventPath(path: string): AuditEventPath | undefined {
  const m = /^audit\/([^/]+)\/(\d{4}-\d{2}-\d{2})\/(\d{2})\/([^/]+)\.json$/.exec(path);
  if (!m || !AUDIT_EVENT_ID.test(m[4]!)) return undefined;
  const agent = m[1] === NO_AGENT_AUDIT_DIR ? undefined : m[1]!;
  if (agent !== undefined && !AGENT_ID.test(agent)) return undefined;
  return { agent, day: m[2]!, hour: m[3]!, id: m[4]! };
}

/** The audit file of an agent in the earlier line-per-event layout (read, never written). */
export const auditPath = (agent: string) => `${AUDIT_DIR}/${agent}.jsonl`;

export function agentOfLegacyAuditPath(path: string): string | undefined {
  const m = /^audit\/([^/]+)\.jsonl$/.exec(path);
  return m?.[1];
}

/**
 * The agent an audit file (either layout) belongs to; "ga" for events that
 * name no agent (the earlier layout's name for them).
 */
export function agentOfAuditPath(path: string): string | undefined {
  const legacy = agentOfLegacyAuditPath(path);
  if (legacy !== undefined) return legacy;
  const e = parseAuditEventPath(path);
  return e ? (e.agent ?? 'ga') : undefined;
}

/** The agent a ledger, audit or agent path belongs to, if any. */
export function agentNamedBy(path: string): string | undefined {
  return agentOfLedgerPath(path) ?? agentOfAuditPath(path) ?? agentOfPath(path);
}

/** Append-only files: ledgers and audit logs in the earlier layout. */
export function appendOnlyKind(path: string): { kind: 'ledger' | 'audit'; agent: string } | undefined {
  const ledger = agentOfLedgerPath(path);
  if (ledger) return { kind: 'ledger', agent: ledger };
  const audit = agentOfLegacyAuditPath(path);
  return audit ? { kind: 'audit', agent: audit } : undefined;
}

// ---------------------------------------------------------------- review branches (DESIGN "Pull requests")

/** The hub branch a proposal waits on for review: ga/proposals/<id>. */
export const REVIEW_BRANCH_PREFIX = 'ga/proposals/';
/** Where a clone keeps its copies of the review branches. */
export const REVIEW_REFS = 'refs/ga/proposals/';
export const reviewRef = (id: string) => `${REVIEW_REFS}${id}`;
