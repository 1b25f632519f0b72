import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

export default defineCommand({
  command: 'watchdog',
  describe: 'the watchdog daemon: pauses stuck, over-budget and looping agents',
  builder: (y) => y.option('once', { type: 'boolean', describe: 'one sweep, then exit (for cron and scripts)' }),
  examples: [
    ['ga watchdog', 'the daemon, in the foreground; Ctrl-C stops it cleanly'],
    ['ga watchdog --once', 'one sweep'],
  ],
  async run(ctx, args) {
    const repo = await ctx.repo();
    if (args.once) {
      const { sweepOnce } = await import('../../watchdog/sweep.js');
      const r = await sweepOnce(repo, ctx.clock);
      if (ctx.json) printJson(ctx, r);
      else {
        for (const p of r.paused) ctx.io.out(`paused ${p.agent} (${p.reason}): ${p.detail}`);
        for (const id of r.expired) ctx.io.out(`expired ${id}`);
        for (const f of r.flagged) ctx.io.out(`flagged bad file ${f.path}: ${f.problem}`);
        for (const n of r.notified) ctx.io.out(`${n.ok ? 'notified' : 'notify failed:'} ${n.event} with ${n.command}${n.why ? `: ${n.why}` : ''}`);
        if (r.notifyProblem) ctx.io.err(`ga: ${r.notifyProblem}`);
        if (r.skipped) ctx.io.out(`skipped: ${r.skipped}`);
        else if (!r.paused.length && !r.expired.length && !r.flagged.length && !r.notified.length) ctx.io.out('nothing to do');
      }
      return;
    }
    const [{ runWatchdog }, { untilSignal }] = await Promise.all([import('../../watchdog/daemon.js'), import('../signals.js')]);
    await runWatchdog(repo, { clock: ctx.clock, log: (l) => ctx.io.out(l), until: untilSignal() });
  },
});
