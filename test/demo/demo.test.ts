import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, gaProcess, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox([]);
});
afterEach(() => sb.cleanup());

describe('ga demo', () => {
  it('runs the whole loop, leaves the user git config alone, and keeps its repository with --keep', async () => {
    const before = readFileSync(process.env.GIT_CONFIG_GLOBAL!, 'utf8');
    const r = await gaProcess(['demo', '--keep']);
    expect(r.code).toBe(0);
    expect(readFileSync(process.env.GIT_CONFIG_GLOBAL!, 'utf8')).toBe(before);
    for (const heading of ['== 1.', '== 2.', '== 3.', '== 4.', '== 5.', '== 6.', '== 7.', '== 8.']) expect(r.out).toContain(heading);
    // the two-clone act: one execution, the other refused because the hub took the first claim
    const act = r.out.slice(r.out.indexOf('== 8.'));
    expect(act.match(/ga execute on the (laptop|server) {2}->  executed/g) ?? []).toHaveLength(1);
    expect(act).toMatch(
      /ga execute on the (laptop|server) {2}->  refused: not run: the claim did not reach the hub: proposal \S+ was claimed on another clone first/,
    );
    expect(r.out).toMatch(/exit 1: refused/);
    expect(r.out).toMatch(/refused: not validly approved/);
    expect(r.out).toMatch(/executed\n/);
    expect(r.out).toMatch(/never executed twice/);
    const m = /^kept: (.+)$/.exec(r.last);
    expect(m).not.toBeNull();
    const repo = m![1]!;
    expect(statSync(repo).isDirectory()).toBe(true);
    // main is clean: the forgery lives only on the agent's branch.
    const subjects = git(repo, 'log', '--format=%s', 'main');
    expect(subjects).not.toMatch(/flag invalid approval/);
    expect(git(repo, 'log', '--format=%s', 'agent/forged')).toMatch(/flag invalid approval/);
    expect(git(repo, 'log', '--format=%(trailers:key=Ga-Event,valueonly)', 'main').split('\n').filter(Boolean)).toEqual([
      'proposal-executed',
      'proposal-claimed',
      'proposal-approved',
      'proposal-submitted',
      'flag-self-approval',
      'policy-changed',
    ]);
    expect(r.out).toMatch(/signed approver@demo\.example/);
    expect(existsSync(join(repo, '..', 'gitconfig'))).toBe(true);
  });

  it('removes its directory without --keep', async () => {
    const r = await gaProcess(['demo']);
    expect(r.code).toBe(0);
    const root = /ga init (\S+)/.exec(r.out)![1]!;
    expect(existsSync(root)).toBe(false);
    expect(r.last).not.toMatch(/^kept:/);
  });
});
