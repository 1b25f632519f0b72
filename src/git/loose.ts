// New blobs and trees written in process, as git's own writer writes a loose
// object: the header and content deflated into a read-only temporary file in
// the object's fan-out directory, then linked to its name (an object that is
// already there is left as it is, its time refreshed so that no prune takes
// it as old). An event commit wrote them with two `git hash-object`
// processes (15 to 30 ms each here); its objects are few and small. A
// shared repository (core.sharedRepository), whose files git gives group
// permissions, and anything that fails in process, go to git hash-object
// (which, for trees, also checks each as fsck would).
import { linkSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { InternalError } from '../errors.js';
import { git } from './exec.js';
import { objectId, type ObjectStore } from './objects.js';
import { localSettingOn, type ConfigSnapshot } from './repo.js';

/** Writes objects of one type; their ids, in order. */
export type ObjectWriter = (type: 'blob' | 'tree' | 'commit', bodies: Buffer[]) => Promise<string[]>;

/**
 * The writer for a repository: in process where it may be, else `git
 * hash-object -w --no-filters` over files under `tmp`, whose ids must be the
 * ones computed here.
 */
export function objectWriter(
  repo: { root: string; commonDir: string; local: ConfigSnapshot; objects?: ObjectStore },
  tmp: string,
  idLength: number,
): ObjectWriter {
  const inProcess = !localSettingOn(repo.local, 'core.sharedRepository');
  return async (type, bodies) => {
    if (inProcess) {
      try {
        // The store reads what it is told was written here in process, as it reads the loose objects it listed.
        return bodies.map((b) => {
          const oid = writeLoose(join(repo.commonDir, 'objects'), type, b, idLength);
          repo.objects?.wroteLoose(oid, type === 'tree' ? b : undefined);
          return oid;
        });
      } catch {
        // git gets to try (and says what is wrong, should it fail too)
      }
    }
    return hashObjects(repo.root, tmp, type, bodies, idLength);
  };
}

function writeLoose(objects: string, type: string, body: Buffer, idLength: number): string {
  const oid = objectId(type, body, idLength);
  const dir = join(objects, oid.slice(0, 2));
  const file = join(dir, oid.slice(2));
  try {
    const now = new Date();
    utimesSync(file, now, now);
    return oid;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dir, { recursive: true });
  const temporary = join(dir, `tmp_obj_ga_${process.pid}_${Math.random().toString(36).slice(2)}`);
  // One output buffer about the object's size (zlib's 16 KiB pieces, joined, cost a wide tree 3 ms more).
  const deflated = deflateSync(Buffer.concat([Buffer.from(`${type} ${body.length}\0`, 'latin1'), body]), {
    level: 1,
    chunkSize: Math.max(1024, body.length + 64),
  });
  writeFileSync(temporary, deflated, { mode: 0o444, flag: 'wx' });
  try {
    linkSync(temporary, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(temporary, { force: true });
  }
  return oid;
}

async function hashObjects(cwd: string, tmp: string, type: 'blob' | 'tree' | 'commit', bodies: Buffer[], idLength: number): Promise<string[]> {
  if (!bodies.length) return [];
  mkdirSync(tmp, { recursive: true });
  const stamp = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const files = bodies.map((b, i) => {
    const p = join(tmp, `${type}-${stamp}-${i}`);
    writeFileSync(p, b);
    return p;
  });
  try {
    const r = await git(['hash-object', '-w', '--no-filters', '-t', type, '--stdin-paths'], { cwd, input: files.join('\n') + '\n' });
    const got = r.stdout.toString().trim().split('\n');
    bodies.forEach((b, i) => {
      const want = objectId(type, b, idLength);
      if (got[i] !== want) throw new InternalError(`git wrote ${type} ${got[i] ?? '(none)'} where ga computed ${want}`);
    });
    return got;
  } finally {
    for (const p of files) rmSync(p, { force: true });
  }
}
