// `ga mcp`: an MCP server on stdio for the agent a runner started. Its tools
// (propose, list, show, status) are bound to GA_AGENT exactly as `ga
// propose` is: the agent proposes only as itself and sees only its own
// proposals and its own budget and pause state. Nothing here decides,
// approves or runs anything: those stay a person's, in a signed commit.
import type { Clock } from '../clock.js';
import * as z from 'zod';
import { GaError, UsageError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { checkAgentId } from '../layout/layout.js';
import { MCP_SERVER } from '../layout/mcp.js';

const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }] });
const refusal = (e: unknown) => {
  if (!(e instanceof GaError)) throw e;
  return { ...text(e.message), isError: true };
};

export async function serveMcp(repo: Repo, clock: Clock, version: string): Promise<void> {
  const agent = process.env.GA_AGENT;
  if (!agent) throw new UsageError('ga mcp serves the agent a runner started: GA_AGENT is not set (ga run sets it; the claude adapter starts ga mcp itself)');
  checkAgentId(agent, 'GA_AGENT');
  const [{ McpServer }, { StdioServerTransport }, { loadGovernance }, { submitProposal }, { listProposals }, { proposalToJson }, agentState] =
    await Promise.all([
      import('@modelcontextprotocol/sdk/server/mcp.js'),
      import('@modelcontextprotocol/sdk/server/stdio.js'),
      import('../history/replay.js'),
      import('../proposals/submit.js'),
      import('../history/find.js'),
      import('../schema/proposal.js'),
      import('../report/agent.js'),
    ]);
  const server = new McpServer({ name: MCP_SERVER, version });
  server.registerTool(
    'propose',
    {
      title: 'Propose an action',
      description: `Submit a proposal as agent ${agent}: every outside or irreversible action is one, and a person decides it (the policy may auto-approve a reversible one). Returns its id and state.`,
      inputSchema: {
        action_type: z.string().describe('the action type, such as publish_content or send_email'),
        title: z.string().describe('one line a reviewer reads first'),
        rationale: z.string().optional().describe('why, in 2-4 sentences'),
        expected_outcome: z.string().optional().describe('what should happen if it runs'),
        reversible: z.boolean().optional().describe('can it be undone? (default true)'),
        requires_approval: z.boolean().optional().describe('must a person decide? (default true)'),
        payload: z.record(z.string(), z.unknown()).optional().describe('what the decision hook needs, as an object'),
      },
    },
    async (args) => {
      try {
        const input = Object.fromEntries(Object.entries({ ...args, agent, payload: args.payload ?? {} }).filter(([, v]) => v !== undefined));
        const r = await submitProposal(repo, input, { clock, file: 'the propose tool' });
        return text({ id: r.proposal.id, state: r.state, commit: r.commit });
      } catch (e) {
        return refusal(e);
      }
    },
  );
  server.registerTool(
    'list',
    {
      title: 'List my proposals',
      description: `The proposals of agent ${agent}, newest first, with their state.`,
      inputSchema: { state: z.enum(['pending', 'approved', 'rejected', 'executed', 'failed', 'expired']).optional() },
    },
    async (args) => {
      try {
        const gov = await loadGovernance(repo);
        const rows = listProposals(gov, { agent, state: args.state, all: true })
          .sort((a, b) => (a.id < b.id ? 1 : -1))
          .map((r) => ({
            id: r.id,
            state: r.state,
            action_type: r.proposal?.action_type,
            title: r.proposal?.title,
            approval_valid: r.approval?.valid ?? null,
          }));
        return text(rows);
      } catch (e) {
        return refusal(e);
      }
    },
  );
  server.registerTool(
    'show',
    {
      title: 'Show one of my proposals',
      description: `One proposal of agent ${agent}: its content, state, and whether its approval counts.`,
      inputSchema: { id: z.string() },
    },
    async (args) => {
      try {
        const gov = await loadGovernance(repo);
        const r = gov.proposals.get(args.id);
        if (!r?.proposal || r.proposal.agent !== agent) return { ...text(`no proposal ${args.id} of agent ${agent}`), isError: true };
        return text({ ...proposalToJson(r.proposal), state: r.state, approval: r.approval ?? null });
      } catch (e) {
        return refusal(e);
      }
    },
  );
  server.registerTool(
    'status',
    { title: 'My status', description: `Agent ${agent}: whether it is paused and why, its spend against its caps, its proposals by state.`, inputSchema: {} },
    async () => {
      try {
        return text(await agentState.agentStatus(await loadGovernance(repo), agent, clock));
      } catch (e) {
        return refusal(e);
      }
    },
  );
  const transport = new StdioServerTransport();
  await server.connect(transport);
  await new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
}
