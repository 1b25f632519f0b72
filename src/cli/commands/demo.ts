import { defineCommand } from '../define.js';

export default defineCommand({
  command: 'demo',
  describe: 'the whole loop in a temporary repository: no LLM, no key of yours',
  builder: (y) => y.option('keep', { type: 'boolean', describe: 'keep the repository and print its path last' }),
  examples: [['ga demo --keep', 'run the loop and keep the repository to look at']],
  async run(ctx, args) {
    const { runDemo } = await import('../../demo/demo.js');
    const keep = Boolean(args.keep);
    const { dir } = await runDemo({ keep, clock: ctx.clock, print: (l) => ctx.io.out(l) });
    ctx.io.out(`\nThe loop held: self-approval refused, forgery refused and flagged, one signed approval, one execution.`);
    if (keep) ctx.io.out(`kept: ${dir}/governance`);
  },
});
