// `omni interaction new|list|show|edit|delete`: the 4biz "Omnichannel Interactions" screen.
// Flags mirror the form's fields; the four credentials come only from the environment or a file.
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';
import { registerXChatCommands } from './xchat/index.js';

const SECRETS_HELP = `
Credentials (never as flag values: they would end up in shell history and ps):
  OMNI_TWITTER_API_KEY               API key           ("Keys and tokens" in Twitter Developer)
  OMNI_TWITTER_API_SECRET            API secret key
  OMNI_TWITTER_ACCESS_TOKEN          Access token
  OMNI_TWITTER_ACCESS_TOKEN_SECRET   Access token secret
  or --secrets-file <path|->: JSON {"apiKey", "apiSecretKey", "accessToken", "accessTokenSecret"}
  ("-" reads it from stdin); the file wins over the environment, field by field.
`;

/** The flags `new` and `edit` share: one per field of the 4biz form. */
function formFlags<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(cmd: Command<Args, Opts, Globals>) {
  return cmd
    .option('--name <name>', 'Name (unique among live interactions)')
    .option('--channel <channel>', 'Interaction channel: twitter-dm (Twitter Direct Message)')
    .option('--unit <id|name>', 'Default unit: where requesters created from DMs are placed')
    .option('--group <id|name>', 'Default group of those requesters')
    .option('--activity <id|name>', 'Default activity of tickets opened from DMs')
    .option('--origin <id|name>', 'Contact origin (default for twitter-dm: Twitter)')
    .option('--helper', 'Enable interception with Helper (the chatbot answers first)')
    .option('--no-helper', 'disable interception with Helper')
    .option('--api <generation>', "X API generation: activity (X Activity API, X's current one; the default for new interactions), v2 (Account Activity API v2, deprecated by X) or v1.1 (premium Account Activity, legacy)")
    .option('--env-label <label>', 'Development environment: the "Dev environment label" in Twitter Developer (only --api v1.1 uses and requires it)')
    .option('--callback-url <url>', 'Callback URL: public https base URL of the listener')
    .option('--silence-alert <duration>', 'Silence alert: no inbound DM for this long while all else is healthy makes omni status say "silent" and notifies (90m, 6h, 2d; off; default off)')
    .option('--allow-http', 'accept an http:// callback URL (local set-ups only; Twitter requires https)')
    .option('--secrets-file <path|->', 'read the four credentials from this JSON file ("-": stdin)')
    .option('--json', 'print the interaction as JSON');
}

export function registerInteractionCommands(program: Command, run: Runner): void {
  const cmd = program
    .command('interaction')
    .description('omnichannel interactions: a Twitter account, its credentials and the helpdesk defaults for its DMs');

  run(
    formFlags(
      cmd
        .command('new')
        .description('create an interaction (a wizard on a terminal; flags and environment in scripts)'),
    )
      .addHelpText('after', SECRETS_HELP)
      .addHelpText(
        'after',
        examples([
          '# on a terminal: walks the 4biz form',
          'omni interaction new',
          '# in CI, no prompts (credentials from the environment):',
          'export OMNI_TWITTER_API_KEY=... OMNI_TWITTER_API_SECRET=... OMNI_TWITTER_ACCESS_TOKEN=... OMNI_TWITTER_ACCESS_TOKEN_SECRET=...',
          'omni --no-input interaction new --name "Support DMs" --unit HQ --group "Social Media Support" --activity "Twitter DM request" --env-label prod --callback-url https://helpdesk.example.com --json',
          '# credentials from a CI secret variable holding the JSON, through stdin:',
          'printf %s "$TWITTER_CREDENTIALS_JSON" | omni --no-input interaction new --name "Support DMs" --unit 1 --group 1 --activity 1 --env-label prod --callback-url https://helpdesk.example.com --secrets-file -',
          '# a local listener without TLS:',
          'omni interaction new --callback-url http://localhost:8080 --allow-http',
        ]),
      ),
    async () => (await import('./new.js')).newAction,
  );

  run(
    cmd
      .command('list')
      .alias('ls')
      .description('list interactions (live ones; --deleted for deleted ones)')
      .option('--name <substring>', 'only names containing this (case-insensitive)')
      .option('--channel <channel>', 'only this channel (twitter-dm)')
      .option('--unit <id|name>', 'only interactions with this default unit')
      .option('--group <id|name>', 'only interactions with this default group')
      .option('--deleted', 'list deleted interactions instead')
      .option('--json', 'print a JSON array (secrets masked)')
      .addHelpText(
        'after',
        examples(['omni interaction list', 'omni interaction list --name support --unit HQ', 'omni interaction list --deleted', 'omni interaction list --json']),
      ),
    async () => (await import('./list.js')).listAction,
  );

  run(
    cmd
      .command('show')
      .description('show one interaction, its webhook URL and webhook state')
      .argument('<id|name>', "the interaction's identifier or name")
      .option('--json', 'print it as JSON')
      .option('--show-secrets', 'show the four credentials in full (default: last characters only)')
      .addHelpText('after', examples(['omni interaction show 3', 'omni interaction show "Support DMs" --json', 'omni interaction show 3 --json --show-secrets'])),
    async () => (await import('./show.js')).showAction,
  );

  run(
    formFlags(
      cmd
        .command('edit')
        .description('change an interaction (the wizard pre-filled on a terminal; only the given flags in scripts); the identifier never changes')
        .argument('<id|name>', "the interaction's identifier or name"),
    )
      .addHelpText('after', SECRETS_HELP + '\nOn edit, only the credentials given (variables that are set, keys in the file) change.\n')
      .addHelpText(
        'after',
        examples([
          '# on a terminal: the form with the current values (empty credentials keep the current ones)',
          'omni interaction edit 3',
          'omni --no-input interaction edit "Support DMs" --group "Tier 2" --no-helper',
          '# rotate the access token only:',
          'OMNI_TWITTER_ACCESS_TOKEN=... OMNI_TWITTER_ACCESS_TOKEN_SECRET=... omni --no-input interaction edit 3',
        ]),
      ),
    async () => (await import('./edit.js')).editAction,
  );

  run(
    cmd
      .command('delete')
      .alias('rm')
      .description('delete an interaction logically: it stops receiving; its tickets and messages stay')
      .argument('<id|name>', "the interaction's identifier or name")
      .option('-y, --yes', 'do not ask (required when not interactive)')
      .option('--keep-webhook', 'leave its Twitter webhook and subscription registered (default: remove them first)')
      .option('--force', 'delete even when Twitter refuses or cannot be reached to remove the webhook')
      .option('--json', 'print the deleted interaction as JSON')
      .addHelpText(
        'after',
        examples([
          'omni interaction delete 3',
          'omni --no-input interaction delete "Support DMs" --yes',
          'omni interaction delete 3 --yes --force      # Twitter unreachable: delete anyway',
          'omni interaction list --deleted',
        ]),
      ),
    async () => (await import('./delete.js')).deleteAction,
  );

  run(
    cmd
      .command('authorize')
      .description("grant omni OAuth 2.0 access to the support account (X's current API: --api activity or v2), in a browser or from a refresh token")
      .argument('<id|name>', "the interaction's identifier or name")
      .option('--no-browser', 'only print the authorize URL; do not try to open a browser')
      .option('--redirect-port <port>', 'port of the loopback redirect http://127.0.0.1:<port>/callback (register that URI with the app)', String(8765))
      .option('--timeout <duration>', 'how long to wait for the browser to come back (30s, 5m, 1h)', '5m')
      .option('--secrets-file <path|->', 'read clientId, clientSecret and/or refreshToken from this JSON file ("-": stdin)')
      .option('--json', 'print the authorized account and scopes as JSON')
      .addHelpText(
        'after',
        `
Credentials (never as flag values):
  OMNI_TWITTER_CLIENT_ID       OAuth 2.0 Client ID (developer console › the app › Keys and tokens)
  OMNI_TWITTER_CLIENT_SECRET   OAuth 2.0 Client Secret (confidential apps only; public apps have none)
  OMNI_TWITTER_REFRESH_TOKEN   a refresh token from an earlier authorization: no browser (CI). X rotates
                               it on use, so it is spent here and omni keeps its successor
  or --secrets-file <path|->: JSON {"clientId", "clientSecret", "refreshToken"} (each optional; the file wins).
The client id and secret given are stored encrypted with the interaction; later runs reuse them.
The app needs OAuth 2.0 turned on with the callback URI http://127.0.0.1:8765/callback (exactly; X wants
127.0.0.1, not localhost) and the scopes dm.read dm.write tweet.read users.read offline.access.
OMNI_TWITTER_AUTHORIZE_URL overrides https://x.com/i/oauth2/authorize; the API base stays OMNI_TWITTER_API_URL.
`,
      )
      .addHelpText(
        'after',
        examples([
          '# on a workstation (OMNI_TWITTER_CLIENT_ID set): prints the URL and opens the browser',
          'omni interaction authorize "Support DMs"',
          '# on a server over SSH: open the printed URL on your machine with the port forwarded (ssh -L 8765:127.0.0.1:8765)',
          'omni interaction authorize 3 --no-browser',
          '# another registered callback port, a shorter wait:',
          'omni interaction authorize 3 --redirect-port 9876 --timeout 2m',
          '# CI, no browser: a refresh token from an earlier authorization',
          'printf %s "$X_OAUTH2_JSON" | omni --no-input interaction authorize 3 --secrets-file -',
        ]),
      ),
    async () => (await import('./authorize.js')).authorizeAction,
  );

  registerXChatCommands(cmd, run);

  cmd.addHelpText('after', examples(['omni interaction new', 'omni interaction authorize 3', 'omni interaction list', 'omni interaction show 3 --json', 'omni interaction edit 3', 'omni interaction delete 3 --yes']));
}
