#!/usr/bin/env node
// The build's bundle step: dist/cli/main.js (tsc's output) into dist/bundle,
// one module graph that a command loads only the parts of it runs.
//
// It also names the build (dist/build-id), for dist/ and the bundle alike.
//
// Two things are done here that esbuild's command line cannot say:
//
// - The MCP SDK stays out of the bundle (loaded from node_modules by `ga
//   mcp` alone): bundled, its namespace imports of zod kept every zod locale
//   in the chunk every command loads.
// - string-width, which yargs and cliui use to lay out help pages, builds an
//   Intl.Segmenter and its Unicode property regular expressions when it is
//   loaded: some 31 ms on every command, help page or not. Those module-level
//   constants are made on first use instead (deferred below). The build fails
//   if a new version of string-width no longer has the shape this expects,
//   so the saving cannot quietly disappear.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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

export const deferAtLoad = {
  name: 'defer-string-width-constants',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/](?:.*[\\/])?string-width[\\/]index\.js$/ }, async (args) => {
      const { source, deferred } = deferConstants(await readFile(args.path, 'utf8'));
      if (!/const segmenter = \{ segment:/.test(source)) {
        return { errors: [{ text: `${args.path}: no module-level Intl.Segmenter found to defer (string-width changed shape); update bin/bundle.mjs` }] };
      }
      return { contents: source, loader: 'js', warnings: deferred ? [] : [{ text: 'nothing deferred' }] };
    });
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build({
    entryPoints: [join(root, 'dist/cli/main.js')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    splitting: true,
    minifySyntax: true,
    minifyWhitespace: true,
    outdir: join(root, 'dist/bundle'),
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
    external: ['@modelcontextprotocol/sdk'],
    banner: { js: "import { createRequire as __gaRequire } from 'node:module'; const require = __gaRequire(import.meta.url);" },
    plugins: [deferAtLoad],
  });
  // This build, named once for dist/ and the bundle alike (history/saved.ts): a reading saved by one is taken on by the other.
  await writeFile(join(root, 'dist/build-id'), `${Date.now()}-${randomBytes(8).toString('hex')}\n`);
}
