// The in-process reader of a repository's own config (src/git/config-file.ts)
// against git's `git config --file F --no-includes --list -z`, as ga read it
// (src/git/repo.ts): for random config texts mixing the plain lines git
// writes with awkward ones (quotes, escapes, inline comments, CRLF, text
// after a header, keys git rejects, includes), the reader answers git's map
// exactly, entries in order, or undefined; never a map git would not list,
// and never an answer where git fails. It must also answer for most plain
// files, or it would be safe only by never answering.
//
// The same holds for the whole of git's config as ga reads it for a command
// (readConfigInProcess: the system and global files, the repository's own,
// and the settings ga gives every git call) against `git config --list
// --show-scope -z` run as ga runs git, in the environments git reads
// differently: GIT_CONFIG_GLOBAL, or HOME's two files with and without
// XDG_CONFIG_HOME, with and without the system file.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSimpleConfig, userConfigFiles } from '../../src/git/config-file.js';
import { gitProgram, hardeningSettings } from '../../src/git/exec.js';
import { mayHaveUpstream, openRepo, readConfigInProcess, type Repo } from '../../src/git/repo.js';
import { auditRecords, gaProcess, git as gitIn, initRepo, sandbox } from '../helpers/fixture.js';

const home = mkdtempSync(join(tmpdir(), 'ga-config-file-'));
const globalConfig = join(home, 'gitconfig');
writeFileSync(globalConfig, '');
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_GLOBAL: globalConfig, GIT_CONFIG_NOSYSTEM: '1' };
afterAll(() => rmSync(home, { recursive: true, force: true }));

const RUNS = Number(process.env.GA_CONFIG_RUNS ?? 300);

function git(args: string[], cwd = home): Buffer {
  return execFileSync('git', args, { cwd, env, stdio: 'pipe' });
}

/** The entries git lists for a config file, as repo.ts's parseConfigList reads them; undefined when git fails. */
function gitEntries(file: string): [string, string][] | undefined {
  let out: string;
  try {
    out = git(['config', '--file', file, '--no-includes', '--list', '-z']).toString('utf8');
  } catch {
    return undefined;
  }
  const map = new Map<string, string>();
  for (const entry of out.split('\0')) {
    if (!entry) continue;
    const nl = entry.indexOf('\n');
    map.set((nl < 0 ? entry : entry.slice(0, nl)).toLowerCase(), nl < 0 ? 'true' : entry.slice(nl + 1));
  }
  return [...map];
}

let n = 0;
function configFile(text: string): string {
  const file = join(home, `config-${n++}`);
  writeFileSync(file, text, 'utf8');
  return file;
}

/** Both answers for a text: the reader's, and git's. */
function both(text: string): { ours: [string, string][] | undefined; theirs: [string, string][] | undefined } {
  const ours = parseSimpleConfig(text);
  return { ours: ours && [...ours], theirs: gitEntries(configFile(text)) };
}

// Small pools, so that keys repeat across sections, cases and files.
const blank = fc.constantFrom('', ' ', '\t', '  ', ' \t ');
const sectionName = fc.constantFrom('core', 'Core', 'remote', 'ga', 'GA', 'include', 'branch', 'x-1', 'a.b', 'A.B', '.x', 'a..b');
const subsection = fc.constantFrom('origin', 'Origin', 'main', 'a b', 'x]y', 'a=b', 'é', 'É', '', 'q#r;s', 'feature/X');
const keyName = fc.constantFrom('url', 'URL', 'bare', 'trustRoot', 'trustroot', 'fetch', 'k2', 'x-y', 'path', 'sshCommand', 'a');
const word = fc.constantFrom('true', 'false', '0', 'x', 'https://example.com/r.git', '+refs/heads/*:refs/remotes/origin/*', 'a=b', '[x]', 'é', '\u00a0', '~/p');
const plainValue = fc
  .array(fc.tuple(word, fc.constantFrom(' ', '  ', '\t', ' \t')), { maxLength: 3 })
  .map((parts) => parts.map(([w, sep], i) => (i === 0 ? w : sep + w)).join(''));

// Lines the reader should take.
const header = fc.oneof(
  fc.tuple(blank, sectionName, blank).map(([a, s, b]) => `${a}[${s}]${b}`),
  fc.tuple(blank, sectionName, fc.constantFrom(' ', '\t', '  '), subsection, blank).map(([a, s, sp, sub, b]) => `${a}[${s}${sp}"${sub}"]${b}`),
);
const entry = fc.oneof(
  fc.tuple(blank, keyName, blank, blank, plainValue, blank).map(([a, k, b, c, v, d]) => `${a}${k}${b}=${c}${v}${d}`),
  fc.tuple(blank, keyName, blank).map(([a, k, b]) => `${a}${k}${b}`),
);
const comment = fc.tuple(blank, fc.constantFrom('#', ';'), fc.constantFrom('', ' a comment', ' "q" \\ x = y', ' [s]')).map(([a, c, t]) => a + c + t);
const plainLine = fc.oneof(
  { weight: 2, arbitrary: header },
  { weight: 5, arbitrary: entry },
  { weight: 1, arbitrary: comment },
  { weight: 1, arbitrary: blank },
);

// Lines it may leave to git: some git reads differently (quotes, escapes,
// comments, CRLF), some git rejects; each one built like a plain line, with
// one piece awkward.
const oddPiece = fc.constantFrom('"', '"a b"', '\\t', '\\\\', '\\"', '\\', '\\q', '#c', ';c', ' # c', '\r', '\0', '\x1b', '\v', '\f', '\ufeff', '\ufffd');
const oddValue = fc.tuple(plainValue, oddPiece, plainValue).map(([a, odd, b]) => a + odd + b);
const oddSubsection = fc.tuple(subsection, fc.constantFrom('\\"', '\\\\', '\\', '\\x', '\r', '\0'), subsection).map(([a, odd, b]) => a + odd + b);
const awkwardLine = fc.oneof(
  fc.tuple(blank, keyName, blank, oddValue).map(([a, k, b, v]) => `${a}${k}${b}=${v}`),
  fc.tuple(blank, keyName, fc.constantFrom('\r', ' x', '\t#c', ';', ' \\')).map(([a, k, tail]) => a + k + tail),
  fc.tuple(blank, sectionName, fc.constantFrom(' ', '\t'), oddSubsection).map(([a, s, sp, sub]) => `${a}[${s}${sp}"${sub}"]`),
  fc.tuple(sectionName, fc.constantFrom(']', '"a"]', ' "a" ]', ' "a"]x', ' a]', ' "a', ']\r', '] # c', '] k = v', ']]', '')).map(([s, tail]) => `[${s}${tail}`),
  fc.constantFrom(
    '[]',
    '[ core]',
    '[co_re]',
    '[é]',
    '[core"a"]',
    '[core ""a"]',
    '1key = v',
    '-key = v',
    'ke_y = v',
    'é = v',
    'key value',
    '= v',
    '\v[core]',
    '\ufeff[core]',
  ),
  fc.constant('[include]\n\tpath = other'),
);

// A file as git writes one: a section first, plain lines only; the same
// with one awkward line put in somewhere; or plain lines with no section first.
const plainFile = fc.tuple(header, fc.array(plainLine, { maxLength: 8 })).map(([h, lines]) => [h, ...lines]);
const oneAwkward = fc.tuple(plainFile, awkwardLine, fc.nat()).map(([lines, odd, at]) => {
  const i = at % (lines.length + 1);
  return [...lines.slice(0, i), odd, ...lines.slice(i)];
});
const noSection = fc.array(plainLine, { maxLength: 4 });
const configText = fc
  .tuple(fc.oneof({ weight: 5, arbitrary: plainFile }, { weight: 4, arbitrary: oneAwkward }, { weight: 1, arbitrary: noSection }), fc.constantFrom('\n', ''))
  .map(([lines, end]) => lines.join('\n') + (lines.length ? end : ''));

describe('parseSimpleConfig', () => {
  it(
    "answers git's own list of a config file, or undefined",
    () => {
      let runs = 0;
      let accepted = 0;
      fc.assert(
        fc.property(configText, (text) => {
          runs++;
          const { ours, theirs } = both(text);
          if (ours === undefined) return;
          accepted++;
          expect(theirs).toBeDefined();
          expect(ours).toEqual(theirs);
        }),
        { numRuns: RUNS },
      );
      expect(accepted / runs).toBeGreaterThanOrEqual(0.4);
    },
    60_000 + RUNS * 50,
  );

  it('reads the config git init writes', () => {
    const dir = mkdtempSync(join(home, 'repo-'));
    git(['init', '-q', dir]);
    const text = readFileSync(join(dir, '.git', 'config'), 'utf8');
    const { ours, theirs } = both(text);
    expect(ours).toBeDefined();
    expect(ours).toEqual(theirs);
    expect(new Map(ours).get('core.bare')).toBe('false');
  });

  it('reads the trust root and a remote as git config writes them', () => {
    const file = configFile('');
    const root = 'a'.repeat(40);
    git(['config', '--file', file, 'ga.trustRoot', root]);
    git(['config', '--file', file, 'remote.origin.url', 'https://example.com/Repo.git']);
    git(['config', '--file', file, 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*']);
    const { ours, theirs } = both(readFileSync(file, 'utf8'));
    expect(ours).toEqual(theirs);
    expect(ours).toEqual([
      ['ga.trustroot', root],
      ['remote.origin.url', 'https://example.com/Repo.git'],
      ['remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'],
    ]);
  });

  it("keeps git's blanks: each inside a value is a space, those around it go; `key =` is empty, a bare key true", () => {
    const text = '[Core "Sub"]\n  Key = a \t  b\t\n\tempty =\n\tbare\n\tbare2  \n';
    const { ours, theirs } = both(text);
    expect(ours).toEqual(theirs);
    expect(ours).toEqual([
      ['core.sub.key', 'a    b'],
      ['core.sub.empty', ''],
      ['core.sub.bare', 'true'],
      ['core.sub.bare2', 'true'],
    ]);
  });

  it('keeps the last value of a key set twice, where it was first set', () => {
    const text = '[a]\nk = 1\nj = 2\n[A]\nK = 3\n';
    expect(both(text).ours).toEqual([
      ['a.k', '3'],
      ['a.j', '2'],
    ]);
    expect(both(text).theirs).toEqual(both(text).ours);
  });

  it('leaves quoted values, CRLF, a byte order mark and keys before any section to git', () => {
    expect(parseSimpleConfig('[core]\n\tsshCommand = "ssh -i x"\n')).toBeUndefined();
    expect(parseSimpleConfig('[core]\r\n\tbare = false\r\n')).toBeUndefined();
    expect(parseSimpleConfig('\ufeff[core]\n\tbare = false\n')).toBeUndefined();
    expect(parseSimpleConfig('bare = false\n[core]\n')).toBeUndefined();
  });

  it('never drops an include', () => {
    const { ours, theirs } = both('[include]\n\tpath = other\n');
    if (ours !== undefined) {
      expect(ours).toEqual(theirs);
      expect(new Map(ours).get('include.path')).toBe('other');
    }
  });

  it('reads a long line of blanks quickly', () => {
    const started = Date.now();
    for (const line of [`k =${' '.repeat(200_000)}#`, `${' \t'.repeat(100_000)}x y`, `[a "${' '.repeat(200_000)}" `]) {
      expect(parseSimpleConfig(`[a]\n${line}\n`)).toBeUndefined();
    }
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('readConfigInProcess', () => {
  const repoDir = mkdtempSync(join(home, 'whole-'));
  git(['init', '-q', '-b', 'main', repoDir]);
  git(['config', 'user.name', 'Local Name'], repoDir);
  const flags = Object.entries(hardeningSettings()).flatMap(([k, v]) => ['-c', `${k}=${v}`]);

  /** git's whole config for `env`, as ga lists it (src/git/repo.ts readConfig), scopes and all; undefined when git fails. */
  function gitWhole(env: NodeJS.ProcessEnv): [string, { value: string; scope: string }][] | undefined {
    let out: string;
    try {
      out = execFileSync('git', [...flags, 'config', '--list', '--show-scope', '-z'], { cwd: repoDir, env: { ...env, LC_ALL: 'C' }, stdio: 'pipe' }).toString(
        'utf8',
      );
    } catch {
      return undefined;
    }
    const parts = out.split('\0');
    const map = new Map<string, { value: string; scope: string }>();
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const entry = parts[i + 1]!;
      const nl = entry.indexOf('\n');
      map.set((nl < 0 ? entry : entry.slice(0, nl)).toLowerCase(), { value: nl < 0 ? 'true' : entry.slice(nl + 1), scope: parts[i]! });
    }
    return [...map];
  }

  let repo: Repo;
  let m = 0;
  /** A fresh HOME holding the given files (relative names), and the environment that points git at it. */
  function place(files: Record<string, string>, vars: (dir: string) => Record<string, string>): NodeJS.ProcessEnv {
    const dir = join(home, `env-${m++}`);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text, 'utf8');
    }
    mkdirSync(dir, { recursive: true });
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...vars(dir) };
  }

  const layout = fc.constantFrom('GIT_CONFIG_GLOBAL', 'home', 'home+xdg');
  const system = fc.constantFrom<Record<string, string>>({ GIT_CONFIG_NOSYSTEM: '1' }, { GIT_CONFIG_NOSYSTEM: 'true' }, {}, { GIT_CONFIG_NOSYSTEM: '0' });

  it(
    "answers git's own list of all its config, scopes included, or undefined",
    async () => {
      repo = await openRepo(repoDir);
      let runs = 0;
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(layout, system, configText, configText, async (how, sys, a, b) => {
          runs++;
          const env =
            how === 'GIT_CONFIG_GLOBAL'
              ? place({ 'g/config': a }, (d) => ({ ...sys, GIT_CONFIG_GLOBAL: join(d, 'g/config') }))
              : how === 'home'
                ? place({ '.config/git/config': a, '.gitconfig': b }, () => sys)
                : place({ 'x/git/config': a, '.gitconfig': b }, (d) => ({ ...sys, XDG_CONFIG_HOME: join(d, 'x') }));
          const ours = readConfigInProcess(repo, env, gitProgram());
          if (ours === undefined) return;
          accepted++;
          const theirs = gitWhole(env);
          expect(theirs).toBeDefined();
          expect([...ours]).toEqual(theirs);
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
      expect(accepted / runs).toBeGreaterThanOrEqual(0.2);
    },
    60_000 + RUNS * 100,
  );

  it('reads the identity and signing key a person sets with git config --global, over the system file, under the local file', async () => {
    repo = await openRepo(repoDir);
    const env = place({}, (d) => ({ GIT_CONFIG_GLOBAL: join(d, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1' }));
    writeFileSync(env.GIT_CONFIG_GLOBAL!, '');
    for (const [k, v] of [
      ['user.name', 'Alice Example'],
      ['user.email', 'alice@example.com'],
      ['gpg.format', 'ssh'],
      ['user.signingkey', '/home/alice/.ssh/id_ed25519.pub'],
    ]) {
      execFileSync('git', ['config', '--global', k!, v!], { env });
    }
    const ours = readConfigInProcess(repo, env, gitProgram());
    expect(ours).toBeDefined();
    expect([...ours!]).toEqual(gitWhole(env));
    expect(ours!.get('user.email')).toEqual({ value: 'alice@example.com', scope: 'global' });
    expect(ours!.get('user.signingkey')?.value).toBe('/home/alice/.ssh/id_ed25519.pub');
    expect(ours!.get('user.name')).toEqual({ value: 'Local Name', scope: 'local' });
    expect(ours!.get('core.hookspath')).toEqual({ value: '/dev/null', scope: 'command' });
  });

  it('leaves to git what it cannot read exactly: includes, a linked file, a config.worktree, a git it does not know, odd variables', async () => {
    repo = await openRepo(repoDir);
    const plain = '[user]\n\temail = a@example.com\n';
    const global = (text: string, extra: Record<string, string> = {}) =>
      place({ gitconfig: text }, (d) => ({ GIT_CONFIG_GLOBAL: join(d, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1', ...extra }));
    expect(readConfigInProcess(repo, global(plain), gitProgram())).toBeDefined();
    expect(readConfigInProcess(repo, global(`${plain}[include]\n\tpath = more\n`), gitProgram())).toBeUndefined();
    expect(readConfigInProcess(repo, global(`${plain}[includeIf "gitdir:~/work/"]\n\tpath = work\n`), gitProgram())).toBeUndefined();
    expect(readConfigInProcess(repo, global(plain, { GIT_CONFIG_NOSYSTEM: '2' }), gitProgram())).toBeUndefined();
    expect(readConfigInProcess(repo, { ...global(plain), GIT_CONFIG_GLOBAL: 'gitconfig' }, gitProgram())).toBeUndefined();
    expect(readConfigInProcess(repo, global(plain, { GIT_CONFIG_NOSYSTEM: '' }), '/usr/local/bin/git')).toBeUndefined(); // its system file is elsewhere
    const linked = global('');
    rmSync(linked.GIT_CONFIG_GLOBAL!);
    writeFileSync(`${linked.GIT_CONFIG_GLOBAL!}.real`, plain);
    symlinkSync(`${linked.GIT_CONFIG_GLOBAL!}.real`, linked.GIT_CONFIG_GLOBAL!);
    expect(readConfigInProcess(repo, linked, gitProgram())).toBeUndefined();
    expect(readConfigInProcess(repo, { PATH: '/usr/bin', GIT_CONFIG_NOSYSTEM: '1' }, gitProgram())).toBeUndefined(); // no HOME
    writeFileSync(join(repoDir, '.git', 'config.worktree'), '[user]\n\tname = Worktree\n');
    try {
      expect(readConfigInProcess(await openRepo(repoDir), global(plain), gitProgram())).toBeUndefined();
    } finally {
      rmSync(join(repoDir, '.git', 'config.worktree'));
    }
  });

  it('finds the files git reads in the order it reads them', () => {
    expect(userConfigFiles({ HOME: '/h', GIT_CONFIG_NOSYSTEM: '1' }, '/usr/bin/git')).toEqual([
      { file: '/h/.config/git/config', scope: 'global' },
      { file: '/h/.gitconfig', scope: 'global' },
    ]);
    expect(userConfigFiles({ HOME: '/h', XDG_CONFIG_HOME: '/x' }, '/usr/bin/git')).toEqual([
      { file: '/etc/gitconfig', scope: 'system' },
      { file: '/x/git/config', scope: 'global' },
      { file: '/h/.gitconfig', scope: 'global' },
    ]);
    expect(userConfigFiles({ HOME: '/h', GIT_CONFIG_GLOBAL: '/g', GIT_CONFIG_NOSYSTEM: 'yes' }, undefined)).toEqual([{ file: '/g', scope: 'global' }]);
    expect(userConfigFiles({ HOME: '/h' }, undefined)).toBeUndefined();
  });
});

describe('the config a command reads', () => {
  it('ga propose reads the proposer from the config files without starting git config, and starts it for an includeIf', async () => {
    const sb = sandbox(['alice']);
    try {
      const repo = await initRepo(sb);
      const file = join(sb.dir, 'p.toml');
      writeFileSync(file, 'agent = "noop"\naction_type = "publish_content"\ntitle = "t"\n[payload]\nn = 1\n');
      const proposeTraced = async () => {
        const r = await gaProcess(['-C', repo, 'propose', '--file', file], { env: { GA_TRACE: '1' } });
        expect(r.code).toBe(0);
        const records = auditRecords(repo, 'noop');
        return { configStarted: /git config --list/.test(r.err), actor: records.at(-1)!.actor, author: gitIn(repo, 'log', '-1', '--format=%an <%ae>') };
      };
      expect(await proposeTraced()).toEqual({ configStarted: false, actor: 'human:alice@example.com', author: 'alice <alice@example.com>' });
      // An includeIf that names this repository sets another identity: git reads it, and so does the command.
      const other = join(sb.dir, 'work.gitconfig');
      writeFileSync(other, '[user]\n\temail = alice@work.example\n');
      writeFileSync(
        process.env.GIT_CONFIG_GLOBAL!,
        `${readFileSync(process.env.GIT_CONFIG_GLOBAL!, 'utf8')}[includeIf "gitdir:${repo}/"]\n\tpath = ${other}\n`,
      );
      expect(await proposeTraced()).toEqual({ configStarted: true, actor: 'human:alice@work.example', author: 'alice <alice@work.example>' });
    } finally {
      sb.cleanup();
    }
  });
});

describe('whether a branch has an upstream', () => {
  it('says there is none only where git finds none: from the config in process, and from git where an include may set one', async () => {
    const sb = sandbox([]);
    try {
      const hub = join(sb.dir, 'hub.git');
      const dir = join(sb.dir, 'clone');
      const g = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
      execFileSync('git', ['init', '-q', '--bare', hub]);
      execFileSync('git', ['init', '-q', '-b', 'main', dir]);
      g('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'one');
      g('remote', 'add', 'origin', hub);
      g('push', '-q', 'origin', 'main');
      const seen = async () => {
        const git = spawnSync('git', ['rev-parse', '-q', '--verify', '@{upstream}'], { cwd: dir }).status === 0;
        return { ga: await mayHaveUpstream(await openRepo(dir)), git };
      };
      expect(await seen(), 'pushed, no upstream set').toEqual({ ga: false, git: false });
      g('branch', '-q', '--set-upstream-to=origin/main');
      expect(await seen(), 'set in the repository').toEqual({ ga: true, git: true });
      const merge = g('config', 'branch.main.merge');
      g('config', '--unset', 'branch.main.merge');
      expect(await seen(), 'no merge, a remote alone').toEqual({ ga: false, git: false });
      // Set only in a file the global config includes (ga refuses includes in the repository's own): the in-process reader
      // stops at the include, and git decides.
      writeFileSync(join(sb.dir, 'upstream.inc'), `[branch "main"]\n\tmerge = ${merge}\n`);
      execFileSync('git', ['config', '--global', 'include.path', join(sb.dir, 'upstream.inc')]);
      expect(await seen(), 'set through an include').toEqual({ ga: true, git: true });
      execFileSync('git', ['config', '--global', '--unset', 'include.path']);
      // Set in the global file.
      execFileSync('git', ['config', '--global', 'branch.main.merge', merge]);
      expect(await seen(), 'set in the global config').toEqual({ ga: true, git: true });
      g('checkout', '-q', '--detach');
      expect(await seen(), 'HEAD detached').toEqual({ ga: false, git: false });
    } finally {
      sb.cleanup();
    }
  });
});
