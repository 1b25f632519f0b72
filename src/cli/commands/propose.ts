import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { openRepo } from '../../git/repo.js';
import { submitProposal } from '../../proposals/submit.js';
import { proposalToJson } from '../../schema/proposal.js';
import { printJson, type Context } from '../context.js';

export default async function propose(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const repo = await openRepo(ctx.dir);
  let input: unknown;
  let file = 'command line';
  if (typeof args.file === 'string') {
    file = args.file === '-' ? '<stdin>' : args.file;
    try {
      input = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; give a readable TOML file or - for stdin`);
    }
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
    return 0;
  }
  ctx.io.out(result.state === 'approved' ? `auto-approved under the policy: ${result.proposal.title}` : `pending a human decision: ${result.proposal.title} (ga approve ${result.proposal.id})`);
  ctx.io.out(result.proposal.id);
  return 0;
}
