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
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { Repo } from '../git/repo.js';
import { readRegular } from '../runtime/files.js';

/** Raised whenever what a saved reading holds changes shape or meaning. */
const FORMAT = 1;

const savedReadingDir = (repo: Repo) => join(repo.commonDir, 'ga', 'reading');
const stateFile = (repo: Repo) => join(savedReadingDir(repo), 'state');
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

/** The saved state (if `fits` accepts it) and the names of its chunks; undefined when there is none this build wrote. */
export function readSaved<T>(repo: Repo, fits: (state: unknown) => state is T): { state: T; chunks: string[] } | undefined {
  const bytes = readRegular(stateFile(repo), 4 * 1024 * 1024 * 1024);
  if (!bytes) return undefined;
  try {
    const first = bytes.indexOf(10);
    const second = bytes.indexOf(10, first + 1);
    const ours = thisBuild();
    if (!ours || first < 0 || second < 0 || bytes.subarray(0, first).toString('utf8') !== `ga-reading ${ours}`) return undefined;
    const chunks = JSON.parse(bytes.subarray(first + 1, second).toString('utf8')) as unknown;
    if (!Array.isArray(chunks) || !chunks.every((n) => typeof n === 'string' && CHUNK.test(n))) return undefined;
    const state = deserialize(bytes.subarray(second + 1)) as unknown;
    return fits(state) ? { state, chunks: chunks as string[] } : undefined;
  } catch {
    return undefined;
  }
}

/** One chunk, if it reads and `fits` accepts it. */
export function readChunk<T>(repo: Repo, name: string, fits: (part: unknown) => part is T): T | undefined {
  const bytes = CHUNK.test(name) ? readRegular(join(savedReadingDir(repo), name), 4 * 1024 * 1024 * 1024) : undefined;
  if (!bytes) return undefined;
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
 * A failure to save is no failure of the command.
 */
export function writeSaved(repo: Repo, head: string, state: unknown, chunks: string[], chunk: unknown): void {
  const dir = savedReadingDir(repo);
  const ours = thisBuild();
  if (!ours) return;
  const temporary: string[] = [];
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = `chunk-${head}-${process.pid}-${Date.now()}`;
    const named = [...chunks, name];
    const write = (file: string, ...data: Buffer[]) => {
      const tmp = `${file}.${process.pid}.tmp`;
      temporary.push(tmp);
      const fd = openSync(tmp, 'w', 0o600);
      try {
        for (const d of data) for (let at = 0; at < d.length;) at += writeSync(fd, d, at);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    };
    write(join(dir, name), serialize(chunk));
    write(stateFile(repo), Buffer.from(`ga-reading ${ours}\n${JSON.stringify(named)}\n`, 'utf8'), serialize(state));
    const now = Date.now();
    for (const f of readdirSync(dir)) {
      if (f === 'state' || named.includes(f)) continue;
      const p = join(dir, f);
      if (now - statSync(p).mtimeMs > STALE_MS) rmSync(p, { force: true });
    }
  } catch {
    for (const tmp of temporary) rmSync(tmp, { force: true });
  }
}

/** Drops the saved reading (one that did not read back). */
function dropSaved(repo: Repo): void {
  rmSync(stateFile(repo), { force: true });
}

/**
 * A part of the saved reading (`what`) that did not read back when a command
 * asked for it, after the state was trusted: the saved reading is dropped,
 * and the command stops with this error; the next one reads afresh.
 */
export function savedDamaged(repo: Repo, what: string): Error {
  dropSaved(repo);
  return new Error(`the ${what} in the saved reading ${savedReadingDir(repo)} is damaged: it was removed; run the command again (it reads all of history)`);
}
