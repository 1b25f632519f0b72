// The CLI: registers each command and loads its module only when it runs,
// so `ga --help` and `ga propose` pay only for what they use. Errors become
// one stderr line and an exit code here, and nowhere else.
import yargs, { type Argv } from 'yargs';
import { systemClock, type Clock } from '../clock.js';
import { GaError } from '../errors.js';
import { processIo, terminalIo, type Context, type Io } from './context.js';

type Handler = (ctx: Context, args: Record<string, unknown>) => Promise<number | void>;
type Loader = () => Promise<{ default: Handler }>;

export async function run(argv: string[], raw: Io = processIo, clock: Clock = systemClock): Promise<number> {
  const io = terminalIo(raw);
  let code = 0;
  const exec = (load: Loader) => async (args: Record<string, unknown>) => {
    const ctx: Context = { dir: String(args.C ?? process.cwd()), json: Boolean(args.json), io, clock };
    const handler = (await load()).default;
    code = (await handler(ctx, args)) ?? 0;
  };
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
  register(cli, exec);
  try {
    await cli.parseAsync();
    return code;
  } catch (e) {
    return report(e, io);
  }
}

class UsageErrorFromYargs extends GaError {
  constructor(msg: string) {
    super(`${msg}; see ga --help`, 2);
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

function register(cli: Argv, exec: (load: Loader) => (args: Record<string, unknown>) => Promise<void>): void {
  cli.command('init [dir]', 'scaffold the layout in one signed commit (the trust root)', (y) => y.positional('dir', { type: 'string', default: '.' }), exec(() => import('./commands/init.js')));
  cli.command('trust <commit>', 'pin the trust root for this clone', (y) => y.positional('commit', { type: 'string', demandOption: true }), exec(() => import('./commands/trust.js')));
  cli.command('demo', 'the whole loop in a temporary repository: no LLM, no key of yours', (y) => y.option('keep', { type: 'boolean', describe: 'keep the repository and print its path last' }), exec(() => import('./commands/demo.js')));
  cli.command(
    'propose',
    'submit a proposal; prints its id last',
    (y) =>
      y
        .option('file', { alias: 'f', type: 'string', describe: 'proposal TOML file, or - for stdin' })
        .option('agent', { type: 'string' })
        .option('type', { type: 'string', describe: 'action type' })
        .option('title', { type: 'string' })
        .option('rationale', { type: 'string' })
        .option('expected-outcome', { type: 'string' })
        .option('reversible', { type: 'boolean' })
        .option('requires-approval', { type: 'boolean' })
        .option('payload', { type: 'string', describe: 'payload as a JSON object' }),
    exec(() => import('./commands/propose.js')),
  );
  cli.command(
    'list',
    'proposals',
    (y) => y.option('state', { type: 'string', choices: ['pending', 'approved', 'rejected', 'executed', 'failed', 'expired'] }).option('agent', { type: 'string' }),
    exec(() => import('./commands/list.js')),
  );
  cli.command('show <id>', 'one proposal and its whole history', (y) => y.positional('id', { type: 'string', demandOption: true }), exec(() => import('./commands/show.js')));
  cli.command('approve <id>', 'approve a pending proposal (a signed commit)', (y) => y.positional('id', { type: 'string', demandOption: true }).option('reason', { type: 'string' }), exec(() => import('./commands/approve.js')));
  cli.command('reject <id>', 'reject a pending proposal (a signed commit)', (y) => y.positional('id', { type: 'string', demandOption: true }).option('reason', { type: 'string', demandOption: 'give --reason "why"' }), exec(() => import('./commands/reject.js')));
  cli.command('expire', 'move pending proposals past expires_at to expired/', (y) => y, exec(() => import('./commands/expire.js')));
  cli.command(
    'execute [id]',
    'run the hooks of validly approved proposals, exactly once',
    (y) =>
      y
        .positional('id', { type: 'string' })
        .option('all', { type: 'boolean', describe: 'every proposal in approved/' })
        .option('watch', { type: 'boolean', describe: 'keep running: execute each approval the moment it lands' })
        .option('timeout', { type: 'string', describe: 'hook timeout, such as 10m' }),
    exec(() => import('./commands/execute.js')),
  );
  cli.command('run <agent> [task]', 'run one agent on one task (task defaults to smoke)', (y) => y.positional('agent', { type: 'string', demandOption: true }).positional('task', { type: 'string', default: 'smoke' }), exec(() => import('./commands/run.js')));
  cli.command(
    'pause [agent]',
    'pause an agent (or --all) with a committed marker',
    (y) => y.positional('agent', { type: 'string' }).option('all', { type: 'boolean' }).option('reason', { type: 'string', demandOption: 'give --reason "why"' }),
    exec(() => import('./commands/pause.js')),
  );
  cli.command(
    'resume <agent>',
    'lift a pause (a signed commit); refused while the cause remains',
    (y) => y.positional('agent', { type: 'string', demandOption: true }).option('reason', { type: 'string', demandOption: 'give --reason "why"' }).option('force', { type: 'boolean', describe: 'resume even though the cause remains (recorded)' }),
    exec(() => import('./commands/resume.js')),
  );
  cli.command('status', 'health: repository, signing, trust root, watchdog, untrusted edits, counts', (y) => y, exec(() => import('./commands/status.js')));
  cli.command('watchdog', 'the watchdog daemon: pauses stuck, over-budget and looping agents', (y) => y.option('once', { type: 'boolean', describe: 'one sweep, then exit' }), exec(() => import('./commands/watchdog.js')));
  cli.command(
    'audit',
    'the trail from git: time, actor, event, proposal, agent, reason, signature',
    (y) =>
      y
        .option('agent', { type: 'string' })
        .option('event', { type: 'string' })
        .option('since', { type: 'string', describe: 'RFC 3339 time or date' })
        .option('until', { type: 'string', describe: 'RFC 3339 time or date' })
        .option('jsonl', { type: 'boolean', describe: 'one JSON object a line (export)' }),
    exec(() => import('./commands/audit.js')),
  );
  cli.command(
    'verify [range]',
    'check history against the rules; exit 1 on any finding',
    (y) =>
      y
        .positional('range', { type: 'string', describe: 'a revision range, such as origin/main..HEAD' })
        .option('trust', { type: 'string', describe: 'the trust root to check from (overrides the pin)' })
        .option('cache', { type: 'boolean', default: true, describe: 'use .ga/cache (--no-cache: check every signature afresh)' }),
    exec(() => import('./commands/verify.js')),
  );
  cli.command(
    'commit <paths..>',
    'show the diff of the named governed files and sign exactly those (nothing else staged goes with them)',
    (y) =>
      y
        .positional('paths', { type: 'string', array: true, demandOption: true })
        .option('message', { alias: 'm', type: 'string', describe: 'the commit subject' })
        .option('yes', { alias: 'y', type: 'boolean', describe: 'sign without asking' }),
    exec(() => import('./commands/commit.js')),
  );
  cli.command('scoreboard', 'per agent: spend against caps, runs, proposals, pauses', (y) => y, exec(() => import('./commands/scoreboard.js')));
}
