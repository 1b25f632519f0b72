// Shell completion: the scripts `ga completion` prints, and what they ask
// ga for at each Tab (yargs' commands and options, plus the pending proposal
// ids and the agents of the repository at hand). Completion reads directory
// names only: it is a convenience, never evidence, and never slow.
import { readdirSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AGENTS_DIR, AGENT_ID, PROPOSAL_ID, proposalStateDir } from '../layout/layout.js';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** The hidden command yargs' completion machinery hangs on (the scripts ask with --get-yargs-completions). */
export const COMPLETION_HOOK = '__complete';

/** Commands whose first positional is a pending proposal, or an agent. */
const TAKES_PROPOSAL = new Set(['approve', 'reject', 'show']);
const TAKES_AGENT = new Set(['run', 'pause', 'resume']);

/** The pending proposal ids or agent ids that complete `current` after `command`, read from the directory names. */
export function valuesFor(command: string | undefined, positionals: number, dir: string, current: string): string[] {
  if (!command || positionals !== 1 || current.startsWith('-')) return [];
  const names = (sub: string, dirs: boolean) => {
    try {
      return readdirSync(join(dir, sub), { withFileTypes: true })
        .filter((e) => (dirs ? e.isDirectory() : e.isFile()))
        .map((e) => e.name);
    } catch {
      return [];
    }
  };
  if (TAKES_PROPOSAL.has(command)) {
    return names(proposalStateDir('pending'), false)
      .filter((n) => n.endsWith('.toml'))
      .map((n) => n.slice(0, -'.toml'.length))
      .filter((id) => PROPOSAL_ID.test(id) && id.startsWith(current))
      .sort();
  }
  if (TAKES_AGENT.has(command)) {
    return names(AGENTS_DIR, true)
      .filter((id) => AGENT_ID.test(id) && id.startsWith(current))
      .sort();
  }
  return [];
}

/** The repository a command line names (-C), for completion. */
export function dirOf(argv: { C?: unknown }): string {
  return typeof argv.C === 'string' ? resolve(argv.C) : process.cwd();
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** How the script runs this very ga: node and the script it was started as, so npx installs complete too. */
function self(): string {
  let script = process.argv[1] ?? 'ga';
  try {
    script = realpathSync(script);
  } catch {
    // as given
  }
  return `${quote(process.execPath)} ${quote(script)}`;
}

export function completionScript(shell: Shell): string {
  const ga = self();
  if (shell === 'bash') {
    return `###-begin-ga-completions-###
# ga completion for bash. Install: ga completion bash >> ~/.bashrc
_ga_completions() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(SHELL=bash ${ga} --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _ga_completions ga
###-end-ga-completions-###
`;
  }
  return `#compdef ga
###-begin-ga-completions-###
# ga completion for zsh. Install: ga completion zsh > "\${fpath[1]}/_ga" (then compinit),
# or after compinit in ~/.zshrc: source <(ga completion zsh)
_ga_completions() {
  local reply si=$IFS
  IFS=$'\\n' reply=($(SHELL=zsh ${ga} --get-yargs-completions "\${(@)words[1,CURRENT]}" 2>/dev/null))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then _describe 'values' reply; else _default; fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _ga_completions "$@"
else
  compdef _ga_completions ga
fi
###-end-ga-completions-###
`;
}
