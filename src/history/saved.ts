// The saved reading: a one-shot command's replay of history, kept under
// .git/ga/ (beside the pin and the high-water mark) so that the next command
// replays only the commits added since. It is a cache: written whole or not
// at all (a file renamed over the last one), bound to this build of ga and
// to the commit it was made at; anything about it that does not fit (a
// missing, truncated or foreign file, another build, a history that did not
// simply grow from it) means a full reading, never a refusal.
//
// The files, under .git/ga/reading/: "state", one line "ga-reading <build>",
// one line of JSON naming the chunks, then a v8 serialization of the state
// every command reads (the proposals, the trusted files, the markers ...);
// and the chunks, each a v8 serialization of what grows with every commit
// (the commits as read, the approvers each was judged against, the
// verdicts), read only when a command asks for older commits. A chunk is
// never rewritten: a save writes one more and a new state naming it.
//
// The same files may live in another place: a signed checkpoint of
// ga verify (verify/checkpoint.ts) keeps a reading of its own, whose files
// must have the digests its signed link names. There, the state is checked
// before it is used, and each chunk when it is read (a chunk that does not
// match is a damaged reading: the command that needed it stops).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { Repo } from '../git/repo.js';
import { readRegular, writeFileAtomic } from '../runtime/files.js';

/** Raised whenever what a saved reading holds changes shape or meaning. */
const FORMAT = 2;

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

let build: string | undefined;
/**
 * This build of ga: its version (package.json, two levels up from dist/bundle/
 * and dist/history/ alike) and this module's own file by size and time (the
 * build writes every file anew). Nothing known: no saved reading is read or
 * written.
 */
function thisBuild(): string | undefined {
  if (build === undefined) {
    try {
      const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version;
      const st = statSync(fileURLToPath(import.meta.url));
      build = `${FORMAT}:${String(version)}:${st.size}:${Math.round(st.mtimeMs)}`;
    } catch {
      build = '';
    }
  }
  return build || undefined;
}

/**
 * The saved state (if `fits` accepts it) and the names of its chunks;
 * undefined when there is none this build wrote, or (a place with digests)
 * when the state does not have its digest or names a chunk without one.
 */
export function readSaved<T>(place: ReadingPlace, fits: (state: unknown) => state is T): { state: T; chunks: string[] } | undefined {
  const bytes = readRegular(stateFile(place), MAX_FILE);
  if (!bytes) return undefined;
  if (place.digests && sha256(bytes) !== place.digests.get('state')) return undefined;
  try {
    const first = bytes.indexOf(10);
    const second = bytes.indexOf(10, first + 1);
    const ours = thisBuild();
    if (!ours || first < 0 || second < 0 || bytes.subarray(0, first).toString('utf8') !== `ga-reading ${ours}`) return undefined;
    const chunks = JSON.parse(bytes.subarray(first + 1, second).toString('utf8')) as unknown;
    if (!Array.isArray(chunks) || !chunks.every((n) => typeof n === 'string' && CHUNK.test(n))) return undefined;
    if (place.digests && !chunks.every((n: string) => place.digests!.has(n))) return undefined;
    const state = deserialize(bytes.subarray(second + 1)) as unknown;
    return fits(state) ? { state, chunks: chunks as string[] } : undefined;
  } catch {
    return undefined;
  }
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

/** Chunks no state names are removed once they are this old (a command that read the state before may still read them). */
const STALE_MS = 10 * 60 * 1000;

/**
 * Saves the state at commit `head`, naming the earlier chunks and `chunk`,
 * written as one more; chunks no longer named, and old enough, are removed.
 * Returns the sha256 of the two files written ("state", and the new chunk by
 * name), or undefined when it could not save: a failure to save is no
 * failure of the command.
 */
export function writeSaved(place: ReadingPlace, head: string, state: unknown, chunks: string[], chunk: unknown): Map<string, string> | undefined {
  const dir = place.dir;
  const ours = thisBuild();
  if (!ours) return undefined;
  const digests = new Map<string, string>();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = `chunk-${head}-${process.pid}-${Date.now()}`;
    const named = [...chunks, name];
    const write = (file: string, ...data: Buffer[]) => {
      digests.set(file === stateFile(place) ? 'state' : name, sha256(...data));
      writeFileAtomic(file, ...data);
    };
    write(join(dir, name), serialize(chunk));
    write(stateFile(place), Buffer.from(`ga-reading ${ours}\n${JSON.stringify(named)}\n`, 'utf8'), serialize(state));
    const now = Date.now();
    for (const f of readdirSync(dir)) {
      if (!CHUNK.test(f) || named.includes(f)) continue;
      const p = join(dir, f);
      if (now - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    }
    return digests;
  } catch {
    return undefined;
  }
}

/** Drops the saved reading (one that did not read back). */
function dropSaved(place: ReadingPlace): void {
  rmSync(stateFile(place), { force: true });
}

/**
 * A part of the saved reading (`what`) that did not read back when a command
 * asked for it, after the state was trusted: the saved reading is dropped,
 * and the command stops with this error; the next one reads afresh.
 */
export function savedDamaged(place: ReadingPlace, what: string): Error {
  dropSaved(place);
  return new Error(`the ${what} in the saved reading ${place.dir} is damaged: it was removed; run the command again (it reads all of history)`);
}
