// The files `ga init` writes: the layout with the noop agent and the default policy.
import type { AdapterName } from '../layout/layout.js';

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

/** An agent's governed files as ga init (the noop agent) and ga agent new write them. */
export interface AgentTemplate {
  config: string;
  allowlist: string;
  prompt: string;
  smokeTask: string;
  /** hooks/publish_content.sh: the decision hook of the type the smoke task proposes. */
  hook: string;
}

const BUDGET = (usd: string, tokens: string, maxRun: string) => `
[budget]
usd = ${usd}
tokens = ${tokens}
window = "day"
warn_at = 0.8
max_run_usd = ${maxRun}
`;

export function agentTemplate(id: string, adapter: AdapterName): AgentTemplate {
  const hook = PUBLISH_HOOK;
  if (adapter === 'noop') {
    return {
      config: `# The ${id} agent: no model; it proposes and waits for a decision.\nadapter = "noop"\ntimeout = "30m"\n${BUDGET('1.0', '100000', '0.0')}`,
      allowlist: `# Default deny: tools not listed here are refused.\nallowed_tools = ["Bash(ga propose:*)"]\nenv = []\n`,
      prompt: `You are the ${id} agent. You never act on the world yourself: every outside or\nirreversible action is a proposal (\`ga propose\`) that a human decides.\n`,
      smokeTask: `Publish the launch post\nThe ${id} agent's first line is its proposal's title: it proposes publish_content and waits for a human decision.\n`,
      hook,
    };
  }
  if (adapter === 'claude') {
    return {
      config: `# The ${id} agent: Claude Code, run by ga run with the tools of tool_allowlist.toml only.
adapter = "claude"
# model = "claude-sonnet-4-5"   # the CLI's default when unset
timeout = "30m"
${BUDGET('5.0', '2000000', '0.5')}`,
      allowlist: `# Default deny: Claude Code may use only these tools (--allowedTools).
allowed_tools = ["Read", "Glob", "Grep", "Bash(ga propose:*)"]
# Variables passed through to the agent; everything else is scrubbed. Your login does not
# reach it (it runs with a scratch HOME): to use an API key, add "ANTHROPIC_API_KEY" here.
env = []
`,
      prompt: `You are the ${id} agent, run by ga under human governance.

You never act on the outside world yourself. Every outside or irreversible
action (publishing, sending, paying, deploying, calling a third-party API) is
a proposal that a human decides:

    ga propose --type publish_content --title "one line a reviewer reads first" \\
      --rationale "why, in 2-4 sentences" --payload '{"text": "..."}'

ga prints the proposal's id last (the ga MCP server's propose tool does the
same, and its list, show and status tools tell you where your proposals and
your budget stand). Then stop: the decision hook runs once a person approves
it with a signed commit. Do not try to approve, move or edit
files under proposals/, policies/ or agents/: such changes count for nothing
and are reported.
`,
      smokeTask: `Draft a one-paragraph launch note for this project and propose publishing it
(type publish_content, the text in the payload as {"text": "..."}). Publish nothing yourself.
`,
      hook,
    };
  }
  return {
    config: `# The ${id} agent: any program. ga run starts it in agents/${id}/workspace with the
# task on stdin and a scrubbed environment (ga on its PATH, GA_AGENT set). It may report
# its spend on file descriptor 3, one JSON object a line, each an increment:
#   {"usd": 0.012, "input_tokens": 900, "output_tokens": 120}   and   {"result": "what it did"}
adapter = "command"
command = ["sh", "-c", """
read -r title
ga propose --type publish_content --title "$title" --payload '{}'
echo '{"usd": 0.001, "input_tokens": 120, "output_tokens": 30}' >&3
echo '{"result": "proposed: '"$title"'"}' >&3
"""]
timeout = "30m"
${BUDGET('1.0', '100000', '0.1')}`,
    allowlist: `# Default deny. A command agent has no model tools; env lists the variables passed through.
allowed_tools = []
env = []
`,
    prompt: `The ${id} agent runs a program (adapter = "command"), not a model: this file is
for the people who read its directory. Every outside action it takes is a proposal
(ga propose) that a human decides.
`,
    smokeTask: `Publish the launch post
The first line is the title the command proposes (publish_content); the rest is for people.
`,
    hook,
  };
}

const PUBLISH_HOOK = `#!/bin/sh
# Decision hook for publish_content: runs once, after a valid signed approval.
# The proposal arrives as JSON on stdin and in $GA_PROPOSAL_FILE.
set -eu
title=$(sed -n 's/^  "title": "\\(.*\\)",$/\\1/p' "$GA_PROPOSAL_FILE")
echo "published: $title (proposal $GA_PROPOSAL_ID)"
`;

const NOOP = agentTemplate('noop', 'noop');
export const NOOP_AGENT = NOOP.config;
export const NOOP_ALLOWLIST = NOOP.allowlist;
export const NOOP_CLAUDE_MD = NOOP.prompt;
export const NOOP_SMOKE_TASK = NOOP.smokeTask;
export const NOOP_PUBLISH_HOOK = NOOP.hook;

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
