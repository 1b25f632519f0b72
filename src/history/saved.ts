// The saved reading: a one-shot command's replay of history, kept under
// .git/ga/ (beside the pin and the high-water mark) so that the next command
// replays only the commits added since. It is a cache: written whole or not
// at all (a file renamed over the last one), bound to this build of ga and
// to the commit it was made at; anything about it that does not fit (a
// missing, truncated or foreign file, another build, a history that did not
// simply grow from it) means a full reading, never a refusal.
//
// The files, under .git/ga/reading/: "state", one line "ga-reading <build>",
// one line of JSON naming the chunks and the parts, then a v8 serialization
// of the state every command reads (the live proposals, the trusted files,
// the markers ...); the chunks, each a v8 serialization of what grows with
// every commit (the commits as read, the approvers each was judged against,
// the verdicts), read only when a command asks for older commits; and the
// parts, bytes the state keeps in files of their own because they grow with
// history and few commands need them (the records of the proposals that
// ended, the executions), each named by its sha256 and read when first asked
// for. A chunk is never rewritten: a save writes one more and a new state
// naming it; a part is written only when no file has its name yet.
//
// The same files may live in another place: a signed checkpoint of
// ga verify (verify/checkpoint.ts) keeps a reading of its own, whose files
// must have the digests its signed link names. There, the state is checked
// before it is used, and each chunk when it is read (a chunk that does not
// match is a damaged reading: the command that needed it stops).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { GovernanceRefusal } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { readRegular, readRegularRange, writeFileAtomic } from '../runtime/files.js';

/** Raised whenever what a saved reading holds changes shape or meaning. */
const FORMAT = 9;

/** Where a saved reading lives. */
export interface ReadingPlace {
  dir: string;
  /** The sha256 (hex) of each file by name ("state" and each chunk's): when given, a file read must have it. */
  digests?: ReadonlyMap<string, string>;
}

/** The reading every command goes on from and saves. */
export const everydayReading = (repo: Repo): ReadingPlace => ({ dir: join(repo.commonDir, 'ga', 'reading') });

const stateFile = (place: ReadingPlace) => join(place.dir, 'state');
export const sha256 = (...data: Buffer[]): string => {
  const h = createHash('sha256');
  for (const d of data) h.update(d);
  return h.digest('hex');
};
const MAX_FILE = 4 * 1024 * 1024 * 1024;
const CHUNK = /^chunk-[0-9a-f]{40,64}-\d+-\d+$/;
const PART = /^part-([0-9a-f]{64})$/;

/** Bytes a saved state keeps in a file of its own: its name (from its sha256), and the bytes, made or read when needed. */
export interface SavedPart {
  name: string;
  bytes: () => Buffer;
  /** Named from these very bytes in this process (partOf): nothing to check before writing it. */
  made?: true;
  /** Bytes `start` to `end` alone, read from the file (a place whose files have no digests to check). */
  range?: (start: number, end: number) => Buffer;
}

/** `bytes` as a part. */
export function partOf(bytes: Buffer): SavedPart {
  return { name: `part-${sha256(bytes)}`, bytes: () => bytes, made: true };
}

/**
 * A state file's first two lines: the build that wrote it, and the files it
 * names; and where its serialized state starts. Undefined when that is not
 * what it holds (throws on a second line that is not JSON).
 */
function stateHeader(bytes: Buffer): { build: string; chunks: string[]; parts: string[]; body: number } | undefined {
  const first = bytes.indexOf(10);
  const second = first < 0 ? -1 : bytes.indexOf(10, first + 1);
  if (second < 0) return undefined;
  const names = JSON.parse(bytes.toString('utf8', first + 1, second)) as { chunks?: unknown; parts?: unknown } | null;
  const list = (a: unknown, re: RegExp): a is string[] => Array.isArray(a) && a.every((n) => typeof n === 'string' && re.test(n));
  if (!names || !list(names.chunks, CHUNK) || !list(names.parts, PART)) return undefined;
  return { build: bytes.toString('utf8', 0, first), chunks: names.chunks, parts: names.parts, body: second + 1 };
}

let build: string | undefined;
/**
 * This build of ga: its version (package.json, two levels up from dist/bundle/
 * and dist/history/ alike) and the name the build gave itself (dist/build-id,
 * one level up from both: the bundled command and a program that imports
 * dist/ take on each other's readings), or, run from the sources, this
 * module's own file by size and time. Nothing known: no saved reading is
 * read or written.
 */
function thisBuild(): string | undefined {
  if (build === undefined) {
    try {
      const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version;
      const named = readRegular(fileURLToPath(new URL('../build-id', import.meta.url)), 256)
        ?.toString('utf8')
        .trim();
      const st = statSync(fileURLToPath(import.meta.url));
      build = `${FORMAT}:${String(version)}:${named || `${st.size}:${Math.round(st.mtimeMs)}`}`;
    } catch {
      build = '';
    }
  }
  return build || undefined;
}

/**
 * The saved state (if `fits` accepts it) and the names of its chunks;
 * undefined when there is none this build wrote, or (a place with digests)
 * when the state does not have its digest or names a chunk or a part
 * without one.
 */
export function readSaved<T>(place: ReadingPlace, fits: (state: unknown) => state is T): { state: T; chunks: string[] } | undefined {
  const bytes = readRegular(stateFile(place), MAX_FILE);
  if (!bytes) return undefined;
  if (place.digests && sha256(bytes) !== place.digests.get('state')) return undefined;
  try {
    const ours = thisBuild();
    const header = stateHeader(bytes);
    if (!ours || !header || header.build !== `ga-reading ${ours}`) return undefined;
    if (place.digests && ![...header.chunks, ...header.parts].every((n) => place.digests!.has(n))) return undefined;
    const state = deserialize(bytes.subarray(header.body)) as unknown;
    return fits(state) ? { state, chunks: header.chunks } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How many of the newest files of a kind (their sizes, oldest first) a save
 * past the most it keeps (16 chunks, history/replay.ts; 16 parts of ids,
 * history/ids.ts) reads and writes again as one, with what it adds: the
 * newest, and each older one no larger than those newer than it together.
 * A full reading's chunk (129 MB at 100,000 events) is so written again
 * only once history has grown by as much since, not every 256 commits (it
 * took a command 7 s there); each byte is written again a number of times
 * that grows with the log of history, as a binary counter's digits flip.
 */
export function newestToMerge(sizes: number[]): number {
  let k = 1;
  let newer = sizes.at(-1) ?? 0;
  while (k < sizes.length && sizes[sizes.length - 1 - k]! <= newer) newer += sizes[sizes.length - 1 - k++]!;
  return k;
}

/** The size of each chunk's file, in bytes; undefined when one is not a file there. */
export function chunkSizes(place: ReadingPlace, chunks: string[]): number[] | undefined {
  const sizes: number[] = [];
  for (const name of chunks) {
    const st = CHUNK.test(name) ? statSync(join(place.dir, name), { throwIfNoEntry: false }) : undefined;
    if (!st?.isFile()) return undefined;
    sizes.push(st.size);
  }
  return sizes;
}

/** One chunk, if it reads and `fits` accepts it. */
export function readChunk<T>(place: ReadingPlace, name: string, fits: (part: unknown) => part is T): T | undefined {
  const bytes = CHUNK.test(name) ? readRegular(join(place.dir, name), MAX_FILE) : undefined;
  if (!bytes || (place.digests && sha256(bytes) !== place.digests.get(name))) return undefined;
  try {
    const part = deserialize(bytes) as unknown;
    return fits(part) ? part : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A part's bytes, when its file is there and (a place with digests) has the
 * digest the place gives it. Whether they mean anything is the caller's to
 * judge.
 */
function readPart(place: ReadingPlace, name: string): Buffer | undefined {
  const digest = PART.exec(name)?.[1];
  const bytes = digest ? readRegular(join(place.dir, name), MAX_FILE) : undefined;
  if (!bytes || (place.digests && (place.digests.get(name) !== digest || sha256(bytes) !== digest))) return undefined;
  return bytes;
}

/**
 * The part `name` of the reading in `place`, read when its bytes are first
 * asked for (or, in a place without digests, a range at a time); one that
 * does not read then is a damaged reading (`what` names it; see
 * savedDamaged).
 */
export function savedPart(place: ReadingPlace, name: string, what: string): SavedPart {
  const part: SavedPart = {
    name,
    bytes: () => {
      const bytes = readPart(place, name);
      if (!bytes) throw savedDamaged(place, what);
      return bytes;
    },
  };
  // Where a file's digest is to be checked, it is read whole.
  if (place.digests || !PART.test(name)) return part;
  part.range = (start, end) => {
    const bytes = readRegularRange(join(place.dir, name), start, end - start);
    if (!bytes) throw savedDamaged(place, what);
    return bytes;
  };
  return part;
}

/** Chunks and parts no state names are removed once they are this old (a command that read the state before may still read them). */
const STALE_MS = 10 * 60 * 1000;

/**
 * Marks the files `names` of `place` as in use now: a daemon's reading,
 * taken on from a saved one days ago, reads its parts when first asked for,
 * long after other commands' saves have stopped naming them (see STALE_MS).
 */
export function keepFresh(place: ReadingPlace, names: Iterable<string>): void {
  if (place.digests) return; // a checkpoint's files are the signed link's, never removed as stale
  const now = new Date();
  for (const name of names) {
    if (!(CHUNK.test(name) || PART.test(name))) continue;
    try {
      utimesSync(join(place.dir, name), now, now);
    } catch {
      // gone already: the reading finds out when it reads it (a damaged reading, read afresh)
    }
  }
}

/**
 * Saves the state at commit `head`, naming the earlier chunks and `chunk`,
 * written as one more, and the `parts` it keeps (each written unless a file
 * of its name is there). Chunks and parts that neither this state nor the
 * one it replaces names, and old enough, are removed: a command that read
 * the state replaced may still read what it named. Returns the sha256 of
 * the state, the new chunk and each part, by name, or undefined when it
 * could not save: a failure to save is no failure of the command.
 */
export function writeSaved(
  place: ReadingPlace,
  head: string,
  state: unknown,
  chunks: string[],
  chunk: unknown,
  parts: SavedPart[],
): Map<string, string> | undefined {
  const dir = place.dir;
  const ours = thisBuild();
  if (!ours) return undefined;
  const digests = new Map<string, string>();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = `chunk-${head}-${process.pid}-${Date.now()}`;
    const named = { chunks: [...chunks, name], parts: parts.map((p) => p.name) };
    const write = (file: string, ...data: Buffer[]) => {
      digests.set(file === stateFile(place) ? 'state' : name, sha256(...data));
      writeFileAtomic(file, ...data);
    };
    for (const p of parts) {
      const file = join(dir, p.name);
      const digest = PART.exec(p.name)![1]!;
      if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
        // Written only as its name says: one copied from another place is read there unchecked (by range), and a
        // damaged one would be signed into a checkpoint under its name's digest. One made here was named from its bytes.
        const bytes = p.bytes();
        if (!p.made && sha256(bytes) !== digest) return undefined;
        writeFileAtomic(file, bytes);
      }
      digests.set(p.name, digest);
    }
    write(join(dir, name), serialize(chunk));
    const kept = new Set([...named.chunks, ...named.parts, ...namesBefore(place)]);
    write(stateFile(place), Buffer.from(`ga-reading ${ours}\n${JSON.stringify(named)}\n`, 'utf8'), serialize(state));
    const now = Date.now();
    for (const f of readdirSync(dir)) {
      if (!(CHUNK.test(f) || PART.test(f)) || kept.has(f)) continue;
      const p = join(dir, f);
      if (now - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    }
    return digests;
  } catch {
    return undefined;
  }
}

/** The chunks and parts the state now in `place` names (none when it names none this build can read). */
function namesBefore(place: ReadingPlace): string[] {
  try {
    const head = readRegular(stateFile(place), 64 * 1024); // the two lines before the state are far shorter
    const header = head && stateHeader(head);
    return header ? [...header.chunks, ...header.parts] : [];
  } catch {
    return [];
  }
}

/** Drops the saved reading (one that did not read back). */
function dropSaved(place: ReadingPlace): void {
  rmSync(stateFile(place), { force: true });
}

/**
 * A part of the saved reading (`what`) that did not read back when a command
 * asked for it, after the state was trusted: the saved reading is dropped,
 * and the command stops with this error (exit 1: it did nothing, as with a
 * damaged ledger); the next one reads afresh.
 */
export function savedDamaged(place: ReadingPlace, what: string): GovernanceRefusal {
  dropSaved(place);
  return new GovernanceRefusal(
    `the ${what} in the saved reading ${place.dir} is damaged: it was removed; run the command again (it reads all of history)`,
    'damaged-reading',
  );
}
