#!/usr/bin/env node
// npm's `prepare`: builds dist/ unless it is already newer than every source
// it is built from. `npx ga` in a clone runs `prepare` again before each
// command; a full build there (tsc, esbuild, the help page) took some ten
// seconds, for a dist/ that `npm ci` had just built.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const built = join(root, 'dist', 'help.txt'); // the build's last step

function newest(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = Math.max(...['src', 'bin', 'package.json', 'package-lock.json', 'tsconfig.json'].map((p) => newest(join(root, p))));
const output = statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (output <= sources) {
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}
