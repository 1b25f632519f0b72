import { defineCommand } from '../define.js';

export default defineCommand({
  command: 'mcp',
  describe: 'an MCP server on stdio for an agent: the tools propose, list, show and status, bound to GA_AGENT',
  builder: (y) => y,
  examples: [['GA_AGENT=writer ga mcp', 'what the claude adapter starts for the agent (--mcp-config)']],
  publishes: true,
  async run(ctx) {
    const [{ serveMcp }, { gaVersion }] = await Promise.all([import('../mcp.js'), import('../version.js')]);
    await serveMcp(await ctx.repo(), ctx.clock, gaVersion());
  },
});
