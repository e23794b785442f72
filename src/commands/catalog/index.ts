// `omni unit|group|portfolio|activity|origin|contract add|list|rm`: the 4biz catalogs an
// interaction points at. One shape for all six; activities also belong to a portfolio.
import { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

interface CatalogNoun {
  kind: 'unit' | 'group' | 'portfolio' | 'activity' | 'origin' | 'contract';
  plural: string;
  description: string;
  example: string;
}

const NOUNS: CatalogNoun[] = [
  { kind: 'unit', plural: 'units', description: 'units: where requesters created from DMs are placed', example: 'Headquarters' },
  { kind: 'group', plural: 'groups', description: 'groups: people who receive the channel\'s requesters', example: 'Social Media Support' },
  { kind: 'portfolio', plural: 'portfolios', description: 'service portfolios: they hold the activities tickets are about', example: 'Customer Service' },
  { kind: 'activity', plural: 'activities', description: 'activities (in a portfolio): what a ticket opened from a DM is about', example: 'Twitter DM request' },
  { kind: 'origin', plural: 'contact origins', description: 'contact origins: where a contact came from (Twitter, E-mail, ...)', example: 'Instagram' },
  { kind: 'contract', plural: 'contracts', description: 'contracts: the agreement tickets are opened under (parameter 118)', example: 'Standard support' },
];

export function registerCatalogCommands(program: Command, run: Runner): void {
  for (const noun of NOUNS) {
    const cmd = program.command(noun.kind).description(noun.description);
    const a = noun.kind === 'activity' ? 'an' : 'a';

    const add = cmd
      .command('add')
      .description(`create ${a} ${noun.kind}`)
      .argument('<name>', 'its name (unique' + (noun.kind === 'activity' ? ' within the portfolio)' : ')'))
      .option('--json', 'print the created entry as JSON');
    const list = cmd
      .command('list')
      .alias('ls')
      .description(`list ${noun.plural}`)
      .option('--json', 'print a JSON array')
      .addHelpText('after', examples([`omni ${noun.kind} list`, `omni ${noun.kind} list --json`]));
    const rm = cmd
      .command('rm')
      .alias('remove')
      .description(`remove ${a} ${noun.kind} (refused while anything references it)`)
      .argument('<id|name>', `the ${noun.kind}'s id or name`)
      .option('--json', 'print the removed entry as JSON')
      .addHelpText('after', examples([`omni ${noun.kind} rm 3`, `omni ${noun.kind} rm "${noun.example}"`]));

    if (noun.kind === 'activity') {
      run(
        add
          .requiredOption('--portfolio <id|name>', 'the portfolio the activity belongs to')
          .addHelpText('after', examples([`omni portfolio add "Customer Service"`, `omni activity add "${noun.example}" --portfolio "Customer Service"`])),
        async () => (await import('./add.js')).addAction('activity'),
      );
      run(list.option('--portfolio <id|name>', 'only the activities of this portfolio'), async () => (await import('./list.js')).listAction('activity'));
      run(rm.option('--portfolio <id|name>', 'the portfolio, when the name exists in several'), async () => (await import('./rm.js')).rmAction('activity'));
    } else {
      const kind = noun.kind;
      run(add.addHelpText('after', examples([`omni ${kind} add "${noun.example}"`])), async () => (await import('./add.js')).addAction(kind));
      run(list, async () => (await import('./list.js')).listAction(kind));
      run(rm, async () => (await import('./rm.js')).rmAction(kind));
    }

    cmd.addHelpText('after', examples([`omni ${noun.kind} add "${noun.example}"${noun.kind === 'activity' ? ' --portfolio 1' : ''}`, `omni ${noun.kind} list --json`]));
  }
}
