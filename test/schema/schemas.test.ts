// Unit tests of the governance file parsers: what they accept, their
// defaults, and the one-line FileError that names file, line (and column for
// TOML syntax), the field and what is expected.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseSubmission } from '../../src/proposals/submit.js';
import { parseAgent, parseAllowlist } from '../../src/schema/agent.js';
import { allowedSignersText, parseApprovers } from '../../src/schema/approvers.js';
import { parsePolicy, settingsFor } from '../../src/schema/policy.js';
import { parseProposal, serializeProposal, type Proposal } from '../../src/schema/proposal.js';
import { FileError } from '../../src/schema/toml.js';
import { parseWatchdog } from '../../src/schema/watchdog.js';

/** Runs `f`, expects a FileError, and returns it. */
function fileError(f: () => unknown): FileError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FileError);
    expect(e).toBeInstanceOf(UsageError); // exit 2 when the file came from the command line
    expect((e as FileError).exitCode).toBe(2);
    expect((e as FileError).message).not.toContain('\n');
    return e as FileError;
  }
  throw new Error('expected a FileError, but parsing succeeded');
}

const MINIMAL = `agent = "noop"
action_type = "publish_content"
title = "Publish the launch post"
[payload]
url = "https://example.com/launch"
`;

describe('parseSubmission (ga propose --file)', () => {
  it('accepts the minimal submission and fills the defaults', () => {
    const s = parseSubmission(MINIMAL, 'p.toml');
    expect(s).toEqual({
      agent: 'noop',
      action_type: 'publish_content',
      title: 'Publish the launch post',
      rationale: '',
      expected_outcome: '',
      reversible: true,
      requires_approval: true,
      expected_cost: { tokens: 0, usd: 0 },
      payload: { url: 'https://example.com/launch' },
    });
    expect(s.expires_at).toBeUndefined();
  });

  it('keeps explicit values, nested payload tables and an expires_at with an offset', () => {
    const s = parseSubmission(
      `agent = "noop"
action_type = "charge_card"
title = "Charge"
rationale = "because"
expected_outcome = "paid"
reversible = false
requires_approval = false
expires_at = 2026-11-24T12:00:00+02:00
[expected_cost]
tokens = 12
usd = 0.3
[payload]
amount = 5
[payload.card]
last4 = "4242"
`,
      'p.toml',
    );
    expect(s.reversible).toBe(false);
    expect(s.requires_approval).toBe(false);
    expect(s.expires_at?.getTime()).toBe(Date.parse('2026-11-24T10:00:00Z'));
    expect(s.expected_cost).toEqual({ tokens: 12, usd: 0.3 });
    expect(s.payload).toEqual({ amount: 5, card: { last4: '4242' } });
    expect(s.rationale).toBe('because');
  });

  it.each(['id = "20261124-100000-000-abcde"', 'created_at = 2026-11-24T10:00:00Z'])('refuses a submitted %s', (line) => {
    const e = fileError(() => parseSubmission(`${line}\n${MINIMAL}`, 'sub.toml'));
    const key = line.split(' ')[0]!;
    expect(e.file).toBe('sub.toml');
    expect(e.message).toMatch(new RegExp(`^sub\\.toml(:1)?: ${key}: `));
    expect(e.message).toContain('assigned by ga');
  });

  it('reports a TOML syntax error with file, line and column from smol-toml', () => {
    const e = fileError(() => parseSubmission('agent = "noop"\naction_type = "x"\ntitle = "unterminated\n[payload]\n', 'bad.toml'));
    expect(e.line).toBe(3);
    expect(e.column).toBeGreaterThan(0);
    expect(e.message).toMatch(/^bad\.toml:3:\d+: /);
    expect(e.message).toContain('fix the TOML syntax');
  });

  it('reports a duplicate key as a syntax error at its line and column', () => {
    const e = fileError(() => parseSubmission(`${MINIMAL}url = "again"\n`, 'dup.toml'));
    expect(e.line).toBe(6);
    expect(e.message).toMatch(/^dup\.toml:6:\d+: /);
  });

  it('refuses unknown keys at the top level and in tables, naming the field path and the line', () => {
    const top = fileError(() => parseSubmission(`agent = "noop"\naction_type = "x"\ntitle = "t"\ncolour = "red"\n[payload]\n`, 'p.toml'));
    expect(top.message).toMatch(/^p\.toml:4: colour: unknown key/);
    const nested = fileError(() => parseSubmission(`${MINIMAL}[expected_cost]\ntokens = 1\neuros = 2\n`, 'p.toml'));
    expect(nested.message).toMatch(/^p\.toml:8: expected_cost\.euros: unknown key/);
  });

  it('names the field, its line and what is expected for a wrong type', () => {
    const e = fileError(() => parseSubmission(`agent = "noop"\naction_type = "x"\ntitle = "t"\nreversible = "no"\n[payload]\n`, 'p.toml'));
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/^p\.toml:4: reversible: .*boolean/);
  });

  it.each([
    ['agent = "Bad Agent"', 1, 'agent', /agent id/],
    ['agent = "noop"\naction_type = "../x"', 2, 'action_type', /action type/],
  ])('refuses a bad name: %s', (head, line, field, expected) => {
    const text = head.includes('action_type') ? `${head}\ntitle = "t"\n[payload]\n` : `${head}\naction_type = "x"\ntitle = "t"\n[payload]\n`;
    const e = fileError(() => parseSubmission(text, 'p.toml'));
    expect(e.message).toMatch(new RegExp(`^p\\.toml:${line}: ${field}: `));
    expect(e.message).toMatch(expected);
  });

  it('requires a non-empty title and a [payload] table', () => {
    expect(fileError(() => parseSubmission('agent = "noop"\naction_type = "x"\ntitle = ""\n[payload]\n', 'p.toml')).message).toMatch(
      /^p\.toml:3: title: expected a non-empty title/,
    );
    expect(fileError(() => parseSubmission('agent = "noop"\naction_type = "x"\ntitle = "t"\n', 'p.toml')).message).toMatch(
      /^p\.toml: payload: expected a \[payload\] table/,
    );
    expect(fileError(() => parseSubmission('agent = "noop"\naction_type = "x"\ntitle = "t"\npayload = 3\n', 'p.toml')).message).toMatch(
      /^p\.toml:4: payload: expected a \[payload\] table/,
    );
    expect(fileError(() => parseSubmission('action_type = "x"\ntitle = "t"\n[payload]\n', 'p.toml')).message).toMatch(/^p\.toml: agent: /);
  });

  it('refuses a negative cost and an expires_at without an offset', () => {
    expect(fileError(() => parseSubmission(`${MINIMAL}[expected_cost]\nusd = -1\n`, 'p.toml')).message).toMatch(/^p\.toml:7: expected_cost\.usd: .*>=0/);
    const local = fileError(() => parseSubmission(`agent = "noop"\naction_type = "x"\ntitle = "t"\nexpires_at = 2026-11-24T10:00:00\n[payload]\n`, 'p.toml'));
    expect(local.message).toMatch(/^p\.toml:4: expires_at: expected an RFC 3339 date-time with offset/);
  });
});

describe('parseProposal (the stored file)', () => {
  const stored: Proposal = {
    id: '20261124-100000-000-abcde',
    agent: 'noop',
    action_type: 'publish_content',
    title: 'Publish "it"',
    rationale: 'r',
    expected_outcome: 'o',
    reversible: false,
    requires_approval: true,
    created_at: new Date('2026-11-24T10:00:00Z'),
    expires_at: new Date('2026-11-25T10:00:00Z'),
    expected_cost: { tokens: 7, usd: 0.25 },
    payload: { url: 'u', nested: { a: 1 } },
  };

  it('round-trips the serialised form', () => {
    const text = serializeProposal(stored);
    expect(text).toMatch(/^id = "20261124-100000-000-abcde"\n/);
    expect(text).toContain('requires_approval = true\n');
    expect(text).toContain('created_at = 2026-11-24T10:00:00Z\n');
    expect(parseProposal(text, 'x.toml')).toEqual(stored);
    expect(serializeProposal(parseProposal(text, 'x.toml'))).toBe(text);
  });

  it('requires every field in a stored proposal (no defaults)', () => {
    const text = serializeProposal(stored).replace('requires_approval = true\n', '');
    const e = fileError(() => parseProposal(text, 'proposals/pending/x.toml'));
    expect(e.message).toMatch(/^proposals\/pending\/x\.toml: requires_approval: .*boolean/);
  });

  it('refuses a bad id and unknown keys', () => {
    const badId = fileError(() => parseProposal(serializeProposal(stored).replace('"20261124-100000-000-abcde"', '"Bad_ID"'), 'p.toml'));
    expect(badId.message).toMatch(/^p\.toml:1: id: expected a proposal id/);
    const extra = fileError(() => parseProposal(serializeProposal(stored).replace('\n[expected_cost]', 'approved_by = "me"\n\n[expected_cost]'), 'p.toml'));
    expect(extra.message).toMatch(/^p\.toml:\d+: approved_by: unknown key/);
  });
});

describe('parsePolicy', () => {
  it('fills every default from an empty file', () => {
    const p = parsePolicy('', 'pol.toml');
    expect(p).toEqual({
      defaults: { requires_approval: true, expires_after: 24 * 3_600_000, min_approvals: 1 },
      auto_approve: { action_types: [] },
      never_auto_approve: { action_types: [] },
      rules: [],
    });
  });

  it('reads the contract example and applies [[rules]] over [defaults]', () => {
    const p = parsePolicy(
      `[defaults]
requires_approval = false
expires_after = "12h"
min_approvals = 1
[auto_approve]
action_types = ["research_only", "draft_content"]
[never_auto_approve]
action_types = ["publish_content", "charge_card"]
[[rules]]
action_types = ["charge_card", "deploy_service"]
min_approvals = 2
expires_after = "2h"
requires_approval = true
`,
      'pol.toml',
    );
    expect(settingsFor(p, 'charge_card')).toEqual({ list: 'never', requiresApproval: true, expiresAfterMs: 2 * 3_600_000, minApprovals: 2 });
    expect(settingsFor(p, 'deploy_service')).toEqual({ list: 'neither', requiresApproval: true, expiresAfterMs: 2 * 3_600_000, minApprovals: 2 });
    expect(settingsFor(p, 'research_only')).toEqual({ list: 'auto', requiresApproval: false, expiresAfterMs: 12 * 3_600_000, minApprovals: 1 });
    expect(settingsFor(p, 'something_else')).toEqual({ list: 'neither', requiresApproval: false, expiresAfterMs: 12 * 3_600_000, minApprovals: 1 });
  });

  it('refuses unknown keys and tables', () => {
    expect(fileError(() => parsePolicy('[defaults]\nrequires_approval = true\nquorum = 2\n', 'pol.toml')).message).toMatch(
      /^pol\.toml:3: defaults\.quorum: unknown key/,
    );
    expect(fileError(() => parsePolicy('[extra]\n', 'pol.toml')).message).toMatch(/^pol\.toml:1: extra: unknown key/);
    expect(fileError(() => parsePolicy('[[rules]]\naction_types = ["a"]\nmax = 1\n', 'pol.toml')).message).toMatch(/^pol\.toml:\d: rules\.0\.max: unknown key/);
  });

  it('refuses a bad duration, quorum or type name, naming the field and what is expected', () => {
    expect(fileError(() => parsePolicy('[defaults]\nexpires_after = "24 hours"\n', 'pol.toml')).message).toMatch(
      /^pol\.toml:2: defaults\.expires_after: expected a duration/,
    );
    expect(fileError(() => parsePolicy('[defaults]\nexpires_after = 24\n', 'pol.toml')).message).toMatch(/^pol\.toml:2: defaults\.expires_after: .*string/);
    expect(fileError(() => parsePolicy('[[rules]]\naction_types = ["a"]\nmin_approvals = 0\n', 'pol.toml')).message).toMatch(
      /^pol\.toml:3: rules\.0\.min_approvals: .*>=1/,
    );
    expect(fileError(() => parsePolicy('[[rules]]\naction_types = []\n', 'pol.toml')).message).toMatch(
      /^pol\.toml:2: rules\.0\.action_types: expected at least one action type/,
    );
    expect(fileError(() => parsePolicy('[auto_approve]\naction_types = ["Bad Type"]\n', 'pol.toml')).message).toMatch(
      /^pol\.toml:2: auto_approve\.action_types\.0: expected an action type/,
    );
  });

  it('refuses a type on both lists, and a type in two rules', () => {
    expect(fileError(() => parsePolicy('[auto_approve]\naction_types = ["a"]\n[never_auto_approve]\naction_types = ["a"]\n', 'pol.toml')).message).toMatch(
      /auto_approve\.action_types\.0: "a" is also in never_auto_approve/,
    );
    expect(fileError(() => parsePolicy('[[rules]]\naction_types = ["a"]\n[[rules]]\naction_types = ["b", "a"]\n', 'pol.toml')).message).toMatch(
      /rules\.1\.action_types: "a" appears in two rules/,
    );
  });

  it('reports TOML syntax errors with line and column', () => {
    const e = fileError(() => parsePolicy('[defaults]\nrequires_approval = yes\n', 'policies/proposal_policy.toml'));
    expect(e.line).toBe(2);
    expect(e.column).toBeGreaterThan(0);
    expect(e.message).toMatch(/^policies\/proposal_policy\.toml:2:\d+: /);
  });

  it('names the default file when none is given', () => {
    expect(fileError(() => parsePolicy('nope = 1\n')).message).toMatch(/^policies\/proposal_policy\.toml:1: nope: unknown key/);
  });
});

describe('parseApprovers (git allowed-signers syntax)', () => {
  const K = 'AAAAC3NzaC1lZDI1NTE5AAAAIGx5aW5nIGtleSBmb3IgdGVzdHMgb25seQ==';

  it('reads plain lines, comments, blank lines and trailing comments', () => {
    const a = parseApprovers(
      `# Trusted approvers\n\n   \n  # indented comment\nalice@example.com ssh-ed25519 ${K} alice laptop\r\nbob@example.com ssh-rsa ${K}\n`,
      'appr',
    );
    expect(a).toHaveLength(2);
    expect(a[0]).toEqual({ principal: 'alice@example.com', certAuthority: false, keyType: 'ssh-ed25519', key: K, comment: 'alice laptop', line: 5 });
    expect(a[1]).toMatchObject({ principal: 'bob@example.com', keyType: 'ssh-rsa', line: 6, comment: '' });
    expect(parseApprovers('', 'appr')).toEqual([]);
  });

  it('reads namespaces, valid-after and valid-before options', () => {
    const [a] = parseApprovers(`alice@example.com namespaces="git",valid-after="20240101",valid-before="20300101123000Z" ssh-ed25519 ${K}\n`, 'appr');
    expect(a).toMatchObject({
      principal: 'alice@example.com',
      namespaces: ['git'],
      validAfter: '20240101',
      validBefore: '20300101123000Z',
      keyType: 'ssh-ed25519',
      key: K,
    });
    const [b] = parseApprovers(`bob@example.com namespaces="git,file" ssh-ed25519 ${K}\n`, 'appr');
    expect(b!.namespaces).toEqual(['git', 'file']);
  });

  it('reads the cert-authority option, alone and with others', () => {
    const [a] = parseApprovers(`alice@example.com cert-authority ssh-ed25519 ${K}\n`, 'appr');
    expect(a).toMatchObject({ principal: 'alice@example.com', certAuthority: true, keyType: 'ssh-ed25519', key: K });
    const [b] = parseApprovers(`alice@example.com cert-authority,namespaces="git" ssh-ed25519 ${K}\n`, 'appr');
    expect(b).toMatchObject({ certAuthority: true, namespaces: ['git'] });
  });

  it('re-emits what it parsed as an allowed-signers file', () => {
    const a = parseApprovers(`# c\nalice@example.com namespaces="git",valid-after="20240101" ssh-ed25519 ${K} comment\n`, 'appr');
    expect(allowedSignersText(a)).toBe(`alice@example.com namespaces="git",valid-after="20240101" ssh-ed25519 ${K}\n`);
  });

  it.each([
    ['a@example.com,b@example.com', 'lists'],
    ['*@example.com', 'wildcard'],
    ['alice@*', 'wildcard'],
    ['!alice@example.com', 'negation'],
  ])('refuses the principal pattern %s (%s)', (principal) => {
    const e = fileError(() => parseApprovers(`# first\n${principal} ssh-ed25519 ${K}\n`, 'policies/approvers'));
    expect(e.line).toBe(2);
    expect(e.column).toBe(1);
    expect(e.message).toMatch(/^policies\/approvers:2:1: principal ".*" must be one literal email/);
  });

  it('refuses an agent:<id> principal', () => {
    const e = fileError(() => parseApprovers(`agent:noop namespaces="git" ssh-ed25519 ${K}\n`, 'policies/approvers'));
    expect(e.message).toMatch(/^policies\/approvers:1:1: principal "agent:noop" names an agent/);
  });

  it('refuses a line without a key type or key, pointing at the column', () => {
    const noType = fileError(() => parseApprovers('alice@example.com\n', 'appr'));
    expect(noType.message).toMatch(/^appr:1:18: expected a key type/);
    const noKey = fileError(() => parseApprovers('alice@example.com ssh-ed25519\n', 'appr'));
    expect(noKey.message).toMatch(/^appr:1:30: expected the base64 public key/);
    const optsOnly = fileError(() => parseApprovers('alice@example.com namespaces="git"\n', 'appr'));
    expect(optsOnly.message).toMatch(/^appr:1:\d+: expected a key type/);
    const badKey = fileError(() => parseApprovers('\n\nalice@example.com ssh-ed25519 not*base64!\n', 'appr'));
    expect(badKey.message).toMatch(/^appr:3:31: expected the base64 public key/);
  });

  it('refuses unknown or malformed options', () => {
    expect(fileError(() => parseApprovers(`alice@example.com foo="bar" ssh-ed25519 ${K}\n`, 'appr')).message).toMatch(
      /^appr:1:19: option "foo=bar" is not valid/,
    );
    expect(fileError(() => parseApprovers(`alice@example.com valid-after="2024-01-01" ssh-ed25519 ${K}\n`, 'appr')).message).toMatch(
      /^appr:1:19: option "valid-after=2024-01-01" is not valid/,
    );
  });
});

describe('parseAgent and parseAllowlist', () => {
  it('fills the agent defaults', () => {
    expect(parseAgent('adapter = "noop"\n', 'agents/noop/agent.toml')).toEqual({
      adapter: 'noop',
      timeout: 30 * 60_000,
      budget: { usd: 5, tokens: 2_000_000, window: 'day', warn_at: 0.8, max_run_usd: 0.5 },
    });
    const c = parseAgent('adapter = "command"\ncommand = ["./bin/agent", "--fast"]\n[budget]\nusd = 2\n', 'a.toml');
    expect(c.command).toEqual(['./bin/agent', '--fast']);
    expect(c.budget).toEqual({ usd: 2, tokens: 2_000_000, window: 'day', warn_at: 0.8, max_run_usd: 0.5 });
  });

  it('refuses bad values with the field, line and what is expected', () => {
    expect(fileError(() => parseAgent('adapter = "gpt"\n', 'a.toml')).message).toMatch(/^a\.toml:1: adapter: expected adapter = "noop", "claude" or "command"/);
    expect(fileError(() => parseAgent('adapter = "noop"\n[budget]\nwindow = "week"\n', 'a.toml')).message).toMatch(
      /^a\.toml:3: budget\.window: expected window = "total", "day" or "month"/,
    );
    expect(fileError(() => parseAgent('adapter = "noop"\n[budget]\nusd = -1\n', 'a.toml')).message).toMatch(
      /^a\.toml:3: budget\.usd: expected a non-negative number of US dollars/,
    );
    expect(fileError(() => parseAgent('adapter = "noop"\ntimeout = "1 week"\n', 'a.toml')).message).toMatch(/^a\.toml:2: timeout: expected a duration/);
    expect(fileError(() => parseAgent('adapter = "command"\n', 'a.toml')).message).toMatch(/^a\.toml: command: adapter = "command" needs command/);
    expect(fileError(() => parseAgent('adapter = "noop"\ncommand = ["x"]\n', 'a.toml')).message).toMatch(
      /^a\.toml:2: command: command is used only with adapter = "command"/,
    );
  });

  it('refuses unknown keys in agent.toml', () => {
    expect(fileError(() => parseAgent('adapter = "noop"\nbudjet = 1\n', 'a.toml')).message).toMatch(/^a\.toml:2: budjet: unknown key/);
    expect(fileError(() => parseAgent('adapter = "noop"\n[budget]\nusd = 1\ncolor = 1\n', 'a.toml')).message).toMatch(/^a\.toml:4: budget\.color: unknown key/);
  });

  it('reads an allowlist, defaulting to deny everything', () => {
    expect(parseAllowlist('', 'al.toml')).toEqual({ allowed_tools: [], env: [] });
    expect(parseAllowlist('allowed_tools = ["Read", "Bash(ga propose:*)"]\nenv = ["ANTHROPIC_API_KEY"]\n', 'al.toml')).toEqual({
      allowed_tools: ['Read', 'Bash(ga propose:*)'],
      env: ['ANTHROPIC_API_KEY'],
    });
  });

  it('refuses bad env names, forbidden variables and unknown keys', () => {
    expect(fileError(() => parseAllowlist('env = ["FOO BAR"]\n', 'al.toml')).message).toMatch(/^al\.toml:1: env\.0: expected an environment variable name/);
    for (const v of ['SSH_AUTH_SOCK', 'HOME', 'GIT_CONFIG_GLOBAL']) {
      expect(fileError(() => parseAllowlist(`env = ["PATH_X", "${v}"]\n`, 'al.toml')).message).toMatch(
        /^al\.toml:1: env\.1: this variable may never be passed to an agent/,
      );
    }
    expect(fileError(() => parseAllowlist('tools = ["Read"]\n', 'al.toml')).message).toMatch(/^al\.toml:1: tools: unknown key/);
  });

  it('reports TOML syntax errors with line and column', () => {
    const e = fileError(() => parseAllowlist('allowed_tools = ["Read"\n', 'agents/noop/tool_allowlist.toml'));
    expect(e.line).toBeGreaterThan(0);
    expect(e.column).toBeGreaterThan(0);
    expect(e.message).toMatch(/^agents\/noop\/tool_allowlist\.toml:\d+:\d+: /);
  });
});

describe('parseWatchdog', () => {
  it('fills the contract defaults', () => {
    expect(parseWatchdog('')).toEqual({
      sweep_interval: 30_000,
      stuck_after: 30 * 60_000,
      heartbeat_timeout: 60_000,
      loop_count: 3,
      loop_window: 10 * 60_000,
      tool_loop_count: 5,
      required: false,
    });
    expect(parseWatchdog('required = true\nloop_count = 4\n')).toMatchObject({ required: true, loop_count: 4, stuck_after: 30 * 60_000 });
  });

  it('refuses bad values and unknown keys, naming the default file', () => {
    expect(fileError(() => parseWatchdog('loop_count = 1\n')).message).toMatch(/^policies\/watchdog\.toml:1: loop_count: .*>=2/);
    expect(fileError(() => parseWatchdog('\nrequired = "yes"\n')).message).toMatch(/^policies\/watchdog\.toml:2: required: .*boolean/);
    expect(fileError(() => parseWatchdog('sweep_interval = "30"\n')).message).toMatch(/^policies\/watchdog\.toml:1: sweep_interval: expected a duration/);
    expect(fileError(() => parseWatchdog('sweep = "30s"\n')).message).toMatch(/^policies\/watchdog\.toml:1: sweep: unknown key/);
    const syntax = fileError(() => parseWatchdog('loop_count = = 3\n'));
    expect(syntax.message).toMatch(/^policies\/watchdog\.toml:1:\d+: /);
  });
});
