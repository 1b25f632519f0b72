// The contract's policy table: what happens to a submitted proposal.
import { settingsFor, type Policy, type TypeSettings } from '../schema/policy.js';

export type Outcome =
  | { kind: 'refused'; why: string; settings: TypeSettings }
  | { kind: 'pending'; requiresApproval: true; settings: TypeSettings }
  | { kind: 'auto-approved'; requiresApproval: false; settings: TypeSettings };

export function decideOutcome(policy: Policy, p: { action_type: string; requires_approval: boolean; reversible: boolean }): Outcome {
  const settings = settingsFor(policy, p.action_type);
  if (settings.list === 'never') {
    if (!p.requires_approval) {
      return { kind: 'refused', why: `${p.action_type} may never be auto-approved, and the proposal asked to skip approval`, settings };
    }
    return { kind: 'pending', requiresApproval: true, settings };
  }
  // Types on neither list follow [defaults] (or their rule): true means a human decides.
  const autoType = settings.list === 'auto' || !settings.requiresApproval;
  if (autoType && !p.requires_approval && p.reversible) return { kind: 'auto-approved', requiresApproval: false, settings };
  return { kind: 'pending', requiresApproval: true, settings };
}
