import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

export default defineCommand({
  command: 'sync',
  describe: "publish this clone's commits to the hub (policies/hub.toml) and bring in the hub's",
  builder: (y) => y,
  examples: [['ga sync', 'fetch the hub, replay what is unpublished onto its tip, push (never forced)']],
  async run(ctx) {
    const [{ syncWithHub }, { HubUnreachable }, { GovernanceRefusal }] = await Promise.all([
      import('../../hub/sync.js'),
      import('../../git/remote.js'),
      import('../../errors.js'),
    ]);
    const repo = await ctx.repo();
    let r;
    try {
      r = await syncWithHub(repo, { clock: ctx.clock });
    } catch (e) {
      if (e instanceof HubUnreachable)
        throw new GovernanceRefusal(`the hub cannot be reached (${e.detail}); nothing was published, try again when it is back`, 'hub-unreachable');
      throw e;
    }
    if (ctx.json) {
      printJson(ctx, r);
      return r.dropped.length ? 1 : 0;
    }
    ctx.io.out(
      `${r.branch} at ${r.tip ? short(r.tip) : '(empty)'}: published ${r.published} commit(s)${r.replayed ? ` (${r.replayed} replayed on the hub's newer tip)` : ''}, received ${r.received}`,
    );
    for (const o of r.review) ctx.io.out(`  ${o.id} waits for review on branch ${o.branch}${o.url ? ` (${o.url})` : ''}: ${o.next}`);
    for (const d of r.dropped) ctx.io.out(`  dropped ${short(d.commit)} (${d.subject}): ${d.why}`);
    return r.dropped.length ? 1 : 0;
  },
});
