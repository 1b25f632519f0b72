// Class: nothing an agent or a user hands ga as input can exhaust it. A
// proposal file is at most 1 MiB, refused before it is parsed, whether it
// comes from `ga propose --file` (exit 2) or is met in history (a stray, with
// the reason); a payload nests at most 32 tables or arrays deep and holds
// only what TOML and JSON can both carry (no null, no inf, no nan). A file
// option reads at most 1 MiB + 1 byte, never trusting a size, and refuses a
// FIFO, a device or a directory without blocking. `-C` naming something
// other than a directory is a usage error (exit 2), never a crash.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readInputFile, readRegular } from '../../src/runtime/files.js';
import { FileError } from '../../src/schema/toml.js';
import { MAX_PAYLOAD_DEPTH, MAX_PROPOSAL_BYTES, parseProposal } from '../../src/schema/proposal.js';
import { BIN, ga, git, initRepo, propose, PUBLISH, sandbox, write, type Sandbox } from '../helpers/fixture.js';
import { commitUnsigned, pendingPath, submit } from '../helpers/scene.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox(['alice']);
});
afterEach(() => sb.cleanup());

const MiB = 1024 * 1024;

interface Bounded {
  code: number;
  out: string;
  err: string;
}

/**
 * The real binary in its own process group, killed (with every git it
 * started) after `ms`: a hang shows as code -999, never as a stuck suite.
 */
function gaBounded(args: string[], opts: { ms?: number; input?: string; stdinFd?: number } = {}): Promise<Bounded> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { detached: true, stdio: [opts.stdinFd ?? 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b) => (out += b));
    child.stderr!.on('data', (b) => (err += b));
    if (opts.stdinFd === undefined) child.stdin!.end(opts.input ?? '');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      resolve({ code: -999, out, err: `${err}\n(hung: killed after ${opts.ms ?? 20_000} ms)` });
    }, opts.ms ?? 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), out, err });
    });
  });
}

const oneLine = (r: { err: string }) => expect(r.err.trim().split('\n'), r.err).toHaveLength(1);

/** A submission whose payload holds `depth` nested arrays around one value. */
const nestedArrays = (depth: number) => `${PUBLISH}deep = ${'['.repeat(depth)}1${']'.repeat(depth)}\n`;

describe('A. proposal payloads', () => {
  it('a proposal file over 1 MiB is refused before parsing (exit 2, one line) and nothing is committed; one of exactly 1 MiB is accepted', async () => {
    const repo = await initRepo(sb);
    const head = git(repo, 'rev-parse', 'HEAD');
    const pad = (total: number) => `${PUBLISH}#${'x'.repeat(total - Buffer.byteLength(PUBLISH) - 2)}\n`;
    expect(Buffer.byteLength(pad(MAX_PROPOSAL_BYTES + 1))).toBe(MiB + 1);
    const over = await propose(repo, pad(MAX_PROPOSAL_BYTES + 1));
    expect(over.code, over.err).toBe(2);
    expect(over.err).toMatch(/1 MiB/);
    oneLine(over);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    const at = await propose(repo, pad(MAX_PROPOSAL_BYTES));
    expect(at.code, at.err).toBe(0);
  });

  it(`a payload nests at most ${MAX_PAYLOAD_DEPTH} deep: ${MAX_PAYLOAD_DEPTH} is stored and shown, ${MAX_PAYLOAD_DEPTH + 1} is refused (exit 2) naming the key`, async () => {
    const repo = await initRepo(sb);
    const ok = await propose(repo, nestedArrays(MAX_PAYLOAD_DEPTH));
    expect(ok.code, ok.err).toBe(0);
    const shown = await ga(['-C', repo, '--json', 'show', ok.last]);
    expect(shown.code, shown.err).toBe(0);
    const deep = await propose(repo, nestedArrays(MAX_PAYLOAD_DEPTH + 1));
    expect(deep.code, deep.err).toBe(2);
    expect(deep.err).toMatch(/payload\.deep(\.0)*: nests deeper than 32/);
    oneLine(deep);
  });

  it('a payload 200 000 tables deep through dotted keys (well under 1 MiB) is a usage error, not a crash', async () => {
    const repo = await initRepo(sb);
    const text = `${PUBLISH}${'k.'.repeat(200_000)}v = 1\n`;
    expect(Buffer.byteLength(text)).toBeLessThan(MiB);
    const r = await propose(repo, text);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/nests deeper than 32/);
    expect(r.err).not.toMatch(/internal error/);
    oneLine(r);
  });

  it('inline nesting past what the TOML parser allows is a usage error too', async () => {
    const repo = await initRepo(sb);
    const r = await propose(repo, nestedArrays(5000));
    expect(r.code, r.err).toBe(2);
    oneLine(r);
  });

  it.each([
    ['inf', 'x = inf'],
    ['-inf', 'x = -inf'],
    ['nan', 'x = nan'],
  ])('a payload value %s (no JSON form for the hook) is refused with exit 2', async (_name, line) => {
    const repo = await initRepo(sb);
    const r = await propose(repo, `${PUBLISH}${line}\n`);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/payload\.x: .*not a finite number/);
    oneLine(r);
  });

  it.each([
    ['null', '{"a": null}', /payload\.a: null/],
    ['a nested null', '{"a": [1, {"b": null}]}', /payload\.a\.1\.b: null/],
    ['1e999 (Infinity)', '{"a": 1e999}', /payload\.a: .*not a finite number/],
    ['JSON 5000 arrays deep', `{"a": ${'['.repeat(5000)}${']'.repeat(5000)}}`, /nests deeper than 32/],
  ])('--payload JSON with %s is a usage error (exit 2), never stored or crashed on', async (_name, json, message) => {
    const repo = await initRepo(sb);
    const head = git(repo, 'rev-parse', 'HEAD');
    const r = await ga(['-C', repo, 'propose', '--agent', 'noop', '--type', 'publish_content', '--title', 't', '--payload', json]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(message);
    oneLine(r);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('a proposal over 1 MiB committed into history is a stray with the reason, and cannot be approved', async () => {
    const repo = await initRepo(sb);
    const real = await submit(repo);
    const stored = git(repo, 'show', `HEAD:${pendingPath(real)}`);
    // An agent commits, the way ga submits, a well-formed proposal padded past the limit.
    const id = `${real.slice(0, -5)}zzzzz`;
    const big = `${stored.replace(real, id)}\n# ${'x'.repeat(MiB)}\n`;
    write(repo, pendingPath(id), big);
    git(repo, 'add', pendingPath(id));
    commitUnsigned(repo, `propose ${id}`);
    sb.as('alice');
    const head = git(repo, 'rev-parse', 'HEAD');
    const a = await ga(['-C', repo, 'approve', id, '--reason', 'looks fine']);
    expect(a.code, a.out + a.err).toBe(1);
    expect(a.err).toMatch(/not a validly submitted proposal.*over the 1 MiB limit/);
    oneLine(a);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    const shown = await ga(['-C', repo, 'show', id]);
    expect(shown.out).toMatch(/STRAY: .*over the 1 MiB limit/);
    // The real one is untouched by the stray.
    const ok = await ga(['-C', repo, 'approve', real]);
    expect(ok.code, ok.err).toBe(0);
  });

  it('a 48 MB proposal file committed into history wedges no reader: list, show, status and a watchdog sweep finish', async () => {
    const repo = await initRepo(sb);
    const id = '20261129-000001-000-huge1';
    writeFileSync(join(repo, pendingPath(id)), Buffer.alloc(48 * MiB, 0x41));
    git(repo, 'add', pendingPath(id));
    commitUnsigned(repo, 'a huge stray');
    // Reading a large object joined its chunks at every chunk (quadratic): 32 MB took 48 s, 100 MB over 90 s.
    for (const args of [['list'], ['show', id], ['status'], ['watchdog', '--once']]) {
      const r = await gaBounded(['-C', repo, ...args], { ms: 45_000 });
      expect(r.code, `ga ${args.join(' ')}: ${r.err}`).not.toBe(-999);
      expect(r.err).not.toMatch(/internal error/);
    }
  }, 240_000);

  it('parseProposal refuses an oversized file before parsing it', () => {
    // 2 MiB of dotted keys would take seconds to parse; the size is checked first.
    const text = `[payload]\n${'k.'.repeat(MiB)}v = 1\n`;
    expect(() => parseProposal(text, 'proposals/pending/x.toml')).toThrow(FileError);
    expect(() => parseProposal(text, 'proposals/pending/x.toml')).toThrow(/over the 1 MiB limit/);
  });
});

describe('B. --file reads are bounded and refuse special files', () => {
  it('--file /dev/zero is refused (exit 2, one line) without reading it', async () => {
    const repo = await initRepo(sb);
    const r = await gaBounded(['-C', repo, 'propose', '--file', '/dev/zero'], { ms: 15_000 });
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/--file \/dev\/zero: is a device or special file, not a regular file/);
    oneLine(r);
  });

  it('--file naming a FIFO with no writer is refused at once, never hangs', async () => {
    const repo = await initRepo(sb);
    const fifo = join(sb.dir, 'proposal.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await gaBounded(['-C', repo, 'propose', '--file', fifo], { ms: 15_000 });
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/is a FIFO, not a regular file/);
    oneLine(r);
  });

  it('--file naming a directory is refused (exit 2)', async () => {
    const repo = await initRepo(sb);
    const dir = join(sb.dir, 'a-dir');
    mkdirSync(dir);
    const r = await ga(['-C', repo, 'propose', '--file', dir]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/is a directory, not a regular file/);
    oneLine(r);
  });

  it('--file naming a 256 MiB (sparse) file is refused after 1 MiB + 1 byte, naming the limit', async () => {
    const repo = await initRepo(sb);
    const huge = join(sb.dir, 'huge.toml');
    writeFileSync(huge, PUBLISH);
    truncateSync(huge, 256 * MiB);
    const r = await gaBounded(['-C', repo, 'propose', '--file', huge], { ms: 15_000 });
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/larger than 1 MiB, the limit for a proposal file/);
    oneLine(r);
  });

  it('--file - reads stdin up to the bound: /dev/zero as stdin is refused, a proposal on stdin is accepted', async () => {
    const repo = await initRepo(sb);
    const zero = openSync('/dev/zero', 'r');
    try {
      const r = await gaBounded(['-C', repo, 'propose', '--file', '-'], { ms: 15_000, stdinFd: zero });
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/<stdin>: larger than 1 MiB/);
      oneLine(r);
    } finally {
      closeSync(zero);
    }
    const ok = await gaBounded(['-C', repo, 'propose', '--file', '-'], { input: PUBLISH });
    expect(ok.code, ok.err).toBe(0);
  });

  it('readRegular never trusts the size a file reports (a /proc file says 0)', () => {
    const status = readRegular('/proc/self/status');
    expect(status?.toString('utf8')).toMatch(/^Name:/);
    expect(readRegular('/proc/self/status', 5)?.length).toBe(5);
    const read = readInputFile('/proc/self/status', MiB);
    expect(read.ok && read.bytes.toString('utf8')).toMatch(/^Name:/);
    expect(readInputFile('/dev/zero', MiB)).toMatchObject({ ok: false, why: 'not-regular' });
  });
});

describe('C. -C must name a directory', () => {
  it.each([['status'], ['verify'], ['list'], ['propose', '--file', '-'], ['init'], ['trust', 'HEAD']])(
    '-C <a regular file> %s is a usage error (exit 2, one line), not a crash',
    async (...args) => {
      const file = join(sb.dir, 'plain-file');
      writeFileSync(file, 'not a repository\n');
      for (const dir of [file, '/etc/passwd']) {
        const r = await ga(['-C', dir, ...args]);
        expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
        expect(r.err).toMatch(/not a directory/);
        expect(r.err).not.toMatch(/internal error/);
        oneLine(r);
      }
    },
  );

  it('-C through a file (/etc/passwd/x) is a usage error too; the real binary exits 2', async () => {
    const r = await ga(['-C', '/etc/passwd/x', 'status']);
    expect(r.code, r.err).toBe(2);
    oneLine(r);
    const p = await gaBounded(['-C', '/etc/passwd', 'status']);
    expect(p.code, p.err).toBe(2);
    expect(p.err).toMatch(/^ga: -C \/etc\/passwd: not a directory/);
  });

  it('openRepo itself refuses a path that is not a directory (exit 2)', async () => {
    const { openRepo } = await import('../../src/git/repo.js');
    await expect(openRepo('/etc/passwd')).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/not a directory/) as unknown });
  });
});
