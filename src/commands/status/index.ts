// `omni status [<id|name>] [--json] [--watch]`: the live health of each interaction as the running
// listeners recorded it in the database. Flags and help only; the action is lazy.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

const MORE = `
What it shows, per interaction (docs/monitoring.md): the X API generation; the OAuth 2.0
authorization (ok, expires in, refreshed at, lost); the webhook (valid, last CRC answered); the
subscriptions (present, which are missing); the stream (connected since); the last DM received and
DMs today; the last reconcile (when, how many found); the outbox backlog and its oldest row;
rejected events (24 h); the last refusal of X, named (credits depleted: HTTP 402, app not enrolled:
client-not-enrolled, rate limited until …); silence ("silent for 7h") past the interaction's
silence alert (omni interaction edit <id> --silence-alert 6h).

Nothing is asked of X: omni listen (its watchdog, outbox, stream) records what it sees, so this
command run anywhere on the same database tells the same story.

Exit status: 0 when every interaction shown is healthy, 1 when any is in an unhealthy state
(authorization lost, webhook invalid, subscription missing, credits depleted, app not enrolled,
silence, outbox stuck): usable from cron and CI.
`;

export function registerStatusCommand(program: Command, run: Runner): void {
  run(
    program
      .command('status')
      .description("the live health of each interaction, as the running listeners recorded it (exit 1 when any is unhealthy)")
      .argument('[interaction]', 'id or name; default: every live interaction')
      .option('--json', 'print it as JSON')
      .option('--watch', 'redraw every --interval until interrupted (Ctrl-C)')
      .addOption(new Option('--interval <duration>', 'with --watch: how often, 1s to 1h (default 5s)'))
      .addHelpText(
        'after',
        MORE +
          examples([
            'omni status',
            'omni status support --json',
            'omni status --watch --interval 10s',
            'omni status >/dev/null || echo "an X account needs attention"   # cron',
          ]),
      ),
    async () => (await import('./status.js')).statusAction,
  );
}
