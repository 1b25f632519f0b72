import { createInterface } from 'node:readline/promises';
import { UsageError } from '../../errors.js';
import { openRepo } from '../../git/repo.js';
import { planSignedChange, signGovernedFiles } from '../../trust/sign.js';
import { printJson, type Context } from '../context.js';
import { short } from '../format.js';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export default async function commit(ctx: Context, args: Record<string, unknown>): Promise<number> {
  const repo = await openRepo(ctx.dir);
  const plan = await planSignedChange(repo, (args.paths as string[] | undefined) ?? []);
  if (!ctx.json) ctx.io.out(plan.diff || '(no difference from HEAD)');
  if (!args.yes) {
    if (!process.stdin.isTTY) throw new UsageError('ga commit signs only what you confirm: give --yes to sign these files without being asked');
    if (!(await confirm(`Sign and commit ${plan.files.length} file(s), and nothing else? [y/N] `))) {
      ctx.io.err('ga: nothing was committed');
      return 1;
    }
  }
  const r = await signGovernedFiles(repo, plan, { message: args.message as string | undefined, clock: ctx.clock });
  if (ctx.json) printJson(ctx, { commit: r.commit, files: plan.files.map((f) => f.path) });
  else ctx.io.out(`signed ${plan.files.map((f) => f.path).join(', ')} in commit ${short(r.commit)}; nothing else that was staged went with it`);
  return 0;
}
