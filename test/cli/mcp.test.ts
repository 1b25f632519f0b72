// ga mcp: the SDK's own client over stdio lists the four tools and calls
// them as the agent; the agent proposes only as itself and sees only its own
// proposals. Then the real Claude Code CLI, given the adapter's
// --mcp-config, lists the ga server and its tools in its system/init event.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAUDE_ENV, claudeArgs } from '../../src/runner/adapters/claude.js';
import { BIN, ga, gaProcess, initRepo, propose, PUBLISH, ROOT, sandbox, type Sandbox } from '../helpers/fixture.js';
import { openRepo } from '../../src/git/repo.js';
import { loadGovernance } from '../../src/history/replay.js';
import { loadTrustedAgent } from '../../src/agents/trusted.js';
import { execFileSync } from 'node:child_process';

let sb: Sandbox;
let repo: string;
let others: string;
beforeAll(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
  expect((await ga(['-C', repo, 'agent', 'new', 'writer'])).code).toBe(0);
  others = (await propose(repo, PUBLISH)).last; // noop's, not writer's
}, 60_000);
afterAll(() => sb.cleanup());

async function connect(agent: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '-C', repo, 'mcp'],
    env: { ...(process.env as Record<string, string>), GA_AGENT: agent },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'ga-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const body = (r: unknown) => JSON.parse((r as { content: { text: string }[] }).content[0]!.text) as any;

describe('ga mcp', () => {
  it('serves propose, list, show and status over stdio, bound to GA_AGENT', async () => {
    const client = await connect('writer');
    try {
      const listedTools = (await client.listTools()).tools;
      expect(listedTools.map((t) => t.name).sort()).toEqual(['list', 'propose', 'show', 'status']);
      // The schemas a client is given: ga's zod (bundled) read by the SDK's
      // own zod (loaded from node_modules), descriptions and all.
      const schema = (name: string) => listedTools.find((t) => t.name === name)!.inputSchema as any;
      expect(schema('propose').required).toEqual(['action_type', 'title']);
      expect(schema('propose').properties.title.description).toBe('one line a reviewer reads first');
      expect(schema('propose').properties.reversible.type).toBe('boolean');
      expect(schema('list').properties.state.enum).toContain('executed');
      const bad = await client.callTool({ name: 'propose', arguments: { action_type: 'publish_content' } });
      expect(bad.isError).toBe(true); // no title: refused by the schema, nothing written
      const made = await client.callTool({
        name: 'propose',
        arguments: { action_type: 'publish_content', title: 'From the MCP tool', payload: { text: 'hello' } },
      });
      expect(made.isError ?? false).toBe(false);
      const { id, state } = body(made);
      expect(state).toBe('pending');
      const gov = await loadGovernance(await openRepo(repo));
      expect(gov.proposals.get(id)!.proposal).toMatchObject({ agent: 'writer', title: 'From the MCP tool', payload: { text: 'hello' } });

      const listed = body(await client.callTool({ name: 'list', arguments: {} }));
      expect(listed.map((r: { id: string }) => r.id)).toEqual([id]); // only its own: not noop's
      expect(body(await client.callTool({ name: 'show', arguments: { id } }))).toMatchObject({ id, state: 'pending', agent: 'writer' });
      const foreign = await client.callTool({ name: 'show', arguments: { id: others } });
      expect(foreign.isError).toBe(true);
      const status = body(await client.callTool({ name: 'status', arguments: {} }));
      expect(status).toMatchObject({ agent: 'writer', paused: false, budget: { usd_cap: 5 }, proposals: { pending: 1 } });
    } finally {
      await client.close();
    }
  }, 60_000);

  it('the agent proposes only as itself: an agent field in the arguments is not taken', async () => {
    const client = await connect('writer');
    try {
      const r = await client.callTool({ name: 'propose', arguments: { action_type: 'publish_content', title: 'as noop, it says', agent: 'noop' } });
      expect(r.isError ?? false).toBe(false);
      const gov = await loadGovernance(await openRepo(repo));
      expect(gov.proposals.get(body(r).id)!.proposal!.agent).toBe('writer');
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses to serve without GA_AGENT (exit 2): it is for an agent a runner started', async () => {
    const r = await gaProcess(['-C', repo, 'mcp'], { env: { GA_AGENT: '' } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/GA_AGENT is not set/);
  });

  const CLAUDE = join(ROOT, 'node_modules/.bin/claude');
  it.skipIf(!existsSync(CLAUDE))(
    'the real Claude Code CLI, started with the adapter argv, lists the ga server and its tools',
    async () => {
      const gov = await loadGovernance(await openRepo(repo));
      const agent = await loadTrustedAgent(gov, 'writer');
      const args = claudeArgs({ agent, reservationUsd: 0.5, repo: gov.repo }, '3f8a1c2e-1111-4222-8333-444455556666');
      const home = join(sb.dir, 'claude-home');
      const bin = join(sb.dir, 'bin');
      execFileSync('mkdir', ['-p', home, bin]);
      // As the runner gives an agent: a ga on its PATH (the scratch home's bin).
      writeFileSync(join(bin, 'ga'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
      let out = '';
      try {
        out = execFileSync(CLAUDE, args, {
          cwd: repo,
          input: 'Say hello.',
          encoding: 'utf8',
          env: { PATH: `${bin}:${process.env.PATH}`, HOME: home, GA_AGENT: 'writer', ...CLAUDE_ENV },
          timeout: 90_000,
        });
      } catch (e) {
        out = String((e as { stdout?: string }).stdout ?? ''); // not logged in: it exits 1 after its init event
      }
      const init = out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>)
        .find((ev) => ev.type === 'system' && ev.subtype === 'init');
      expect(init).toBeDefined();
      expect(init!.mcp_servers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'ga', status: 'connected' })]));
      expect(init!.tools).toEqual(expect.arrayContaining(['mcp__ga__propose', 'mcp__ga__list', 'mcp__ga__show', 'mcp__ga__status']));
    },
    120_000,
  );
});
