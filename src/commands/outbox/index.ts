// `omni outbox list|retry`: the DMs omni queued (replies, closing messages, Helper answers) and their delivery.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerOutboxCommands(program: Command, run: Runner): void {
  const outbox = program
    .command('outbox')
    .description('DMs waiting to be sent or already sent: omni listen delivers them, retrying what fails for a while');

  run(
    outbox
      .command('list')
      .alias('ls')
      .description('list outbox rows, newest first')
      .addOption(new Option('--status <status>', 'which rows').choices(['pending', 'sending', 'sent', 'failed', 'all']).default('all'))
      .option('--ticket <id>', "only this ticket's DMs")
      .option('--limit <n>', 'at most this many (1-1000)', '50')
      .option('--before <id>', 'the next page: rows with an id below this one')
      .option('--json', 'print a JSON array')
      .addHelpText(
        'after',
        `
  Statuses: pending (waiting for its next try), sending (claimed by a process right now), sent,
  failed (Twitter refused it for good; the reason is shown; fix it, then: omni outbox retry <id>).
  ` +
          examples(['omni outbox list', 'omni outbox list --status failed', 'omni outbox list --ticket 12 --json']),
      ),
    async () => (await import('./list.js')).listOutboxAction,
  );

  run(
    outbox
      .command('retry')
      .description('send a failed DM again (failed → pending), trying at once')
      .argument('<id>', 'outbox row number (omni outbox list --status failed)')
      .option('--json', 'print the row as JSON afterwards')
      .addHelpText('after', examples(['omni outbox retry 7', '# after the requester opened their DMs, or the credentials were fixed'])),
    async () => (await import('./retry.js')).retryOutboxAction,
  );

  outbox.addHelpText('after', examples(['omni outbox list --status pending', 'omni outbox retry 7']));
}
