// node bench/verify.mjs (after tsc): `ga verify` over a generated history of
// 10,000 events with 2,000 signed approvals, beside `git log` over the same
// history in the same run (compare ratios, not absolute times across runs).
//
// The history is bench/history.mjs's: for each of 2,000 proposals a
// submission, a signed approval, a claim and an execution, and 1,000 more
// submitted and expired: 5 x 2,000 = 10,000 commits of one event each.
//
// Timed: ga verify over all of history (no checkpoint), ga verify
// --checkpoint (all of history, then a signed checkpoint), and ga verify after
// 100 more events (50 proposals submitted and approved), which goes on from
// that checkpoint (the median of five runs); git log --first-parent with
// messages (no signature checks) and git log %G? (git checks every
// signature); node -e 0, the floor of any command.
//
// Events are BENCH_STEP seconds apart (180 by default, as in bench/flat.mjs:
// three weeks, about 20 files to an audit hour directory), ending about now;
// BENCH_STEP=1 packs them into a burst whose hour directories hold thousands
// of files, each read again at every event after the checkpoint.
// BENCH_APPROVALS=200 makes a history ten times smaller; BENCH_KEEP=1 keeps
// the temporary directory.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, Generator, n, run, timed } from './history.mjs';
import { BIN, sandbox } from './lib.mjs';

const APPROVALS = Number(process.env.BENCH_APPROVALS ?? 2000);
const EXPIRED = Math.floor(APPROVALS / 2);
const STEP = Number(process.env.BENCH_STEP ?? 180);
const { dir, key } = sandbox('verify');

// ---- the run ----------------------------------------------------------------

function gaVerify(repo, ...args) {
  const r = timed(process.execPath, [BIN, '-C', repo, 'verify', ...args], { allowFailure: true });
  const lines = r.stdout.trim().split('\n');
  if (r.status !== 0) {
    console.log(`ga verify exited ${r.status}: ${lines.at(-1)}`);
    for (const l of lines.slice(0, 8)) console.log(`  ${l}`);
    if (r.stderr.trim())
      console.log(
        r.stderr
          .trim()
          .split('\n')
          .slice(0, 8)
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    throw new Error('ga verify does not accept the generated history: fix the generator');
  }
  return { s: r.s, summary: lines.at(-1), lines };
}

try {
  const repo = join(dir, 'gov');
  run(process.execPath, [BIN, 'init', repo]);
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, run('git', ['show', 'HEAD:policies/approvers'], { cwd: repo }).stdout);

  console.log(`ga verify bench, ${new Date().toISOString()}: ${n(APPROVALS * 4 + EXPIRED * 2)} events, ${n(APPROVALS)} signed approvals`);
  let t = process.hrtime.bigint();
  const events = APPROVALS * 4 + EXPIRED * 2;
  const gen = new Generator(repo, `${key}.pub`, { step: STEP, start: Math.floor(Date.now() / 1000) - events * STEP - 60 });
  await gen.append(() => gen.history(APPROVALS, EXPIRED));
  const genS = Number(process.hrtime.bigint() - t) / 1e9;
  const du = run('du', ['-sm', join(repo, '.git')]).stdout.split('\t')[0];
  console.log(
    `generated ${n(gen.commits)} commits (${n(gen.signed)} signed with git commit-tree -S), one every ${STEP} s, in ${fmt(genS)}; .git is ${du} MB of loose objects, ${n(gen.auditFiles)} audit files`,
  );
  // A repository that lives this long is packed (git gc --auto; ga's watchdog runs it): time that one.
  run('git', ['gc', '-q'], { cwd: repo });
  console.log(`packed with git gc: .git is ${run('du', ['-sm', join(repo, '.git')]).stdout.split('\t')[0]} MB`);

  const cold = gaVerify(repo);
  console.log(`ga verify: ${cold.summary}`);
  const signing = gaVerify(repo, '--checkpoint');
  console.log(`ga verify --checkpoint: ${signing.lines.find((l) => l.startsWith('signed a checkpoint')) ?? 'NO CHECKPOINT SIGNED'}`);

  const plain = timed('git', ['log', '--first-parent', '--format=%H%n%B'], { cwd: repo });
  const sigs = timed('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'log', '--format=%H%G?'], { cwd: repo });
  const good = sigs.stdout.split('\n').filter((l) => l.endsWith('G')).length;
  const commits = sigs.stdout.split('\n').filter(Boolean).length;

  t = process.hrtime.bigint();
  const signedBefore = gen.signed;
  await gen.append(() => gen.approvedOnly(50));
  const addS = Number(process.hrtime.bigint() - t) / 1e9;
  // What the generator wrote (some 1,000 loose objects) is on disk first; then five runs, each from the checkpoint (a run saves
  // nothing that the next goes on from), and the median of them.
  run('sync', []);
  const incrRuns = Array.from({ length: 5 }, () => gaVerify(repo));
  const incr = [...incrRuns].sort((a, b) => a.s - b.s)[2];
  console.log(`appended 100 events (50 submitted, 50 approved: ${gen.signed - signedBefore} signed) in ${fmt(addS)}; ga verify: ${incr.summary}`);
  console.log(`  ${incr.lines.find((l) => l.startsWith('went on from')) ?? 'it did NOT go on from the checkpoint'}`);
  const again = gaVerify(repo, '--no-cache');
  if (again.summary !== incr.summary) throw new Error(`from the checkpoint: "${incr.summary}"; all of history: "${again.summary}"`);
  const floor = [...Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0']))].sort((a, b) => a.s - b.s)[2];

  const ratio = (s) => `${(s / sigs.s).toFixed(2)}x git log with signature checks`;
  const line = (name, s, extra = '') => console.log(`${name.padEnd(44)} ${fmt(s).padStart(9)}${extra ? `   ${extra}` : ''}`);
  console.log('');
  line(`git log --first-parent --format=%H%n%B`, plain.s, `${n(commits)} commits, no signature checks`);
  line(`git log --format=%H%G? (signature checks)`, sigs.s, `${n(good)} good signatures`);
  // Issue 13's targets: the full run at most 0.25x of git log %G? over the same history; after 100 new events, under 0.3 s.
  line('ga verify, all of history', cold.s, `${ratio(cold.s)}; target <= 0.25x: ${cold.s / sigs.s <= 0.25 ? 'met' : 'MISSED'}`);
  line('ga verify --checkpoint (all, then signed)', signing.s, ratio(signing.s));
  line('ga verify, +100 events from the checkpoint', incr.s, `${ratio(incr.s)}; target < 0.3 s: ${incr.s < 0.3 ? 'met' : 'MISSED'}`);
  console.log(`${''.padEnd(44)} (the median of ${incrRuns.map((r) => fmt(r.s)).join(', ')})`);
  line('ga verify --no-cache, the same history', again.s, `${ratio(again.s)}; the same verdict`);
  line('node -e 0 (the floor of any command)', floor.s, 'the median of 5');
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
