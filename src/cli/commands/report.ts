import { defineCommand } from '../define.js';
import { printJson } from '../context.js';
import { paint, short, table } from '../format.js';

export default defineCommand({
  command: 'report',
  describe: 'the state and the trail: what waits, decisions and outcomes, spend against caps, runs, pauses, signatures, ga verify',
  builder: (y) => y.option('html', { type: 'string', requiresArg: true, describe: 'also write <dir>/index.html: one static page, no script, charts as SVG' }),
  examples: [
    ['ga report', 'a summary in the terminal'],
    ['ga report --html report/ && chromium report/index.html', 'the same as a self-contained page'],
  ],
  async run(ctx, args) {
    const [{ loadGovernance }, { gatherReport }, { verifyRepository }, { GaError }] = await Promise.all([
      import('../../history/replay.js'),
      import('../../report/report.js'),
      import('../../verify/verify.js'),
      import('../../errors.js'),
    ]);
    const repo = await ctx.repo();
    const gov = await loadGovernance(repo);
    let verified: { findings: Awaited<ReturnType<typeof verifyRepository>>['findings']; problem?: string };
    try {
      verified = { findings: (await verifyRepository(repo)).findings };
    } catch (e) {
      if (!(e instanceof GaError)) throw e;
      verified = { findings: [], problem: e.message };
    }
    const report = await gatherReport(gov, ctx.clock, verified);
    if (args.html !== undefined) {
      const [{ renderHtml }, { mkdirSync, writeFileSync }, { join, resolve }] = await Promise.all([
        import('../../report/html.js'),
        import('node:fs'),
        import('node:path'),
      ]);
      const dir = resolve(ctx.dir, args.html);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'index.html'), renderHtml(report));
      if (!ctx.json) ctx.io.out(`wrote ${join(dir, 'index.html')}`);
    }
    if (ctx.json) return printJson(ctx, report);
    if (args.html !== undefined) return;
    const c = ctx.io.color;
    const { humanDuration } = await import('../../schema/duration.js');
    const hours = (ms: number | undefined) => (ms === undefined ? '' : humanDuration(ms));
    const last = <T>(xs: T[]) => xs.slice(0, 10);
    const out = [`${paint(c, 'bold', 'ga report')}  ${report.repo} at ${short(report.head)}`, ''];
    out.push(paint(c, 'bold', `Waiting for a decision (${report.pending.length})`));
    out.push(
      report.pending.length
        ? table(
            ['proposal', 'agent', 'type', 'waiting', 'approvals', 'title'],
            report.pending.map((p) => [p.id, p.agent, p.type, hours(p.ageMs), `${p.approvals} of ${p.needed}`, p.title]),
          )
        : '  nothing waits',
    );
    out.push('', paint(c, 'bold', 'Agents'));
    for (const a of report.agents) {
      const state = a.paused ? paint(c, 'red', `PAUSED: ${a.pauseWhy ?? ''}`) : paint(c, 'green', 'active');
      out.push(
        `  ${a.agent}  ${a.error ?? `$${a.usd?.toFixed(4)} of $${a.usdCap} this ${a.window}, ${a.tokens} of ${a.tokenCap} tokens, ${a.runs} runs`}  ${state}`,
      );
    }
    const section = (title: string, header: string[], rows: string[][], total: number) => {
      out.push('', paint(c, 'bold', `${title}${total > rows.length ? ` (last ${rows.length} of ${total})` : ''}`));
      out.push(rows.length ? table(header, rows) : '  none');
    };
    section(
      'Decisions and outcomes',
      ['when', 'event', 'proposal', 'by', 'outcome'],
      last(report.decisions).map((d) => [d.at, d.event, d.id ?? '', d.by ?? '', d.valid === false ? `does not count: ${d.why}` : (d.outcome ?? '')]),
      report.decisions.length,
    );
    section(
      'Runs',
      ['when', 'run', 'agent', 'outcome'],
      last(report.runs).map((r) => [r.at, r.run, r.agent, r.finished ? (r.outcome ?? 'finished') : 'not finished']),
      report.runs.length,
    );
    section(
      'Pauses and resumes',
      ['when', 'event', 'agent', 'by', 'reason'],
      last(report.pauses).map((p) => [p.at, p.event, p.agent ?? '', p.actor ?? '', p.reason ?? '']),
      report.pauses.length,
    );
    const notGood = report.signatures.filter((s) => s.status !== 'good');
    out.push('', paint(c, 'bold', 'Signatures'), `  ${report.signatures.length - notGood.length} good${notGood.length ? `, ${notGood.length} not good` : ''}`);
    for (const s of notGood.slice(0, 10)) out.push(`  ${short(s.commit)} ${s.status}: ${s.subject}`);
    out.push('', paint(c, 'bold', 'ga verify'));
    if (report.verifyProblem) out.push(`  ${paint(c, 'red', report.verifyProblem)}`);
    else if (report.findings.length === 0) out.push(`  ${paint(c, 'green', 'no findings')}`);
    else for (const f of report.findings.slice(0, 10)) out.push(`  ${paint(c, 'red', f.rule)} ${short(f.commit)} ${f.path}: ${f.explanation}`);
    ctx.io.out(out.join('\n'));
  },
});
