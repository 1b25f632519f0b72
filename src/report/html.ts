// `ga report --html`: the report as one static, self-contained page. No
// script, no font, no image from anywhere: the page's own Content-Security-
// Policy forbids them, so even text that slipped through unescaped could not
// run. Every text that came from a proposal, an agent or a commit is escaped
// (esc), including inside the SVG charts.
import type { Report } from './report.js';
import { humanDuration } from '../schema/duration.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1d2430; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d8dee8; padding-bottom: .2rem; }
.meta { color: #5a6475; font-size: .85rem; } code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85em; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eef1f5; vertical-align: top; }
th { background: #f5f7fa; font-weight: 600; } .bad { color: #b42318; font-weight: 600; } .good { color: #067647; } .warn { color: #b54708; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; } .card { border: 1px solid #d8dee8; border-radius: 6px; padding: .8rem 1rem; min-width: 320px; flex: 1; }
.none { color: #5a6475; font-style: italic; } svg text { font: 11px system-ui, sans-serif; fill: #5a6475; }
`;

const when = (iso: string | undefined) => (iso ? esc(iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')) : '');
const short = (commit: string | undefined) => `<span class="id">${esc((commit ?? '').slice(0, 12))}</span>`;

const age = (ms: number | undefined) => (ms === undefined ? '' : humanDuration(ms));

function table(header: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="none">${esc(empty)}</p>`;
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Spend in its window after each charge, against the cap: a step line over time, as SVG. */
export function spendChart(agent: Report['agents'][number], width = 480, height = 160): string {
  const pad = { l: 48, r: 10, t: 12, b: 24 };
  const pts = agent.series;
  const cap = agent.usdCap ?? 0;
  if (pts.length === 0) return `<p class="none">no spend recorded</p>`;
  const t0 = Date.parse(pts[0]!.at);
  const t1 = Math.max(Date.parse(pts[pts.length - 1]!.at), t0 + 1);
  const top = Math.max(cap, ...pts.map((p) => p.windowUsd)) * 1.1 || 1;
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (usd: number) => pad.t + (1 - usd / top) * (height - pad.t - pad.b);
  let path = '';
  let prevStart = '';
  for (const p of pts) {
    const px = x(Date.parse(p.at)).toFixed(1);
    // A new window starts from zero: the line drops there.
    if (path && p.windowStart !== prevStart) path += ` L${px},${y(0).toFixed(1)}`;
    path += `${path ? ' L' : 'M'}${px},${y(p.windowUsd).toFixed(1)}`;
    prevStart = p.windowStart;
  }
  const capLine = cap
    ? `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(cap).toFixed(1)}" y2="${y(cap).toFixed(1)}" stroke="#b42318" stroke-dasharray="5,4"/><text x="${width - pad.r}" y="${(y(cap) - 3).toFixed(1)}" text-anchor="end">cap $${esc(cap)} per ${esc(agent.window)}</text>`
    : '';
  return `<svg role="img" aria-label="${esc(`spend of ${agent.agent} over time`)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<rect x="${pad.l}" y="${pad.t}" width="${width - pad.l - pad.r}" height="${height - pad.t - pad.b}" fill="#fafbfc" stroke="#d8dee8"/>
<text x="${pad.l - 4}" y="${y(top / 1.1).toFixed(1)}" text-anchor="end">$${esc((top / 1.1).toFixed(2))}</text><text x="${pad.l - 4}" y="${y(0).toFixed(1)}" text-anchor="end">$0</text>
${capLine}
<path d="${path}" fill="none" stroke="#2e5aac" stroke-width="2"/>
<text x="${pad.l}" y="${height - 6}">${when(pts[0]!.at)}</text><text x="${width - pad.r}" y="${height - 6}" text-anchor="end">${when(pts[pts.length - 1]!.at)}</text>
</svg>`;
}

export function renderHtml(r: Report): string {
  const agents = r.agents
    .map(
      (a) => `<div class="card"><h3>${esc(a.agent)} ${a.paused ? `<span class="bad">PAUSED</span>` : `<span class="good">active</span>`}</h3>
${a.error ? `<p class="bad">${esc(a.error)}</p>` : `<p>$${esc(a.usd?.toFixed(4))} of $${esc(a.usdCap)} this ${esc(a.window)}; ${esc(a.tokens)} of ${esc(a.tokenCap)} tokens; ${esc(a.runs)} runs</p>`}
${a.paused && a.pauseWhy ? `<p class="warn">${esc(a.pauseWhy)}</p>` : ''}
${spendChart(a)}</div>`,
    )
    .join('\n');
  const findings = r.verifyProblem
    ? `<p class="bad">${esc(r.verifyProblem)}</p>`
    : r.findings.length === 0
      ? `<p class="good">ga verify: no findings: every rule holds from the trust root to HEAD.</p>`
      : table(
          ['commit', 'path', 'rule', 'what'],
          r.findings.map((f) => [short(f.commit), `<code>${esc(f.path)}</code>`, esc(f.rule), esc(f.explanation)]),
          '',
        );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ga report</title><style>${STYLE}</style></head>
<body>
<h1>ga report</h1>
<p class="meta">${esc(r.repo)} at ${short(r.head)}, read from the trust root ${short(r.trustRoot)}; generated ${when(r.generatedAt)}.</p>
<h2>Waiting for a decision (${r.pending.length})</h2>
${table(
  ['proposal', 'agent', 'type', 'title', 'waiting', 'expires', 'approvals'],
  r.pending.map((p) => [
    `<span class="id">${esc(p.id)}</span>`,
    esc(p.agent),
    esc(p.type),
    esc(p.title),
    esc(age(p.ageMs)),
    when(p.expiresAt),
    `${esc(p.approvals)} of ${esc(p.needed)}`,
  ]),
  'nothing waits',
)}
<h2>Agents: spend against caps</h2>
<div class="cards">${agents || '<p class="none">no agents</p>'}</div>
<h2>Decisions and outcomes</h2>
${table(
  ['when', 'event', 'proposal', 'agent', 'title', 'by', 'outcome', 'commit'],
  r.decisions.map((d) => [
    when(d.at),
    esc(d.event),
    `<span class="id">${esc(d.id)}</span>`,
    esc(d.agent),
    esc(d.title),
    esc(d.by),
    d.valid === false ? `<span class="bad">does not count: ${esc(d.why)}</span>` : esc(d.outcome),
    short(d.commit),
  ]),
  'no decisions yet',
)}
<h2>Runs</h2>
${table(
  ['when', 'run', 'agent', 'reserved', 'outcome'],
  r.runs.map((x) => [
    when(x.at),
    `<span class="id">${esc(x.run)}</span>`,
    esc(x.agent),
    `$${esc(x.reservedUsd)}`,
    x.finished ? esc(x.outcome ?? 'finished') : '<span class="warn">not finished</span>',
  ]),
  'no runs yet',
)}
<h2>Pauses and resumes</h2>
${table(
  ['when', 'event', 'agent', 'by', 'reason', 'commit'],
  r.pauses.map((p) => [when(p.at), esc(p.event), esc(p.agent), esc(p.actor), esc(p.reason), short(p.commit)]),
  'no pauses',
)}
<h2>Signatures</h2>
${table(
  ['when', 'commit', 'event', 'signature', 'signer', 'subject'],
  r.signatures.map((s) => [
    when(s.at),
    short(s.commit),
    esc(s.event),
    s.status === 'good' ? '<span class="good">good</span>' : `<span class="bad">${esc(s.status)}</span>`,
    esc(s.signer),
    esc(s.subject),
  ]),
  'no signed commits',
)}
<h2>ga verify</h2>
${findings}
</body></html>
`;
}
