// The EWAH bitmaps of a split index's link extension (src/git/ewah.ts):
// read back as written for random sets of positions (long runs of empty
// words, and words with every bit set, included), and the bitmaps git
// itself wrote read as git meant them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readEwah, writeEwah } from '../../src/git/ewah.js';

describe('EWAH bitmaps', () => {
  it('reads back the positions it wrote, for sparse, dense and empty sets', () => {
    const sets = fc.oneof(
      fc.uniqueArray(fc.integer({ min: 0, max: 200_000 }), { maxLength: 40 }),
      fc.integer({ min: 0, max: 5_000 }).chain((from) => fc.integer({ min: 1, max: 300 }).map((n) => Array.from({ length: n }, (_, k) => from + k))),
    );
    fc.assert(
      fc.property(sets, (set) => {
        const positions = [...new Set(set)].sort((a, b) => a - b);
        const bytes = writeEwah(positions);
        const read = readEwah(Buffer.concat([Buffer.from('link'), bytes]), 4);
        expect(read?.positions).toEqual(positions);
        expect(read?.end).toBe(4 + bytes.length);
      }),
      { numRuns: 300 },
    );
  });

  it('writes what git writes, and reads what git wrote', () => {
    // git update-index --split-index over 50 entries: no deletions, all 50 replaced.
    const empty = Buffer.from('00000000' + '00000001' + '0000000000000000' + '00000000', 'hex');
    const fifty = Buffer.from('00000032' + '00000002' + '0000000200000000' + '0003ffffffffffff' + '00000000', 'hex');
    expect(writeEwah([])).toEqual(empty);
    expect(writeEwah(Array.from({ length: 50 }, (_, k) => k))).toEqual(fifty);
    // A run of 3 words of ones, then one literal word with bit 2 set: positions 0 to 191, and 194.
    const run = Buffer.from('000000c3' + '00000002' + '0000000200000007' + '0000000000000004' + '00000000', 'hex');
    expect(readEwah(run, 0)?.positions).toEqual([...Array.from({ length: 192 }, (_, k) => k), 194]);
    // Cut short, or a literal count past the words there are: not read.
    expect(readEwah(fifty.subarray(0, 20), 0)).toBeUndefined();
    expect(readEwah(Buffer.from('00000032' + '00000001' + '0000000400000000' + '00000000', 'hex'), 0)).toBeUndefined();
  });
});
