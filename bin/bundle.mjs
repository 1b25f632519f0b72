#!/usr/bin/env node
// The build's bundle step: dist/cli/main.js (tsc's output) into one CommonJS
// file, dist/bundle/ga.cjs, and the V8 code cache that bin/ga.js loads it
// with (dist/bundle/ga.cache, made by bin/load.mjs: Node 20 keeps no code
// cache for ES modules, and compiling the CLI was a third of its start-up).
//
// It also names the build (dist/build-id), for dist/ and the bundle alike.
//
// Two things are done here that esbuild's command line cannot say:
//
// - The MCP SDK stays out of the bundle (loaded from node_modules by `ga
//   mcp` alone): bundled, its namespace imports of zod kept every zod locale
//   in the code every command loads.
// - yargs' shim loads node:assert for checks it makes only on a wrong command
//   definition (deferAssert below).
// - string-width, which yargs and cliui use to lay out help pages, builds an
//   Intl.Segmenter and its Unicode property regular expressions when it is
//   loaded: some 31 ms on every command, help page or not. Those module-level
//   constants are made on first use instead (deferred below). The build fails
//   if a new version of string-width no longer has the shape this expects,
//   so the saving cannot quietly disappear.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { cacheOf, loadBundle } from './load.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * `const name = new Intl.Segmenter(...)` and `const name = /regex/flags` at
 * the top of a module, each used only through one method (`name.segment(` or
 * `name.test(`), become an object with that method which makes the real one
 * on its first call. Returns the source and how many were deferred.
 */
export function deferConstants(source) {
  let deferred = 0;
  const code = source.replace(/\/\*[\s\S]*?\*\/|^\s*\/\/[^\n]*/gm, ''); // uses are counted in code, not comments
  const out = source.replace(/^const (\w+) = (new Intl\.Segmenter\([^)]*\)|\/(?:\\.|[^/\n])+\/[a-z]*);$/gm, (line, name, made) => {
    const uses = [...code.matchAll(new RegExp(`\\b${name}\\b(\\.\\w+)?`, 'g'))].slice(1).map((m) => m[1]);
    const method = uses[0];
    if (!method || uses.some((u) => u !== method) || !['.segment', '.test'].includes(method)) return line;
    deferred++;
    return `let ${name}$made; const ${name} = { ${method.slice(1)}: (s) => (${name}$made ??= ${made})${method}(s) };`;
  });
  return { source: out, deferred };
}

/**
 * yargs' platform shim imports node:assert for two checks (strictEqual and
 * notStrictEqual, as Object.is compares) that it makes on every command but
 * that fail only on a wrong command definition; loading assert's modules
 * cost every command about a millisecond. The import becomes the same two
 * comparisons, which load assert only to throw its error. The build fails
 * if the shim no longer has that import.
 */
export function deferAssert(source) {
  const line = "import { notStrictEqual, strictEqual } from 'assert'";
  if (!source.includes(line)) return undefined;
  return source.replace(
    line,
    "import { createRequire as __gaRequire } from 'node:module'\n" +
      "const notStrictEqual = (a, b, m) => { if (Object.is(a, b)) __gaRequire(import.meta.url)('node:assert').notStrictEqual(a, b, m) }\n" +
      "const strictEqual = (a, b, m) => { if (!Object.is(a, b)) __gaRequire(import.meta.url)('node:assert').strictEqual(a, b, m) }",
  );
}

export const deferAtLoad = {
  name: 'defer-string-width-constants',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      const source = deferAssert(await readFile(args.path, 'utf8'));
      if (!source) return { errors: [{ text: `${args.path}: no import of assert found to defer (yargs changed shape); update bin/bundle.mjs` }] };
      return { contents: source, loader: 'js' };
    });
    b.onLoad({ filter: /[\\/]node_modules[\\/](?:.*[\\/])?string-width[\\/]index\.js$/ }, async (args) => {
      const { source, deferred } = deferConstants(await readFile(args.path, 'utf8'));
      if (!/const segmenter = \{ segment:/.test(source)) {
        return { errors: [{ text: `${args.path}: no module-level Intl.Segmenter found to defer (string-width changed shape); update bin/bundle.mjs` }] };
      }
      return { contents: source, loader: 'js', warnings: deferred ? [] : [{ text: 'nothing deferred' }] };
    });
  },
};

/**
 * The code cache of the bundle as the commands a person runs most leave it:
 * V8 caches what has been compiled, and a function is compiled on its first
 * call. Run in a child (`bundle.mjs --warm <dir>`) against a scratch
 * repository with a git identity of its own, never the user's config.
 */
async function warm(outfile, dir) {
  const { exports, script } = loadBundle(outfile, { cache: false });
  const repo = join(dir, 'gov');
  const commands = [
    ['init', repo],
    ['-C', repo, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', 'warm-up', '--payload', '{}'],
    ['-C', repo, 'list'],
    ['-C', repo, 'status'],
  ];
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    for (const argv of commands) if ((await exports.run(argv)) !== 0) throw new Error(`ga ${argv.join(' ')} failed`);
  } finally {
    process.stdout.write = write;
  }
  await writeFile(cacheOf(outfile), script.createCachedData());
}

const outfile = join(root, 'dist/bundle/ga.cjs');
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--warm') {
  await warm(outfile, process.argv[3]);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await rm(join(root, 'dist/bundle'), { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'dist/cli/main.js')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifySyntax: true,
    minifyWhitespace: true,
    outfile,
    logLevel: 'warning',
    external: ['@modelcontextprotocol/sdk'],
    // import() becomes require(), the MCP SDK's CommonJS build included: V8 drops a script's dynamic import handler when it
    // is compiled from a code cache.
    supported: { 'dynamic-import': false },
    // The sources are ES modules: their import.meta is the bundle's own file (dist/bundle/, two levels down as dist/cli/ is).
    define: { 'import.meta.url': '__gaModuleUrl', 'import.meta.dirname': '__dirname' },
    banner: { js: "const __gaModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [deferAtLoad],
  });
  const scratch = await mkdtemp(join(tmpdir(), 'ga-build-'));
  try {
    await writeFile(join(scratch, 'gitconfig'), '[user]\n\tname = ga build\n\temail = build@ga.invalid\n');
    const env = { PATH: process.env.PATH, HOME: scratch, GIT_CONFIG_GLOBAL: join(scratch, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1', TZ: 'UTC' };
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--warm', scratch], { env, encoding: 'utf8' });
    if (r.status !== 0) {
      // A cache of the top level alone: start-up a little slower, nothing else different.
      process.stderr.write(
        `bundle: the warm-up for the code cache failed, so it holds less: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}\n`,
      );
      await writeFile(cacheOf(outfile), loadBundle(outfile, { cache: false }).script.createCachedData());
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  // This build, named once for dist/ and the bundle alike (history/saved.ts): a reading saved by one is taken on by the other.
  await writeFile(join(root, 'dist/build-id'), `${Date.now()}-${randomBytes(8).toString('hex')}\n`);
}
