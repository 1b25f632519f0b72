// policies/proposal_policy.toml: which action types auto-approve, which never
// do, the defaults, and per-type rules (quorum, expiry).
import * as z from 'zod';
import { actionType, duration } from './common.js';
import { POLICY_PATH } from '../layout/layout.js';
import { lazySchema } from './lazy.js';
import { parseTomlFile } from './toml.js';

export const policySchema = lazySchema(() => {
  const typeList = z.strictObject({ action_types: z.array(actionType()).default([]) });
  const ruleSchema = z.strictObject({
    action_types: z.array(actionType()).min(1, 'expected at least one action type'),
    requires_approval: z.boolean().optional(),
    expires_after: duration().optional(),
    min_approvals: z.number().int().min(1).max(16).optional(),
  });
  return z
    .strictObject({
      defaults: z
        .strictObject({
          requires_approval: z.boolean().default(true),
          expires_after: duration().prefault('24h'),
          min_approvals: z.number().int().min(1).max(16).default(1),
        })
        .prefault({}),
      auto_approve: typeList.default({ action_types: [] }),
      never_auto_approve: typeList.default({ action_types: [] }),
      rules: z.array(ruleSchema).default([]),
    })
    .superRefine((p, ctx) => {
      const never = new Set(p.never_auto_approve.action_types);
      p.auto_approve.action_types.forEach((t, i) => {
        if (never.has(t)) {
          ctx.addIssue({ code: 'custom', path: ['auto_approve', 'action_types', i], message: `"${t}" is also in never_auto_approve; list it in one of them` });
        }
      });
      const seen = new Set<string>();
      p.rules.forEach((r, i) => {
        for (const t of r.action_types) {
          if (seen.has(t)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'action_types'], message: `"${t}" appears in two rules; keep one` });
          seen.add(t);
        }
      });
    });
});
export type Policy = z.output<ReturnType<typeof policySchema>>;

export function parsePolicy(text: string, file = POLICY_PATH): Policy {
  return parseTomlFile(policySchema(), text, file);
}

/** The settings in force for one action type: [defaults] overridden by its rule. */
export interface TypeSettings {
  list: 'auto' | 'never' | 'neither';
  requiresApproval: boolean;
  expiresAfterMs: number;
  minApprovals: number;
}

export function settingsFor(policy: Policy, type: string): TypeSettings {
  const rule = policy.rules.find((r) => r.action_types.includes(type));
  const list = policy.never_auto_approve.action_types.includes(type) ? 'never' : policy.auto_approve.action_types.includes(type) ? 'auto' : 'neither';
  return {
    list,
    requiresApproval: rule?.requires_approval ?? policy.defaults.requires_approval,
    expiresAfterMs: rule?.expires_after ?? policy.defaults.expires_after,
    minApprovals: rule?.min_approvals ?? policy.defaults.min_approvals,
  };
}
