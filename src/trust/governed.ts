// Which paths are governed: ga uses them only in their trusted version.

const AGENT_FILE = /^agents\/([^/]+)\/(agent\.toml|tool_allowlist\.toml|CLAUDE\.md|tasks\/.+|hooks\/.+)$/;

export function isGovernedPath(path: string): boolean {
  return path.startsWith('policies/') || AGENT_FILE.test(path);
}

export const PROPOSAL_STATES = ['pending', 'approved', 'rejected', 'executed', 'failed', 'expired'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

const PROPOSAL_FILE = /^proposals\/([a-z]+)\/(.+)\.toml$/;

/** `proposals/<state>/<id>.toml` split into its parts, or undefined for any other path. */
export function parseProposalPath(path: string): { state: ProposalState; id: string } | undefined {
  const m = PROPOSAL_FILE.exec(path);
  if (!m || !(PROPOSAL_STATES as readonly string[]).includes(m[1]!)) return undefined;
  if (!/^[a-z0-9][a-z0-9-]{0,79}$/.test(m[2]!)) return undefined;
  return { state: m[1] as ProposalState, id: m[2]! };
}

export const proposalPath = (state: ProposalState, id: string) => `proposals/${state}/${id}.toml`;
