// The CLI: registers each command (declared with its typed arguments in
// commands/) and runs it; a command loads the domain modules it needs only
// when it runs, so `ga --help` and `ga propose` pay only for what they use.
// Errors become one stderr line and an exit code here, and nowhere else.
import yargs, { type Argv } from 'yargs';
import { systemClock, type Clock } from '../clock.js';
import { GaError } from '../errors.js';
import type { Repo } from '../git/repo.js';
import { processIo, terminalIo, type CommandContext, type Io } from './context.js';
import type { Command, GlobalOptions } from './define.js';
import approve from './commands/approve.js';
import audit from './commands/audit.js';
import commit from './commands/commit.js';
import demo from './commands/demo.js';
import execute from './commands/execute.js';
import expire from './commands/expire.js';
import init from './commands/init.js';
import list from './commands/list.js';
import pause from './commands/pause.js';
import propose from './commands/propose.js';
import reject from './commands/reject.js';
import resume from './commands/resume.js';
import runCommand from './commands/run.js';
import scoreboard from './commands/scoreboard.js';
import show from './commands/show.js';
import status from './commands/status.js';
import trust from './commands/trust.js';
import verify from './commands/verify.js';
import watchdog from './commands/watchdog.js';

export async function run(argv: string[], raw: Io = processIo, clock: Clock = systemClock): Promise<number> {
  const io = terminalIo(raw);
  let code = 0;
  const cli = yargs(argv)
    .scriptName('ga')
    .usage('ga: a governance harness for autonomous AI agents; the governance state is this git repository.\n\nUsage: ga <command> [options]')
    .option('C', { type: 'string', describe: 'the governance repository (default: the current one)', global: true, requiresArg: true })
    .option('json', { type: 'boolean', describe: 'machine-readable output', global: true })
    .strict()
    .demandCommand(1, 'name a command; see ga --help')
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageErrorFromYargs(msg);
    });
  const register = <A extends GlobalOptions>(c: Command<A>) => {
    cli.command(
      c.command,
      c.describe,
      (y: Argv<GlobalOptions>) => c.examples.reduce((b, [cmd, what]) => b.example(cmd, what), c.builder(y)),
      async (args) => {
        const dir = args.C ?? process.cwd();
        let opened: Promise<Repo> | undefined;
        const ctx: CommandContext = {
          dir,
          json: Boolean(args.json),
          io,
          clock,
          repo: () => (opened ??= import('../git/repo.js').then((m) => m.openRepo(dir))),
        };
        code = (await c.run(ctx, args)) ?? 0;
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
  register(expire);
  register(execute);
  register(runCommand);
  register(pause);
  register(resume);
  register(status);
  register(watchdog);
  register(audit);
  register(verify);
  register(commit);
  register(scoreboard);
  try {
    await cli.parseAsync();
    return code;
  } catch (e) {
    return report(e, io);
  }
}

class UsageErrorFromYargs extends GaError {
  constructor(msg: string) {
    super(`${msg}; see ga --help`, 2, 'usage');
  }
}

function report(e: unknown, io: Io): number {
  if (e instanceof GaError) {
    io.err(`ga: ${e.message}`);
    return e.exitCode === 70 ? 70 : e.exitCode;
  }
  io.err(`ga: internal error: ${(e as Error)?.stack ?? String(e)}\nPlease report this with the command you ran.`);
  return 70;
}
