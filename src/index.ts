// The library entry point: what programs embedding ga may use.
export { registerHook, type HookHandler } from './executor/hooks.js';
export { run } from './cli/main.js';
export { loadGovernance, type Governance } from './history/replay.js';
export { submitProposal } from './proposals/submit.js';
export { approveProposal, rejectProposal, expireProposals } from './proposals/decide.js';
export { executeProposal, executeAll } from './executor/execute.js';
export { openRepo } from './git/repo.js';
export { GaError, UsageError, GovernanceRefusal } from './errors.js';
