// The CLI: registers each command (declared with its typed arguments in
// commands/) and runs it; a command loads the domain modules it needs only
// when it runs, so `ga --help` and `ga propose` pay only for what they use.
// Errors become one stderr line and an exit code here, and nowhere else.
import yargs, { type Argv } from 'yargs';
import { systemClock, type Clock } from '../clock.js';
import { GaError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { checkRepoDir, processIo, terminalIo, type CommandContext, type Io } from './context.js';
import type { Command, GlobalOptions } from './define.js';
import { COMPLETION_HOOK, dirOf, valuesFor } from './completion.js';
import { gaVersion } from './version.js';
import agent from './commands/agent.js';
import approve from './commands/approve.js';
import audit from './commands/audit.js';
import commit from './commands/commit.js';
import completion from './commands/completion.js';
import demo from './commands/demo.js';
import execute from './commands/execute.js';
import expire from './commands/expire.js';
import init from './commands/init.js';
import list from './commands/list.js';
import mcp from './commands/mcp.js';
import pause from './commands/pause.js';
import propose from './commands/propose.js';
import reject from './commands/reject.js';
import reportCommand from './commands/report.js';
import reviewCommand from './commands/review.js';
import resume from './commands/resume.js';
import runCommand from './commands/run.js';
import scoreboard from './commands/scoreboard.js';
import show from './commands/show.js';
import status from './commands/status.js';
import sync from './commands/sync.js';
import trust from './commands/trust.js';
import verify from './commands/verify.js';
import watchdog from './commands/watchdog.js';

const ENVIRONMENT = [
  'Environment:',
  '  GA_CLAUDE_BIN   the claude binary the claude adapter runs (default: claude on PATH)',
  '  GA_TRACE        1: print each git command ga runs, with its time, on stderr',
  '  GA_PROGRESS_AFTER_MS  a fetch or push to the hub that runs longer shows its progress on a terminal (default 1000)',
  '  NO_COLOR        set: no colours, even on a terminal',
  '',
  'Exit codes: 0 ok, 1 refused by governance, 2 bad input or usage, 70 internal error.',
  'Docs: README.md and docs/ in the ga package; DESIGN.md for the formats.',
].join('\n');

/** The one yargs internal ga touches (see run), by yargs 18's own names; each may be missing in another version. */
interface YargsInternals {
  getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?(): void } | undefined } | undefined;
}

type Fallback = (onCompleted: (err: Error | null, found: string[] | undefined) => void) => unknown;

export async function run(argv: string[], raw: Io = processIo, clock: Clock = systemClock): Promise<number> {
  const io = terminalIo(raw);
  const json = argv.includes('--json');
  let code = 0;
  const cli = yargs(stdinValues(argv))
    .scriptName('ga')
    // ga speaks English throughout: yargs' headings and messages too, whatever the locale (and so the prebuilt --help page is the page).
    .locale('en')
    .usage('ga: a governance harness for autonomous AI agents; the governance state is this git repository.\n\nUsage: ga <command> [options]')
    .option('C', { type: 'string', describe: 'the governance repository (default: the current one)', global: true, requiresArg: true })
    .option('json', { type: 'boolean', describe: 'machine-readable output', global: true })
    .strict()
    .demandCommand(1, 'name a command; see ga --help')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(gaVersion())
    .epilogue(ENVIRONMENT)
    // What the scripts of ga completion ask at each Tab: yargs' commands and options, then ids from the repository.
    .completion(COMPLETION_HOOK, false, (current: string, argv: { _: unknown[]; C?: unknown }, defaults: Fallback, done: (c: string[]) => void) => {
      defaults((_err, found) => {
        const words = argv._.map(String);
        if (words[0] === 'ga') words.shift();
        const [command, ...rest] = words;
        if (current === '' && rest[rest.length - 1] !== '') rest.push('');
        const values = valuesFor(command, rest.length, dirOf(argv), current);
        done(values.length ? values : (found ?? []));
      });
    })
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageErrorFromYargs(usageLine(msg, argv, known));
    });
  // yargs renders the command's whole help page before each handler runs, in
  // case the handler fails later and help is to be shown; ga's fail() throws
  // instead, so the page was never used, and laying it out cost some 15 ms a
  // command. Help asked for (--help, a usage error) is rendered as before. A
  // yargs without this internal keeps its own behaviour.
  const usage = (cli as unknown as YargsInternals).getInternalMethods?.()?.getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
  // The options of the command being parsed (its builder has run by the time yargs complains), for suggestions.
  let known: string[] = ['C', 'json', 'help', 'version'];
  const register = <A extends GlobalOptions>(c: Command<A>) => {
    cli.command(
      c.command,
      c.describe,
      (y: Argv<GlobalOptions>) => {
        const built = c.examples.reduce((b, [cmd, what]) => b.example(cmd, what), c.builder(y));
        known = Object.keys((built as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
        return built;
      },
      async (args) => {
        const dir = args.C === undefined ? process.cwd() : checkRepoDir(args.C);
        let opened: Promise<Repo> | undefined;
        const ctx: CommandContext = {
          dir,
          json: Boolean(args.json),
          io,
          clock,
          repo: () => (opened ??= import('../git/repo.js').then((m) => m.openRepo(dir))),
        };
        code = (await c.run(ctx, args)) ?? 0;
        if (c.publishes && opened) {
          const { publishAfter } = await import('../hub/publish.js');
          const note = await publishAfter(await opened, clock);
          if (note) io.err(`ga: ${note}`);
        }
      },
    );
  };
  register(init);
  register(trust);
  register(demo);
  register(propose);
  register(list);
  register(show);
  register(approve);
  register(reject);
  register(reviewCommand);
  register(expire);
  register(execute);
  register(runCommand);
  register(pause);
  register(resume);
  register(status);
  register(sync);
  register(watchdog);
  register(audit);
  register(verify);
  register(commit);
  register(scoreboard);
  register(reportCommand);
  register(agent);
  register(mcp);
  register(completion);
  try {
    await cli.parseAsync();
    return code;
  } catch (e) {
    return report(e, io, json);
  }
}

/**
 * yargs' complaint as one line, with a suggestion for a mistyped command or
 * option (the hint once, not once per layer).
 */
function usageLine(msg: string, argv: string[], options: string[]): string {
  let line = msg
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
  const command = /^Did you mean (\S+)\?$/.exec(line);
  if (command) {
    const typed = argv.find((a) => !a.startsWith('-'));
    return `unknown command${typed ? ` "${typed}"` : ''}; did you mean ga ${command[1]}?`;
  }
  const unknown = /^Unknown arguments?: (.+)$/.exec(line);
  if (unknown) {
    const known = options.filter((k) => k.length > 1 && k !== '$0');
    const hints = unknown[1]!
      .split(', ')
      .map((bad) => {
        const name = bad.replace(/^-+/, '');
        const near = closest(name, known);
        return near ? `--${name}: did you mean --${near}?` : undefined;
      })
      .filter(Boolean);
    if (hints.length) line = `${line}; ${hints.join('; ')}`;
  }
  return line;
}

/** The nearest of `candidates` to `word` (edit distance at most 2, or a prefix), if any. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 1 : editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * `--file -` as `--file=-`: yargs would otherwise take the lone `-` (stdin)
 * for a stray positional instead of the option's value.
 */
function stdinValues(argv: string[]): string[] {
  return argv.flatMap((a, i) =>
    argv[i - 1] && STDIN_OPTIONS.has(argv[i - 1]!) && a === '-' ? [] : STDIN_OPTIONS.has(a) && argv[i + 1] === '-' ? [`${a}=-`] : [a],
  );
}
const STDIN_OPTIONS = new Set(['--file', '-f']);

class UsageErrorFromYargs extends GaError {
  constructor(msg: string) {
    super(/see ga --help/.test(msg) ? msg : `${msg}; see ga --help`, 2, 'usage');
  }
}

/** The error as one stderr line (with --json, one JSON object: {"error": {"code", "exit_code", "message"}}), and its exit code. */
function report(e: unknown, io: Io, json: boolean): number {
  const [exitCode, code, message] =
    e instanceof GaError
      ? [e.exitCode === 70 ? 70 : e.exitCode, e.code, e.message]
      : [70, 'internal', `internal error: ${(e as Error)?.message ?? String(e)}; please report this with the command you ran (GA_TRACE=1 shows where)`];
  if (json) io.err(JSON.stringify({ error: { code, exit_code: exitCode, message } }));
  else io.err(`ga: ${message}`);
  if (!(e instanceof GaError) && process.env.GA_TRACE) io.err(String((e as Error)?.stack ?? e));
  return exitCode;
}
