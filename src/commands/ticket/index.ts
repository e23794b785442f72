// `omni ticket list|show|reply|close`: the tickets the listener opened from DMs.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerTicketCommands(program: Command, run: Runner): void {
  const ticket = program.command('ticket').description('tickets opened from DMs: list, read the transcript, reply, close');

  run(
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
      ),
    async () => (await import('./list.js')).listTicketsAction,
  );

  run(
    ticket
      .command('show')
      .description('show a ticket and its transcript')
      .argument('<id>', 'ticket number')
      .option('--json', 'print the ticket with its messages as JSON')
      .addHelpText('after', examples(['omni ticket show 12', 'omni ticket show 12 --json'])),
    async () => (await import('./show.js')).showTicketAction,
  );

  run(
    ticket
      .command('reply')
      .description('answer the requester by DM: queued in the outbox and sent at once (omni listen retries what fails for a while)')
      .argument('<id>', 'ticket number (an open one: a closed ticket takes no reply)')
      .argument('[text]', 'the reply; without it, read from stdin, or $EDITOR on a terminal')
      .option('--json', 'print the outbox row (delivery state) as JSON')
      .addHelpText(
        'after',
        `
  Exit status 0 when the DM was delivered or stays queued after a passing failure (rate limit,
  network: omni listen retries it); 1 when Twitter refuses it for good (the reason is printed and
  kept on the ticket: omni ticket show <id>).
  ` +
          examples([
            "omni ticket reply 12 'Your order ships today.'",
            'echo "Fixed, thanks for waiting." | omni ticket reply 12',
            'omni ticket reply 12            # opens $EDITOR on a terminal',
            '# then watch its delivery state:',
            'omni ticket show 12',
          ]),
      ),
    async () => (await import('./reply.js')).replyTicketAction,
  );

  run(
    ticket
      .command('close')
      .description('close a ticket, optionally sending a closing DM (the solution): the requester\'s next DM opens a new one')
      .argument('<id>', 'ticket number')
      .option('--message <text>', 'DM this to the requester, queued in the same transaction as the close')
      .option('--json', 'print the closed ticket as JSON')
      .addHelpText('after', examples(['omni ticket close 12', "omni ticket close 12 --message 'Solved: your refund was issued today.'"])),
    async () => (await import('./close.js')).closeTicketAction,
  );

  ticket.addHelpText('after', examples(['omni ticket list', 'omni ticket show 12', "omni ticket reply 12 'On it!'", 'omni ticket close 12']));
}
