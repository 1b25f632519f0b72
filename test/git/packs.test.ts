// Packed objects read in process (git/packs.ts): for every object of packs
// as git writes them (deltas on an earlier entry, deltas on a named base,
// 64-bit offsets, SHA-256 repositories) the reader builds exactly what
// cat-file answers, or nothing; the object store answers a few packed
// objects with no git at all, and never answers a pack entry that is not
// its id.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptObjectError, ObjectStore } from '../../src/git/objects.js';
import { applyDelta, PackedObjects } from '../../src/git/packs.js';

let dir: string;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent' };
const run = (args: string[], input?: string | Buffer): string =>
  execFileSync('git', args, { cwd: dir, env, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
const objects = () => join(dir, '.git', 'objects');
const packDir = () => join(objects(), 'pack');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ga-packs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A history whose files change a little at each commit (so that git packs
 * most versions as deltas): `edits` lines changed in one of a few files per
 * commit, the seed making the lines.
 */
function history(edits: [number, number, string][], format: 'sha1' | 'sha256' = 'sha1'): void {
  run(['init', '-q', `--object-format=${format}`]);
  const files = [0, 1, 2].map((f) => Array.from({ length: 60 }, (_, i) => `file ${f} line ${i} ${'x'.repeat(i % 7)}`));
  edits.forEach(([f, line, text], n) => {
    files[f % 3]![line % 60] = text;
    files.forEach((lines, k) => writeFileSync(join(dir, `f${k}.txt`), lines.join('\n') + '\n'));
    run(['add', '-A']);
    run(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', `edit ${n}`]);
  });
}

/** Every object in the repository with its type, as cat-file lists them. */
const everyObject = (): [string, string][] =>
  run(['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'])
    .split('\n')
    .map((l) => l.split(' ') as [string, string]);

/** What the in-process reader builds for every object, against cat-file's answer. */
function expectEveryObjectAsCatFile(): number {
  const reader = new PackedObjects(objects());
  let built = 0;
  try {
    for (const [oid, type] of everyObject()) {
      const got = reader.read(oid);
      expect(got, oid).toBeDefined();
      expect(got!.type).toBe(type);
      expect(got!.content.equals(execFileSync('git', ['cat-file', type, oid], { cwd: dir, env, maxBuffer: 1 << 28 }))).toBe(true);
      built++;
    }
  } finally {
    reader.done();
  }
  return built;
}

const edit = fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 40 }));

describe('packed objects read in process', () => {
  it('are what cat-file answers, for packs of deltas on earlier entries (git repack)', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 2, maxLength: 25 }), (edits) => {
        rmSync(dir, { recursive: true, force: true });
        dir = mkdtempSync(join(tmpdir(), 'ga-packs-'));
        history(edits);
        run(['repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=50']);
        run(['prune-packed']);
        expect(readdirSync(objects()).filter((n) => n.length === 2)).toEqual([]); // nothing loose
        expect(
          run([
            'verify-pack',
            '-v',
            ...readdirSync(packDir())
              .filter((n) => n.endsWith('.idx'))
              .map((n) => join(packDir(), n)),
          ]),
        ).toMatch(/chain length = /);
        expectEveryObjectAsCatFile();
      }),
      { numRuns: 8 },
    );
  });

  it('are what cat-file answers for deltas on bases named by id, for 64-bit offsets, and in a SHA-256 repository', () => {
    const edits: [number, number, string][] = Array.from({ length: 30 }, (_, i) => [i, i * 7, `changed ${i}`]);
    history(edits);
    // Without --delta-base-offset, pack-objects names each delta's base by its id.
    const ids = run(['rev-list', '--objects', '--all']);
    run(['pack-objects', '-q', '--window=50', '--depth=50', join(packDir(), 'pack')], ids + '\n');
    run(['prune-packed']);
    expect(expectEveryObjectAsCatFile()).toBeGreaterThan(90);
    // The same pack indexed with every offset past 64 bytes in the index's 64-bit table.
    const pack = readdirSync(packDir()).find((n) => n.endsWith('.pack'))!;
    const idx = join(packDir(), pack.replace(/\.pack$/, '.idx'));
    const before = readFileSync(idx);
    chmodSync(idx, 0o644);
    rmSync(idx);
    run(['index-pack', '--index-version=2,64', '-o', idx, join(packDir(), pack)]);
    expect(readFileSync(idx).length).toBeGreaterThan(before.length); // the large offsets are there
    expectEveryObjectAsCatFile();

    rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'ga-packs-'));
    history(edits, 'sha256');
    run(['repack', '-a', '-d', '-f', '-q']);
    run(['prune-packed']);
    expect(everyObject()[0]![0]).toHaveLength(64);
    expectEveryObjectAsCatFile();
  });

  it('the store answers a few packed objects with no git at all, many at once through cat-file, and never a pack entry that is not its id', async () => {
    history(Array.from({ length: 40 }, (_, i): [number, number, string] => [i, i, `line ${i}`]));
    run(['repack', '-a', '-d', '-q']);
    run(['prune-packed']);
    const all = everyObject();
    const blobs = all.filter(([, t]) => t === 'blob').map(([o]) => o);
    // No git can run in a directory that does not exist: only the in-process readers can answer.
    const alone = new ObjectStore(join(dir, 'nowhere'), objects());
    try {
      const head = run(['rev-parse', 'HEAD']);
      const commit = await alone.commit(head);
      expect(commit.parents).toEqual([run(['rev-parse', 'HEAD~1'])]);
      expect((await alone.tree(commit.tree)).map((e) => e.name)).toEqual(['f0.txt', 'f1.txt', 'f2.txt']);
      // Many at once are cat-file's, which cannot start here.
      await expect(alone.getMany(all.map(([o]) => o))).rejects.toThrow(/cat-file/);
    } finally {
      alone.close();
    }
    const store = new ObjectStore(dir, objects());
    try {
      const got = await store.getMany(all.map(([o]) => o));
      expect(got.map((o) => o?.type)).toEqual(all.map(([, t]) => t));
    } finally {
      store.close();
    }

    // A pack entry rewritten in place (deflated anew, within its old length): never answered as the object it claims to be.
    const pack = join(
      packDir(),
      readdirSync(packDir()).find((n) => n.endsWith('.pack'))!,
    );
    // verify-pack -v: id, type, size, size in the pack, offset (and depth and base for a delta): a blob stored whole, under
    // 2 KiB (its type and size in two bytes), with one bit changed and deflated again within its old length.
    let forgery: { target: string; forged: Buffer; body: Buffer; size: number; at: number } | undefined;
    const whole = run(['verify-pack', '-v', pack.replace(/\.pack$/, '.idx')])
      .split('\n')
      .map((l) => l.split(/\s+/))
      .filter((f) => f[1] === 'blob' && f.length === 5 && Number(f[2]) < 2048);
    for (const [target, , , inPack, offset] of whole) {
      const content = execFileSync('git', ['cat-file', 'blob', target!], { cwd: dir, env });
      for (let k = content.length - 1; k >= 0 && !forgery; k--) {
        const forged = Buffer.from(content);
        forged[k] = forged[k]! ^ 1;
        const body = deflateSync(forged, { level: 9 });
        if (2 + body.length <= Number(inPack)) forgery = { target: target!, forged, body, size: Number(inPack), at: Number(offset) };
      }
      if (forgery) break;
    }
    expect(forgery).toBeDefined();
    const { target, forged, body, size, at } = forgery!;
    const bytes = readFileSync(pack);
    const header = bytes.subarray(at, at + 2);
    chmodSync(pack, 0o644);
    writeFileSync(pack, Buffer.concat([bytes.subarray(0, at), header, body, Buffer.alloc(size - 2 - body.length), bytes.subarray(at + size)]));
    const reader = new PackedObjects(objects());
    expect(reader.read(target)?.content.equals(forged)).toBe(true); // the reader builds what the pack says
    reader.done();
    const checked = new ObjectStore(join(dir, 'nowhere'), objects());
    try {
      await expect(checked.blob(target)).rejects.toThrow(/cat-file/); // not taken: cat-file is asked, and cannot start here
    } finally {
      checked.close();
    }
    const withGit = new ObjectStore(dir, objects());
    try {
      await expect(withGit.blob(target)).rejects.toThrow(CorruptObjectError); // and cat-file's answer is checked in turn
    } finally {
      withGit.close();
    }
    expect(blobs).toContain(target);
  });

  it('applies deltas as git defines them, and refuses one that does not fit its base', () => {
    const base = Buffer.from('0123456789abcdefghij');
    // sizes 20 and 9; copy 4 bytes from offset 10; insert "XYZ"; copy 2 from offset 0
    const delta = Buffer.from([20, 9, 0x80 | 0x01 | 0x10, 10, 4, 3, 0x58, 0x59, 0x5a, 0x80 | 0x10, 2]);
    expect(applyDelta(base, delta).toString()).toBe('abcdXYZ01');
    expect(() => applyDelta(base.subarray(1), delta)).toThrow(); // the base is not the size the delta names
    expect(() => applyDelta(base, Buffer.from([20, 9, 0x80 | 0x01 | 0x10, 18, 4]))).toThrow(); // a copy past the base's end
    expect(() => applyDelta(base, Buffer.from([20, 3, 0]))).toThrow(); // a zero command
  });
});
