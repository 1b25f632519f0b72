import { UsageError } from '../../errors.js';
import { readFileOption } from '../args.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';

export default defineCommand({
  command: 'propose',
  describe: 'submit a proposal; prints its id last',
  builder: (y) =>
    y
      .option('file', { alias: 'f', type: 'string', describe: 'proposal TOML file, or - for stdin' })
      .option('agent', { type: 'string', describe: 'the proposing agent (inside an agent: GA_AGENT)' })
      .option('type', { type: 'string', describe: 'the action type, such as publish_content' })
      .option('title', { type: 'string', describe: 'one line a reviewer reads first' })
      .option('rationale', { type: 'string', describe: 'why, in 2-4 sentences' })
      .option('expected-outcome', { type: 'string', describe: 'what should happen if it runs' })
      .option('reversible', { type: 'boolean', describe: 'can it be undone? (default true)' })
      .option('requires-approval', { type: 'boolean', describe: 'must a human decide? (default true)' })
      .option('payload', { type: 'string', describe: 'what the hook needs, as a JSON object' }),
  examples: [
    ['ga propose --agent noop --type publish_content --title "Publish the post" --payload \'{"url": "https://example.com/p"}\'', 'with flags'],
    ['ga propose --file proposal.toml', 'from a TOML file (- reads stdin)'],
  ],
  publishes: true,
  async run(ctx, args) {
    const [{ submitProposal }, { proposalToJson, MAX_PROPOSAL_BYTES }] = await Promise.all([
      import('../../proposals/submit.js'),
      import('../../schema/proposal.js'),
    ]);
    const repo = await ctx.repo();
    let input: unknown;
    let file = 'command line';
    if (typeof args.file === 'string') {
      file = args.file === '-' ? '<stdin>' : args.file;
      input = readFileOption(args.file, '--file', MAX_PROPOSAL_BYTES, 'proposal file');
    } else {
      if (!args.type || !args.title) throw new UsageError('give --file F, or at least --type and --title (and --agent outside an agent)');
      let payload: unknown = {};
      if (typeof args.payload === 'string') {
        try {
          payload = JSON.parse(args.payload);
        } catch {
          throw new UsageError(`--payload is not valid JSON; give an object such as '{"url": "https://..."}'`);
        }
      }
      input = Object.fromEntries(
        Object.entries({
          agent: args.agent ?? process.env.GA_AGENT,
          action_type: args.type,
          title: args.title,
          rationale: args.rationale,
          expected_outcome: args.expectedOutcome,
          reversible: args.reversible,
          requires_approval: args.requiresApproval,
          payload,
        }).filter(([, v]) => v !== undefined),
      );
    }
    const result = await submitProposal(repo, input, { clock: ctx.clock, file });
    if (ctx.json) {
      printJson(ctx, { ...proposalToJson(result.proposal), state: result.state, commit: result.commit });
      return;
    }
    ctx.io.out(
      result.state === 'approved'
        ? `auto-approved under the policy: ${result.proposal.title}`
        : `pending a human decision: ${result.proposal.title} (ga approve ${result.proposal.id})`,
    );
    ctx.io.out(result.proposal.id);
  },
});
