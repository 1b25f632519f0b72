// The project's own repository carries the layout at its top level as a
// working example; it must stay what `ga init` writes and parse cleanly.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as t from '../../src/init/templates.js';
import { KEEP_DIRS, workspaceDir } from '../../src/layout/layout.js';
import { parseAgent, parseAllowlist } from '../../src/schema/agent.js';
import { parseApprovers } from '../../src/schema/approvers.js';
import { parsePolicy } from '../../src/schema/policy.js';
import { parseWatchdog } from '../../src/schema/watchdog.js';
import { ROOT } from '../helpers/fixture.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('the example layout at the top of this repository', () => {
  it('is what ga init writes (less the first approver), file for file', () => {
    expect(read('policies/proposal_policy.toml')).toBe(t.DEFAULT_POLICY);
    expect(read('policies/approvers')).toBe(t.approversFile(undefined));
    expect(read('policies/watchdog.toml')).toBe(t.DEFAULT_WATCHDOG);
    expect(read('agents/noop/agent.toml')).toBe(t.NOOP_AGENT);
    expect(read('agents/noop/tool_allowlist.toml')).toBe(t.NOOP_ALLOWLIST);
    expect(read('agents/noop/CLAUDE.md')).toBe(t.NOOP_CLAUDE_MD);
    expect(read('agents/noop/tasks/smoke.md')).toBe(t.NOOP_SMOKE_TASK);
    expect(read('agents/noop/hooks/publish_content.sh')).toBe(t.NOOP_PUBLISH_HOOK);
    expect(statSync(join(ROOT, 'agents/noop/hooks/publish_content.sh')).mode & 0o111).not.toBe(0);
    for (const d of [...KEEP_DIRS, workspaceDir('noop')]) expect(existsSync(join(ROOT, d))).toBe(true);
  });

  it('parses under every schema', () => {
    expect(parsePolicy(read('policies/proposal_policy.toml')).never_auto_approve.action_types).toContain('publish_content');
    expect(parseApprovers(read('policies/approvers'))).toEqual([]);
    expect(parseWatchdog(read('policies/watchdog.toml')).loop_count).toBe(3);
    expect(parseAgent(read('agents/noop/agent.toml'), 'agents/noop/agent.toml').adapter).toBe('noop');
    expect(parseAllowlist(read('agents/noop/tool_allowlist.toml'), 'agents/noop/tool_allowlist.toml').allowed_tools).toEqual(['Bash(ga propose:*)']);
  });
});
