// `omni ticket list|show|close`: the tickets the listener opened from DMs.
import { Command, Option } from 'commander';
import { examples, type Runner } from './run.js';

export function registerTicketCommands(program: Command, run: Runner): void {
  const load = () => import('../actions/ticket.js');
  const ticket = program.command('ticket').description('tickets opened from DMs: list, read the transcript, close');

  ticket
    .command('list')
    .alias('ls')
    .description('list tickets, newest first')
    .addOption(new Option('--status <status>', 'which tickets').choices(['open', 'closed', 'all']).default('open'))
    .option('--interaction <id|name>', 'only this interaction\'s tickets')
    .option('--requester <ref>', 'only this requester\'s tickets (omni id, @screen_name or tw:<twitter id>)')
    .option('--limit <n>', 'at most this many (1-1000)', '50')
    .option('--before <id>', 'the next page: tickets with an id below this one')
    .option('--json', 'print a JSON array')
    .addHelpText(
      'after',
      examples([
        'omni ticket list',
        'omni ticket list --status all --interaction Support --json',
        'omni ticket list --requester @alice',
        'omni ticket list --limit 20 --before 120   # the page after ticket 120',
      ]),
    )
    .action(run(async () => (await load()).listTicketsAction));

  ticket
    .command('show')
    .description('show a ticket and its transcript')
    .argument('<id>', 'ticket number')
    .option('--json', 'print the ticket with its messages as JSON')
    .addHelpText('after', examples(['omni ticket show 12', 'omni ticket show 12 --json']))
    .action(run(async () => (await load()).showTicketAction));

  ticket
    .command('close')
    .description('close a ticket: the requester\'s next DM opens a new one')
    .argument('<id>', 'ticket number')
    .option('--json', 'print the closed ticket as JSON')
    .addHelpText('after', examples(['omni ticket close 12']))
    .action(run(async () => (await load()).closeTicketAction));

  ticket.addHelpText('after', examples(['omni ticket list', 'omni ticket show 12', 'omni ticket close 12']));
}
