import { UsageError } from '../../errors.js';
import { agentConfigPath, GOVERNED_FILES } from '../../layout/layout.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export default defineCommand({
  command: 'commit <paths..>',
  describe: 'show the diff of the named governed files and sign exactly those (nothing else staged goes with them)',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: `governed files: ${GOVERNED_FILES}` })
      .option('message', { alias: 'm', type: 'string', describe: 'the commit subject' })
      .option('yes', { alias: 'y', type: 'boolean', describe: 'sign without asking (needed when not on a terminal)' }),
  examples: [[`ga commit ${agentConfigPath('noop')} -m "shorter timeout"`, 'sign exactly that file, after showing its diff']],
  async run(ctx, args) {
    const { planSignedChange, signGovernedFiles } = await import('../../governed/sign.js');
    const repo = await ctx.repo();
    const plan = await planSignedChange(repo, args.paths);
    if (!ctx.json) ctx.io.out(plan.diff || '(no difference from HEAD)');
    if (!args.yes) {
      if (!process.stdin.isTTY) throw new UsageError('ga commit signs only what you confirm: give --yes to sign these files without being asked');
      if (!(await confirm(`Sign and commit ${plan.files.length} file(s), and nothing else? [y/N] `))) {
        ctx.io.err('ga: nothing was committed');
        return 1;
      }
    }
    const r = await signGovernedFiles(repo, plan, { message: args.message, clock: ctx.clock });
    if (ctx.json) printJson(ctx, { commit: r.commit, files: plan.files.map((f) => f.path) });
    else ctx.io.out(`signed ${plan.files.map((f) => f.path).join(', ')} in commit ${short(r.commit)}; nothing else that was staged went with it`);
  },
});
