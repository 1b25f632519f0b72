// ga verify's signed checkpoints: what lets `ga verify` go on from where an
// earlier run stopped without taking anyone's word for it.
//
// Nothing under .ga/ or .git/ is evidence (DESIGN): an agent that can write
// the clone can write any file ga keeps there. A checkpoint is a reading of
// history at one commit (the replay's state and chunks, history/saved.ts, and
// the state of ga verify's checks that read every commit), kept under .git/ga/checkpoint/, and a
// signed link naming the sha256 of each of its files. The link is signed
// (`ssh-keygen -Y sign`) by a person running
// `ga verify --checkpoint` after a run that read all of history, or that
// went on from a checkpoint it had checked.
//
// Whose signature counts is decided without the checkpoint's own word: the
// first link must be signed by an approver listed at the trust root (the
// pin, or the single root commit), and each later one by an approver of the
// set the link before it names (that link being good, its set is the one
// its signer's ga read from history). So an agent without an approver's
// key can neither make a link nor change a file one names. A chain that
// breaks, a file that does not match, another build of ga: ga verify reads
// all of history, as without a checkpoint.
//
// Links are signed in namespace "git", as commits are: ga init lists each
// approver with namespaces="git". A link cannot pass for a commit, nor a
// commit for a link: the text signed starts "ga-checkpoint 1", a commit's
// "tree ".
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { lazySchema } from '../schema/lazy.js';
import { GovernanceRefusal } from '../errors.js';
import { readBlobs, type Repo } from '../git/repo.js';
import { verifySignature } from '../git/signature.js';
import { publicKeyLine, requireSigning, signBytes } from '../git/signing.js';
import type { Governance } from '../history/replay.js';
import { saveReading } from '../history/replay.js';
import { sha256, type ReadingPlace } from '../history/saved.js';
import { APPROVERS_PATH } from '../layout/layout.js';
import { withLock } from '../runtime/lock.js';
import { readRegular, writeFileAtomic } from '../runtime/files.js';
import { parseApprovers, type Approver } from '../schema/approvers.js';
import { findTrustRoot, pinnedTrustRoot } from '../trust/root.js';

const NAMESPACE = 'git';
const HEADER = 'ga-checkpoint 1';
const END = '-----END SSH SIGNATURE-----\n';
const BEGIN = '-----BEGIN SSH SIGNATURE-----\n';

const checkpointDir = (repo: Repo) => join(repo.commonDir, 'ga', 'checkpoint');
const chainFile = (repo: Repo) => join(checkpointDir(repo), 'chain');
const checksFile = (repo: Repo) => join(checkpointDir(repo), 'checks');

/** Where the append-only check stopped: its line counts, the ledgers' text, and its findings so far. */
export const appendStateSchema = lazySchema(() =>
  z.object({
    root: z.string(),
    commit: z.string(),
    lineCount: z.array(z.tuple([z.string(), z.number()])),
    ledgers: z.array(z.tuple([z.string(), z.object({ text: z.string(), addedBy: z.array(z.string()) })])),
    findings: z.array(z.object({ commit: z.string(), path: z.string(), rule: z.string(), explanation: z.string() })),
  }),
);
export type AppendState = z.output<ReturnType<typeof appendStateSchema>>;

/** A commit's Ga- trailers that ga verify checks, by commit id. */
export type TrailersOf = [string, { event?: string; proposal?: string; agent?: string }[]];

/**
 * The trailers a checkpoint keeps: the agents trusted then, and the commits
 * whose trailers had a finding (judged again at every run: a later commit
 * may make one go). Every other trailer named a known event, a proposal of
 * history (which stays one) and one of those agents: it stays good while
 * each of them is trusted, and all are judged again once one is not.
 */
export interface TrailerState {
  agents: string[];
  doubtful: TrailersOf[];
}

/** The findings of the proposal and execution rules, by proposal id (those with any). */
export type ProposalFindingsOf = [string, AppendState['findings']];

/**
 * What the checks that read every commit had read at the checkpoint: the
 * append-only check's state, the trailers' (TrailerState), and each proposal's
 * findings (those the checkpoint's reading packed are taken from here while
 * they stay packed: nothing since has touched them).
 */
export interface ChecksState {
  append: AppendState;
  trailers: TrailerState;
  proposals: ProposalFindingsOf[];
}
/** Raised whenever what the checks' file holds changes shape or meaning. */
const CHECKS_FORMAT = 2;

/** One link of the chain: what it says, as signed. */
interface Link {
  root: string;
  commit: string;
  made: Date;
  /** The approvers file trusted at `commit` (a blob id), or "none". */
  approvers: string;
  /** sha256 of each file by name: "state", "checks" and the chunks. */
  files: Map<string, string>;
  text: string;
  armored: string;
}

/** A checkpoint whose link is good: where its reading lives, and who signed it. */
export interface Checkpoint {
  commit: string;
  principal: string;
  made: Date;
  place: ReadingPlace;
  /** The checks' state, if its file has the digest the link names. */
  checks: ChecksState | undefined;
}

/** The links found good, in order, and the approvers the next link must be signed by. */
export interface Chain {
  root: string;
  rootApprovers: Approver[];
  good: Link[];
  next: Approver[];
  newest?: Checkpoint;
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function parseLink(block: string): Link | undefined {
  const at = block.indexOf(BEGIN);
  if (at < 0) return undefined;
  const text = block.slice(0, at);
  const lines = text.split('\n');
  if (lines[0] !== HEADER || lines.at(-1) !== '') return undefined;
  const fields = new Map<string, string>();
  const files = new Map<string, string>();
  for (const line of lines.slice(1, -1)) {
    const [key, a, b, ...rest] = line.split(' ');
    if (!key || a === undefined || rest.length) return undefined;
    if (key === 'file' && b !== undefined && /^[0-9a-f]{64}$/.test(b) && !files.has(a)) files.set(a, b);
    else if (key !== 'file' && b === undefined && !fields.has(key)) fields.set(key, a);
    else return undefined;
  }
  const root = fields.get('root') ?? '';
  const commit = fields.get('commit') ?? '';
  const approvers = fields.get('approvers') ?? '';
  const made = new Date(fields.get('made') ?? '');
  if (!OID.test(root) || !OID.test(commit) || !(approvers === 'none' || OID.test(approvers)) || Number.isNaN(made.getTime())) return undefined;
  if (!files.has('state') || !files.has('checks')) return undefined;
  return { root, commit, made, approvers, files, text, armored: block.slice(at) };
}

function linkText(l: Omit<Link, 'text' | 'armored'>): string {
  const files = [...l.files].map(([name, digest]) => `file ${name} ${digest}\n`).join('');
  return `${HEADER}\nroot ${l.root}\ncommit ${l.commit}\nmade ${l.made.toISOString()}\napprovers ${l.approvers}\n${files}`;
}

async function approversOf(repo: Repo, blob: string | undefined): Promise<Approver[]> {
  if (!blob || blob === 'none') return [];
  const text = (await readBlobs(repo, [blob])).get(blob);
  try {
    return text ? parseApprovers(text.toString('utf8')) : [];
  } catch {
    return [];
  }
}

/**
 * The chain of checkpoints of this clone, judged link by link from the trust
 * root; the newest good link's reading, when its files are there as signed.
 * No chain, or none that holds: `good` is empty and there is no `newest`.
 */
export async function readCheckpoints(repo: Repo): Promise<Chain> {
  // A pin is taken as it is: a reading goes on from a checkpoint only when its root is that pin and HEAD grew from it (history/replay.ts).
  const root = pinnedTrustRoot(repo) ?? (await findTrustRoot(repo)).commit;
  const rootTree = (await repo.objects.commit(root)).tree;
  const entry = await repo.objects.entryAt(rootTree, APPROVERS_PATH);
  const rootApprovers = entry && entry.mode !== '40000' ? await approversOf(repo, entry.oid) : [];
  const chain: Chain = { root, rootApprovers, good: [], next: rootApprovers };
  const bytes = readRegular(chainFile(repo), 64 * 1024 * 1024);
  if (!bytes) return chain;
  let principal = '';
  for (const block of bytes.toString('utf8').split(END).slice(0, -1)) {
    const link = parseLink(`${block}${END}`);
    if (!link || link.root !== root) break;
    const s = await verifySignature({ armored: link.armored, payload: Buffer.from(link.text, 'utf8') }, chain.next, link.made);
    if (s.status !== 'good' || !s.principal || s.principal.toLowerCase().startsWith('agent:')) break;
    chain.good.push(link);
    chain.next = await approversOf(repo, link.approvers);
    principal = s.principal;
  }
  const newest = chain.good.at(-1);
  if (newest) {
    const digests = new Map([...newest.files].filter(([name]) => name !== 'checks'));
    chain.newest = {
      commit: newest.commit,
      principal,
      made: newest.made,
      place: { dir: checkpointDir(repo), digests },
      checks: readChecks(repo, newest.files.get('checks')!),
    };
  }
  return chain;
}

/**
 * The checks' state, when the file has the digest the link signs. What a
 * good link names was written by ga; only its shape is checked here, once
 * for a file of this format (the doubtful trailers and the proposals'
 * findings are left as written).
 */
function readChecks(repo: Repo, digest: string): ChecksState | undefined {
  const bytes = readRegular(checksFile(repo), 1024 * 1024 * 1024);
  if (!bytes || sha256(bytes) !== digest) return undefined;
  try {
    const j = JSON.parse(bytes.toString('utf8')) as {
      format?: unknown;
      append?: unknown;
      trailers?: { agents?: unknown; doubtful?: unknown };
      proposals?: unknown;
    };
    if (j.format !== CHECKS_FORMAT || !Array.isArray(j.proposals) || !Array.isArray(j.trailers?.doubtful)) return undefined;
    if (!Array.isArray(j.trailers.agents) || !j.trailers.agents.every((a) => typeof a === 'string')) return undefined;
    const append = appendStateSchema().safeParse(j.append);
    return append.success
      ? { append: append.data, trailers: j.trailers as ChecksState['trailers'], proposals: j.proposals as ChecksState['proposals'] }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Signs a checkpoint at `gov.head`: saves its reading and `checks` under
 * .git/ga/checkpoint/ and adds a link signed with the person's key. Refused
 * (exit 1) in an agent process, without a signing setup, or when the
 * person's key is not one the link would be judged by: an approver at the
 * trust root, or of the newest good link. A link signed by an approver at
 * the trust root starts the chain anew.
 */
export async function signCheckpoint(repo: Repo, gov: Governance, checks: ChecksState, chain: Chain): Promise<{ commit: string; principal: string }> {
  const setup = await requireSigning(repo, 'a ga verify checkpoint');
  const [type, key] = publicKeyLine(setup.key).split(' ');
  const holds = (list: Approver[]) => list.some((a) => !a.certAuthority && a.keyType === type && a.key === key);
  const anew = holds(chain.rootApprovers);
  if (!anew && !holds(chain.next)) {
    throw new GovernanceRefusal(
      `no checkpoint written: your signing key is not an approver ${chain.good.length ? `trusted at the last checkpoint (${chain.good.at(-1)!.commit.slice(0, 12)})` : `at the trust root ${chain.root.slice(0, 12)}`}, so ga would not accept it`,
    );
  }
  const dir = checkpointDir(repo);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withLock(chainFile(repo), async () => {
    // The reading is saved in the checkpoint's place: its chunks carried over only with the digests the newest link gives them.
    const place: ReadingPlace = chain.newest?.place ?? { dir };
    const files = saveReading(gov, place);
    if (!files || [...files.values()].some((d) => !d)) throw new GovernanceRefusal(`no checkpoint written: the reading could not be saved in ${dir}`);
    const checksBytes = Buffer.from(JSON.stringify({ format: CHECKS_FORMAT, ...checks }), 'utf8');
    writeFileAtomic(checksFile(repo), checksBytes);
    files.set('checks', sha256(checksBytes));
    const link = { root: chain.root, commit: gov.head, made: new Date(), approvers: gov.trusted.get(APPROVERS_PATH)?.blob ?? 'none', files };
    const text = linkText(link);
    const armored = await signBytes(setup, Buffer.from(text, 'utf8'), NAMESPACE);
    const judged = await verifySignature({ armored, payload: Buffer.from(text, 'utf8') }, anew ? chain.rootApprovers : chain.next, link.made);
    if (judged.status !== 'good' || !judged.principal)
      throw new GovernanceRefusal(`no checkpoint written: the signature made does not verify (${judged.detail ?? judged.status})`);
    const kept = anew ? [] : chain.good;
    const body = [...kept.map((l) => `${l.text}${l.armored}`), `${text}${armored.endsWith('\n') ? armored : `${armored}\n`}`].join('');
    writeFileAtomic(chainFile(repo), Buffer.from(body, 'utf8'));
    return { commit: gov.head, principal: judged.principal };
  });
}
