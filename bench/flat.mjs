// node bench/flat.mjs (after the build): does an everyday command cost the
// same on a long history as on a fresh repository? Each command runs on a
// repository fresh from `ga init` and on one with 10,000 events (2,000
// signed approvals; bench/history.mjs, ending now), the two taking turns
// trial by trial (BENCH_N trials, 7 by default), and the ratio of the
// medians is printed against the issue's target (1.25x at 10,000 events,
// 1.5x at 100,000). BENCH_100K=1 adds a 100,000-event history (about 45
// minutes to generate here: 20,000 signatures, and 12 GB of loose objects
// before they are packed).
// BENCH_STEP sets the seconds between generated events (below). BENCH_KEEP=1
// keeps the sandbox; BENCH_REUSE=<that directory> measures on the histories
// it holds (new fresh repositories are made, the long ones are not made
// again: they are longer by the commands each run adds).
//
// The watchdog daemon's sweep after one new commit is timed in process (the
// daemon keeps its reading and extends it), beside `ga watchdog --once`.
//
// Then one event commit (ga's own commitEvent, in process) on a repository
// of 100,000 audit files against one on a fresh repository, beside plain
// `git add` + `git commit` of one file on each; then both again with the
// index split (`git update-index --split-index`), where ga writes only the
// index's front.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Dir, Generator, n, Objects, run } from './history.mjs';
import { BIN, median, ROOT, sandbox } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 7);
const SIZES = [10_000, ...(process.env.BENCH_100K ? [100_000] : [])];
// Seconds between two generated events: 180 spreads 10,000 over three weeks, as a busy deployment records
// them (an audit hour directory holds about 20 files). BENCH_STEP=1 packs them into hours: a burst, whose
// hour directories hold thousands of files each, read again at every event.
const STEP = Number(process.env.BENCH_STEP ?? 180);
const REUSE = process.env.BENCH_REUSE;
const { dir, key } = sandbox('flat', REUSE);
const ga = (repo, ...args) => run(process.execPath, [BIN, '-C', repo, ...args]).stdout;
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
function timedMs(fn) {
  const t = process.hrtime.bigint();
  fn();
  return ms(t);
}

const proposal = join(dir, 'p.toml');
let made = 0;
/** A proposal file of its own each time: the same proposal three times in ten minutes is a loop, which the watchdog pauses. */
function newProposal() {
  writeFileSync(proposal, `agent = "noop"\naction_type = "publish_content"\ntitle = "Bench ${++made}"\n[payload]\nn = ${made}\n`);
  return proposal;
}

/** `ga run noop` until the agent has started and proposed (its first line of its own), then stopped. */
function runUntilStarted(repo) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(process.execPath, [BIN, '-C', repo, 'run', 'noop'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let took;
    child.stdout.on('data', (d) => {
      out += d;
      if (took === undefined && /proposed ([a-z0-9-]+)/.test(out)) {
        took = ms(t);
        child.kill('SIGTERM');
      }
    });
    child.on('close', () =>
      took === undefined ? reject(new Error(`ga run noop never proposed: ${out}`)) : resolve({ took, id: /proposed ([a-z0-9-]+)/.exec(out)[1] }),
    );
  });
}

/**
 * Every everyday command, N times each, on each repository: medians in ms,
 * one object per repository. The repositories take turns trial by trial, so
 * that a machine slower for a while slows them alike.
 */
async function measure(repos) {
  const out = repos.map(() => ({}));
  const timed = async (name, fn) => {
    const times = repos.map(() => []);
    for (let i = 0; i < N; i++) for (const [k, repo] of repos.entries()) times[k].push(await fn(repo, k, i));
    times.forEach((t, k) => (out[k][name] = median(t)));
  };
  const sample = (name, fn) => timed(name, (repo, k, i) => timedMs(() => fn(repo, k, i)));
  const ids = repos.map(() => []);
  for (const repo of repos) ga(repo, 'propose', '--file', newProposal()); // warm the page cache
  // What the set-up wrote is on disk before anything is timed (a full reading at 100,000 events writes 165 MB): its writeback would land on the first commands.
  run('sync', []);
  await sample('propose', (repo, k) => ids[k].push(ga(repo, 'propose', '--file', newProposal()).trim().split('\n').pop()));
  for (const [k, repo] of repos.entries()) for (let i = 0; i < N; i++) ids[k].push(ga(repo, 'propose', '--file', newProposal()).trim().split('\n').pop());
  await sample('list', (repo) => ga(repo, 'list'));
  await sample('show', (repo, k, i) => ga(repo, 'show', ids[k][i]));
  await sample('status', (repo) => ga(repo, 'status'));
  await sample('scoreboard', (repo) => ga(repo, 'scoreboard'));
  await sample('approve', (repo, k, i) => ga(repo, 'approve', ids[k][i]));
  await sample('reject', (repo, k, i) => ga(repo, 'reject', ids[k][N + i], '--reason', 'bench'));
  await sample('execute', (repo, k, i) => ga(repo, 'execute', ids[k][i]));
  // One sweep after one new commit (ga run comes last: its identical proposals would be a loop to a sweep): the propose before it is not timed.
  await timed('watchdog sweep (after a new commit)', (repo) => {
    ga(repo, 'propose', '--file', newProposal());
    return timedMs(() => ga(repo, 'watchdog', '--once'));
  });
  for (const [k, repo] of repos.entries()) out[k]['daemon sweep (after a new commit)'] = await daemonSweeps(repo);
  await timed('run noop, until it has proposed', async (repo) => {
    const r = await runUntilStarted(repo);
    ga(repo, 'reject', r.id, '--reason', 'bench');
    return r.took;
  });
  return out;
}

/**
 * The watchdog daemon's sweep after one new commit, in process: the daemon
 * reads history once and extends its reading by what is new at each sweep.
 */
async function daemonSweeps(repo) {
  const [{ openRepo }, { LiveReading }, { sweepOnce }, { systemClock }] = await Promise.all(
    ['git/repo.js', 'history/replay.js', 'watchdog/sweep.js', 'clock.js'].map(dist),
  );
  const r = await openRepo(repo);
  const reading = new LiveReading(r);
  const sweep = () => sweepOnce(r, systemClock, () => reading.current());
  await sweep(); // the daemon's first sweep reads all of history
  const times = [];
  for (let i = 0; i < N; i++) {
    ga(repo, 'propose', '--file', newProposal());
    const t = process.hrtime.bigint();
    await sweep();
    times.push(ms(t));
  }
  r.objects.close();
  return median(times);
}

function history(events) {
  const repo = join(dir, `h${events}`);
  rmSync(repo, { recursive: true, force: true });
  run(process.execPath, [BIN, 'init', repo]);
  return repo;
}

async function long(events) {
  if (REUSE && existsSync(join(dir, `h${events}`))) {
    // What earlier runs left waiting is decided first: a generated history has a few proposals waiting, as the fresh one has.
    const repo = join(dir, `h${events}`);
    for (const line of ga(repo, 'list').split('\n')) {
      const id = /^(\S+)\s+pending\s/.exec(line)?.[1];
      if (id) ga(repo, 'reject', id, '--reason', 'bench: left waiting by an earlier run');
    }
    return repo;
  }
  const repo = history(events);
  const t = process.hrtime.bigint();
  // The events end about now, as a deployment's last three weeks do (not three weeks into the future: the watchdog's loop rule reads the recent ones).
  const gen = new Generator(repo, `${key}.pub`, { step: STEP, start: Math.floor(Date.now() / 1000) - events * STEP - 60 });
  const approvals = Math.round(events / 5);
  await gen.append(() => gen.history(approvals, Math.floor(approvals / 2)));
  run('git', ['gc', '-q'], { cwd: repo });
  const days = (gen.commits * STEP) / 86_400;
  console.log(
    `generated ${n(gen.commits)} events (${n(gen.signed)} signed approvals), one every ${STEP} s (${days >= 1 ? `${days.toFixed(0)} days` : `${(days * 24).toFixed(1)} hours`}), in ${(ms(t) / 1000).toFixed(0)} s, packed`,
  );
  return repo;
}

/** A repository with `count` audit files (one commit on top of ga init), checked out. */
function auditFiles(count) {
  if (REUSE && existsSync(join(dir, `haudit${count}`))) return join(dir, `haudit${count}`);
  const repo = history(`audit${count}`);
  const objects = new Objects(join(repo, '.git'));
  const tree = new Dir();
  for (const line of run('git', ['ls-tree', '-r', '--full-tree', 'HEAD'], { cwd: repo }).stdout.split('\n').filter(Boolean)) {
    const [meta, path] = line.split('\t');
    const [mode, , oid] = meta.split(' ');
    tree.set(path, mode, oid);
  }
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const at = new Date(start + i * 1000).toISOString();
    const id = `${at.replace(/[-:.]/g, '').slice(0, 15)}${at.slice(20, 23)}Z-${i.toString(16).padStart(8, '0')}`;
    const oid = objects.write('blob', Buffer.from(`{"id":"${id}","event":"proposal-submitted","agent":"noop"}\n`));
    tree.set(`audit/noop/${at.slice(0, 10)}/${at.slice(11, 13)}/${id}.json`, '100644', oid);
  }
  const head = run('git', ['rev-parse', 'HEAD'], { cwd: repo }).stdout.trim();
  const ident = `Bench <bench@example.com> ${Math.floor(start / 1000)} +0000`;
  const commit = objects.write(
    'commit',
    Buffer.from(`tree ${tree.write(objects)}\nparent ${head}\nauthor ${ident}\ncommitter ${ident}\n\nbench: ${count} audit files\n`),
  );
  run('git', ['update-ref', 'HEAD', commit, head], { cwd: repo });
  run('git', ['reset', '-q', '--hard', 'HEAD'], { cwd: repo });
  run('git', ['gc', '-q'], { cwd: repo });
  return repo;
}

/**
 * ga's event commit (in process) and plain git add + commit, N times each: medians in ms. With `split`, the index is
 * split first (git update-index --split-index: ga writes only its front) and made whole again after.
 */
async function eventCommits(repo, split = false) {
  if (split) run('git', ['update-index', '--split-index'], { cwd: repo });
  try {
    return await commitTimes(repo);
  } finally {
    if (split) run('git', ['update-index', '--no-split-index'], { cwd: repo });
  }
}

async function commitTimes(repo) {
  const { openRepo } = await dist('git/repo.js');
  const { commitEvent } = await dist('git/commit.js');
  const r = await openRepo(repo);
  const ga = [];
  const run_ = Date.now().toString(36); // new paths each run: a kept repository (BENCH_REUSE) already has the last run's
  for (let i = 0; i <= N; i++) {
    const t = process.hrtime.bigint();
    await commitEvent(r, async () => ({
      message: `bench event ${i}\n`,
      sign: false,
      files: [{ path: `audit/noop/2026-12-01/00/20261201T000000${String(i).padStart(3, '0')}Z-${run_}${i % 10}.json`, content: `{"n":${i}}\n` }],
    }));
    if (i) ga.push(ms(t));
  }
  r.objects.close();
  const git = [];
  for (let i = 0; i <= N; i++) {
    writeFileSync(join(repo, `plain-${run_}-${i}.txt`), `${i}\n`);
    const t = process.hrtime.bigint();
    run('git', ['add', `plain-${run_}-${i}.txt`], { cwd: repo });
    run('git', ['commit', '-q', '--no-gpg-sign', '-m', `plain ${i}`], { cwd: repo });
    if (i) git.push(ms(t));
  }
  return { ga: median(ga), git: median(git) };
}

const f = (x) => `${x.toFixed(0).padStart(6)} ms`;
try {
  console.log(`ga flat-history bench, ${N} trials each, ${new Date().toISOString()}`);
  const longs = [];
  for (const size of SIZES) longs.push(await long(size));
  const [base, ...bigs] = await measure([history(0), ...longs]);
  for (const [i, size] of SIZES.entries()) {
    const big = bigs[i];
    const target = size >= 100_000 ? 1.5 : 1.25;
    console.log(`\n${'command'.padEnd(36)} ${'fresh'.padStart(9)} ${`${n(size)} events`.padStart(15)}   ratio (target ${target}x)`);
    for (const [name, t] of Object.entries(big)) {
      const ratio = t / base[name];
      console.log(`${name.padEnd(36)} ${f(base[name])} ${f(t).padStart(15)}   ${ratio.toFixed(2)}x ${ratio <= target ? 'met' : 'MISSED'}`);
    }
  }
  const small = await eventCommits(history('small'));
  const wide = await eventCommits(auditFiles(100_000));
  const smallSplit = await eventCommits(history('small'), true);
  const wideSplit = await eventCommits(auditFiles(100_000), true);
  console.log(`\n${'one event commit'.padEnd(36)} ${'fresh'.padStart(9)} ${'100,000 audit files'.padStart(20)}   ratio`);
  const row = (name, a, b) => console.log(`${name.padEnd(36)} ${f(a)} ${f(b).padStart(20)}   ${(b / a).toFixed(2)}x`);
  row("ga's event commit (commitEvent)", small.ga, wide.ga);
  row('git add + git commit (one file)', small.git, wide.git);
  row("ga's event commit, split index", smallSplit.ga, wideSplit.ga);
  row('git add + git commit, split index', smallSplit.git, wideSplit.git);
} finally {
  if (process.env.BENCH_KEEP || REUSE) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
