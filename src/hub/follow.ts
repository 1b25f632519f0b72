// Following the hub from a daemon (`ga execute --watch`, the watchdog):
// every sync_interval a cheap look at the hub's ref (ls-remote), and a sync
// only when it moved or this clone has something to publish. So an approval
// or a pause made on any clone reaches this one within an interval, and what
// this daemon records (an outcome, a pause) reaches the others. A hub that
// does not answer is said once, and changes nothing here: local controls hold.
import type { Clock } from '../clock.js';
import { HubUnreachable, hubRef, hubTip, type Hub } from '../git/remote.js';
import type { Repo } from '../git/repo.js';
import { readHead, readRefFromFiles } from '../git/head.js';
import { governedBranch } from '../trust/branch.js';
import { syncWithHub } from './sync.js';

export interface HubFollower {
  stop(): Promise<void>;
}

export function followHub(repo: Repo, hub: Hub, interval: number, clock: Clock, log: (line: string) => void): HubFollower {
  let busy: Promise<void> | undefined;
  let away = false;
  const look = async () => {
    const tip = await hubTip(repo, hub);
    const { ref } = await governedBranch(repo);
    const local = await readHead(repo, ref);
    const known = readRefFromFiles(repo, hubRef(hub));
    if (tip === known && local === tip) return;
    const r = await syncWithHub(repo, { clock, hub });
    if (r.received || r.published) log(`${clock.now().toISOString()} hub: received ${r.received}, published ${r.published}`);
    for (const d of r.dropped) log(`${clock.now().toISOString()} hub: dropped ${d.commit.slice(0, 12)} (${d.subject}): ${d.why}`);
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = look()
      .then(() => {
        if (away) log(`${clock.now().toISOString()} hub: reached again`);
        away = false;
      })
      .catch((e: Error) => {
        if (!away)
          log(
            `${clock.now().toISOString()} hub: ${e instanceof HubUnreachable ? `cannot be reached (${e.detail})` : e.message}; acting on what this clone has`,
          );
        away = true;
      })
      .finally(() => (busy = undefined));
  }, interval);
  return {
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}
