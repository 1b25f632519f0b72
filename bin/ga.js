#!/usr/bin/env node
// The bundled CLI (one module graph to load: start-up is import cost), or the
// plain build when the bundle is missing. `ga --help` at the width ga renders
// it off a terminal (100 columns) is printed from dist/help.txt, which the
// build writes with this same CLI: the page is yargs' own, without loading
// yargs (test/cli/newcomer.test.ts checks the two agree).
import { existsSync, readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const help = new URL('../dist/help.txt', import.meta.url);
const page =
  argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && (process.stdout.columns ?? 100) >= 100 && existsSync(help)
    ? readFileSync(help)
    : undefined;
if (page?.length) {
  process.stdout.write(page);
} else {
  const bundle = new URL('../dist/bundle/main.mjs', import.meta.url);
  const { run } = await import(existsSync(bundle) ? bundle.href : '../dist/cli/main.js');
  process.exitCode = await run(argv);
}
