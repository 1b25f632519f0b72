// node bench/watchdog.mjs (after a build): how fast the watchdog and
// `ga execute --watch` react, beside the raw chokidar event latency measured
// in the same run (compare ratios, not absolute times across runs).
//   (1) ledger append that crosses a cap -> the PAUSED commit landing on the branch
//   (2) an approval commit landing (git mv + git commit -S) -> the hook starting
//   (3) CPU used by an idle watchdog over IDLE_S seconds
// Git config is a sandboxed GIT_CONFIG_GLOBAL with a generated ssh key.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, watch as fsWatch, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, ROOT, median, p95, run, sandbox } from './lib.mjs';

const N = Math.max(50, Number(process.env.BENCH_N ?? 50));
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const { dir } = sandbox('watchdog');

const { openRepo } = await import(join(ROOT, 'dist/git/repo.js'));
const { appendCharge } = await import(join(ROOT, 'dist/ledger/ledger.js'));
const { systemClock } = await import(join(ROOT, 'dist/clock.js'));
const { watch: chokidarWatch } = await import('chokidar');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const epochMs = () => performance.timeOrigin + performance.now();
const git = (repo, ...args) => run('git', args, { cwd: repo }).trim();
const ga = (...args) => run(process.execPath, [BIN, ...args]);
const row = (name, xs, extra = '') =>
  `${name.padEnd(44)} median ${median(xs).toFixed(1).padStart(7)} ms   p95 ${p95(xs).toFixed(1).padStart(7)} ms   (n=${xs.length})${extra}`;

const children = [];
/** Starts a ga daemon; resolves once `ready` matches a stdout line. */
async function daemon(args, ready, env = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines = [];
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  await new Promise((resolvePromise, reject) => {
    const t = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${lines.join('\n')} ${err}`)), 15_000);
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      if (ready.test(l)) {
        clearTimeout(t);
        resolvePromise();
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
  return { child, lines, err: () => err };
}
async function stop(d) {
  if (d.child.exitCode !== null) return;
  const gone = new Promise((r) => d.child.once('exit', r));
  d.child.kill('SIGTERM');
  await gone;
}

/** Resolves with the time the branch's ref file changes to a commit satisfying `ok` (fs.watch plus a 5 ms poll). */
function refLanding(repo, before, ok) {
  const refFile = join(repo, '.git/refs/heads/main');
  return new Promise((resolvePromise, reject) => {
    let last = before;
    let done = false;
    const check = () => {
      if (done) return;
      const t = now();
      let cur;
      try {
        cur = readFileSync(refFile, 'utf8').trim();
      } catch {
        return;
      }
      if (cur === last) return;
      last = cur;
      if (!ok(cur)) return;
      done = true;
      cleanup();
      resolvePromise(t);
    };
    const w = fsWatch(join(repo, '.git/refs/heads'), check);
    const poll = setInterval(check, 5);
    const timeout = setTimeout(() => {
      done = true;
      cleanup();
      reject(new Error(`no matching commit on ${repo} within 40 s`));
    }, 40_000);
    const cleanup = () => {
      w.close();
      clearInterval(poll);
      clearTimeout(timeout);
    };
  });
}

const agentToml = `adapter = "noop"\ntimeout = "30m"\n[budget]\nusd = 1.0\ntokens = 100000\nwindow = "day"\nwarn_at = 0.8\nmax_run_usd = 0.0\n`;

try {
  console.log(`ga watchdog bench, ${N} trials each, idle ${IDLE_S} s, ${new Date().toISOString()}`);

  // The raw floor: a chokidar 'change' event after appendFileSync on a watched file.
  const rawDir = join(dir, 'raw');
  mkdirSync(rawDir);
  const rawFile = join(rawDir, 'ledger.jsonl');
  writeFileSync(rawFile, '');
  const watcher = chokidarWatch(rawDir, { ignoreInitial: true });
  await new Promise((r) => watcher.once('ready', r));
  let onChange;
  watcher.on('change', () => onChange?.(now()));
  const raw = [];
  for (let i = 0; i <= N; i++) {
    const got = new Promise((r) => (onChange = r));
    const t0 = now();
    appendFileSync(rawFile, `{"i":${i}}\n`);
    const t = await Promise.race([got, sleep(1000).then(() => undefined)]);
    if (t !== undefined && i > 0) raw.push(t - t0);
    await sleep(80); // chokidar drops a second change of one file within 50 ms
  }
  await watcher.close();
  const rawMissed = N - raw.length;

  // (1) append crossing a cap -> PAUSED commit. One fresh agent per trial (a1..aN+1, one signed commit).
  const repo = join(dir, 'gov');
  ga('init', repo);
  const ids = Array.from({ length: N + 1 }, (_, i) => `a${i + 1}`);
  for (const id of ids) {
    mkdirSync(join(repo, 'agents', id), { recursive: true });
    writeFileSync(join(repo, 'agents', id, 'agent.toml'), agentToml);
    writeFileSync(join(repo, 'agents', id, 'tool_allowlist.toml'), 'allowed_tools = []\nenv = []\n');
  }
  git(repo, 'add', 'agents');
  git(repo, 'commit', '-S', '-qm', `add ${ids.length} bench agents`);
  const gov = await openRepo(repo);
  const wd = await daemon(['-C', repo, 'watchdog'], /watchdog started on /);
  await sleep(1500); // the first sweep has run
  const pause = [];
  for (const [i, id] of ids.entries()) {
    const before = git(repo, 'rev-parse', 'HEAD');
    const landed = refLanding(
      repo,
      before,
      (c) =>
        git(repo, 'show', '-s', '--format=%B', c).includes(`Ga-Agent: ${id}\n`) && /Ga-Event: agent-paused/.test(git(repo, 'show', '-s', '--format=%B', c)),
    );
    const t0 = now();
    await appendCharge(
      gov,
      id,
      { run: `bench-${i}`, input_tokens: 10, output_tokens: 10, usd: 1.5, source: 'reported' },
      { window: 'day', clock: systemClock },
    );
    const t = await landed;
    if (i > 0) pause.push(t - t0);
    await sleep(250); // let the sweep that its own commit wakes finish
  }
  const pausedCount = git(repo, 'log', '--format=%B')
    .split('\n')
    .filter((l) => l === 'Ga-Event: agent-paused').length;

  // (3) idle CPU of that watchdog.
  await sleep(1000);
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const cpu = () => {
    const f = readFileSync(`/proc/${wd.child.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / tick; // utime + stime, seconds
  };
  const c0 = cpu();
  const w0 = now();
  await sleep(IDLE_S * 1000);
  const idleCpu = cpu() - c0;
  const idleWall = (now() - w0) / 1000;
  const wdAlive = wd.child.exitCode === null;
  await stop(wd);

  // (2) approval commit landing -> hook starting, on another repository (no watchdog there).
  const repo2 = join(dir, 'gov2');
  ga('init', repo2);
  const stamps = join(dir, 'hook-stamps');
  writeFileSync(
    join(repo2, 'agents/noop/hooks/publish_content.sh'),
    '#!/bin/sh\necho "$GA_PROPOSAL_ID $(date +%s%N)" >> "$BENCH_HOOK_FILE"\necho "published: $GA_PROPOSAL_ID"\n',
  );
  git(repo2, 'add', 'agents/noop/hooks/publish_content.sh');
  git(repo2, 'commit', '-S', '-qm', 'bench hook: stamp the start');
  const ex = await daemon(['-C', repo2, 'execute', '--watch'], /executing approvals as they land/, { BENCH_HOOK_FILE: stamps });
  await sleep(500);
  const proposal = join(dir, 'p.toml');
  const hook = [];
  const claim = []; // the part of (2) until the claim commit lands (the hook may run only after it)
  for (let i = 0; i <= N; i++) {
    writeFileSync(proposal, `agent = "noop"\naction_type = "publish_content"\ntitle = "Bench ${i}"\n[payload]\nn = ${i}\n`);
    const id = ga('-C', repo2, 'propose', '--file', proposal).trim().split('\n').pop();
    await sleep(120); // apart from the submission's ref update (chokidar's 50 ms blind spot)
    git(repo2, 'mv', `proposals/pending/${id}.toml`, `proposals/approved/${id}.toml`);
    const claimed = refLanding(repo2, git(repo2, 'rev-parse', 'HEAD'), (c) =>
      git(repo2, 'show', '-s', '--format=%B', c).includes('Ga-Event: proposal-claimed'),
    );
    git(repo2, 'commit', '-S', '-qm', `approve ${id}`);
    const t0 = epochMs();
    const t0p = now();
    const deadline = now() + 40_000;
    let started;
    while (started === undefined) {
      const line = existsSync(stamps)
        ? readFileSync(stamps, 'utf8')
            .split('\n')
            .find((l) => l.startsWith(`${id} `))
        : undefined;
      if (line) started = Number(BigInt(line.split(' ')[1]) / 1000n) / 1000;
      else if (now() > deadline) throw new Error(`the hook of ${id} did not start within 40 s`);
      else await sleep(2);
    }
    const tClaim = await claimed;
    if (i > 0) {
      hook.push(started - t0);
      claim.push(tClaim - t0p);
    }
    // wait for its outcome commit, then a little, so the executor is idle again
    for (const end = now() + 40_000; !git(repo2, 'ls-tree', '--name-only', 'HEAD', 'proposals/executed/').includes(id);) {
      if (now() > end) throw new Error(`${id} was not recorded as executed`);
      await sleep(5);
    }
    await sleep(150);
  }
  const published = ex.lines.filter((l) => /published:/.test(l)).length;
  await stop(ex);

  const cpuPct = (100 * idleCpu) / idleWall;
  console.log(row('raw chokidar: appendFileSync -> change', raw, rawMissed ? `   ${rawMissed} event(s) missed` : ''));
  console.log(
    row(
      '(1) cap-crossing append -> PAUSED commit',
      pause,
      `   ${(median(pause) / median(raw)).toFixed(0)}x raw   target median < 250 ms: ${median(pause) < 250 ? 'met' : 'MISSED'}`,
    ),
  );
  console.log(
    row(
      '(2) approval commit -> hook starts',
      hook,
      `   ${(median(hook) / median(raw)).toFixed(0)}x raw   target median < 100 ms: ${median(hook) < 100 ? 'met' : 'MISSED'}`,
    ),
  );
  console.log(row('    of which: approval -> claim commit', claim));
  console.log(
    `${'(3) idle watchdog CPU'.padEnd(44)} ${idleCpu.toFixed(2)} s of CPU in ${idleWall.toFixed(1)} s = ${cpuPct.toFixed(3)}% of one core   target < 1%: ${cpuPct < 1 ? 'met' : 'MISSED'}${wdAlive ? '' : '   (the watchdog had exited!)'}`,
  );
  console.log(`pause commits: ${pausedCount} for ${ids.length} agents; hooks run: ${published} for ${N + 1} approvals`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
