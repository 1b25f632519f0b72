// A command declared as data: its arguments (a yargs builder, whose types
// flow into the handler), examples for --help, and the handler. Command
// files import only this and light helpers at the top; the domain modules
// they use are imported inside `run`, so `ga --help` loads none of them.
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CommandContext } from './context.js';

/** The options every command takes (ga's own, registered once in main.ts). */
export interface GlobalOptions {
  C: string | undefined;
  json: boolean | undefined;
}

export interface Command<A extends GlobalOptions> {
  /** The yargs command string: the name and its positionals (`approve <id>`). */
  command: string;
  describe: string;
  builder: (y: Argv<GlobalOptions>) => Argv<A>;
  /** [command line, what it does] pairs shown under --help. */
  examples: [string, string][];
  run(ctx: CommandContext, args: ArgumentsCamelCase<A>): Promise<number | void>;
  /** The command records something: in a clone with a hub, publish it afterwards (best effort; claims and reservations publish themselves). */
  publishes?: boolean;
}

export function defineCommand<A extends GlobalOptions>(command: Command<A>): Command<A> {
  return command;
}
