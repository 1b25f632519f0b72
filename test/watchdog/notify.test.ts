// Notifications (policies/notify.toml): the watchdog runs the trusted
// commands on events, with the event as JSON on stdin; here the command
// POSTs it to a real HTTP server on 127.0.0.1, as a Slack webhook would be
// called. Each event once, across restarts; nothing of the past at first; an
// unsigned notify.toml runs nothing; a failing command is reported and does
// not hold the others back. The events since the last sweep are read from
// those commits alone, even when a command saved its reading after them.
import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ga, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';

const POST = `let b="";process.stdin.on("data",(d)=>(b+=d)).on("end",()=>{const r=require("http").request(process.env.NOTIFY_URL,{method:"POST",headers:{"content-type":"application/json"}},(res)=>{res.resume();res.on("end",()=>process.exit(res.statusCode===200?0:1))});r.on("error",()=>process.exit(2));r.end(b)})`;

let sb: Sandbox;
let repo: string;
let server: Server;
const received: Record<string, any>[] = [];

beforeAll(async () => {
  sb = sandbox(['alice']);
  repo = await initRepo(sb);
  server = createServer((req, res) => {
    let body = '';
    req
      .on('data', (d) => (body += d))
      .on('end', () => {
        received.push(JSON.parse(body) as Record<string, any>);
        res.end('ok');
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  process.env.NOTIFY_URL = `http://127.0.0.1:${port}/hook`;
  write(
    repo,
    'policies/notify.toml',
    `# the events a person wants to hear of, each POSTed as JSON (a Slack or chat webhook)
[[notify]]
command = [${JSON.stringify(process.execPath)}, "-e", '''${POST}''']
timeout = "10s"

[[notify]]
on = ["agent-paused"]
command = ["sh", "-c", "echo the pager is down >&2; exit 3"]
`,
  );
  const signed = await ga(['-C', repo, 'commit', 'policies/notify.toml', '--yes', '-m', 'notify on events']);
  expect(signed.code, signed.err).toBe(0);
}, 60_000);
afterAll(async () => {
  delete process.env.NOTIFY_URL;
  await new Promise((r) => server.close(r));
  sb.cleanup();
});

const sweep = async () => {
  const r = await ga(['-C', repo, 'watchdog', '--once']);
  expect(r.code, r.err).toBe(0);
  return r.out;
};
const kinds = () => received.map((e) => `${e.event} ${e.proposal ?? e.agent ?? e.path}`);

describe('notifications', () => {
  it('sends each event once: waiting, approved, outcome, pause, finding; nothing of the past; a failing command is reported', async () => {
    await sweep(); // the first sweep: from here on, nothing of the past
    expect(received).toEqual([]);

    const id = (await propose(repo, PUBLISH)).last;
    await sweep();
    expect(received).toEqual([
      expect.objectContaining({ event: 'proposal-waiting', proposal: id, agent: 'noop', action_type: 'publish_content', title: 'Publish the launch post' }),
    ]);
    expect(received[0]!.commit).toMatch(/^[0-9a-f]{40}$/);

    expect((await ga(['-C', repo, 'approve', id])).code).toBe(0);
    expect((await ga(['-C', repo, 'execute', id])).code).toBe(0);
    await sweep();
    expect(kinds().slice(1)).toEqual([`proposal-approved ${id}`, `proposal-outcome ${id}`]);
    expect(received[1]).toMatchObject({ by: 'alice@example.com' });

    expect((await ga(['-C', repo, 'pause', 'noop', '--reason', 'looks odd'])).code).toBe(0);
    const out = await sweep();
    expect(received[3]).toMatchObject({ event: 'agent-paused', agent: 'noop', reason: expect.stringContaining('looks odd') });
    expect(out).toMatch(/notify failed: agent-paused with sh -c .*: exited 3: the pager is down/);

    // A restart (a new process, the same .ga/): nothing is sent twice.
    await sweep();
    expect(received).toHaveLength(4);
  }, 120_000);

  it('an unsigned change to notify.toml runs nothing of its own, and is itself notified as a finding', async () => {
    const before = received.length;
    const planted = join(sb.dir, 'planted');
    write(repo, 'policies/notify.toml', `[[notify]]\ncommand = ["touch", ${JSON.stringify(planted)}]\n`);
    git(repo, 'add', 'policies/notify.toml');
    git(repo, '-c', 'commit.gpgSign=false', 'commit', '-qm', 'my own notifications');
    await sweep();
    expect(existsSync(planted)).toBe(false);
    expect(received.slice(before)).toEqual([expect.objectContaining({ event: 'verify-finding', path: 'policies/notify.toml', rule: 'governed-file' })]);
  }, 60_000);

  it('events since the last sweep that a saved reading already holds are read from their own commits, not from all of history', async () => {
    await sweep();
    const before = received.length;
    const ids = [
      (await propose(repo, PUBLISH.replace('launch post', 'first of two'))).last,
      (await propose(repo, PUBLISH.replace('launch post', 'second of two'))).last,
    ];
    // A command reads all of history and saves its reading at HEAD: the two submissions are in its older commits now.
    rmSync(join(repo, '.git', 'ga', 'reading'), { recursive: true, force: true });
    expect((await ga(['-C', repo, 'list'])).code).toBe(0);
    const chunks = readdirSync(join(repo, '.git', 'ga', 'reading')).filter((f) => f.startsWith('chunk-'));
    expect(chunks.length).toBeGreaterThan(0);
    // Those older commits, as the reading keeps them, made unreadable: the sweep must not need them.
    for (const c of chunks) writeFileSync(join(repo, '.git', 'ga', 'reading', c), 'damaged');
    await sweep();
    expect(received.slice(before)).toEqual(ids.map((id) => expect.objectContaining({ event: 'proposal-waiting', proposal: id })));
  }, 60_000);

  it('a record under .ga/ that names no commit of this history (a rewrite, or a planted file) floods nothing: it starts again from HEAD', async () => {
    writeFileSync(join(repo, '.ga', 'notified.json'), JSON.stringify({ through: '0'.repeat(40), done: [] }));
    const before = received.length;
    await sweep();
    expect(received).toHaveLength(before);
    const id = (await propose(repo, PUBLISH.replace('launch post', 'after the rewrite'))).last;
    await sweep();
    expect(received.slice(before)).toEqual([expect.objectContaining({ event: 'proposal-waiting', proposal: id })]);
  }, 60_000);
});
