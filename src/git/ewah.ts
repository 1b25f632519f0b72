// The EWAH-compressed bitmaps of git's split index (the delete and replace
// bitmaps of its "link" extension), as git's ewah/ewah_io.c writes them: the
// number of bits, the number of 64-bit words, the words, and where the last
// marker word is, all big-endian. Each marker word says how many words of
// one repeated bit (bit 0: which bit; bits 1 to 32: how many) and then how
// many literal words follow it (bits 33 to 63); bit k of a literal word is
// position 64 * (its word) + k.

/** The set positions of the bitmap at `at` in `buf`, ascending, and where it ends; undefined for one that is cut short or does not add up. */
export function readEwah(buf: Buffer, at: number, limit = 1 << 26): { positions: number[]; end: number } | undefined {
  if (at + 8 > buf.length) return undefined;
  const words = buf.readUInt32BE(at + 4);
  const end = at + 8 + words * 8 + 4;
  if (end > buf.length) return undefined;
  const positions: number[] = [];
  let pos = 0;
  for (let i = 0; i < words;) {
    const o = at + 8 + i++ * 8;
    const hi = buf.readUInt32BE(o);
    const lo = buf.readUInt32BE(o + 4);
    const running = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    const literals = hi >>> 1;
    if (running * 64 > limit || i + literals > words) return undefined;
    if (lo & 1) for (let k = 0; k < running * 64; k++) positions.push(pos + k);
    pos += running * 64;
    for (let n = 0; n < literals; n++, i++, pos += 64) {
      const w = at + 8 + i * 8;
      const halves = [buf.readUInt32BE(w + 4), buf.readUInt32BE(w)];
      halves.forEach((h, half) => {
        for (let b = 0; b < 32; b++) if ((h >>> b) & 1) positions.push(pos + half * 32 + b);
      });
    }
    if (pos > limit) return undefined;
  }
  return { positions, end };
}

/** The bitmap with these positions set (ascending, no repeats), as git writes one: zero words run-length coded, the rest literal. */
export function writeEwah(positions: readonly number[]): Buffer {
  const bits = positions.length ? positions.at(-1)! + 1 : 0;
  const literal = new Uint32Array(Math.ceil(bits / 64) * 2); // per word: low half, high half
  for (const p of positions) literal[(p >>> 6) * 2 + ((p >>> 5) & 1)]! |= 1 << (p & 31);
  const nonzero = (w: number) => literal[w * 2] !== 0 || literal[w * 2 + 1] !== 0;
  const out: number[] = []; // high, low halves in turn
  let marker = 0;
  const count = literal.length / 2;
  let w = 0;
  do {
    let running = 0;
    for (; w < count && !nonzero(w); w++) running++;
    let literals = 0;
    while (w + literals < count && nonzero(w + literals)) literals++;
    marker = out.length / 2;
    out.push(((literals << 1) | (running >>> 31)) >>> 0, (running << 1) >>> 0);
    for (let k = 0; k < literals; k++, w++) out.push(literal[w * 2 + 1]!, literal[w * 2]!);
  } while (w < count);
  const buf = Buffer.alloc(8 + out.length * 4 + 4);
  buf.writeUInt32BE(bits, 0);
  buf.writeUInt32BE(out.length / 2, 4);
  out.forEach((h, i) => buf.writeUInt32BE(h, 8 + i * 4));
  buf.writeUInt32BE(marker, 8 + out.length * 4);
  return buf;
}
