// `omni retention show|set|run`: how long the text of closed tickets is kept (messages.retention),
// and redacting what is older (also done hourly by omni listen). docs/privacy.md.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerRetentionCommands(program: Command, run: Runner): void {
  const cmd = program
    .command('retention')
    .description('how long message text of closed tickets is kept (messages.retention, off by default)');

  run(
    cmd
      .command('show')
      .description('show the retention window')
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples(['omni retention show', 'omni retention show --json'])),
    async () => (await import('./show.js')).showRetentionAction,
  );

  run(
    cmd
      .command('set')
      .description('set the window: messages of tickets closed longer ago than this are redacted (text and attachments; ticket numbers, times and counts stay)')
      .argument('<window>', 'a duration like 90d, 12w or 36h (1h to 3650d), or off')
      .option('--json', 'print the setting after the change as JSON')
      .addHelpText('after', examples(['omni retention set 90d', 'omni retention set off'])),
    async () => (await import('./set.js')).setRetentionAction,
  );

  run(
    cmd
      .command('run')
      .description('redact now what the window says (omni listen also does it every hour)')
      .option('--dry-run', 'only print what would be redacted; change nothing')
      .option('--json', 'print the report as JSON')
      .addHelpText('after', examples(['omni retention run --dry-run', 'omni retention run', 'omni retention run --json'])),
    async () => (await import('./run.js')).runRetentionAction,
  );

  cmd.addHelpText('after', examples(['omni retention set 180d', 'omni retention run --dry-run', 'omni retention show']));
}
