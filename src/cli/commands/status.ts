import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { paint, short } from '../format.js';

export default defineCommand({
  command: 'status',
  describe: 'health: repository, signing, trust root, watchdog, untrusted edits, counts',
  builder: (y) => y,
  examples: [['ga status', 'is everything as it should be?']],
  async run(ctx) {
    const [{ loadGovernance }, { status }] = await Promise.all([import('../../history/replay.js'), import('../../report/status.js')]);
    const s = await status(await loadGovernance(await ctx.repo()), ctx.clock);
    if (ctx.json) {
      printJson(ctx, s);
      return;
    }
    const c = ctx.io.color;
    const yes = (ok: boolean, text: string) => paint(c, ok ? 'green' : 'yellow', text);
    const lines = [
      `repository   ${s.repo} at ${short(s.head)}`,
      `trust root   ${short(s.trustRoot.commit)} ${s.trustRoot.source === 'pinned' ? '(pinned in git config ga.trustRoot)' : yes(false, '(not pinned: trusting the single root commit on first use; pin it with ga trust <commit>)')}`,
      `signing      ${s.signing.ok ? yes(true, `ready, as ${s.signing.email}`) : yes(false, `not set up: ${s.signing.problem}`)}`,
      `watchdog     ${s.watchdog.alive ? yes(true, `alive, ${s.watchdog.detail}`) : yes(false, s.watchdog.detail)}`,
      `pending      ${s.pending} proposal(s)`,
      `paused       ${s.paused.length ? s.paused.map((p) => `${p.agent} (${p.why})`).join('; ') : 'none'}`,
      `runs today   ${s.runsToday}`,
    ];
    if (s.untrusted.length) {
      lines.push(paint(c, 'yellow', `untrusted    ${s.untrusted.length} governed file(s) ignored:`));
      for (const u of s.untrusted) lines.push(`  ${u.path} [${u.kind}]: ${u.why}${u.commit ? ` (${short(u.commit)})` : ''}`);
    } else {
      lines.push('untrusted    none');
    }
    ctx.io.out(lines.join('\n'));
  },
});
