// The bundle step (bin/bundle.mjs) defers string-width's module-level
// Intl.Segmenter and Unicode regular expressions to their first use. Deferred
// or not, the widths must be the same: both builds of the three string-width
// copies yargs, cliui and wrap-ansi load are bundled here and compared on
// text that takes every path (ASCII, ANSI colours, wide CJK, emoji sequences,
// combining and zero-width marks). It also defers yargs' import of assert.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixture.js';

const COPIES = ['string-width', './node_modules/cliui/node_modules/string-width/index.js', './node_modules/wrap-ansi/node_modules/string-width/index.js'];
const SAMPLES = [
  '',
  'ga propose --file proposal.toml',
  '\u001b[31mred\u001b[39m and plain',
  '提案を承認する',
  'ｈａｌｆ／ｆｕｌｌ ﾊﾝｶｸ',
  '👩‍👩‍👧 family, 🇩🇪 flag, 1️⃣ keycap, 1⃣ bare keycap',
  'e\u0301 combining, a\u200bzero width, \u00ad soft hyphen',
  '한국어 각 jamo',
  'तिरछा नमस्ते',
  '\t tab and \u0007 bell',
];

const dir = mkdtempSync(join(tmpdir(), 'ga-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `contents` bundled as the build bundles (with `plugins`), imported; its exports and its source. */
async function bundleOf<T>(name: string, contents: string, plugins: Plugin[]): Promise<{ module: T; source: string }> {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    stdin: { contents, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    plugins,
  });
  return { module: (await import(pathToFileURL(outfile).href)) as T, source: readFileSync(outfile, 'utf8') };
}

async function bundled(name: string, plugins: Plugin[]): Promise<{ widths: number[][]; source: string }> {
  const contents = COPIES.map((c, i) => `export { default as w${i} } from '${c}';`).join('\n');
  const { module: m, source } = await bundleOf<Record<string, (s: string) => number>>(name, contents, plugins);
  return { widths: COPIES.map((_, i) => SAMPLES.map((s) => m[`w${i}`]!(s))), source };
}

describe('the bundle step', () => {
  it('string-width deferred measures every sample as string-width as shipped', async () => {
    const { deferAtLoad } = (await import(pathToFileURL(join(ROOT, 'bin/bundle.mjs')).href)) as { deferAtLoad: Plugin };
    const plain = await bundled('plain', []);
    const deferred = await bundled('deferred', [deferAtLoad]);
    expect(deferred.widths).toEqual(plain.widths);
    expect(plain.widths[0]).toContain(14); // the CJK sample is wide: the samples reach the Unicode paths
    // Nothing Unicode-heavy is built at load: every Intl.Segmenter is made inside a first call.
    expect(plain.source).toMatch(/^var segmenter\d* = new Intl\.Segmenter\(\);$/m);
    expect(deferred.source).not.toMatch(/^var \w+ = new Intl\.Segmenter/m);
    expect(deferred.source.match(/\?\?= new Intl\.Segmenter\(\)/g)).toHaveLength(3);
  });

  it('leaves a constant alone when it is used other than through its one method', async () => {
    const { deferConstants } = (await import(pathToFileURL(join(ROOT, 'bin/bundle.mjs')).href)) as {
      deferConstants: (s: string) => { source: string; deferred: number };
    };
    const src = ['const a = /x/u;', 'const b = /y/u;', 'const s = new Intl.Segmenter();', 'a.test(q); b.test(q); b.lastIndex = 0; s.segment(q);'].join('\n');
    const { source, deferred } = deferConstants(src);
    expect(deferred).toBe(2);
    expect(source).toContain('const b = /y/u;');
    expect(source).toMatch(/const a = \{ test: /);
    expect(source).toMatch(/const s = \{ segment: /);
  });

  it("yargs' shim loads node:assert only when one of its checks runs, and its checks still check", async () => {
    const { deferAtLoad } = (await import(pathToFileURL(join(ROOT, 'bin/bundle.mjs')).href)) as { deferAtLoad: Plugin };
    const shim = join(ROOT, 'node_modules/yargs/lib/platform-shims/esm.mjs');
    type Shim = { default: { assert: Record<string, (a: unknown, b: unknown) => void> } };
    const { module, source } = await bundleOf<Shim>('shim', `export { default } from ${JSON.stringify(shim)};`, [deferAtLoad]);
    expect(source).not.toMatch(/from "assert"|require\("assert"\)/);
    const { assert } = module.default;
    expect(() => assert.strictEqual!(1, 1)).not.toThrow();
    expect(() => assert.strictEqual!(1, 2)).toThrow(expect.objectContaining({ code: 'ERR_ASSERTION' }));
    expect(() => assert.notStrictEqual!(1, 1)).toThrow(expect.objectContaining({ code: 'ERR_ASSERTION' }));
    expect(() => assert.notStrictEqual!(1, 2)).not.toThrow();
    expect(() => assert.strictEqual!(NaN, NaN)).not.toThrow(); // Object.is, as assert compares
    expect(() => assert.strictEqual!(0, -0)).toThrow(expect.objectContaining({ code: 'ERR_ASSERTION' }));
    // The built command: its checks all pass, so assert is never loaded.
    const probe = `import('./bin/load.mjs').then(async (m) => { const r = m.loadBundle('dist/bundle/ga.cjs'); process.stdout.write = () => true; await r.exports.run(['--version']); console.error(JSON.stringify(process.moduleLoadList.includes('NativeModule assert'))); })`;
    const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(r.stderr.trim().split('\n').at(-1)!)).toBe(false);
  });

  it("bin/ga.js loads the bundle with the build's code cache, which V8 takes, and the bundle has no import() a cached script could not make", () => {
    // In a node of its own, as bin/ga.js runs: V8 takes a code cache only under the flags it was made with.
    const probe = `import('./bin/load.mjs').then((m) => { const r = m.loadBundle('dist/bundle/ga.cjs'); console.log(JSON.stringify({ cached: r.cached, run: typeof r.exports.run })); })`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' }))).toEqual({ cached: true, run: 'function' });
    expect(readFileSync(join(ROOT, 'dist/bundle/ga.cjs'), 'utf8')).not.toMatch(/\bimport\(/);
  });
});
