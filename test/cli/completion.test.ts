// ga completion in a real terminal (tmux): the script it prints is sourced
// into a bare bash, and into a bare zsh after compinit; Tab completes the
// command, then the pending proposal id (ga approve) or the agent (ga run).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaProcess, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

let sb: Sandbox;
let repo: string;
let id: string;
beforeAll(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
  id = (await propose(repo, PUBLISH)).last;
});
afterAll(() => sb.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A shell in a tmux window of its own: type into it, read its screen. */
async function terminal(
  shell: string[],
  test: (t: { type(keys: string, literal?: boolean): void; screen(): string; until(re: RegExp): Promise<string> }) => Promise<void>,
) {
  const socket = `ga-completion-${process.pid}-${shell[0]}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  tmux('new-session', '-d', '-x', '200', '-y', '40', '-c', repo, ...shell);
  const screen = () => tmux('capture-pane', '-p');
  const t = {
    type: (keys: string, literal = true) => void tmux('send-keys', ...(literal ? ['-l'] : []), keys),
    screen,
    async until(re: RegExp) {
      for (let i = 0; i < 300; i++) {
        const s = screen();
        if (re.test(s)) return s;
        await sleep(50);
      }
      throw new Error(`the screen never matched ${re}:\n${screen()}`);
    },
  };
  try {
    await test(t);
  } finally {
    tmux('kill-server');
  }
}

const hasZsh = (() => {
  try {
    execFileSync('zsh', ['-c', 'true']);
    return true;
  } catch {
    return false;
  }
})();

describe('ga completion', () => {
  it('bash: Tab completes the command, the pending proposal id after ga approve, and the agent after ga run', async () => {
    const script = join(sb.dir, 'ga.bash');
    const printed = await gaProcess(['completion', 'bash']);
    expect(printed.code).toBe(0);
    writeFileSync(script, printed.out);
    await terminal(['env', 'PS1=$ ', 'bash', '--norc', '--noprofile'], async (t) => {
      t.type(`source ${script}; echo SOURCED`);
      t.type('Enter', false);
      await t.until(/^SOURCED$/m);
      t.type('ga appr');
      t.type('Tab', false);
      await t.until(/\$ ga approve\s*$/m);
      t.type('Tab', false);
      await t.until(new RegExp(`\\$ ga approve ${id}\\s*$`, 'm'));
      t.type('C-u', false);
      t.type('ga run n');
      t.type('Tab', false);
      await t.until(/\$ ga run noop\s*$/m);
    });
  }, 60_000);

  it.skipIf(!hasZsh)(
    'zsh: after compinit, Tab completes the command and the pending proposal id',
    async () => {
      const script = join(sb.dir, 'ga.zsh');
      const printed = await gaProcess(['completion', 'zsh']);
      expect(printed.code).toBe(0);
      writeFileSync(script, printed.out);
      await terminal(['env', 'PS1=$ ', 'zsh', '-f'], async (t) => {
        t.type(`autoload -U compinit && compinit -u && source ${script} && echo SOURCED`);
        t.type('Enter', false);
        await t.until(/^SOURCED$/m);
        t.type('ga appr');
        t.type('Tab', false);
        await t.until(/\$ ga approve\s*$/m);
        t.type('Tab', false);
        await t.until(new RegExp(`\\$ ga approve ${id}\\s*$`, 'm'));
      });
    },
    60_000,
  );

  it('picks the script by $SHELL when none is named, and refuses a shell it does not know (exit 2)', async () => {
    expect((await gaProcess(['completion'], { env: { SHELL: '/usr/bin/zsh' } })).out).toMatch(/^#compdef ga$/m);
    expect((await gaProcess(['completion'], { env: { SHELL: '/bin/bash' } })).out).toMatch(/complete -o bashdefault -o default -F _ga_completions ga/);
    const bad = await gaProcess(['completion', 'fish']);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
  });
});
