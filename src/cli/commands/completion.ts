import { defineCommand } from '../define.js';
import { completionScript, SHELLS } from '../completion.js';

export default defineCommand({
  command: 'completion [shell]',
  describe: 'print a shell completion script (bash or zsh): commands, options, pending proposal ids, agents',
  builder: (y) => y.positional('shell', { choices: SHELLS, describe: 'the shell (default: the one $SHELL names)' }),
  examples: [
    ['ga completion bash >> ~/.bashrc', 'Tab completes ga in every new bash'],
    ['source <(ga completion zsh)', 'the same in zsh, in ~/.zshrc after compinit'],
  ],
  async run(ctx, args) {
    const shell = args.shell ?? (/zsh/.test(process.env.SHELL ?? '') ? 'zsh' : 'bash');
    ctx.io.out(completionScript(shell));
  },
});
