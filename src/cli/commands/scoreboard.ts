import { openRepo } from '../../git/repo.js';
import { loadGovernance } from '../../history/replay.js';
import { scoreboard } from '../../report/state.js';
import { printJson, type Context } from '../context.js';
import { bar, paint } from '../format.js';

export default async function scoreboardCommand(ctx: Context): Promise<number> {
  const rows = await scoreboard(await loadGovernance(await openRepo(ctx.dir)), ctx.clock);
  if (ctx.json) {
    printJson(ctx, rows);
    return 0;
  }
  const c = ctx.io.color;
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${paint(c, 'bold', r.agent)}  ${r.paused ? paint(c, 'red', `PAUSED: ${r.pauseWhy}`) : paint(c, 'green', 'active')}`);
    if (r.error) {
      out.push(`  ${r.error}`);
    } else {
      const b = r.budget;
      out.push(`  usd     ${bar(c, b.usd, b.usdCap)}  $${b.usd.toFixed(4)} of $${b.usdCap} (${b.window}${b.reservedUsd ? `, $${b.reservedUsd.toFixed(2)} reserved` : ''})`);
      out.push(`  tokens  ${bar(c, b.tokens, b.tokenCap)}  ${b.tokens} of ${b.tokenCap}`);
    }
    out.push(`  runs    ${r.runsToday} today, ${r.runsTotal} in all`);
    const states = Object.entries(r.proposals).map(([s, n]) => `${n} ${s}`).join(', ');
    out.push(`  proposals ${states || 'none'}`);
  }
  ctx.io.out(out.length ? out.join('\n') : 'no agents with a trusted agent.toml');
  return 0;
}
