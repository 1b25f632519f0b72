// agents/<id>/agent.toml and agents/<id>/tool_allowlist.toml.
import * as z from 'zod';
import { duration, usd } from './common.js';
import { lazySchema } from './lazy.js';
import { ledgerWindowSchema } from './ledger.js';
import { parseTomlFile } from './toml.js';
import { ADAPTERS } from '../layout/layout.js';

export const agentSchema = lazySchema(() =>
  z
    .strictObject({
      adapter: z.enum(ADAPTERS, { error: 'expected adapter = "noop", "claude" or "command"' }),
      command: z.array(z.string().min(1)).min(1).optional(),
      model: z.string().min(1).optional(),
      timeout: duration().prefault('30m'),
      budget: z
        .strictObject({
          usd: usd().default(5),
          tokens: z.number().int().nonnegative().default(2_000_000),
          window: ledgerWindowSchema().default('day'),
          warn_at: z.number().gt(0).max(1).default(0.8),
          max_run_usd: usd().default(0.5),
        })
        .default({ usd: 5, tokens: 2_000_000, window: 'day', warn_at: 0.8, max_run_usd: 0.5 }),
    })
    .superRefine((a, ctx) => {
      if (a.adapter === 'command' && !a.command) {
        ctx.addIssue({ code: 'custom', path: ['command'], message: 'adapter = "command" needs command = ["program", "arg", ...]' });
      }
      if (a.adapter !== 'command' && a.command) {
        ctx.addIssue({ code: 'custom', path: ['command'], message: `command is used only with adapter = "command"; remove it` });
      }
    }),
);
export type AgentConfig = z.output<ReturnType<typeof agentSchema>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables an allowlist may never pass through: they would hand the agent the approver's keys or git. */
const ENV_FORBIDDEN = new Set(['SSH_AUTH_SOCK', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_PARAMETERS', 'HOME']);

export const allowlistSchema = lazySchema(() =>
  z.strictObject({
    allowed_tools: z.array(z.string().min(1)).default([]),
    env: z
      .array(
        z
          .string()
          .regex(ENV_NAME, 'expected an environment variable name')
          .refine((n) => !ENV_FORBIDDEN.has(n), { message: 'this variable may never be passed to an agent' }),
      )
      .default([]),
  }),
);
export type Allowlist = z.output<ReturnType<typeof allowlistSchema>>;

export function parseAgent(text: string, file: string): AgentConfig {
  return parseTomlFile(agentSchema(), text, file);
}

export function parseAllowlist(text: string, file: string): Allowlist {
  return parseTomlFile(allowlistSchema(), text, file);
}
