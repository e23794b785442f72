// `omni webhook register|status|check|delete`: wiring an interaction to X, per API generation: the
// app's webhook on /2/webhooks and the account's subscriptions (activity, v2), or the dev environment
// (v1.1 Account Activity API). Flags and help only; the actions load when a command runs.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

export function registerWebhookCommands(program: Command, run: Runner): void {
  const webhook = program
    .command('webhook')
    .description("connect an interaction to X: the app's webhook and the account's subscriptions (v1.1: the dev environment's)")
    .addHelpText(
      'after',
      examples([
        'omni webhook register 1',
        'omni webhook status 1',
        'omni webhook check 1',
        'omni webhook delete 1 --yes',
        '# X API 2026 (activity, v2): authorize the support account first',
        'omni interaction authorize 1 && omni webhook register 1',
        '# a second account of the same app shares its one webhook:',
        'omni interaction authorize Sales && omni webhook register Sales',
        '# against a test double of X:',
        'OMNI_TWITTER_API_URL=http://127.0.0.1:4010 omni webhook status 1',
      ]) +
        `
X sends a CRC request to the webhook URL (<callback URL>/webhooks/twitter/<id>) when a webhook is
registered or checked, so 'omni listen' must be running and reachable there over https, without a
port in the URL (at most 200 characters).

activity and v2 (X API 2026): an app holds ONE webhook (pay-per-use), on /2/webhooks. 'register'
reuses it when omni serves it (any interaction's URL under the same callback URL), creates it when
the app has none, and refuses another URL (--replace deletes that one). It then subscribes the
account authorized with 'omni interaction authorize': activity creates Activity API subscriptions
for dm.received and dm.sent tagged omni:<id>; v2 subscribes the account to the webhook
(subscriptions/all). 'delete' removes this interaction's subscriptions, and the webhook only when no
other interaction uses it. No public URL at all: 'omni listen --stream' (activity).
v1.1 (legacy): the webhook of the dev environment and the account's subscription, OAuth 1.0a.

Environment:
  OMNI_TWITTER_API_URL      Twitter API base URL (default https://api.twitter.com; http accepted)
  OMNI_TWITTER_TIMEOUT_MS   time limit of each Twitter request (default 15000)
`,
    );

  run(
    webhook
      .command('register')
      .description("find or register the app's webhook (v1.1: on the dev environment) and subscribe the account")
      .argument('<interaction>', 'interaction id or name')
      .option('--replace', "delete a webhook for another URL that holds the app's (v1.1: the environment's) only slot, then register ours")
      .option('--json', 'print the result as JSON')
      .addHelpText(
        'after',
        examples([
          'omni webhook register 1',
          '# the environment holds an old URL (another server, an ngrok tunnel):',
          'omni webhook register Support --replace',
          'omni webhook register 1 --json',
          '# activity/v2: the account must be authorized first',
          'omni interaction authorize 2 --no-browser && omni webhook register 2',
        ]) +
          `
  Safe to run again: a valid registration is left alone, an invalid one is re-checked (CRC), and
  subscriptions already there stay (only missing ones are created).
  `,
      ),
    async () => (await import('./register.js')).registerAction,
  );

  run(
    webhook
      .command('status')
      .description('show the webhook (valid, invalid, missing), exactly which subscriptions are missing, and the last error')
      .argument('<interaction>', 'interaction id or name')
      .option('--json', 'print the status as JSON')
      .addHelpText('after', examples(['omni webhook status 1', 'omni webhook status Support --json'])),
    async () => (await import('./status.js')).statusAction,
  );

  run(
    webhook
      .command('check')
      .description('ask X to re-validate the webhook now (CRC; PUT /2/webhooks/<id> for activity/v2); exit 1 when it is invalid')
      .argument('<interaction>', 'interaction id or name')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', examples(['omni webhook check 1', 'omni webhook check 1 --json || echo "omni listen is not reachable"'])),
    async () => (await import('./check.js')).checkAction,
  );

  run(
    webhook
      .command('delete')
      .alias('rm')
      .description("remove the account's subscriptions and the webhook (activity/v2: only when no other interaction uses it)")
      .argument('<interaction>', 'interaction id or name')
      .option('-y, --yes', 'do not ask for confirmation (required when not interactive)')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', examples(['omni webhook delete 1', 'omni webhook delete Support --yes --json'])),
    async () => (await import('./delete.js')).deleteAction,
  );

  run(
    webhook
      .command('replay')
      .description('ask X to re-send the deliveries of the last 24 hours missed while omni listen was down (X API 2026)')
      .argument('<interaction>', 'interaction id or name (the replay covers its whole webhook, shared or not)')
      .requiredOption('--since <duration|time>', 'start of the window: back from now (30m, 2h, 24h) or an ISO-8601 time, UTC unless it names an offset (2026-12-01T06:00Z)')
      .option('--until <duration|time>', 'end of the window, the same forms (default: now)')
      .option('--json', 'print the job as JSON')
      .addHelpText(
        'after',
        examples([
          'omni webhook replay 1 --since 2h',
          'omni webhook replay Support --since 2026-12-01T06:00Z --until 2026-12-01T07:30Z',
          'omni webhook replay 1 --since 24h --json',
        ]) +
          `
  X re-sends what it attempted to deliver to the webhook in the window (whole minutes, UTC), then a
  replay_job_status event; omni listen must be running to receive them, and stores each DM once.
  X replays the last 24 hours only: an older --since is refused before anything is asked of X.
  Interactions on the v1.1 API cannot replay (X retired that replay). One replay covers every
  interaction that shares the webhook (one webhook per app). omni listen asks for a replay by itself
  when it starts after being down for more than a minute (off: omni listen --no-replay).
  Prints the job id on stdout.
  `,
      ),
    async () => (await import('./replay.js')).replayAction,
  );
}
