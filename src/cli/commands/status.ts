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
      `trust root   ${short(s.trustRoot.commit)} ${s.trustRoot.source === 'pinned' ? '(pinned in git config ga.trustRoot)' : yes(false, s.trustRoot.source === 'first-self-attesting' ? '(not pinned: trusting, on first use, the first commit signed by an approver its own policies/approvers lists; pin it with ga trust <commit>)' : '(not pinned: trusting the single root commit on first use; pin it with ga trust <commit>)')}`,
      `signing      ${!s.signing.ok ? yes(false, `not set up: ${s.signing.problem}`) : s.signing.approver === false ? yes(false, s.signing.problem ?? 'not an approver') : yes(true, `ready, as ${s.signing.email} (an approver)`)}`,
      `watchdog     ${s.watchdog.alive ? yes(true, `alive, ${s.watchdog.detail}`) : yes(false, s.watchdog.detail)}`,
      `hub          ${
        s.hub
          ? `${s.hub.urls.join(', ')} (${s.hub.branch}): ${s.hub.ahead} commit(s) to publish, ${s.hub.behind} to receive; ${s.hub.reached_at ? `last reached ${s.hub.reached_at}` : 'never reached'}${s.hub.problem ? `; ${s.hub.problem}` : ''}`
          : 'none (this clone is its own hub)'
      }`,
      `pending      ${s.pending} proposal(s)`,
      `paused       ${s.paused.length ? s.paused.map((p) => `${p.agent} (${p.why})`).join('; ') : 'none'}`,
      `runs today   ${s.runsToday}`,
    ];
    if (s.gitHooks.length) {
      lines.push(
        paint(c, 'yellow', `git hooks    ${s.gitHooks.length} hook(s) run inside your own git commands and can change what a plain git commit -S signs:`),
      );
      for (const h of s.gitHooks) lines.push(`  ${h}`);
      lines.push('  ga never runs them; approve with ga approve, sign governed files with ga commit, or remove them');
    }
    if (s.problems.length) {
      lines.push(paint(c, 'yellow', `problems     ${s.problems.length} trusted file(s) cannot be used as they are:`));
      for (const p of s.problems) lines.push(`  ${p}`);
    }
    if (s.untrusted.length) {
      lines.push(paint(c, 'yellow', `untrusted    ${s.untrusted.length} governed file(s) ignored:`));
      for (const u of s.untrusted) lines.push(`  ${u.path} [${u.kind}]: ${u.why}${u.commit ? ` (${short(u.commit)})` : ''}`);
    } else {
      lines.push('untrusted    none');
    }
    ctx.io.out(lines.join('\n'));
  },
});
