// ga report: the summary in the terminal, and the static page rendered by a
// real headless Chromium (Debian's chromium, installed by .ci/run): it shows
// something (its screenshot is far from a blank page's), and a proposal
// titled with markup, or a pause reason that is a script, shows as text and
// runs nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { openRepo } from '../../src/git/repo.js';
import { appendCharge } from '../../src/ledger/ledger.js';
import { ga, git, initRepo, propose, PUBLISH, sandbox, type Sandbox } from '../helpers/fixture.js';

const XSS_TITLE = `<img src=x onerror="document.title='pwned'">`;
/** The title the issue names: it would raise an alert if it ran. */
const ALERT_TITLE = '<img src=x onerror=alert(1)>';
const XSS_REASON = `<script>document.title='pwned'</script>`;

let sb: Sandbox;
let repo: string;
let xss: string;
let approved: string;
beforeAll(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
  const submitted = await propose(repo, PUBLISH.replace('title = "Publish the launch post"', `title = ${JSON.stringify(XSS_TITLE)}`));
  expect(submitted.code, submitted.err).toBe(0);
  xss = submitted.last;
  expect((await propose(repo, PUBLISH.replace('title = "Publish the launch post"', `title = ${JSON.stringify(ALERT_TITLE)}`))).code).toBe(0);
  approved = (await propose(repo, PUBLISH.replace('launch post', 'second post'))).last;
  expect((await ga(['-C', repo, 'approve', approved])).code).toBe(0);
  for (const usd of [0.2, 0.3]) {
    await appendCharge(
      await openRepo(repo),
      'noop',
      { run: 'run-test', input_tokens: 100, output_tokens: 20, usd, source: 'reported' },
      { window: 'day', clock: systemClock },
    );
  }
  expect((await ga(['-C', repo, 'pause', 'noop', '--reason', XSS_REASON])).code).toBe(0);
}, 120_000);
afterAll(() => sb.cleanup());

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

function chromium(...args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), 'ga-chromium-'));
  try {
    return execFileSync(
      CHROMIUM!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

describe('ga report', () => {
  it('summarises in the terminal: what waits, the pause and its reason, decisions, signatures, ga verify', async () => {
    const r = await ga(['-C', repo, 'report']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Waiting for a decision \(2\)/);
    expect(r.out).toContain(xss);
    expect(r.out).toMatch(/noop .*PAUSED/);
    expect(r.out).toContain(approved);
    expect(r.out).toMatch(/Signatures\n {2}\d+ good/);
    expect(r.out).toMatch(/ga verify\n {2}no findings/);
    const json = JSON.parse((await ga(['-C', repo, '--json', 'report'])).out) as Record<string, any>;
    expect(json.pending).toContainEqual(expect.objectContaining({ id: xss, title: XSS_TITLE, approvals: 0, needed: 1 }));
    expect(json.pending.map((p: { title: string }) => p.title)).toContain(ALERT_TITLE);
    expect(json.agents[0]).toMatchObject({ agent: 'noop', paused: true });
    expect(json.agents[0].series.map((p: { window_usd: number }) => p.window_usd)).toEqual([0.2, 0.5]);
    expect(json.pauses[0]).toMatchObject({ event: 'agent-paused', agent: 'noop', reason: expect.stringContaining(XSS_REASON) });
    expect(json.decisions).toContainEqual(expect.objectContaining({ event: 'proposal-approved', id: approved, by: 'alice@example.com' }));
    expect(json.findings).toEqual([]);
  });

  it('--html writes one self-contained page: no script, nothing fetched, every outside text escaped', async () => {
    const dir = join(sb.dir, 'report');
    const r = await ga(['-C', repo, 'report', '--html', dir]);
    expect(r.code, r.err).toBe(0);
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(html).not.toMatch(/<script|<img|<link|@import|url\(|src=["']?https?:/i);
    expect(html).toContain('&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;');
    expect(html).toContain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;');
    expect(html).toMatch(/<svg role="img" aria-label="spend of noop over time"/);
  });

  it.skipIf(!CHROMIUM)(
    'renders in headless Chromium: not blank, and the markup in a title or a reason is text that runs nothing',
    async () => {
      const dir = join(sb.dir, 'rendered');
      expect((await ga(['-C', repo, 'report', '--html', dir])).code).toBe(0);
      const page = `file://${join(dir, 'index.html')}`;
      const status = git(repo, 'status', '--porcelain');
      const dom = chromium('--dump-dom', page);
      expect(dom).toMatch(/<title>ga report<\/title>/); // a script that ran would have renamed it
      expect(dom).not.toMatch(/<img|<script/i);
      expect(dom).toContain('&lt;img src=x onerror="document.title=\'pwned\'"&gt;');
      expect(dom).toContain(xss);
      expect(dom).toContain('&lt;img src=x onerror=alert(1)&gt;');
      // Not blank: the report's screenshot against an empty page's, same size, same browser.
      const blankFile = join(sb.dir, 'blank.html');
      writeFileSync(blankFile, '<!doctype html><title>blank</title>');
      const shot = (url: string, png: string) => {
        chromium('--hide-scrollbars', '--window-size=1280,900', `--screenshot=${png}`, url);
        return statSync(png).size;
      };
      const blank = shot(`file://${blankFile}`, join(sb.dir, 'blank.png'));
      const report = shot(page, join(sb.dir, 'report.png'));
      expect(report).toBeGreaterThan(blank * 5);
      expect(git(repo, 'status', '--porcelain')).toBe(status); // the report wrote outside the repository only
    },
    120_000,
  );
});
