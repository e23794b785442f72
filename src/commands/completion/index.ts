// `omni completion bash|zsh|fish`: a completion script generated from the live command tree, and the
// hidden `omni __complete interactions` the scripts call for interaction ids and names.
import { Argument, type Command, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

const SHELL_NAMES = ['bash', 'zsh', 'fish'] as const;

export function registerCompletionCommands(program: Command, run: Runner): void {
  run(
    program
      .command('completion')
      .description('print a shell completion script (commands, subcommands, flags, choices, interaction names)')
      .addArgument(new Argument('<shell>', 'the shell').choices(SHELL_NAMES))
      .addHelpText(
        'after',
        `
Install (then open a new shell):
  bash  echo 'eval "$(omni completion bash)"' >> ~/.bashrc
        # or, system-wide: omni completion bash | sudo tee /etc/bash_completion.d/omni
  zsh   echo 'eval "$(omni completion zsh)"' >> ~/.zshrc
  fish  omni completion fish > ~/.config/fish/completions/omni.fish

The script is generated from omni's own commands, so it matches the installed version: regenerate
it after an upgrade. Interaction ids and names are read from the database (--db or OMNI_DB) when
completing, e.g. omni webhook register <TAB>; nothing is completed if it cannot be read.
` + examples(['omni completion bash > ~/.local/share/bash-completion/completions/omni', 'omni completion fish | source']),
      ),
    async () => (await import('./completion.js')).completionAction(program as unknown as CommandUnknownOpts),
  );

  run(
    program
      .command('__complete', { hidden: true })
      .description('print completion candidates (used by the completion scripts)')
      .addArgument(new Argument('<what>', 'what to list').choices(['interactions'] as const))
      .addHelpText('after', examples(['omni __complete interactions    # ids, then names of live interactions, one a line'])),
    async () => (await import('./completion.js')).candidatesAction,
  );
}
