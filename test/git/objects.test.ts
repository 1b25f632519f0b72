// The object store reads loose objects in process and the rest through
// cat-file: for any mix of loose and packed objects it must answer exactly
// what git stores, answer loose objects without a git process at all, and
// never answer a loose file whose content is not its id (cat-file's answer,
// checked in turn, decides).
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { objectWriter } from '../../src/git/loose.js';
import { CorruptObjectError, ObjectStore } from '../../src/git/objects.js';

let dir: string;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const run = (args: string[], input?: string | Buffer): string => execFileSync('git', args, { cwd: dir, env, input, encoding: 'utf8' }).trim();
const objects = () => join(dir, '.git', 'objects');
const write = (content: string, type = 'blob') => run(['hash-object', '-w', '-t', type, '--stdin'], content);
const looseFile = (oid: string) => join(objects(), oid.slice(0, 2), oid.slice(2));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-objects-'));
  run(['init', '-q']);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the object store', () => {
  it('answers what cat-file answers for any mix of loose, packed and missing objects', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ maxLength: 3000 }), fc.boolean()), { minLength: 1, maxLength: 12 }), fc.nat(), async (items, seed) => {
        const packed = items.filter(([, p]) => p).map(([c]) => write(`packed ${seed} ${c}`));
        if (packed.length) {
          run(['repack', '-a', '-d', '-q']);
          run(['prune-packed']);
        }
        const loose = items.filter(([, p]) => !p).map(([c]) => write(`loose ${seed} ${c}`));
        const missing = 'f'.repeat(40);
        const ask = [...packed, ...loose, missing, ...loose.slice(0, 1)].reverse();
        const store = new ObjectStore(dir, objects());
        try {
          const got = await store.getMany(ask);
          expect(got.map((o) => o && { oid: o.oid, type: o.type, content: o.content.toString('utf8') })).toEqual(
            ask.map((oid) =>
              oid === missing ? undefined : { oid, type: 'blob', content: execFileSync('git', ['cat-file', 'blob', oid], { cwd: dir, env, encoding: 'utf8' }) },
            ),
          );
        } finally {
          store.close();
        }
      }),
      { numRuns: 15 },
    );
  });

  it('reads loose objects without starting git, and asks git for the rest', async () => {
    const blob = write('a loose blob\n');
    const tree = run(['mktree'], `100644 blob ${blob}\tfile\n`);
    // No git can run in a directory that does not exist: only the in-process reader can answer.
    const store = new ObjectStore(join(dir, 'nowhere'), objects());
    try {
      expect((await store.tree(tree)).map((e) => [e.name, e.oid])).toEqual([['file', blob]]);
      expect((await store.blob(blob)).toString()).toBe('a loose blob\n');
      run(['repack', '-a', '-d', '-q']);
      run(['prune-packed']);
      const later = write('written after the store listed the loose objects\n');
      await expect(store.get(later)).rejects.toThrow(/cat-file/);
    } finally {
      store.close();
    }
    // With git to ask: an object packed and pruned since its directory was listed, and one written since.
    const store2 = new ObjectStore(dir, objects());
    try {
      const blob2 = write('loose at first\n');
      expect((await store2.blob(blob2)).toString()).toBe('loose at first\n');
      run(['repack', '-a', '-d', '-q']);
      run(['prune-packed']);
      const fresh = write('new since the listing\n');
      expect((await store2.getMany([blob2, blob, fresh])).map((o) => o?.content.toString())).toEqual([
        'loose at first\n',
        'a loose blob\n',
        'new since the listing\n',
      ]);
    } finally {
      store2.close();
    }
  });

  it('keeps a wide tree it read: the version a replay read is there for the commit that edits it', async () => {
    const blob = write('one file\n');
    const wide = run(['mktree'], Array.from({ length: 2000 }, (_, i) => `100644 blob ${blob}\tfile-${String(i).padStart(5, '0')}\n`).join(''));
    const narrow = run(['mktree'], `100644 blob ${blob}\tfile\n`);
    const store = new ObjectStore(join(dir, 'nowhere'), objects());
    try {
      const [w, n] = await store.rawTrees([wide, narrow]);
      expect(w!.length).toBeGreaterThan(64 * 1024);
      for (const oid of [wide, narrow]) rmSync(looseFile(oid), { force: true });
      expect((await store.rawTrees([wide]))[0]!.equals(w!)).toBe(true); // kept: read with no file and no git
      await expect(store.rawTrees([narrow])).rejects.toThrow(/cat-file/); // a narrow one is read again each time
      expect(n!.length).toBeLessThan(100);
    } finally {
      store.close();
    }
  });

  it('keeps the last wide trees it wrote raw for the next commands, and takes one only when its bytes are its id', async () => {
    const blob = write('one file\n');
    const kept = join(dir, '.git', 'ga', 'wide-trees');
    const writer = objectWriter(
      { root: dir, commonDir: join(dir, '.git'), local: new Map(), objects: new ObjectStore(dir, objects(), kept) },
      join(dir, 'tmp'),
      40,
    );
    const wideTree = (n: number) =>
      Buffer.concat(
        Array.from({ length: 2000 }, (_, i) => Buffer.concat([Buffer.from(`100644 file-${n}-${String(i).padStart(5, '0')}\0`), Buffer.from(blob, 'hex')])),
      );
    const bodies = Array.from({ length: 8 }, (_, n) => wideTree(n));
    const ids: string[] = [];
    for (const b of bodies) ids.push(...(await writer('tree', [b])));
    // The newest six are kept; the two oldest were pruned.
    expect(readdirSync(kept).sort()).toEqual(ids.slice(2).sort());
    // Another command reads the newest from what was kept: its loose object gone, with no git to ask.
    const last = ids.at(-1)!;
    rmSync(looseFile(last));
    let store = new ObjectStore(join(dir, 'nowhere'), objects(), kept);
    try {
      expect((await store.rawTrees([last]))[0]!.equals(bodies.at(-1)!)).toBe(true);
    } finally {
      store.close();
    }
    // A kept file whose bytes are not its id is passed over: the store is asked (and has no such object now).
    const bytes = readFileSync(join(kept, last));
    bytes.writeUInt8(bytes.readUInt8(100) ^ 1, 100);
    writeFileSync(join(kept, last), bytes);
    store = new ObjectStore(join(dir, 'nowhere'), objects(), kept);
    try {
      await expect(store.rawTrees([last])).rejects.toThrow(/cat-file/);
    } finally {
      store.close();
    }
  });

  it('answers a kept wide tree even when a read running beside it pushes it out of what is kept', async () => {
    const blob = Buffer.from(write('one file\n'), 'hex');
    // A tree of 900 KB (25,000 entries), its own names.
    const wideTree = (k: number) => {
      const entries = Array.from({ length: 25_000 }, (_, i) => Buffer.concat([Buffer.from(`100644 f${k}-${String(i).padStart(5, '0')}\0`), blob]));
      return run(['hash-object', '-w', '-t', 'tree', '--stdin'], Buffer.concat(entries));
    };
    const wide = Array.from({ length: 11 }, (_, k) => wideTree(k));
    const narrow = run(['mktree'], `100644 blob ${blob.toString('hex')}\tnarrow\n`);
    const store = new ObjectStore(dir, objects());
    try {
      const [first] = await store.rawTrees([wide[0]!]);
      expect(first!.length).toBeGreaterThan(850_000); // ten of them: 9 MB, more than the 8 MB kept
      // Two reads at once, as the diff's lanes make them: the first reads ten more wide trees, which push out the one
      // the second finds kept when it is asked; the second answers once the first has kept them.
      const [, [again, other]] = await Promise.all([store.rawTrees(wide.slice(1)), store.rawTrees([wide[0]!, narrow])]);
      expect((store as unknown as { wide: Map<string, Buffer> }).wide.has(wide[0]!)).toBe(false);
      expect(again!.equals(first!)).toBe(true);
      expect(other!.toString('latin1')).toContain('narrow');
    } finally {
      store.close();
    }
  });

  it('reads a loose object of any size in process, and never waits on what stands in place of one', async () => {
    // Larger than the buffer a loose file is first read into (64 KiB): random bytes, so that its deflated file is too.
    const big = randomBytes(200 * 1024).toString('base64');
    const bigOid = write(big);
    const inProcess = new ObjectStore(join(dir, 'nowhere'), objects());
    try {
      expect((await inProcess.blob(bigOid)).toString('utf8')).toBe(big);
    } finally {
      inProcess.close();
    }
    // Both packed and loose, each loose file then replaced: by a FIFO whose writer holds it open (a read would block), by
    // one that was written garbage, by a directory. The store reads none of them as the object and never waits on one:
    // it answers from the pack (git itself gives up on such a loose file).
    const oids = ['held', 'garbage', 'directory'].map((c) => write(`${c}\n`));
    run(['pack-objects', '-q', join(objects(), 'pack', 'pack')], oids.join('\n') + '\n');
    const [held, garbage, directory] = oids.map(looseFile) as [string, string, string];
    for (const f of [held, garbage, directory]) rmSync(f);
    execFileSync('mkfifo', [held, garbage]);
    mkdirSync(directory);
    const writers = [openSync(held, 'r+'), openSync(garbage, 'r+')];
    writeSync(writers[1]!, 'not an object');
    const store = new ObjectStore(dir, objects());
    try {
      const got = await store.getMany(oids);
      expect(got.map((o) => o?.content.toString('utf8'))).toEqual(['held\n', 'garbage\n', 'directory\n']);
    } finally {
      store.close();
      writers.forEach((fd) => closeSync(fd));
    }
  });

  it('never answers a loose file whose content is not its id: git is asked, and its answer is checked', async () => {
    const blob = write('the trusted content\n');
    const file = looseFile(blob);
    chmodSync(file, 0o644);
    writeFileSync(file, deflateSync(Buffer.from('blob 19\0the forged content\n')));
    const store = new ObjectStore(dir, objects());
    try {
      await expect(store.blob(blob)).rejects.toThrow(CorruptObjectError);
    } finally {
      store.close();
    }
    // The verdict is the one a store without the in-process reader gives.
    const catFileOnly = new ObjectStore(dir);
    try {
      await expect(catFileOnly.blob(blob)).rejects.toThrow(CorruptObjectError);
    } finally {
      catFileOnly.close();
    }
  });
});
