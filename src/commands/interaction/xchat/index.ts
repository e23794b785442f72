// `omni interaction xchat setup|status`: the account's X Chat identity (end-to-end encrypted DMs).
// A sub-noun of `interaction`; each verb's action is imported only when it runs.
import type { Command } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../../cli/runner.js';

export function registerXChatCommands(interaction: Command, run: Runner): void {
  const cmd = interaction
    .command('xchat')
    .description("X Chat (end-to-end encrypted DMs): the support account's keys, so omni can read and answer encrypted conversations");

  run(
    cmd
      .command('setup')
      .description("create the account's X Chat identity and register its public keys at X (or import a key blob X already knows); the private keys are stored encrypted")
      .argument('<id|name>', "the interaction's identifier or name")
      .option('--import-key-file <path>', 'import this 64-byte key blob (raw bytes, or base64/hex text) instead of creating keys; X must already hold its public keys')
      .option('--rotate', 'replace the existing identity with new keys (or the imported ones); spends one of X\'s few key registrations per day')
      .option('--json', 'print the identity (public material only) as JSON')
      .addHelpText(
        'after',
        `
Needs X's current API (--api activity or v2) and an OAuth 2.0 authorization with dm.write
(omni interaction authorize <id>). X allows only a few key registrations per account per 24 h:
setup refuses to register again when keys exist, unless --rotate. When X refuses a registration
(its daily limit), the keys stay stored, pending: run setup again later and it sends the same keys.
The private key blob is never printed, logged or audited; back it up with the database's key file
(see docs/xchat.md).

Once registered, setup subscribes chat.received and chat.sent where the account's DMs already go (its
webhook, or the activity stream of omni listen --stream) and says what it did; from then on omni listen
turns encrypted messages into tickets and the outbox answers them encrypted.
`,
      )
      .addHelpText(
        'after',
        examples([
          '# first time: creates keys, registers them at X, stores them encrypted',
          'omni interaction xchat setup "Support DMs"',
          '# move an identity from another installation (its public keys are registered at X already)',
          'omni interaction xchat setup 3 --import-key-file ./support-xchat.key',
          '# new keys (compromise, staff change); old conversations keep their cached keys',
          'omni interaction xchat setup 3 --rotate',
          'omni interaction xchat setup 3 --json',
        ]),
      ),
    async () => (await import('./setup.js')).setupAction,
  );

  run(
    cmd
      .command('status')
      .description('show the X Chat identity: key version, X public key version, fingerprint (never key bytes)')
      .argument('<id|name>', "the interaction's identifier or name")
      .option('--json', 'print it as JSON')
      .addHelpText('after', examples(['omni interaction xchat status 3', 'omni interaction xchat status "Support DMs" --json']))
      .addHelpText('after', '\nCompare the fingerprint out of band (e.g. with the X app\'s security code) to be sure X serves your key.\n'),
    async () => (await import('./status.js')).statusAction,
  );

  cmd.addHelpText('after', examples(['omni interaction xchat setup 3', 'omni interaction xchat status 3', 'omni interaction xchat setup 3 --rotate']));
}
