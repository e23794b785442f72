// `omni notify set|show|unset`: the URLs every `omni listen` on this database POSTs health
// transitions to (besides its --notify flags). The URLs are secrets: stored encrypted, shown masked.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerNotifyCommands(program: Command, run: Runner): void {
  const cmd = program
    .command('notify')
    .description('where omni listen POSTs account health transitions (stored encrypted; also omni listen --notify)');

  run(
    cmd
      .command('set')
      .description('replace the stored notification URLs (Slack or Mattermost incoming webhooks, or any URL taking JSON)')
      .argument('<url...>', 'one or more http(s) URLs')
      .option('--json', 'print the result as JSON (URLs masked)')
      .addHelpText('after', examples(['omni notify set https://hooks.slack.com/services/T0/B0/XXXX', 'omni notify set https://chat.example.com/hooks/abc https://ops.example.com/omni'])),
    async () => (await import('./notify.js')).setNotifyAction,
  );
  run(
    cmd
      .command('show')
      .description('the stored notification URLs, masked')
      .option('--json', 'print them as JSON (masked)')
      .addHelpText('after', examples(['omni notify show', 'omni notify show --json'])),
    async () => (await import('./notify.js')).showNotifyAction,
  );
  run(
    cmd
      .command('unset')
      .description('remove the stored notification URLs (--notify flags still apply)')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', examples(['omni notify unset'])),
    async () => (await import('./notify.js')).unsetNotifyAction,
  );
  cmd.addHelpText(
    'after',
    `
Each listener POSTs {"text","interaction","state","edge","since"} once when an interaction enters an
unhealthy state and once when it leaves it (docs/monitoring.md). Several listeners on one database
send each transition once.
` + examples(['omni notify set https://hooks.slack.com/services/T0/B0/XXXX', 'omni notify show', 'omni listen --notify https://ops.example.com/omni']),
  );
}
