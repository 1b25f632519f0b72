// A reading's timeline ids (src/history/ids.ts) kept as raw bytes: every
// place, id and slice must be what a plain array of the ids gives, through a
// save and a reload, for sha1 and sha256 ids, whether a place is found by a
// scan or (after enough lookups) by a map; and an id that appears in the
// bytes only across two ids is no id of the timeline.
import { randomBytes } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimelineIds } from '../../src/history/ids.js';

const ids = (width: number, n: number) => Array.from({ length: n }, () => randomBytes(width).toString('hex'));

describe('TimelineIds', () => {
  it('tells what an array of the ids tells, saved and reloaded, for random timelines and lookups', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(20, 32),
        fc.nat({ max: 200 }),
        fc.nat({ max: 50 }),
        fc.array(fc.nat({ max: 300 }), { maxLength: 150 }),
        (width, saved, added, asked) => {
          const all = ids(width, saved + added);
          const before = new TimelineIds();
          all.slice(0, saved).forEach((id) => before.push(id));
          // As a saved reading keeps them: serialized, then deserialized by the next command.
          const t = new TimelineIds(deserialize(serialize(before.saved())) as ReturnType<TimelineIds['saved']>);
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
          expect(new TimelineIds(t.saved()).slice(0, all.length)).toEqual(all);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds no place for bytes that straddle two ids, nor for what is not an id', () => {
    const all = ids(20, 3);
    const t = new TimelineIds();
    all.forEach((id) => t.push(id));
    const saved = new TimelineIds(t.saved());
    const straddle = all[0]!.slice(20) + all[1]!.slice(0, 20);
    for (let i = 0; i < 100; i++) expect(saved.placeOf(straddle)).toBeUndefined(); // by scan, then by map
    expect(saved.placeOf(all[2]!)).toBe(2);
    expect(saved.placeOf(all[2]!.toUpperCase())).toBeUndefined();
    expect(saved.placeOf(all[2]!.slice(0, 38))).toBeUndefined();
    expect(saved.placeOf('')).toBeUndefined();
  });
});
