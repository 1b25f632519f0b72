import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { bar, paint } from '../format.js';

export default defineCommand({
  command: 'scoreboard',
  describe: 'per agent: spend against caps, runs, proposals, pauses',
  builder: (y) => y,
  examples: [['ga scoreboard', 'who spent what, against which cap']],
  async run(ctx) {
    const [{ loadGovernance }, { scoreboard }] = await Promise.all([import('../../history/replay.js'), import('../../report/status.js')]);
    const rows = await scoreboard(await loadGovernance(await ctx.repo()), ctx.clock);
    if (ctx.json) {
      printJson(ctx, rows);
      return;
    }
    const c = ctx.io.color;
    const out: string[] = [];
    for (const r of rows) {
      out.push(`${paint(c, 'bold', r.agent)}  ${r.paused ? paint(c, 'red', `PAUSED: ${r.pauseWhy}`) : paint(c, 'green', 'active')}`);
      if (r.error || !r.budget) {
        out.push(`  ${r.error ?? 'no budget'}`);
      } else {
        const b = r.budget;
        out.push(
          `  usd     ${bar(c, b.usd, b.usdCap)}  $${b.usd.toFixed(4)} of $${b.usdCap} (${b.window}${b.reservedUsd ? `, $${b.reservedUsd.toFixed(2)} reserved` : ''})`,
        );
        out.push(`  tokens  ${bar(c, b.tokens, b.tokenCap)}  ${b.tokens} of ${b.tokenCap}`);
      }
      out.push(`  runs    ${r.runsToday} today, ${r.runsTotal} in all`);
      const states = Object.entries(r.proposals)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
      out.push(`  proposals ${states || 'none'}`);
    }
    ctx.io.out(out.length ? out.join('\n') : 'no agents with a trusted agent.toml');
  },
});
