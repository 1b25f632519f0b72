// npm run bench: every benchmark, one after another, each beside its raw
// primitive measured in the same run. `npm run bench -- ledger pause` runs some.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const all = ['run', 'ledger', 'pause', 'watchdog', 'verify', 'flat', 'hub'];
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : all;
let failed = 0;
for (const name of chosen) {
  const file = join(import.meta.dirname, `${name}.mjs`);
  if (!existsSync(file)) continue;
  console.log(`\n## ${name}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
