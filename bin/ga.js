#!/usr/bin/env node
// The bundled CLI (one file, loaded with its code cache: bin/load.mjs), or
// the plain build when the bundle is missing. `ga --help` at the width ga renders
// it off a terminal (100 columns) is printed from dist/help.txt, which the
// build writes with this same CLI: the page is yargs' own, without loading
// yargs (test/cli/newcomer.test.ts checks the two agree).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A reader that stops early (ga list | head) closes the pipe: what is left to print is dropped, and the command
// still runs to its end with its own exit code (an approval piped into head is still recorded), never a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

const argv = process.argv.slice(2);
const help = new URL('../dist/help.txt', import.meta.url);
const page =
  argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && (process.stdout.columns ?? 100) >= 100 && existsSync(help)
    ? readFileSync(help)
    : undefined;
if (page?.length) {
  process.stdout.write(page);
} else {
  const bundle = fileURLToPath(new URL('../dist/bundle/ga.cjs', import.meta.url));
  const { run } = existsSync(bundle) ? (await import('./load.mjs')).loadBundle(bundle).exports : await import('../dist/cli/main.js');
  process.exitCode = await run(argv);
}
