// Recording governance events: one commit per operation holding its own
// paths plus one audit file per event (DESIGN "Commits and the audit trail").
import { randomBytes } from 'node:crypto';
import { auditRecord, commitMessage, type GaEvent } from './events.js';
import { auditEventPath } from '../layout/layout.js';
import { commitEvent, type CommitResult, type DeferredIndex, type FileWrite, type Identity } from '../git/commit.js';
import { configGet, type Repo } from '../git/repo.js';

export interface EventRecord {
  subject: string;
  body?: string;
  events: GaEvent[];
  /** The operation's own files, computed against the HEAD it will land on. */
  files?: (head: string | undefined) => Promise<FileWrite[]> | FileWrite[];
  sign?: boolean;
  at: Date;
  /** The branch it lands on (the governed one), when not HEAD's. */
  ref?: string;
  /** An earlier commit's index update to make with this one's, if still pending (CommitTarget.carryIndex). */
  carryIndex?: DeferredIndex;
}

export async function recordEvents(repo: Repo, rec: EventRecord): Promise<CommitResult> {
  const opts = { actor: rec.events[0]?.actor ?? 'ga', at: rec.at, sign: rec.sign, ref: rec.ref, carryIndex: rec.carryIndex };
  const planned = await recordPlanned(repo, opts, async (head) => ({
    subject: rec.subject,
    body: rec.body,
    events: rec.events,
    files: rec.files ? await rec.files(head) : [],
  }));
  return planned!;
}

export interface PlannedEvents {
  subject: string;
  body?: string;
  events: GaEvent[];
  files: FileWrite[];
}

/**
 * Records events decided under the repository lock against the HEAD they
 * land on: `plan` returns undefined when there is nothing to do (an agent
 * already paused), so two processes never record the same thing twice.
 */
export async function recordPlanned(
  repo: Repo,
  opts: { actor: string; at: Date; sign?: boolean; ref?: string; deferIndex?: boolean; carryIndex?: DeferredIndex },
  plan: (head: string | undefined) => Promise<PlannedEvents | undefined>,
): Promise<CommitResult | undefined> {
  const identity = await actorIdentity(repo, opts.actor);
  return commitEvent(repo, async (head) => {
    const p = await plan(head);
    if (!p) return undefined;
    return {
      message: commitMessage(p.subject, p.events, p.body),
      files: [...p.files, ...auditFiles(p.events, opts.at)],
      sign: opts.sign ?? false,
      identity,
    };
  }, { ref: opts.ref, deferIndex: opts.deferIndex, carryIndex: opts.carryIndex });
}

/**
 * One new file per event: never an existing path, so commits made anywhere
 * (another process, another clone) never touch the same audit file.
 */
export function auditFiles(events: GaEvent[], at: Date): FileWrite[] {
  const stamp = new Date(at.getTime()).toISOString().replace(/[-:]/g, '').replace('.', '');
  const tail = randomBytes(4).toString('hex');
  return events.map((e, i) => {
    const id = `${stamp}-${tail}${events.length > 1 ? `-${i}` : ''}`;
    return { path: auditEventPath(e.agent, at, id), content: auditRecord(e, at, id) };
  });
}

/**
 * Who is acting, from the environment: inside an agent process (GA_AGENT
 * set) the agent, otherwise the person whose git identity this is.
 */
export async function actorFromEnvironment(repo: Repo): Promise<string> {
  const agent = process.env.GA_AGENT;
  return agent ? `agent:${agent}` : `human:${(await configGet(repo, 'user.email')) ?? 'unknown'}`;
}

/**
 * Who a commit says made it. Humans commit as themselves (git config);
 * ga's own actors get names that say what they are. Only signatures count.
 */
export async function actorIdentity(repo: Repo, actor: string): Promise<Identity | undefined> {
  if (actor.startsWith('human:')) {
    const [name, email] = await Promise.all([configGet(repo, 'user.name'), configGet(repo, 'user.email')]);
    return name && email ? undefined : { name: name ?? 'ga user', email: email ?? 'unknown@ga.invalid' };
  }
  const [kind, id] = actor.split(':');
  if (kind === 'agent') return { name: `ga agent ${id}`, email: `${id}@agents.ga.invalid` };
  return { name: `ga ${kind}`, email: `${kind}@ga.invalid` };
}
