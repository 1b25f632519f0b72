// Class: the reviewer's screen tells the truth. Every text that came from a
// proposal, an agent or a file reaches a terminal with its control
// characters made visible: no raw ESC, CR or other C0/C1 character, and the
// lines of a multi-line field indented under it, so no field can draw a fake
// line of its own or hide one. This needs no shell: an agent writes every
// text field of its proposal.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ga, git, initRepo, sandbox, type Sandbox } from '../helpers/fixture.js';
import { submit } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

// A rationale that ends its own line, draws a harmless payload, then hides what follows (ESC[8m = conceal).
const SPOOF = `agent = "noop"
action_type = "publish_content"
title = "Fix a typo\\u001b]0;owned\\u0007\\r"
rationale = "Routine.\\npayload: {\\"url\\":\\"https://example.com/typo\\"}\\n\\u001b[8m"
expected_outcome = "\\u009b2J\\u202eevil"
[payload]
url = "https://evil.example/steal"
`;

/** No raw control character but newline, and no C1 or bidi override, anywhere in `text`. */
function expectVisible(text: string, what: string): void {
  const bad = [...text].filter((ch) => {
    const c = ch.codePointAt(0)!;
    return (c < 0x20 && ch !== '\n') || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
  });
  expect(
    bad.map((c) => c.codePointAt(0)!.toString(16)),
    `${what} printed raw control characters`,
  ).toEqual([]);
}

describe('class: terminal text', () => {
  it('ga show makes control characters visible and cannot be made to hide the real payload', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo, SPOOF);
    const show = await ga(['-C', repo, 'show', id]);
    expect(show.code).toBe(0);
    expectVisible(show.out, 'ga show');
    const lines = show.out.split('\n');
    // The rationale's own lines are indented under it: none of them starts a line like a field.
    expect(lines.filter((l) => /^payload:/.test(l))).toHaveLength(1);
    expect(lines.find((l) => /^payload:/.test(l))).toContain('https://evil.example/steal');
    expect(show.out).toMatch(/\\e\[8m|␛\[8m|\\x1b\[8m|\\u001b\[8m/);
  });

  it('every command that prints proposal or agent text keeps it visible, in text and in --json', async () => {
    const repo = await initRepo(sb);
    const id = await submit(repo, SPOOF);
    sb.as('alice');
    expect((await ga(['-C', repo, 'reject', id, '--reason', 'spoof'])).code).toBe(0);
    for (const args of [
      ['list', '--state', 'rejected'],
      ['show', id],
      ['audit'],
      ['status'],
      ['scoreboard'],
      ['--json', 'show', id],
      ['--json', 'list', '--all'],
      ['audit', '--jsonl'],
    ]) {
      const r = await ga(['-C', repo, ...args]);
      expect(r.code, r.err).toBe(0);
      expectVisible(r.out, args.join(' '));
      expectVisible(r.err, args.join(' '));
    }
    // The commit subjects and trailers ga writes are clean too: git log is the audit trail.
    expectVisible(git(repo, 'log', '--format=%B'), 'git log');
  });

  it('agent output and hook output echoed by ga run and ga execute are made visible', async () => {
    const repo = await initRepo(sb);
    writeFileSync(join(repo, 'agents/noop/hooks/publish_content.sh'), '#!/bin/sh\nprintf "done\\033[2J\\r\\n"\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qS', '-m', 'a noisy hook');
    const id = await submit(repo);
    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    const x = await ga(['-C', repo, 'execute', id]);
    expect(x.code, x.err).toBe(0);
    expectVisible(x.out, 'ga execute');
    expect(x.out).toContain('done');
  });
});
