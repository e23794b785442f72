// `omni simulate dm`: a correctly signed, Twitter-shaped delivery to a running listener (like
// `stripe trigger`), to try the whole path without Twitter.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerSimulateCommands(program: Command, run: Runner): void {
  const simulate = program
    .command('simulate')
    .description('send signed test deliveries to a running `omni listen`')
    .addHelpText('after', examples(['omni simulate dm 1 --text "hello"']));

  run(
    simulate
      .command('dm')
      .description('post a DM to an interaction as Twitter would (signed with its API secret) and print what the listener did')
      .argument('<interaction>', 'interaction id or name')
      .option('--text <text>', 'the DM text (required unless --fixture)')
      .option('--from-id <twitter id>', 'sender Twitter user id (default: derived from --from-name)')
      .option('--from-name <screen name>', 'sender screen name', 'alice')
      .option('--event-id <id>', 'DM event id (default: a new snowflake); repeat one to see deduplication')
      .addOption(new Option('--url <url>', 'the listener (default http://$OMNI_HOST:$OMNI_PORT, i.e. http://127.0.0.1:8080)'))
      .option('--fixture <file>', 'post this recorded body byte for byte instead (signed as is)')
      .option('--json', "print the listener's answer as JSON")
      .addHelpText(
        'after',
        examples([
          'omni simulate dm 1 --text "my order did not arrive"',
          'omni simulate dm Support --text "second message" --from-name bob',
          'omni simulate dm 1 --text again --event-id 1063077238797725701   # twice: the second is a duplicate',
          'omni simulate dm 1 --fixture tests/fixtures/twitter/v1-dm-inbound-text.zammad3.body.json --json',
          'omni simulate dm 1 --text hi --url http://127.0.0.1:9000',
        ]),
      ),
    async () => (await import('./dm.js')).simulateDmAction,
  );
}
