// A long history as ga itself writes it, made fast, for the benches that
// need one (verify.mjs, flat.mjs): `ga init` makes the trust root, then each
// proposal is a submission by agent noop, an approval signed by alice (git
// commit-tree -S), a claim and an execution by the executor, and some are
// submitted and expired by the watchdog: one event per commit, with ga's own
// proposal files (serializeProposal), trailers (commitMessage) and one audit
// file per event (auditFiles). Blobs, trees and unsigned commits are written
// as loose objects from this process (sha1 + deflate, what `git hash-object
// -w` does), signed commits by `git commit-tree -S`, HEAD moved once by `git
// update-ref`. Events are one second apart (3,600 to an hour directory: the
// widest a busy agent's audit directory gets).
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import { ROOT } from './lib.mjs';

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
const { serializeProposal } = await dist('schema/proposal.js');
const { commitMessage } = await dist('audit/events.js');
const { auditFiles } = await dist('audit/record.js');

const BATCH = 10; // proposals approved per round: 10 submitted, 5 submitted to expire, 10 approved, 10 claimed and executed, 5 expired

export function run(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0 && !opts.allowFailure) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}
export function timed(file, args, opts) {
  const t = process.hrtime.bigint();
  const r = run(file, args, opts);
  return { ...r, s: Number(process.hrtime.bigint() - t) / 1e9 };
}
export const fmt = (s) => `${s.toFixed(s < 10 ? 2 : 1)} s`;
export const n = (x) => x.toLocaleString('en-US');

// ---- objects, written loose as git would ----------------------------------

export class Objects {
  constructor(gitDir) {
    this.dir = join(gitDir, 'objects');
    this.known = new Set();
  }
  write(type, body) {
    const header = Buffer.from(`${type} ${body.length}\0`);
    const oid = createHash('sha1').update(header).update(body).digest('hex');
    if (this.known.has(oid)) return oid;
    this.known.add(oid);
    const sub = join(this.dir, oid.slice(0, 2));
    mkdirSync(sub, { recursive: true });
    try {
      writeFileSync(join(sub, oid.slice(2)), deflateSync(Buffer.concat([header, body]), { level: 1 }), { flag: 'wx', mode: 0o444 });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    return oid;
  }
}

/** A directory of the tree being built; subtrees are rewritten only when something under them changed. */
export class Dir {
  constructor() {
    this.entries = new Map(); // name -> Dir | { mode, oid }
    this.order = []; // names in git's tree order (a subtree sorts as name + '/')
    this.oid = undefined;
  }
  static key(name, entry) {
    return entry instanceof Dir ? `${name}/` : name;
  }
  insert(name, entry) {
    const key = Dir.key(name, entry);
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Dir.key(this.order[mid], this.entries.get(this.order[mid])) < key) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, name);
    this.entries.set(name, entry);
  }
  /** The directory that holds the file at `parts`, each directory on the way (this one first) marked changed; made where missing when `make`. */
  holder(parts, make) {
    this.oid = undefined;
    if (parts.length === 1) return this;
    let next = this.entries.get(parts[0]);
    if (!next && make) this.insert(parts[0], (next = new Dir()));
    return next.holder(parts.slice(1), make);
  }
  set(path, mode, oid) {
    const parts = path.split('/');
    const d = this.holder(parts, true);
    const name = parts.at(-1);
    if (d.entries.has(name)) d.entries.set(name, { mode, oid });
    else d.insert(name, { mode, oid });
  }
  remove(path) {
    const parts = path.split('/');
    const d = this.holder(parts, false);
    const name = parts.at(-1);
    if (!d.entries.delete(name)) throw new Error(`no ${path} in the tree`);
    d.order.splice(d.order.indexOf(name), 1); // never empty here: every directory keeps its .gitkeep
  }
  write(objects) {
    if (this.oid) return this.oid;
    const parts = [];
    for (const name of this.order) {
      const e = this.entries.get(name);
      const [mode, oid] = e instanceof Dir ? ['40000', e.write(objects)] : [e.mode, e.oid];
      parts.push(Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex'));
    }
    this.oid = objects.write('tree', Buffer.concat(parts));
    return this.oid;
  }
}

// ---- the history ------------------------------------------------------------

const AGENT = { name: 'ga agent noop', email: 'noop@agents.ga.invalid' };
const EXECUTOR = { name: 'ga executor', email: 'executor@ga.invalid' };
const WATCHDOG = { name: 'ga watchdog', email: 'watchdog@ga.invalid' };
const ALICE = { name: 'Alice', email: 'alice@example.com' };

/** Appends ga-shaped event commits to a repository made by ga init. */
export class Generator {
  /**
   * `step`: seconds between two events. 1 packs 10,000 events into under
   * three hours, so that each audit hour directory holds thousands of files;
   * 180 spreads them over three weeks, as a busy deployment records them.
   * `start`: the first event's time in seconds (by default just after HEAD's).
   */
  constructor(repo, pub, { step = 1, start } = {}) {
    this.repo = repo;
    this.pub = pub;
    this.step = step;
    this.objects = new Objects(join(repo, '.git'));
    this.tree = new Dir();
    this.head = run('git', ['rev-parse', 'HEAD'], { cwd: repo }).stdout.trim();
    this.time = start ?? Number(run('git', ['log', '-1', '--format=%ct'], { cwd: repo }).stdout.trim()) + 5;
    for (const line of run('git', ['ls-tree', '-r', '--full-tree', 'HEAD'], { cwd: repo }).stdout.split('\n').filter(Boolean)) {
      const [meta, path] = line.split('\t');
      const [mode, , oid] = meta.split(' ');
      this.tree.set(path, mode, oid);
      this.objects.known.add(oid);
    }
    const rootTree = run('git', ['rev-parse', 'HEAD^{tree}'], { cwd: repo }).stdout.trim();
    if (this.tree.write(this.objects) !== rootTree) throw new Error("the rebuilt tree of the init commit differs from git's: tree serialisation is wrong");
    this.auditFiles = 0;
    this.seq = 0;
    this.commits = 0;
    this.signed = 0;
    this.pending = []; // proposals to approve, to expire
    this.approved = [];
  }

  /**
   * One commit of one event: its own files, its audit file, ga's message and
   * trailers. Trees are built here; the commit objects are chained by
   * chain(), so that the next trees are built while git signs.
   */
  async commit({ subject, body, event, detail, who, sign, files }) {
    if (this.failed) throw this.failed;
    const at = new Date(this.time * 1000);
    for (const f of files) {
      if (f.remove) this.tree.remove(f.path);
      else this.tree.set(f.path, '100644', f.oid ?? this.objects.write('blob', Buffer.from(f.content)));
    }
    for (const f of auditFiles([{ ...event, detail }], at)) {
      this.tree.set(f.path, '100644', this.objects.write('blob', Buffer.from(f.content)));
      this.auditFiles++;
    }
    this.queue.push({ tree: this.tree.write(this.objects), message: commitMessage(subject, [event], body), who, sign, time: this.time });
    this.time += this.step;
    this.commits++;
    this.kick?.();
    await new Promise(setImmediate); // let chain() take its turn
  }

  async chain() {
    for (;;) {
      if (this.next === this.queue.length) {
        if (this.done) return;
        await new Promise((r) => (this.kick = r));
        this.kick = undefined;
        continue;
      }
      const { tree, message, who, sign, time } = this.queue[this.next];
      this.queue[this.next++] = undefined;
      if (sign) {
        const date = `@${time} +0000`;
        this.head = (
          await spawnOut('git', ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${this.pub}`, 'commit-tree', '-S', tree, '-p', this.head, '-F', '-'], {
            cwd: this.repo,
            input: message,
            env: {
              ...process.env,
              GIT_AUTHOR_NAME: who.name,
              GIT_AUTHOR_EMAIL: who.email,
              GIT_AUTHOR_DATE: date,
              GIT_COMMITTER_NAME: who.name,
              GIT_COMMITTER_EMAIL: who.email,
              GIT_COMMITTER_DATE: date,
            },
          })
        ).trim();
        this.objects.known.add(this.head);
        this.signed++;
      } else {
        const ident = `${who.name} <${who.email}> ${time} +0000`;
        this.head = this.objects.write('commit', Buffer.from(`tree ${tree}\nparent ${this.head}\nauthor ${ident}\ncommitter ${ident}\n\n${message}`));
      }
    }
  }

  /** Runs `build` while chaining its commits; then moves HEAD (and the work tree) to the new tip. */
  async append(build) {
    const old = this.head;
    this.queue = [];
    this.next = 0;
    this.done = false;
    const chained = this.chain();
    chained.catch((e) => (this.failed = e)); // rethrown below; stops build() at its next commit
    try {
      await build();
    } finally {
      this.done = true;
      this.kick?.();
      await chained;
    }
    run('git', ['update-ref', '-m', 'bench: generated history', 'HEAD', this.head, old], { cwd: this.repo });
    run('git', ['reset', '-q', '--hard', 'HEAD'], { cwd: this.repo });
  }

  newId() {
    // newProposalId's shape (20261123-100000-123-k3f9x), unique by a counter.
    const iso = new Date(this.time * 1000 + (this.seq % 1000)).toISOString();
    const id = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${iso.slice(20, 23)}-${(this.seq++).toString(36).padStart(5, '0')}`;
    return id;
  }

  async submit(expiresInSeconds) {
    const id = this.newId();
    const created = new Date(this.time * 1000);
    const title = `Publish post ${this.seq}`;
    const text = serializeProposal({
      id,
      agent: 'noop',
      action_type: 'publish_content',
      title,
      rationale: 'The launch post is written and reviewed; publishing it tells users the release is out.',
      expected_outcome: 'The post is live on the blog.',
      reversible: false,
      requires_approval: true,
      created_at: created,
      expires_at: new Date(created.getTime() + expiresInSeconds * 1000),
      expected_cost: { tokens: 0, usd: 0 },
      payload: { slug: `post-${this.seq}`, channel: 'blog' },
    });
    const oid = this.objects.write('blob', Buffer.from(text));
    await this.commit({
      subject: `propose ${id}: ${title}`,
      event: { event: 'proposal-submitted', actor: 'agent:noop', agent: 'noop', proposal: id },
      who: AGENT,
      files: [{ path: `proposals/pending/${id}.toml`, oid }],
    });
    return { id, title, oid };
  }

  async move(p, from, to, commit) {
    await this.commit({
      ...commit,
      files: [
        { path: `proposals/${from}/${p.id}.toml`, remove: true },
        { path: `proposals/${to}/${p.id}.toml`, oid: p.oid },
      ],
    });
  }

  async approve(p) {
    await this.move(p, 'pending', 'approved', {
      subject: `approve ${p.id}: ${p.title}`,
      event: { event: 'proposal-approved', actor: `human:${ALICE.email}`, agent: 'noop', proposal: p.id },
      who: ALICE,
      sign: true,
    });
  }

  async execute(p) {
    await this.commit({
      subject: `claim ${p.id}: ${p.title}`,
      event: { event: 'proposal-claimed', actor: 'executor', agent: 'noop', proposal: p.id },
      who: EXECUTOR,
      files: [],
    });
    await this.move(p, 'approved', 'executed', {
      subject: `execute ${p.id}: ${p.title}`,
      body: `Hook publish_content.sh exited 0 after 9 ms.\n\nLast output:\n  published: ${p.title} (proposal ${p.id})`,
      event: { event: 'proposal-executed', actor: 'executor', agent: 'noop', proposal: p.id, outcome: 'success' },
      detail: { hook: 'publish_content.sh', exit_code: 0, duration_ms: 9 },
      who: EXECUTOR,
    });
  }

  async expire(p) {
    await this.move(p, 'pending', 'expired', {
      subject: `expire ${p.id}: ${p.title}`,
      event: { event: 'proposal-expired', actor: 'watchdog', agent: 'noop', proposal: p.id },
      who: WATCHDOG,
    });
  }

  /** Rounds of: 10 submitted, 5 submitted that will expire, 10 approved, 10 claimed and executed, 5 expired. */
  async history(approvals, expiring) {
    while (approvals > 0) {
      const a = Math.min(BATCH, approvals);
      const e = Math.min(Math.ceil(a / 2), expiring);
      const toApprove = [];
      const toExpire = [];
      for (let i = 0; i < a; i++) toApprove.push(await this.submit(24 * 3600));
      for (let i = 0; i < e; i++) toExpire.push(await this.submit(30)); // expired well before the watchdog moves it
      for (const p of toApprove) await this.approve(p);
      for (const p of toApprove) await this.execute(p);
      for (const p of toExpire) await this.expire(p);
      approvals -= a;
      expiring -= e;
    }
  }

  /** Submitted and approved, not yet executed. */
  async approvedOnly(count) {
    const ps = [];
    for (let i = 0; i < count; i++) ps.push(await this.submit(24 * 3600));
    for (const p of ps) await this.approve(p);
  }
}

function spawnOut(file, args, { input, ...opts }) {
  return new Promise((resolveOut, reject) => {
    const child = spawn(file, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveOut(out) : reject(new Error(`${file} ${args.join(' ')} failed (${code}): ${err}`))));
    child.stdin.end(input);
  });
}
