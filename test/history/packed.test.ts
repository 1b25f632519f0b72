// PackedMap (history/packed.ts): values packed into parts, saved and taken
// on again. Whatever is set, unpacked and packed in whatever order, a map
// made from what was saved answers as a plain Map does; what a save writes
// is what changed (the values still packed stay in the parts they are in),
// and the parts stay about log2 of the values in number.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allIds, idAt, idsInOrder, isPackedIndex, isSortedIds, lowerBound, PackedMap, sortedIds, type Packed } from '../../src/history/packed.js';
import type { SavedPart } from '../../src/history/saved.js';

type V = { id: string; n: number; pad: string };
const fits = (id: string, x: unknown): x is V => typeof x === 'object' && x !== null && (x as V).id === id;
const damaged = (id: string) => new Error(`damaged ${id}`);

/** The parts as a saved reading's place holds them: written once by name, read back from there (whole or a range). */
class Place {
  files = new Map<string, Buffer>();
  written = 0;
  save(p: Packed): Packed {
    for (const part of p.parts) {
      if (this.files.has(part.name)) continue;
      const bytes = part.bytes();
      this.files.set(part.name, Buffer.from(bytes));
      this.written += bytes.length;
    }
    return { index: p.index, parts: p.parts.map((part) => this.part(part.name)) };
  }
  part(name: string): SavedPart {
    return { name, bytes: () => this.files.get(name)!, range: (s, e) => Buffer.from(this.files.get(name)!.subarray(s, e)) };
  }
}

const value = (id: string, n: number): V => ({ id, n, pad: 'x'.repeat(200) });

describe('packed values', () => {
  it('answer as a plain Map after any mix of sets, unpacks and saves, read by a new map from the saved parts', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), id: fc.integer({ min: 0, max: 60 }), n: fc.integer() }),
      fc.record({ kind: fc.constant('get' as const), id: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ kind: fc.constant('save' as const), keepEven: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const place = new Place();
        const model = new Map<string, V>();
        let map = new PackedMap<V>(undefined, undefined, fits, damaged);
        for (const o of ops) {
          if (o.kind === 'set') {
            map.set(`p${o.id}`, value(`p${o.id}`, o.n));
            model.set(`p${o.id}`, value(`p${o.id}`, o.n));
          } else if (o.kind === 'get') {
            expect(map.has(`p${o.id}`)).toBe(model.has(`p${o.id}`));
            expect(map.get(`p${o.id}`)).toEqual(model.get(`p${o.id}`));
          } else {
            const p = map.pack((v) => o.keepEven && v.n % 2 === 0);
            expect(p.packed.parts.length).toBeLessThanOrEqual(32);
            const saved = { open: p.open, packed: place.save(p.packed) };
            map.adopt(saved);
            // Another command, from what was saved.
            map = new PackedMap<V>(new Map(saved.open), saved.packed, fits, damaged);
          }
          expect(map.size).toBe(model.size);
        }
        expect(new Map(map)).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('a save writes what changed: one more value among many leaves their part as it is, and the parts stay few', () => {
    const place = new Place();
    let map = new PackedMap<V>(undefined, undefined, fits, damaged);
    const save = () => {
      const p = map.pack();
      const packed = place.save(p.packed);
      map = new PackedMap<V>(new Map(), packed, fits, damaged);
      return packed;
    };
    for (let i = 0; i < 1000; i++) map.set(`p${i}`, value(`p${i}`, i));
    const big = save();
    expect(big.parts).toHaveLength(1);
    const once = place.written;
    let most = 0;
    let oldest = big.parts[0]!.name;
    let rewritten = 0;
    for (let i = 1000; i < 2000; i++) {
      map.set(`p${i}`, value(`p${i}`, i));
      const packed = save();
      most = Math.max(most, packed.parts.length);
      // The first thousand stay where they were until half as many have joined them (a binary counter's carry).
      if (i < 1400) expect(packed.parts[0]!.name).toBe(big.parts[0]!.name);
      if (packed.parts[0]!.name !== oldest) rewritten++;
      oldest = packed.parts[0]!.name;
    }
    expect(rewritten).toBeLessThanOrEqual(2);
    // A thousand saves of one value each wrote about log2(1000) times the new values' bytes, not the old part again each time.
    expect(place.written - once).toBeLessThan(12 * once);
    expect(most).toBeLessThanOrEqual(12);
    for (let i = 0; i < 2000; i += 97) expect(map.get(`p${i}`)).toEqual(value(`p${i}`, i));
  });

  it('reads a few values of a part alone, and a part whole only once the values asked for are many for its size', () => {
    // Counting reads: a small part is read whole after 32 values read alone; a large one only after one value for every 16 KB.
    const countingPlace = (place: Place) => {
      const reads = { whole: 0, ranged: 0 };
      const parts = (p: Packed): Packed => ({
        index: p.index,
        parts: p.parts.map((part) => {
          const real = place.part(part.name);
          return { name: real.name, bytes: () => (reads.whole++, real.bytes()), range: (a: number, b: number) => (reads.ranged++, real.range!(a, b)) };
        }),
      });
      return { reads, parts };
    };
    const packedOf = (n: number, pad: number) => {
      const place = new Place();
      const map = new PackedMap<V>(undefined, undefined, fits, damaged);
      for (let i = 0; i < n; i++) map.set(`p${i}`, { id: `p${i}`, n: i, pad: 'x'.repeat(pad) });
      const saved = place.save(map.pack().packed);
      return { place, saved };
    };
    const small = packedOf(100, 200); // some 24 KB: whole after 32
    const s = countingPlace(small.place);
    const smallMap = new PackedMap<V>(new Map(), s.parts(small.saved), fits, damaged);
    for (let i = 0; i < 60; i++) expect(smallMap.get(`p${i}`)?.n).toBe(i);
    expect(s.reads).toEqual({ whole: 1, ranged: 32 });
    const large = packedOf(300, 20_000); // some 6 MB: one value alone for every 16 KB, some 370
    const l = countingPlace(large.place);
    const largeMap = new PackedMap<V>(new Map(), l.parts(large.saved), fits, damaged);
    for (let i = 0; i < 300; i++) expect(largeMap.get(`p${i}`)?.n).toBe(i);
    expect(l.reads).toEqual({ whole: 0, ranged: 300 });
  });

  it('a value whose part is not there, or shorter than the index says, is damaged', () => {
    const place = new Place();
    const map = new PackedMap<V>(undefined, undefined, fits, damaged);
    map.set('a', value('a', 1));
    const packed = place.save(map.pack().packed);
    const short: Packed = { index: packed.index, parts: [{ name: packed.parts[0]!.name, bytes: () => Buffer.alloc(3) }] };
    expect(() => new PackedMap<V>(undefined, short, fits, damaged).get('a')).toThrow('damaged a');
    const gone: Packed = { index: packed.index, parts: [] };
    expect(() => new PackedMap<V>(undefined, gone, fits, damaged).get('a')).toThrow('damaged a');
  });
});

describe('sorted ids', () => {
  it('are one string and its starts: every id read back, found by binary search as in the array; in order as sortedIds makes them (idsInOrder tells any other order); a malformed form is refused', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 40 }), fc.string({ maxLength: 6 }), (raw, probe) => {
        const ids = [...raw].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const s = sortedIds(ids);
        expect(isSortedIds(s)).toBe(true);
        expect(idsInOrder(s)).toBe(true);
        expect(allIds(s)).toEqual(ids);
        const expected = ids.findIndex((id) => !(id < probe));
        expect(lowerBound(s, probe)).toBe(expected < 0 ? ids.length : expected);
        ids.forEach((id, i) => expect(idAt(s, lowerBound(s, id))).toBe(ids[i]));
        if (ids.length >= 2) {
          expect(idsInOrder(sortedIds([ids[1]!, ids[0]!, ...ids.slice(2)]))).toBe(false); // out of order
          expect(idsInOrder(sortedIds([ids[0]!, ...ids]))).toBe(false); // twice
        }
      }),
      { numRuns: 300 },
    );
    expect(idsInOrder(sortedIds(['a', '', 'b']))).toBe(false); // an empty id
    expect(isSortedIds({ text: 'ab', starts: Uint32Array.of(0, 1) })).toBe(false); // starts short of the text
    expect(isSortedIds({ text: 'ab', starts: [0, 1, 2] })).toBe(false); // not a Uint32Array
    expect(isSortedIds(['a', 'b'])).toBe(false); // the earlier form, a plain array
    const index = { ids: sortedIds(['a', 'b']), part: Uint16Array.of(0, 0), start: Uint32Array.of(0, 1), end: Uint32Array.of(1, 2) };
    expect(isPackedIndex(index)).toBe(true);
    expect(isPackedIndex({ ...index, part: Uint16Array.of(0) })).toBe(false);
  });
});
