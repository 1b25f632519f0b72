import { taskPath } from '../../layout/layout.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { paint, short } from '../format.js';

export default defineCommand({
  command: 'run <agent> [task]',
  describe: 'run one agent on one task under its budget, allowlist and pause marker',
  builder: (y) =>
    y
      .positional('agent', { type: 'string', demandOption: true, describe: 'the agent id' })
      .positional('task', { type: 'string', default: 'smoke', describe: `${taskPath('<agent>', '<task>')} (default smoke)` }),
  examples: [['ga run noop', 'the noop agent proposes and waits for your decision']],
  async run(ctx, args) {
    const { runAgent } = await import('../../runner/run.js');
    const repo = await ctx.repo();
    if (!ctx.json) ctx.io.out(`running ${args.agent} on task ${args.task}...`);
    const r = await runAgent(repo, args.agent, args.task, { clock: ctx.clock, say: (line) => (ctx.json ? ctx.io.err(line) : ctx.io.out(`  ${line}`)) });
    if (ctx.json) {
      printJson(ctx, r);
    } else {
      const ok = r.outcome === 'success';
      ctx.io.out(
        `${paint(ctx.io.color, ok ? 'green' : 'red', r.outcome)}: run ${r.run} of ${r.agent}, exit ${r.exitCode ?? 'none'}, ${r.tokens} tokens, $${r.usd.toFixed(4)} (${r.source}), ${r.permissionDenials} permission denials; recorded in ${short(r.commit)}`,
      );
      if (r.note) ctx.io.out(`  ${r.note}`);
      if (r.resultText)
        ctx.io.out(
          r.resultText
            .split('\n')
            .map((l, i) => `  ${i === 0 ? 'result: ' : '        '}${l}`)
            .join('\n'),
        );
      if (!r.resultText) for (const l of r.tail.slice(-5)) ctx.io.out(`  | ${l}`);
      if (r.hint) ctx.io.out(`  what to do: ${r.hint}`);
      if (r.pausedForBudget)
        ctx.io.out(`  ${r.agent} crossed a cap and is paused (ga resume ${r.agent} --reason ... after raising the cap or in the next window)`);
    }
    // Interrupted by Ctrl-C or TERM: the shell's convention (128 + SIGINT), after the run was recorded.
    return r.outcome === 'success' ? 0 : r.outcome === 'interrupted' ? 130 : 1;
  },
});
