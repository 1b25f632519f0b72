import { ADAPTERS, agentConfigPath, allowlistPath } from '../../layout/layout.js';
import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { short } from '../format.js';

export default defineCommand({
  command: 'agent <action> <id>',
  describe: "agent new <id>: scaffold an agent's governed files, committed signed (nothing is overwritten)",
  builder: (y) =>
    y
      .positional('action', { choices: ['new'] as const, demandOption: true, describe: 'what to do: new' })
      .positional('id', { type: 'string', demandOption: true, describe: 'the agent id: 1-64 of a-z 0-9 _ -' })
      .option('adapter', { choices: ADAPTERS, default: 'claude' as const, describe: 'how ga run runs it: Claude Code, any program, or no model' }),
  examples: [
    ['ga agent new writer', 'a Claude Code agent: agent.toml, tool_allowlist.toml, CLAUDE.md, tasks/smoke.md, hooks/publish_content.sh'],
    ['ga agent new poster --adapter command', 'an agent that is any program, reporting its spend on fd 3'],
  ],
  async run(ctx, args) {
    const { newAgent } = await import('../../init/agent.js');
    const r = await newAgent(await ctx.repo(), args.id, args.adapter, ctx.clock);
    if (ctx.json) return printJson(ctx, { agent: args.id, adapter: args.adapter, commit: r.commit, files: r.files });
    ctx.io.out(
      [
        `added agent ${args.id} (adapter ${args.adapter}) in commit ${short(r.commit)}, signed:`,
        ...r.files.map((f) => `  ${f}`),
        'Next:',
        `  edit ${agentConfigPath(args.id)} (budget, timeout${args.adapter === 'command' ? ', command' : ''}) and ${allowlistPath(args.id)}, then ga commit them`,
        ...(args.adapter === 'claude' ? [`  to use an API key: add "ANTHROPIC_API_KEY" to env in ${allowlistPath(args.id)}`] : []),
        `  ga run ${args.id} smoke`,
      ].join('\n'),
    );
  },
});
