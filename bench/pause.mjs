// Time from a PAUSED marker appearing to the agent's whole process group
// being gone, beside the raw cost of killing a process group directly.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentOf, alive, BIN, median, p95, sandbox } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 30);
const { dir } = sandbox('pause');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const git = (...args) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();

const repo = join(dir, 'gov');
execFileSync(process.execPath, [BIN, 'init', repo]);
// An agent that sleeps: only the pause can end it.
writeFileSync(
  join(repo, 'agents/noop/agent.toml'),
  'adapter = "command"\ncommand = ["sh", "-c", "exec sleep 600"]\ntimeout = "30m"\n[budget]\nusd = 1.0\nmax_run_usd = 0.0\n',
);
git('commit', '-S', '-qam', 'bench: a sleeping command agent');

try {
  const ga = [];
  for (let i = 0; i < N; i++) {
    const run = spawn(process.execPath, [BIN, '-C', repo, 'run', 'noop'], { stdio: 'ignore' });
    const pid = await agentOf(run.pid); // once it has started; its pid as seen from here (runtime/process.ts)
    const t0 = performance.now();
    writeFileSync(join(repo, 'agents/noop/PAUSED'), 'reason = "manual"\ndetail = "bench"\nby = "bench"\nat = 2026-11-24T00:00:00Z\n');
    while (alive(pid)) await sleep(1);
    ga.push(performance.now() - t0);
    await new Promise((r) => run.once('exit', r));
    rmSync(join(repo, 'agents/noop/PAUSED'), { force: true });
    git('reset', '-q', '--hard', 'HEAD'); // drop nothing: the marker was never committed by this bench
  }
  const raw = [];
  for (let i = 0; i < N; i++) {
    const child = spawn('sh', ['-c', 'exec sleep 600'], { detached: true, stdio: 'ignore' });
    await sleep(20);
    const t0 = performance.now();
    process.kill(-child.pid, 'SIGTERM');
    while (alive(child.pid)) await sleep(1);
    raw.push(performance.now() - t0);
  }
  console.log(`pause marker -> agent group gone    median ${median(ga).toFixed(1)} ms   p95 ${p95(ga).toFixed(1)} ms   (target median < 200 ms)`);
  console.log(`raw kill(-pgid) -> gone             median ${median(raw).toFixed(1)} ms   p95 ${p95(raw).toFixed(1)} ms`);
} finally {
  spawnSync('pkill', ['-f', `${repo}`]);
  rmSync(dir, { recursive: true, force: true });
}
