// Notifications: the commands policies/notify.toml names (its trusted
// version), run by the watchdog for each event that history records after
// the last one notified: a proposal waiting for a decision, an approval that
// counts, an outcome, a pause, a finding of the rules ga verify checks. The
// event arrives as JSON on stdin; a command runs like a decision hook, in a
// private directory, in the watchdog's environment, stopped at its timeout.
// Each event is notified once, across restarts (.ga/notified.json); a
// command that fails is reported and not retried, so a dead webhook never
// holds the others back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrailers } from '../audit/events.js';
import { placesInTimeline, timelineHeadersFrom, type Governance } from '../history/replay.js';
import { runCommand } from '../runtime/process.js';
import { readNotifyState, writeNotifyState } from '../runtime/records.js';
import type { NotifyKind, NotifySettings } from '../schema/notify.js';

export interface NotifyEvent {
  event: NotifyKind;
  /** Names the event among all others: its commit, its kind and what it is about. */
  key: string;
  commit: string;
  at: string;
  repo: string;
  proposal?: string;
  agent?: string;
  action_type?: string;
  title?: string;
  /** Who approved, or who paused. */
  by?: string;
  outcome?: string;
  reason?: string;
  path?: string;
  rule?: string;
}

export interface Notified {
  key: string;
  event: NotifyKind;
  command: string;
  ok: boolean;
  why?: string;
}

/** The events recorded by the commits after timeline position `from`, in history's order. */
export async function eventsAfter(gov: Governance, from: number): Promise<NotifyEvent[]> {
  const recent = await timelineHeadersFrom(gov, from + 1); // the commits at places from + 1 on
  // Their places: nothing older is news, so nothing older needs one.
  const order = new Map(recent.map((c, k) => [c.id, from + 1 + k]));
  const found: { at: number; e: NotifyEvent }[] = [];
  const add = (commit: string, e: Omit<NotifyEvent, 'key' | 'commit' | 'at' | 'repo'>) => {
    const i = order.get(commit);
    if (i === undefined || i <= from) return;
    const key = `${commit} ${e.event} ${e.proposal ?? e.agent ?? e.path ?? ''}`;
    found.push({ at: i, e: { ...e, key, commit, at: recent[i - from - 1]!.committedAt.toISOString(), repo: gov.repo.root } });
  };
  // Steps are in timeline order: a proposal with nothing new has its last step before `from` (most of them, on a long history).
  const touched = gov.proposals.briefs({ lastIn: new Set(order.keys()) }).map((b) => b.id);
  for (const r of gov.proposals.pick(touched)) {
    const about = { proposal: r.id, agent: r.proposal?.agent, action_type: r.proposal?.action_type, title: r.proposal?.title };
    for (const s of r.steps) {
      // Waiting: submitted, valid, and still pending now (an old submission decided since is not news).
      if (s.kind === 'submitted' && s.valid !== false && r.submittedValid && r.state === 'pending') add(s.commit, { event: 'proposal-waiting', ...about });
      else if ((s.kind === 'approved' || s.kind === 'auto-approved') && s.valid !== false)
        add(s.commit, { event: 'proposal-approved', ...about, by: s.kind === 'auto-approved' ? 'policy: auto-approved' : s.principal });
      else if (s.kind === 'executed' || s.kind === 'failed') {
        const trail = gov.executions.get(r.id)?.outcomes.find((o) => o.commit === s.commit);
        add(s.commit, { event: 'proposal-outcome', ...about, outcome: trail?.outcome ?? s.kind });
      }
    }
  }
  for (const c of recent) {
    for (const t of parseTrailers(c.message)) {
      if (t.event === 'agent-paused' && t.agent) add(c.id, { event: 'agent-paused', agent: t.agent, by: t.actor, reason: t.reason });
    }
  }
  for (const f of gov.findings) add(f.commit, { event: 'verify-finding', path: f.path, rule: f.rule, reason: f.why });
  for (const u of gov.untrusted) add(u.commit, { event: 'verify-finding', path: u.path, rule: 'governed-file', reason: u.why });
  for (const u of gov.strays) add(u.commit, { event: 'verify-finding', path: u.path, rule: 'proposal-file', reason: u.why });
  return found.sort((a, b) => a.at - b.at).map((f) => f.e);
}

/**
 * Notifies what is new since the last sweep. The first time, nothing of the
 * past is sent: notifications start from the HEAD the watchdog first reads;
 * so too after history was rewritten under the last notified commit.
 */
export async function sendNotifications(gov: Governance, settings: NotifySettings): Promise<Notified[]> {
  const repo = gov.repo;
  const state = readNotifyState(repo);
  const root = gov.rootCommit.id;
  // Where the last sweep stopped: the root (-1) or a commit of the timeline.
  const from = state ? (state.through === root ? -1 : (placesInTimeline(gov).get(state.through) ?? -1)) : -1;
  if (!state || (from === -1 && state.through !== root)) {
    // The first sweep, or history was rewritten under the last notified commit: nothing of the past is sent.
    writeNotifyState(repo, { through: gov.head, done: [] });
    return [];
  }
  const done = new Set(state.done);
  const sent: Notified[] = [];
  for (const e of await eventsAfter(gov, from)) {
    if (done.has(e.key)) continue;
    for (const cmd of settings.notify.filter((n) => n.on.includes(e.event))) sent.push(await notifyOne(gov, e, cmd.command, cmd.timeout));
    done.add(e.key);
    writeNotifyState(repo, { through: state.through, done: [...done] });
  }
  writeNotifyState(repo, { through: gov.head, done: [] });
  return sent;
}

async function notifyOne(gov: Governance, e: NotifyEvent, command: string[], timeoutMs: number): Promise<Notified> {
  const [program, ...args] = command as [string, ...string[]];
  const dir = mkdtempSync(join(tmpdir(), 'ga-notify-'));
  const shown = command.join(' ');
  try {
    const r = await runCommand(program, args, {
      cwd: dir,
      input: `${JSON.stringify(e)}\n`,
      env: { ...process.env, GA_EVENT: e.event, GA_REPO: gov.repo.root },
      timeoutMs,
    });
    const why = !r.started
      ? `could not start: ${r.tail.join(' ')}`
      : r.timedOut
        ? `timed out after ${timeoutMs} ms`
        : r.exitCode !== 0
          ? `exited ${r.exitCode ?? r.signal}${r.tail.length ? `: ${r.tail[r.tail.length - 1]}` : ''}`
          : undefined;
    return { key: e.key, event: e.event, command: shown, ok: !why, ...(why ? { why } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
