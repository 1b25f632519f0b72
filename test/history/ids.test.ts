// A reading's timeline ids (src/history/ids.ts) kept as raw bytes in a part
// of their own: every place, id and slice must be what a plain array of the
// ids gives, through a save and a reload, for sha1 and sha256 ids, whether
// the part is read a range at a time (from the end) or whole, and whether a
// place is found by a scan or (after enough lookups) by a map; an id that
// appears in the bytes only across two ids is no id of the timeline; a
// recent id is found without reading the old ones, however many are asked
// for; and a part shorter than the state says is a damaged reading.
import { randomBytes } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimelineIds, type SavedIds } from '../../src/history/ids.js';
import type { SavedPart } from '../../src/history/saved.js';

const ids = (width: number, n: number) => Array.from({ length: n }, () => randomBytes(width).toString('hex'));

/**
 * As the next command takes them on: the state's numbers serialized and
 * deserialized, the bytes in a part read by range (an everyday reading) or
 * whole (a checkpoint's, whose digest is checked); `reads` gets the size of
 * each read.
 */
function reload(t: TimelineIds, ranged = true, reads: number[] = [], bytesOf = (b: Buffer) => b): TimelineIds {
  const s = t.saved();
  const kept = deserialize(serialize({ width: s.width, segments: s.segments.map((g) => ({ part: g.part.name, count: g.count })) })) as SavedIds;
  const segments = s.segments.map((g, k) => {
    const bytes = bytesOf(g.part.bytes());
    const part: SavedPart = {
      name: kept.segments[k]!.part,
      bytes: () => (reads.push(bytes.length), bytes),
      ...(ranged ? { range: (start: number, end: number) => (reads.push(end - start), bytes.subarray(start, end)) } : {}),
    };
    return { part, count: kept.segments[k]!.count };
  });
  return new TimelineIds({ width: kept.width, segments }, () => new Error('damaged'));
}

describe('TimelineIds', () => {
  it('tells what an array of the ids tells, saved and reloaded, for random timelines and lookups', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(20, 32),
        fc.nat({ max: 200 }),
        fc.nat({ max: 50 }),
        fc.array(fc.nat({ max: 300 }), { maxLength: 150 }),
        fc.boolean(),
        (width, saved, added, asked, ranged) => {
          const all = ids(width, saved + added);
          const before = new TimelineIds();
          all.slice(0, saved).forEach((id) => before.push(id));
          const t = reload(before, ranged);
          all.slice(saved).forEach((id) => t.push(id));
          expect(t.length).toBe(all.length);
          const end = Math.floor(all.length / 2);
          const places = t.places(end);
          for (const k of asked) {
            const id = k < all.length ? all[k]! : randomBytes(width).toString('hex');
            const want = k < all.length ? k : undefined;
            expect(t.placeOf(id)).toBe(want);
            expect(places.get(id)).toBe(want !== undefined && want < end ? want : undefined);
            expect(t.at(k)).toBe(all[k]);
          }
          expect(t.slice(3, all.length - 2)).toEqual(all.slice(3, all.length - 2));
          expect(reload(t, ranged).slice(0, all.length)).toEqual(all);
          expect(reload(reload(t, !ranged)).slice(0, all.length)).toEqual(all);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads a long timeline from the end, no further back than asked, and every place right however far back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5_000, max: 40_000 }), fc.array(fc.nat(), { minLength: 1, maxLength: 80 }), (n, asked) => {
        const all = ids(20, n);
        const before = new TimelineIds();
        all.forEach((id) => before.push(id));
        const reads: number[] = [];
        const t = reload(before, true, reads);
        expect(t.placeOf(all[n - 1]!)).toBe(n - 1);
        expect(t.placeOf(all[n - 100]!)).toBe(n - 100);
        // The two most recent: one read of the last 4,096 ids, not the 2 MB of 100,000.
        expect(reads).toEqual([4096 * 20]);
        for (const k of asked.map((a) => a % n)) {
          expect(t.placeOf(all[k]!)).toBe(k);
          expect(t.at(k)).toBe(all[k]);
        }
        // Each read goes further back than all before it together: a few reads, never an id read twice.
        expect(reads.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n / 4096)) + 1);
        expect(reads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(n * 20);
        expect(t.placeOf(randomBytes(20).toString('hex'))).toBeUndefined();
        expect(reads.reduce((a, b) => a + b, 0)).toBe(n * 20);
      }),
      { numRuns: 20 },
    );
  });

  it('finds recent commits by the thousand without reading older ids or making a map of them all', () => {
    const all = ids(20, 100_000);
    const before = new TimelineIds();
    all.forEach((id) => before.push(id));
    const reads: number[] = [];
    const t = reload(before, true, reads);
    // The watchdog's loop rule: every proposal of its last minutes, each submitted some commits ago.
    for (let k = 0; k < 2_000; k++) expect(t.placeOf(all[99_999 - (k % 3_000)]!)).toBe(99_999 - (k % 3_000));
    expect(reads).toEqual([4096 * 20]);
    // Old ones, over and over (ga verify): the rest read once, in a few reads; then, past 64 scans' worth, a map.
    for (let k = 0; k < 200; k++) expect(t.placeOf(all[k]!)).toBe(k);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(100_000 * 20);
    expect(reads.length).toBeLessThanOrEqual(6);
  });

  it('saves the ids added since as one more part, never all of them again; past 16 parts, the newest are written again as one', () => {
    const saves = 300;
    const all = ids(20, 100_000 + saves * 16);
    const before = new TimelineIds();
    all.slice(0, 100_000).forEach((id) => before.push(id));
    let t = reload(before);
    const first = t.saved().segments[0]!.part.name;
    let written = 0;
    for (let i = 0; i < saves; i++) {
      const names = new Set(t.saved().segments.map((g) => g.part.name));
      all.slice(100_000 + i * 16, 100_000 + (i + 1) * 16).forEach((id) => t.push(id));
      const s = t.saved();
      expect(s.segments.length).toBeLessThanOrEqual(16);
      expect(s.segments[0]!.part.name).toBe(first); // the 2 MB of the first 100,000, never written again
      for (const g of s.segments) if (!names.has(g.part.name)) written += g.part.bytes().length;
      t = reload(t);
    }
    expect(t.slice(0, all.length)).toEqual(all);
    // A few times the bytes added (2.7 times; all of them each time would be 300 times 2 MB). A rule that always merged the
    // newest part with the ids added, and stopped at it, grew that one part at every save: 48 times.
    expect(written).toBeLessThan(saves * 16 * 20 * 4);
  });

  it('throws the damaged error for a part shorter than the state says, read by range or whole', () => {
    const all = ids(20, 10_000);
    const before = new TimelineIds();
    all.forEach((id) => before.push(id));
    const short = (b: Buffer) => b.subarray(0, b.length - 20);
    // By range, the first read (the last ids) comes up short; whole, the length does not match.
    expect(() => reload(before, true, [], short).placeOf(all[9_999]!)).toThrow('damaged');
    expect(() => reload(before, false, [], short).at(5)).toThrow('damaged');
  });

  it('finds no place for bytes that straddle two ids, nor for what is not an id', () => {
    const all = ids(20, 3);
    const t = new TimelineIds();
    all.forEach((id) => t.push(id));
    const saved = reload(t);
    const straddle = all[0]!.slice(20) + all[1]!.slice(0, 20);
    for (let i = 0; i < 100; i++) expect(saved.placeOf(straddle)).toBeUndefined(); // by scan, then by map
    expect(saved.placeOf(all[2]!)).toBe(2);
    expect(saved.placeOf(all[2]!.toUpperCase())).toBeUndefined();
    expect(saved.placeOf(all[2]!.slice(0, 38))).toBeUndefined();
    expect(saved.placeOf('')).toBeUndefined();
  });
});
