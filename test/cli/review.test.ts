// ga review in a real terminal (tmux): a person reads each pending proposal,
// approves one with a reason, looks at the raw file of the next, is told a
// rejection needs a reason, and rejects it. Each decision is a signed commit
// the replay counts, and a title full of escape codes reaches the screen as
// visible text.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRepo } from '../../src/git/repo.js';
import { loadGovernance } from '../../src/history/replay.js';
import { parseTrailers } from '../../src/audit/events.js';
import { BIN, gaProcess, git, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
let repo: string;
let first: string;
let second: string;
beforeAll(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
  first = (await propose(repo, PUBLISH)).last;
  second = (await propose(repo, PUBLISH.replace('title = "Publish the launch post"', 'title = "second \\u001b[2J\\u001b[31mRED"'))).last;
}, 60_000);
afterAll(() => sb.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ga review', () => {
  it('decides in the terminal: approve with a reason, the raw file, a rejection that needs a reason; signed commits the replay counts', async () => {
    const socket = `ga-review-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    tmux('new-session', '-d', '-x', '160', '-y', '60', '-c', repo, `node ${BIN} review; echo EXIT=$?; sleep 60`);
    const screen = () => tmux('capture-pane', '-p', '-S', '-200');
    const until = async (re: RegExp, what: string) => {
      for (let i = 0; i < 600; i++) {
        const s = screen();
        if (re.test(s)) return s;
        await sleep(50);
      }
      throw new Error(`${what} never showed:\n${screen()}`);
    };
    const keys = (...k: string[]) => void tmux('send-keys', ...k);
    const type = (text: string) => void tmux('send-keys', '-l', text);
    try {
      // Each wait names the prompt drawn after the text it checks: the terminal
      // may show a card's first lines before its last ones.
      let s = await until(new RegExp(`1 of 2: Publish the launch post[\\s\\S]*Decide ${first}`), 'the first card');
      expect(s).toContain('publish_content is on never_auto_approve');
      expect(s).toMatch(/agent\s+noop  \(active\)/);
      expect(s).toMatch(/quorum\s+0 of 1 approvals so far/);
      expect(s).toMatch(/spend\s+\$0\.0000 of \$1 this day/);
      expect(s).toContain('"url": "https://example.com/launch"');
      keys('Enter'); // approve (the first choice)
      await until(/Reason \(optional/, 'the reason prompt');
      type('looks right');
      keys('Enter');
      s = await until(new RegExp(`2 of 2: second \\\\e\\[2J\\\\e\\[31mRED[\\s\\S]*Decide ${second}`), 'the second card, its escape codes made visible');
      expect(s).toContain(`approved ${first} in signed commit`);
      expect(s).toMatch(new RegExp(`similar[\\s\\S]*${first}\\s+approved`));
      keys('Down', 'Down', 'Down', 'Enter'); // show the raw file
      s = await until(new RegExp(`proposals/pending/${second}\\.toml, as submitted[\\s\\S]*Decide ${second}`), 'the raw file');
      expect(s).toMatch(/id = "/);
      keys('Down', 'Enter'); // reject
      await until(/Reason for rejecting \(required\)/, 'the rejection prompt');
      keys('Enter');
      await until(/a rejection needs a reason/, 'the refusal of an empty reason');
      type('not now');
      keys('Enter');
      s = await until(/EXIT=\d+/, 'the end');
      expect(s).toContain(`rejected ${second} in signed commit`);
      expect(s).toMatch(/1 approved, 1 rejected, 0 skipped/);
      expect(s).toContain('EXIT=0');
    } finally {
      tmux('kill-server');
    }
    const gov = await loadGovernance(await openRepo(repo));
    expect(gov.proposals.get(first)).toMatchObject({ state: 'approved', approval: { valid: true, by: ['alice@example.com'] } });
    expect(gov.proposals.get(second)!.state).toBe('rejected');
    const reasons = git(repo, 'log', '-2', '--format=%B%x1e')
      .split('\x1e')
      .flatMap((b) => parseTrailers(b))
      .map((t) => [t.event, t.reason]);
    expect(reasons).toEqual(
      expect.arrayContaining([
        ['proposal-approved', 'looks right'],
        ['proposal-rejected', 'not now'],
      ]),
    );
    expect(git(repo, 'status', '--porcelain')).toBe('');
  }, 120_000);

  it('off a terminal it says what to use instead (exit 2)', async () => {
    const r = await gaProcess(['-C', repo, 'review']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ga review is for a terminal: elsewhere use ga list --state pending/);
  });
});
