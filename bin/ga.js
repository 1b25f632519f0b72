#!/usr/bin/env node
// The bundled CLI (one module graph to load: start-up is import cost), or the
// plain build when the bundle is missing.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/main.mjs', import.meta.url);
const { run } = await import(existsSync(bundle) ? bundle.href : '../dist/cli/main.js');
process.exitCode = await run(process.argv.slice(2));
