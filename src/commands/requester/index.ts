// `omni requester list|show`: the Twitter users who wrote in, created by the listener.
import { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerRequesterCommands(program: Command, run: Runner): void {
  const requester = program.command('requester').description('requesters: the Twitter users whose DMs became tickets');

  run(
    requester
      .command('list')
      .alias('ls')
      .description('list requesters, newest first')
      .option('--limit <n>', 'at most this many (1-1000)', '50')
      .option('--before <id>', 'the next page: requesters with an id below this one')
      .option('--json', 'print a JSON array')
      .addHelpText('after', examples(['omni requester list', 'omni requester list --json'])),
    async () => (await import('./list.js')).listRequestersAction,
  );

  run(
    requester
      .command('show')
      .description('show a requester and their tickets')
      .argument('<ref>', 'omni id, @screen_name, or tw:<twitter user id>')
      .option('--json', 'print the requester with their tickets as JSON')
      .addHelpText('after', examples(['omni requester show 3', 'omni requester show @alice --json', 'omni requester show tw:456'])),
    async () => (await import('./show.js')).showRequesterAction,
  );

  requester.addHelpText('after', examples(['omni requester list', 'omni requester show @alice']));
}
