// Governance events: the commit message (a sentence and trailers) and the
// event's own audit file in the same commit. Parsing trailers
// back is here too, so writing and reading share one definition.
import { rfc3339 } from '../clock.js';
import { visible, visibleLine } from '../text/visible.js';

export const EVENTS = [
  'proposal-submitted', 'proposal-auto-approved', 'proposal-approval-recorded', 'proposal-approved',
  'proposal-rejected', 'proposal-expired', 'proposal-claimed', 'proposal-executed', 'proposal-failed',
  'flag-self-approval', 'flag-invalid-approval', 'flag-bad-file', 'charge', 'run-started', 'run-finished',
  'run-refused', 'agent-paused', 'agent-resumed', 'policy-changed',
] as const;
export type EventName = (typeof EVENTS)[number];

export interface GaEvent {
  event: EventName;
  actor: string;
  agent?: string;
  proposal?: string;
  reason?: string;
  outcome?: string;
  /** Blob id of the proposal file an approval is bound to. */
  blob?: string;
  /** Run id, on run events and charges. */
  run?: string;
  /** Until when a claim or a reservation is live (RFC 3339), DESIGN "Leases". */
  lease?: string;
  /** USD a run-started holds back until its run finishes or its lease runs out. */
  reserved?: string;
  /** Extra data for the audit file only (exit codes, durations). */
  detail?: Record<string, unknown>;
}

const TRAILERS: [keyof GaEvent, string][] = [
  ['event', 'Ga-Event'],
  ['run', 'Ga-Run'],
  ['proposal', 'Ga-Proposal'],
  ['agent', 'Ga-Agent'],
  ['actor', 'Ga-Actor'],
  ['reason', 'Ga-Reason'],
  ['outcome', 'Ga-Outcome'],
  ['blob', 'Ga-Blob'],
  ['lease', 'Ga-Lease-Until'],
  ['reserved', 'Ga-Reserved-Usd'],
];

/** One line of a commit message, whatever the text held: git log is read on terminals too. */
const oneLine = (s: string) => visibleLine(s.replace(/[\t\n\r ]+/g, ' ').trim());

export function commitMessage(subject: string, events: GaEvent[], body?: string): string {
  const trailers = events.flatMap((e) =>
    TRAILERS.filter(([k]) => e[k] !== undefined).map(([k, name]) => `${name}: ${oneLine(String(e[k]))}`),
  );
  return [oneLine(subject), body === undefined ? undefined : visible(body).trim(), trailers.join('\n')].filter(Boolean).join('\n\n') + '\n';
}

/** The events a commit message names. A new group starts at each Ga-Event. */
export function parseTrailers(message: string): Partial<Record<keyof GaEvent, string>>[] {
  const groups: Partial<Record<keyof GaEvent, string>>[] = [];
  for (const line of message.split('\n')) {
    const m = /^(Ga-[A-Za-z][A-Za-z-]*): (.*)$/.exec(line);
    if (!m) continue;
    const key = TRAILERS.find(([, name]) => name === m[1])?.[0];
    if (!key) continue;
    if (key === 'event' || groups.length === 0) groups.push({});
    groups[groups.length - 1]![key] = m[2]!;
  }
  return groups;
}

/** The line the earlier layout appended to audit/<agent>.jsonl. */
export function auditLine(e: GaEvent, at: Date): string {
  const { detail, ...fields } = e;
  return JSON.stringify({ at: rfc3339(at), ...fields, ...(detail ?? {}) }) + '\n';
}

/** The content of an event's own file: the same object, with its id. */
export function auditRecord(e: GaEvent, at: Date, id: string): string {
  const { detail, ...fields } = e;
  return JSON.stringify({ id, at: rfc3339(at), ...fields, ...(detail ?? {}) }) + '\n';
}

