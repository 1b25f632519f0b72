// The files `ga init` writes: the layout with the noop agent and the default policy.

export const DEFAULT_POLICY = `# Which proposals a human must decide. See docs/formats.md.
[defaults]
requires_approval = true   # for types on neither list: true = a human decides
expires_after = "24h"
min_approvals = 1

[auto_approve]
action_types = ["research_only", "internal_file_op", "draft_content"]

[never_auto_approve]
action_types = ["publish_content", "external_api_write", "send_email", "charge_card",
                "deploy_service", "purchase", "modify_credentials", "spawn_subagent"]

# Optional: per-type overrides of [defaults], such as a quorum.
# [[rules]]
# action_types = ["charge_card", "deploy_service"]
# min_approvals = 2
`;

export const DEFAULT_WATCHDOG = `# Watchdog thresholds (these are the defaults).
sweep_interval = "30s"
stuck_after = "30m"
heartbeat_timeout = "60s"
loop_count = 3
loop_window = "10m"
tool_loop_count = 5
required = false
`;

export function approversFile(firstLine: string | undefined): string {
  return [
    "# Trusted approvers: git's allowed-signers format, one principal (your git user.email) a line.",
    '# Changes count only when signed by an approver already listed here.',
    '# <email> namespaces="git" <key type> <base64 key>',
    ...(firstLine ? [firstLine] : []),
    '',
  ].join('\n');
}

export const NOOP_AGENT = `# The noop agent: no model; it proposes and waits for a decision.
adapter = "noop"
timeout = "30m"

[budget]
usd = 1.0
tokens = 100000
window = "day"
warn_at = 0.8
max_run_usd = 0.0
`;

export const NOOP_ALLOWLIST = `# Default deny: tools not listed here are refused.
allowed_tools = ["Bash(ga propose:*)"]
env = []
`;

export const NOOP_CLAUDE_MD = `You are the noop agent. You never act on the world yourself: every outside or
irreversible action is a proposal (\`ga propose\`) that a human decides.
`;

export const NOOP_SMOKE_TASK = `Publish the launch post
The noop agent's first line is its proposal's title: it proposes publish_content and waits for a human decision.
`;

export const NOOP_PUBLISH_HOOK = `#!/bin/sh
# Decision hook for publish_content: runs once, after a valid signed approval.
# The proposal arrives as JSON on stdin and in $GA_PROPOSAL_FILE.
set -eu
title=$(sed -n 's/^  "title": "\\(.*\\)",$/\\1/p' "$GA_PROPOSAL_FILE")
echo "published: $title (proposal $GA_PROPOSAL_ID)"
`;

export const GITIGNORE_LINE = '.ga/';

/**
 * The pull-request check. pull_request_target runs this file as it is on the
 * base branch, so a pull request cannot edit the check away. The trust root
 * is the commit that added this very file on the base branch (ga init's
 * commit), which a pull request cannot change either.
 */
export const VERIFY_WORKFLOW = `# Written by ga init: every pull request must follow the governance rules.
# ga must be installable here: this repository's package.json depends on it
# (npm install --save-dev <ga from your registry or a git URL>).
name: ga verify
on:
  pull_request_target:
permissions:
  contents: read
jobs:
  verify:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: \${{ github.event.pull_request.head.sha }}
          fetch-depth: 0
          persist-credentials: false
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci --ignore-scripts
      - name: ga verify (the pull request's commits, from the trust root of the base branch)
        env:
          BASE: \${{ github.event.pull_request.base.sha }}
        run: |
          git fetch --no-tags origin "$BASE"
          root=$(git log --first-parent --diff-filter=A --format=%H "$BASE" -- .github/workflows/ga-verify.yml | tail -n 1)
          npx --no-install ga verify "$BASE..HEAD" --trust "$root"
`;
