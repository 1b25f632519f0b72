// `ga execute --watch`: runs each validly approved proposal's hook the moment
// its approval lands (ga approve, a hand-made signed commit, or a pull), on
// the same watching machinery as the watchdog.
import type { Clock } from '../clock.js';
import { GaError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { Coalescer, refPaths, watchRepository } from '../runtime/watch.js';
import { executeApproved, requireWholeHistory, type ExecutionResult } from './execute.js';
import { LiveReading } from '../history/replay.js';
import { followHub } from '../hub/follow.js';
import { hubSettings } from '../policy/hub.js';

export async function executeOnApproval(
  repo: Repo,
  opts: { clock: Clock; timeoutMs?: number; log(line: string): void; onResult?(r: ExecutionResult): void; until: Promise<void> },
): Promise<void> {
  const reported = new Set<string>();
  // One reading kept across events: each event replays only the commits that are new. It starts from all of
  // history, not from a saved reading: a daemon pays that once.
  const reading = new LiveReading(repo, { fresh: true });
  const runner = new Coalescer(async () => {
    try {
      const gov = await reading.current();
      await requireWholeHistory(gov);
      for (const r of await executeApproved(gov, opts)) {
        opts.onResult?.(r);
        const key = `${r.id} ${r.result}`;
        if (reported.has(key)) continue; // an invalid approval is reported once, not every sweep
        reported.add(key);
        opts.log(
          `${opts.clock.now().toISOString()} ${r.result} ${r.id}${r.why ? `: ${r.why}` : ''}${r.hook?.tail.length ? `\n${r.hook.tail.map((l) => `  | ${l}`).join('\n')}` : ''}`,
        );
      }
    } catch (e) {
      opts.log(`${opts.clock.now().toISOString()} execute failed: ${e instanceof GaError ? e.message : (e as Error).stack}`);
    }
  });
  const watcher = await watchRepository(refPaths(repo), () => runner.poke());
  const backstop = setInterval(() => runner.poke(), 30_000);
  // With a hub: approvals made on other clones arrive every sync_interval (the sync moves the ref, the watcher fires).
  const settings = await hubSettings(await reading.current());
  const follower = settings && followHub(repo, { urls: settings.url, branch: settings.branch }, settings.sync_interval, opts.clock, opts.log);
  opts.log(
    `${opts.clock.now().toISOString()} executing approvals as they land in ${repo.root}${settings ? ` (and from the hub every ${settings.sync_interval} ms)` : ''}`,
  );
  runner.poke();
  try {
    await opts.until;
  } finally {
    await follower?.stop();
    clearInterval(backstop);
    await watcher.close();
    await runner.idle();
  }
}
