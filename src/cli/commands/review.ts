import { defineCommand } from '../define.js';

export default defineCommand({
  command: 'review',
  describe: 'the pending proposals one at a time in the terminal: read, then approve, reject or skip (each a signed commit)',
  builder: (y) => y,
  examples: [['ga review', 'decide what waits, one proposal at a time']],
  publishes: true,
  async run(ctx) {
    const { review } = await import('../review.js');
    await review(await ctx.repo(), ctx.clock);
  },
});
