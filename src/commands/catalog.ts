// `omni unit|group|portfolio|activity|origin|contract add|list|rm`: the 4biz catalogs an
// interaction points at. One shape for all six; activities also belong to a portfolio.
import { Command } from 'commander';
import { examples, type Runner } from './run.js';

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
  const load = () => import('../actions/catalog.js');
  for (const noun of NOUNS) {
    const cmd = program.command(noun.kind).description(noun.description);
    const isActivity = noun.kind === 'activity';

    const add = cmd
      .command('add')
      .description(`create ${noun.kind === 'activity' ? 'an' : 'a'} ${noun.kind}`)
      .argument('<name>', 'its name (unique' + (isActivity ? ' within the portfolio)' : ')'))
      .option('--json', 'print the created entry as JSON');
    if (isActivity) add.requiredOption('--portfolio <id|name>', 'the portfolio the activity belongs to');
    add
      .addHelpText(
        'after',
        examples([
          ...(isActivity
            ? [`omni portfolio add "Customer Service"`, `omni activity add "${noun.example}" --portfolio "Customer Service"`]
            : [`omni ${noun.kind} add "${noun.example}"`]),
        ]),
      )
      .action(run(async () => (await load()).addAction(noun.kind)));

    const list = cmd
      .command('list')
      .alias('ls')
      .description(`list ${noun.plural}`)
      .option('--json', 'print a JSON array');
    if (isActivity) list.option('--portfolio <id|name>', 'only the activities of this portfolio');
    list
      .addHelpText('after', examples([`omni ${noun.kind} list`, `omni ${noun.kind} list --json`]))
      .action(run(async () => (await load()).listAction(noun.kind)));

    const rm = cmd
      .command('rm')
      .alias('remove')
      .description(`remove ${noun.kind === 'activity' ? 'an' : 'a'} ${noun.kind} (refused while anything references it)`)
      .argument('<id|name>', `the ${noun.kind}'s id or name`)
      .option('--json', 'print the removed entry as JSON');
    if (isActivity) rm.option('--portfolio <id|name>', 'the portfolio, when the name exists in several');
    rm
      .addHelpText('after', examples([`omni ${noun.kind} rm 3`, `omni ${noun.kind} rm "${noun.example}"`]))
      .action(run(async () => (await load()).rmAction(noun.kind)));

    cmd.addHelpText('after', examples([`omni ${noun.kind} add "${noun.example}"${isActivity ? ' --portfolio 1' : ''}`, `omni ${noun.kind} list --json`]));
  }
}
