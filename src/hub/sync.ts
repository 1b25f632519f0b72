// Publishing to the hub (DESIGN "Many clones: one hub"). ga never merges; it
// replays: this clone's unpublished commits are re-made on the hub's tip as
// the operations they were (a file added, a file moved or removed, lines
// appended; an unpublished ledger line re-chained to the hub's last line with
// its window totals recomputed), each judged again against the hub's state
// (a proposal claimed or decided meanwhile, a reservation that no longer fits)
// and dropped, with the reason, when it no longer holds. Then a plain push:
// the hub's ref moves only forward, so of two clones racing, one wins and the
// other replays again. A person's signed commit is signed again, with the
// same key, or sync stops and says so. Published history is never rewritten.
import { loadTrustedAgent } from '../agents/trusted.js';
import { parseTrailers } from '../audit/events.js';
import { budgetOfLedgerText, capProblem, reservedUsd } from '../budget/budget.js';
import type { Clock } from '../clock.js';
import { GovernanceRefusal, UsageError } from '../errors.js';
import { writeCommit, type FileWrite } from '../git/commit.js';
import { git, gitText } from '../git/exec.js';
import { readHead } from '../git/head.js';
import { fetchHub, hubRef, pushBranch, pushHub, type Hub } from '../git/remote.js';
import { openReview, type ReviewOpened } from './hosts.js';
import { headRef, madeChain, readBlobs, type Repo } from '../git/repo.js';
import { publicKeyLine, signingSetup } from '../git/signing.js';
import { signingKey } from '../git/sshsig.js';
import { readChainSince } from '../history/chain.js';
import { latestReading, loadGovernance, type Governance } from '../history/replay.js';
import {
  agentOfLedgerPath,
  agentOfPausePath,
  HUB_PATH,
  isUnderProposals,
  ledgerPath,
  parseProposalPath,
  proposalPath,
  REVIEW_BRANCH_PREFIX,
  reviewRef,
} from '../layout/layout.js';
import { appendChargeToText, type LedgerLine } from '../ledger/ledger.js';
import { hubSettings } from '../policy/hub.js';
import { withRepoLock } from '../runtime/lock.js';
import { agentContext } from '../runtime/processes.js';
import { writeHubContact } from '../runtime/records.js';
import { governedBranch } from '../trust/branch.js';
import { raiseHighWater, readHighWater } from '../trust/highwater.js';

export interface Dropped {
  commit: string;
  subject: string;
  why: string;
}

export interface SyncReport {
  /** The URLs of the hub. */
  hub: string[];
  branch: string;
  /** The hub's tip after the sync (what this clone's branch now is). */
  tip: string | undefined;
  /** Commits of this clone that are now in the hub (pushed as they were, or replayed). */
  published: number;
  /** Of those, how many had to be re-made on a newer tip. */
  replayed: number;
  dropped: Dropped[];
  /** Commits of the hub this clone did not have. */
  received: number;
  /** Proposals sent for review, each on its own hub branch (proposals = "pull-request"). */
  review: ReviewOpened[];
}

const ATTEMPTS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The hub of this clone, from the trusted policies/hub.toml; undefined when it is its own hub. */
export async function hubOf(repo: Repo, gov?: Governance): Promise<Hub | undefined> {
  gov ??= await readingStillGood(repo);
  // A history that never held a hub.toml has none (a cheap look, so that a clone without a hub pays nothing);
  // once one was ever committed, only the trusted version decides (an unsigned removal stops nothing).
  if (!gov && !(await gitText(['log', '-1', '--format=%H', '--', HUB_PATH], { cwd: repo.root, allowFailure: true }))) return undefined;
  const settings = await hubSettings(gov ?? (await loadGovernance(repo)));
  return settings && { urls: settings.url, branch: settings.branch, review: settings.proposals === 'pull-request' };
}

/**
 * The reading this command already made, when the commits added since (its
 * own, as a rule) are read verified, are no merges and leave hub.toml alone:
 * the hub it trusts is then the same, without another walk of history. The
 * commits this process made itself need no reading: it wrote them, and knows
 * their parents and paths.
 */
async function readingStillGood(repo: Repo): Promise<Governance | undefined> {
  const last = latestReading(repo);
  const head = last && (await readHead(repo));
  if (!last || !head) return undefined;
  if (head === last.head || madeHereLeavingHub(repo, head, last.head)) return last;
  const since = await readChainSince(repo, head, last.head).catch(() => undefined);
  return since?.every((c) => !c.merge && c.changes.every((ch) => ch.path !== HUB_PATH)) ? last : undefined;
}

/** Whether `head` is reached from `from` by commits this process made, none of which wrote hub.toml (or a directory holding it). */
function madeHereLeavingHub(repo: Repo, head: string, from: string): boolean {
  const touchesHub = (path: string) => path === HUB_PATH || HUB_PATH.startsWith(`${path}/`);
  const { chain, below } = madeChain(repo, head, from);
  return below === from && chain.every((c) => !c.paths.some(touchesHub));
}

async function isAncestor(repo: Repo, a: string, b: string): Promise<boolean> {
  return (await git(['merge-base', '--is-ancestor', a, b], { cwd: repo.root, allowFailure: true })).code === 0;
}

/**
 * Publishes this clone's commits to the hub and brings in the hub's: fetch,
 * replay what is unpublished onto the hub's tip, push fast-forward, retry
 * with backoff when another clone won the race. Throws HubUnreachable when
 * no URL of the hub answers.
 */
export async function syncWithHub(repo: Repo, opts: { clock: Clock; hub?: Hub }): Promise<SyncReport> {
  const agent = agentContext();
  if (agent) throw new GovernanceRefusal(`ga sync refused inside an agent process (${agent.evidence}): the runner publishes for its agent`);
  const hub = opts.hub ?? (await hubOf(repo));
  if (!hub) throw new UsageError('this clone has no hub: policies/hub.toml names none (see docs/many-clones.md)');
  const { ref } = await governedBranch(repo);
  const report: SyncReport = { hub: hub.urls, branch: hub.branch, tip: undefined, published: 0, replayed: 0, dropped: [], received: 0, review: [] };
  // Submissions already on their review branch (a retry after a lost race must not send them twice).
  const sent = new Map<string, { id: string; title: string }>();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt) await sleep(50 * 2 ** attempt * (0.5 + Math.random()));
    const tip = await fetchHub(repo, hub);
    writeHubContact(repo, { reached_at: opts.clock.now().toISOString(), tip });
    const done = await withRepoLock(repo, async () => {
      const local = await readHead(repo, ref);
      if (!local) {
        if (!tip) throw new UsageError(`neither this clone nor the hub has any commit on ${hub.branch}: run ga init and ga sync in one clone first`);
        await moveBranch(repo, ref, undefined, tip);
        report.received += Number(await gitText(['rev-list', '--count', tip], { cwd: repo.root }));
        report.tip = tip;
        return true;
      }
      if (tip === local) {
        report.tip = tip;
        return true;
      }
      if (tip && (await isAncestor(repo, local, tip))) {
        report.received += Number(await gitText(['rev-list', '--count', `${local}..${tip}`], { cwd: repo.root }));
        await moveBranch(repo, ref, local, tip);
        report.tip = tip;
        return true;
      }
      const base = !tip || (await isAncestor(repo, tip, local)) ? tip : await gitText(['merge-base', local, tip], { cwd: repo.root }).catch(() => '');
      if (tip && !base) throw new GovernanceRefusal(`this clone's ${hub.branch} and the hub's share no history: it is another repository`);
      const mine = (await gitText(['rev-list', '--reverse', '--first-parent', base ? `${base}..${local}` : local], { cwd: repo.root }))
        .split('\n')
        .filter(Boolean);
      const forReview = hub.review && tip ? await submissionsOf(repo, mine) : new Map<string, { id: string; title: string }>();
      let candidate = local;
      const dropped: Dropped[] = [];
      if (tip && (base !== tip || forReview.size)) {
        // The hub moved on, or submissions go to their own branches: re-make this clone's commits on its tip.
        candidate = tip;
        for (const c of mine) {
          const submission = forReview.get(c);
          if (submission) {
            // DESIGN "Pull requests": the submission goes to its own branch, made on the hub's tip, not to the hub's branch.
            if (sent.has(c)) continue;
            const made = await replayOne(repo, c, tip, opts.clock);
            if ('dropped' in made) {
              dropped.push(made.dropped);
              continue;
            }
            const branch = `${REVIEW_BRANCH_PREFIX}${submission.id}`;
            if ((await pushBranch(repo, hub, made.commit, branch)) === 'rejected') {
              dropped.push({ commit: c, subject: (await repo.objects.commit(c)).message.split('\n')[0] ?? '', why: `the hub already has a branch ${branch}` });
              continue;
            }
            await git(['update-ref', reviewRef(submission.id), made.commit], { cwd: repo.root, allowFailure: true });
            sent.set(c, submission);
            continue;
          }
          const next = await replayOne(repo, c, candidate, opts.clock);
          if ('dropped' in next) dropped.push(next.dropped);
          else candidate = next.commit;
        }
      }
      if (candidate === tip) {
        // Everything this clone had was dropped or sent for review: it takes the hub's branch as it is.
        await moveBranch(repo, ref, local, tip);
        report.dropped.push(...dropped);
        report.tip = tip;
        return true;
      }
      const pushed = await pushHub(repo, hub, candidate);
      if (pushed === 'rejected') return false;
      if (candidate !== local) {
        await moveBranch(repo, ref, local, candidate);
        report.replayed += mine.length - dropped.length;
        if (tip) report.received += Number(await gitText(['rev-list', '--count', `${base}..${tip}`], { cwd: repo.root }));
      }
      report.published += mine.length - dropped.length;
      report.dropped.push(...dropped);
      report.tip = candidate;
      return true;
    });
    if (done) {
      for (const s of sent.values()) report.review.push(await openReview(repo.root, hub, s.id, s.title));
      return report;
    }
  }
  throw new GovernanceRefusal(`the hub's ${hub.branch} kept moving while this clone tried to publish (${ATTEMPTS} attempts); try ga sync again`);
}

/**
 * Moves the governed branch from `from` to `to` (compare-and-swap), and when
 * HEAD is on it, the index and work tree with it (files ga does not know
 * that were edited by hand are left as they are: git refuses to overwrite
 * them, and says so). The high-water mark follows: the commits it may name
 * were this clone's own, re-made in `to`.
 */
async function moveBranch(repo: Repo, ref: string, from: string | undefined, to: string): Promise<void> {
  await git(['update-ref', '-m', 'ga sync', ref, to, ...(from ? [from] : [])], { cwd: repo.root });
  const checkedOut = await headRef(repo).catch(() => undefined);
  if (checkedOut === ref) {
    // ga's own commits leave the index's stat data stale (reset --no-refresh): refresh it, or read-tree takes every file for edited.
    await git(['update-index', '-q', '--refresh'], { cwd: repo.root, allowFailure: true });
    const r = from
      ? await git(['read-tree', '-m', '-u', from, to], { cwd: repo.root, allowFailure: true })
      : await git(['read-tree', '--reset', '-u', to], { cwd: repo.root, allowFailure: true });
    if (r.code !== 0)
      process.emitWarning(
        `the branch moved to ${to.slice(0, 12)}, but the work tree could not follow: ${r.stderr.trim().split('\n').pop() ?? ''} (run git status)`,
      );
  }
  const mark = readHighWater(repo);
  await raiseHighWater(repo, to, { reset: Boolean(mark && from && (await isAncestor(repo, mark, from))) }).catch(() => undefined);
}

// ---------------------------------------------------------------- replay

/** Of `commits`, those that only submit a proposal for a person to decide (not auto-approved): id and title. */
async function submissionsOf(repo: Repo, commits: string[]): Promise<Map<string, { id: string; title: string }>> {
  const out = new Map<string, { id: string; title: string }>();
  for (const c of commits) {
    const message = (await repo.objects.commit(c)).message;
    const events = parseTrailers(message);
    if (events.length !== 1 || events[0]!.event !== 'proposal-submitted' || !events[0]!.proposal) continue;
    const subject = message.split('\n')[0] ?? '';
    out.set(c, { id: events[0]!.proposal, title: subject.replace(/^[^:]*: /, '') });
  }
  return out;
}

type Replayed = { commit: string } | { dropped: Dropped };

interface RawChange {
  status: string;
  path: string;
  oldOid: string;
  newOid: string;
  newMode: string;
}

async function changesOf(repo: Repo, commit: string, parent: string | undefined): Promise<RawChange[]> {
  const args = parent
    ? ['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', parent, commit]
    : ['diff-tree', '-r', '-z', '--no-renames', '--root', '--no-commit-id', commit];
  const out = (await git(args, { cwd: repo.root })).stdout.toString('utf8').split('\0');
  const changes: RawChange[] = [];
  for (let i = 0; i + 1 < out.length; i += 2) {
    const meta = /^:(\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+) (\w)/.exec(out[i]!);
    if (!meta) continue;
    changes.push({ status: meta[5]!, path: out[i + 1]!, oldOid: meta[3]!, newOid: meta[4]!, newMode: meta[2]! });
  }
  return changes;
}

/** Re-makes `commit` on `onto`, as the operations it made; or why it no longer holds there. */
async function replayOne(repo: Repo, commit: string, onto: string, clock: Clock): Promise<Replayed> {
  const c = await repo.objects.commit(commit);
  const subject = c.message.split('\n')[0] ?? '';
  const drop = (why: string): Replayed => ({ dropped: { commit, subject, why } });
  if (c.parents.length > 1) return drop('a merge: ga replays only its own event commits; merge it again by hand on the hub');
  const ontoTree = (await repo.objects.commit(onto)).tree;
  const changes = await changesOf(repo, commit, c.parents[0]);
  const blobs = await readBlobs(
    repo,
    changes.flatMap((ch) => [ch.oldOid, ch.newOid]).filter((o) => !/^0+$/.test(o)),
  );
  const late = await lateOutcomes(repo, c.message, ontoTree);
  const files: FileWrite[] = [];
  for (const ch of changes) {
    const moved = parseProposalPath(ch.path);
    if (moved && late.has(moved.id)) continue; // recorded as evidence, without its move
    const there = await repo.objects.entryAt(ontoTree, ch.path);
    const mode = ch.newMode === '100755' ? '100755' : '100644';
    if (ch.status === 'A') {
      if (there?.oid === ch.newOid) continue;
      if (there && agentOfPausePath(ch.path)) continue; // already paused on the hub: a pause is idempotent
      if (there && ch.path.endsWith('.jsonl')) {
        // A ledger or audit file both clones started: this clone's lines are appended to the hub's.
        const base = await repo.objects.blob(there.oid);
        const mine = blobs.get(ch.newOid) ?? Buffer.alloc(0);
        files.push({ path: ch.path, content: agentOfLedgerPath(ch.path) ? rechain(base, mine, ch.path) : Buffer.concat([base, mine]), mode });
        continue;
      }
      if (there) return drop(`${ch.path} is already on the hub with other content`);
      files.push({ path: ch.path, content: blobs.get(ch.newOid) ?? Buffer.alloc(0), mode });
    } else if (ch.status === 'D') {
      if (!there) {
        // A proposal that left this state on the hub was decided (or claimed) there meanwhile.
        if (isUnderProposals(ch.path)) return drop(`${ch.path} is no longer on the hub: the proposal was decided there meanwhile`);
        continue;
      }
      if (there.oid !== ch.oldOid) return drop(`${ch.path} changed on the hub meanwhile`);
      files.push({ path: ch.path, remove: true });
    } else {
      if (there?.oid === ch.newOid) continue;
      const oldText = blobs.get(ch.oldOid) ?? Buffer.alloc(0);
      const newText = blobs.get(ch.newOid) ?? Buffer.alloc(0);
      const appended = ch.path.endsWith('.jsonl') && newText.subarray(0, oldText.length).equals(oldText) ? newText.subarray(oldText.length) : undefined;
      if (appended && there) {
        const base = await repo.objects.blob(there.oid);
        const agent = agentOfLedgerPath(ch.path);
        files.push({ path: ch.path, content: agent ? rechain(base, appended, ch.path) : Buffer.concat([base, appended]), mode });
      } else if (there?.oid === ch.oldOid || (!there && appended)) {
        files.push({ path: ch.path, content: newText, mode });
      } else {
        return drop(`${ch.path} changed on the hub meanwhile`);
      }
    }
  }
  const stillHolds = await judgeAgain(repo, c.message, onto, clock);
  if (stillHolds) return drop(stillHolds);
  let sign = false;
  if (c.signature) {
    // A person's commit: signed again, by the same key, or not at all.
    const setup = await signingSetup(repo);
    const was = signingKey(c.signature.armored)?.key;
    const mine = setup.ok && setup.key ? publicKeyLine(setup.key).split(/\s+/)[1] : undefined;
    if (!was || was !== mine) {
      throw new GovernanceRefusal(
        `${commit.slice(0, 12)} (${subject}) is signed by a key that is not your signing key, and must be signed again to be replayed on the hub's new tip; run ga sync as the person who signed it`,
      );
    }
    sign = true;
  }
  const made = await writeCommit(repo, onto, { message: c.message, files, sign, identity: { name: c.authorName, email: c.authorEmail } });
  return { commit: made };
}

/**
 * The proposals whose outcome this commit records but which another clone
 * meanwhile gave up as outcome unknown (its claim's lease ran out, DESIGN
 * "Leases"): on the hub the file is in failed/, not approved/. The outcome is
 * still recorded, as evidence, without moving the file.
 */
async function lateOutcomes(repo: Repo, message: string, ontoTree: string): Promise<Set<string>> {
  const late = new Set<string>();
  for (const e of parseTrailers(message)) {
    if ((e.event !== 'proposal-executed' && e.event !== 'proposal-failed') || !e.proposal) continue;
    const [approved, failed] = await Promise.all([
      repo.objects.entryAt(ontoTree, proposalPath('approved', e.proposal)),
      repo.objects.entryAt(ontoTree, proposalPath('failed', e.proposal)),
    ]);
    if (!approved && failed) late.add(e.proposal);
  }
  return late;
}

/** Ledger lines appended by this clone, re-chained onto the hub's ledger (their window totals recomputed). */
function rechain(base: Buffer, appended: Buffer, where: string): Buffer {
  let text = base;
  for (const raw of appended.toString('utf8').split('\n').filter(Boolean)) {
    const line = JSON.parse(raw) as LedgerLine;
    const at = new Date(line.at);
    text = appendChargeToText(
      text,
      { run: line.run, input_tokens: line.input_tokens, output_tokens: line.output_tokens, usd: line.usd, source: line.source },
      { window: line.window, clock: { now: () => at } },
      where,
    ).text;
  }
  return text;
}

/**
 * Why an exclusive act of this commit no longer holds on the hub's state at
 * `onto`: a claim for a proposal that has a claim or an outcome there, or a
 * reservation that no longer fits the cap there. Undefined when it holds.
 */
async function judgeAgain(repo: Repo, message: string, onto: string, clock: Clock): Promise<string | undefined> {
  const events = parseTrailers(message);
  const exclusive = events.filter((e) => e.event === 'proposal-claimed' || e.event === 'run-started');
  if (exclusive.length === 0) return undefined;
  const gov = await loadGovernance(repo, { at: onto });
  for (const e of exclusive) {
    if (e.event === 'proposal-claimed' && e.proposal) {
      const trail = gov.executions.get(e.proposal);
      if (trail && (trail.claims.length || trail.outcomes.length)) return `proposal ${e.proposal} was claimed on another clone first`;
    }
    if (e.event === 'run-started' && e.agent) {
      // Spend as the hub's ledger has it (not this clone's work tree), and the reservations live there.
      const agent = await loadTrustedAgent(gov, e.agent);
      const now = clock.now();
      const ledger = (await repo.objects.blobAt(onto, ledgerPath(e.agent)))?.content ?? Buffer.alloc(0);
      const spent = budgetOfLedgerText(agent.config, now, ledger, gov.heldLines.get(ledgerPath(e.agent))?.lines);
      const problem = capProblem({ ...spent, reservedUsd: reservedUsd(gov, e.agent, now, e.run) }, Number(e.reserved ?? agent.config.budget.max_run_usd));
      if (problem) return `the reservation of run ${e.run ?? '?'} no longer fits: ${problem}`;
    }
  }
  return undefined;
}

export { hubRef };
