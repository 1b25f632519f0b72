// npm run bench: ga's costs beside the raw primitives they stand on, measured
// in the same run (compare ratios, not absolute times across runs).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, median, p95, run, sandbox } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 25);
const { dir } = sandbox('cli');
function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
function sample(fn, n = N) {
  fn(0); // warm-up
  return Array.from({ length: n }, (_, i) => time(() => fn(i + 1)));
}

try {
  // The raw floor: plain git add + commit, spawned directly.
  const raw = join(dir, 'raw');
  run('git', ['init', '-q', '-b', 'main', raw]);
  const rawCommit = (signed) => (i) => {
    writeFileSync(join(raw, `f${signed}-${i}-${Math.random()}`), 'x\n');
    run('git', ['add', '-A'], { cwd: raw });
    run('git', ['commit', '-q', signed ? '-S' : '--no-gpg-sign', '-m', `c ${i}`], { cwd: raw });
  };
  const node0 = sample(() => run(process.execPath, ['-e', '0']));
  const gitUnsigned = sample(rawCommit(false));
  const gitSigned = sample(rawCommit(true));

  // ga itself, as a user runs it.
  const repo = join(dir, 'gov');
  run(process.execPath, [BIN, 'init', repo]);
  const proposal = join(dir, 'p.toml');
  writeFileSync(proposal, 'agent = "noop"\naction_type = "publish_content"\ntitle = "Bench"\n[payload]\nn = 1\n');
  const help = sample(() => run(process.execPath, [BIN, '--help']));
  const ids = [];
  const propose = sample(() => ids.push(run(process.execPath, [BIN, '-C', repo, 'propose', '--file', proposal]).trim().split('\n').pop()));
  let next = 0;
  const approve = sample(() => run(process.execPath, [BIN, '-C', repo, 'approve', ids[next++]]));

  const floorUnsigned = median(node0) + median(gitUnsigned);
  const floorSigned = median(node0) + median(gitSigned);
  const row = (name, xs, floor) =>
    `${name.padEnd(34)} median ${median(xs).toFixed(1).padStart(7)} ms   p95 ${p95(xs).toFixed(1).padStart(7)} ms${floor ? `   ${(median(xs) / floor).toFixed(2)}x floor (${floor.toFixed(1)} ms)` : ''}`;
  console.log(`ga bench, ${N} trials each, ${new Date().toISOString()}`);
  console.log(row('node -e 0', node0));
  console.log(row('git add + commit (unsigned)', gitUnsigned));
  console.log(row('git add + commit (ssh-signed)', gitSigned));
  console.log(row('ga --help', help, median(node0)));
  console.log(row('ga propose', propose, floorUnsigned));
  console.log(row('ga approve (signed)', approve, floorSigned));
  console.log(`history at the end: ${run('git', ['rev-list', '--count', 'HEAD'], { cwd: repo }).trim()} commits`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
