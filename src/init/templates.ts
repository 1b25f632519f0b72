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
 * The check of a pull request (or merge request, or push), as shell: it runs
 * in a clone checked out at the base commit with ga installed from the base's
 * own lockfile, fetches the proposed commits as data (never checks them out)
 * and judges them with ga verify from the trust root. Nothing from the pull
 * request runs: not its package.json, not its lockfile, not its scripts.
 * Environment: BASE (the base commit; empty or zeros: the whole history),
 * HEAD_SHA (the commit to judge), FETCH_REF (where to fetch it from, if not
 * already here). The trust root is the commit that first added
 * policies/approvers on the base's first-parent line (ga init's commit),
 * which a pull request cannot change.
 */
export const CHECK_SCRIPT = `set -eu
if [ -n "\${FETCH_REF:-}" ]; then git fetch --no-tags --quiet origin "+\$FETCH_REF:refs/ga/check/head"; fi
git cat-file -e "\$HEAD_SHA^{commit}"
case "\${BASE:-}" in
  ""|0000000000000000000000000000000000000000) range="\$HEAD_SHA"; from="\$HEAD_SHA" ;;
  *) range="\$BASE..\$HEAD_SHA"; from="\$BASE" ;;
esac
root=\$(git log --first-parent --diff-filter=A --format=%H "\$from" -- policies/approvers | tail -n 1)
test -n "\$root"
./node_modules/.bin/ga verify "\$range" --trust "\$root"
`;

const indent = (text: string, by: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');

/**
 * The GitHub check. pull_request_target runs this file as it is on the base
 * branch, so a pull request cannot edit the check away; it checks out the
 * base (never the pull request's head), installs ga from the base's lockfile
 * with no install scripts, and has no secrets and a read-only token.
 */
export const VERIFY_WORKFLOW = `# Written by ga init: every pull request and every push to the governed branch
# must follow the governance rules (docs/pull-requests.md). Nothing from a pull
# request runs here: ga comes from the base branch's own lockfile (this
# repository's package.json depends on ga), and the pull request's commits
# are fetched as data and judged by ga verify.
name: ga verify
on:
  pull_request_target:
  push:
permissions:
  contents: read
jobs:
  verify:
    runs-on: ubuntu-latest
    steps:
      - name: check out the base (never the pull request's files)
        uses: actions/checkout@v4
        with:
          ref: \${{ github.event.pull_request.base.sha || github.sha }}
          fetch-depth: 0
          persist-credentials: false
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: install ga from the base's lockfile, running no install scripts
        run: npm ci --ignore-scripts --no-audit --no-fund
      - name: fetch the proposed commits as data, and judge them from the trust root
        env:
          BASE: \${{ github.event.pull_request.base.sha || github.event.before }}
          HEAD_SHA: \${{ github.event.pull_request.head.sha || github.sha }}
          FETCH_REF: \${{ github.event.pull_request && format('refs/pull/{0}/head', github.event.number) || '' }}
        run: |
${indent(CHECK_SCRIPT, '          ')}
`;

/**
 * The GitLab equivalent. GitLab runs a merge request's own copy of its CI
 * file, so this file must live where a merge request cannot edit it (the
 * project's "CI/CD configuration file" set to a file in another project, or a
 * pipeline execution policy); GIT_STRATEGY none keeps the merge request's
 * files out of the job, which clones the base itself.
 */
export const GITLAB_VERIFY = `# Written by ga init: the GitLab equivalent of .github/workflows/ga-verify.yml
# (docs/pull-requests.md). GitLab runs a merge request's own copy of its CI
# configuration, so serve this file from a project agents cannot push to
# (Settings > CI/CD > General pipelines > CI/CD configuration file:
# ga-verify.yml@group/ci-config) or require it with a pipeline execution policy.
ga-verify:
  image: node:20
  variables:
    GIT_STRATEGY: none
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  script:
    - git clone --quiet --no-checkout "$CI_REPOSITORY_URL" repo && cd repo
    - git checkout --quiet "\${CI_MERGE_REQUEST_DIFF_BASE_SHA:-$CI_COMMIT_SHA}"
    - npm ci --ignore-scripts --no-audit --no-fund
    - |
      export BASE="\${CI_MERGE_REQUEST_DIFF_BASE_SHA:-$CI_COMMIT_BEFORE_SHA}" HEAD_SHA="$CI_COMMIT_SHA"
      export FETCH_REF="\${CI_MERGE_REQUEST_IID:+refs/merge-requests/$CI_MERGE_REQUEST_IID/head}"
${indent(CHECK_SCRIPT, '      ')}
`;
