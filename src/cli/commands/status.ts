import { openRepo } from '../../git/repo.js';
import { loadGovernance } from '../../history/replay.js';
import { status } from '../../report/state.js';
import { printJson, type Context } from '../context.js';
import { paint, short } from '../format.js';

export default async function statusCommand(ctx: Context): Promise<number> {
  const s = await status(await loadGovernance(await openRepo(ctx.dir)), ctx.clock);
  if (ctx.json) {
    printJson(ctx, s);
    return 0;
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
  return 0;
}
