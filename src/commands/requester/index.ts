// `omni requester list|show|export|erase`: the Twitter users who wrote in, created by the listener;
// export and erase answer their access and erasure requests (docs/privacy.md).
import { Command, Option } from '@commander-js/extra-typings';
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

  run(
    requester
      .command('export')
      .description("everything omni holds about one requester (an access or portability request): requester, tickets and every message, Helper exchanges, outbox rows to them, audit entries about them")
      .argument('<ref>', 'omni id, @screen_name, or tw:<twitter user id> (a bare number that is no omni id is taken as a Twitter id)')
      .option('--out <file>', 'write to this file (created 0600; refuses to overwrite); - or none: stdout')
      .addOption(new Option('--format <format>', 'json: one document; ndjson: one record a line').choices(['json', 'ndjson'] as const).default('json' as const))
      .option('--json', 'with --out <file>: print a JSON summary of what was written on stdout')
      .addHelpText(
        'after',
        `
  The shape is versioned ("format": "omni.requester-export", "version": 1) and documented in
  docs/privacy.md. It holds nothing about anyone else.
` + examples(['omni requester export @alice --out alice.json', 'omni requester export tw:456 --format ndjson > 456.ndjson', 'omni requester export 3 --out - | jq .tickets[].subject']),
      ),
    async () => (await import('./export.js')).exportRequesterAction,
  );

  run(
    requester
      .command('erase')
      .description("erase one requester's personal data for good (an erasure request): names, handles, message text, attachments, Helper transcripts, outbox payloads; ticket numbers and counts stay, and their erased DMs are never stored again")
      .argument('<ref>', 'omni id, @screen_name, or tw:<twitter user id>')
      .option('--yes', 'do not ask for confirmation (required when not interactive)')
      .option('--reason <text>', 'why, for the audit trail (e.g. "erasure request #2026-114"); put no personal data in it')
      .option('--vacuum', 'SQLite: also rebuild the database file (VACUUM), for files written before omni turned secure_delete on (before 0.2); locks the file while it runs')
      .option('--json', 'print what was erased as JSON')
      .addHelpText(
        'after',
        `
  Irreversible. omni keeps keyed hashes of the erased DM event ids (and nothing else), so a replayed
  or late delivery of one is dropped. A new DM from the same account starts a new requester.
  Export first if the person asked for a copy too. Backups still hold the data: see docs/privacy.md.
` + examples(['omni requester erase @alice --reason "erasure request 2026-114"', 'omni requester erase tw:456 --yes --reason "GDPR art. 17 request" --json']),
      ),
    async () => (await import('./erase.js')).eraseRequesterAction,
  );

  requester.addHelpText('after', examples(['omni requester list', 'omni requester show @alice', 'omni requester export @alice --out alice.json', 'omni requester erase @alice --reason "erasure request"']));
}
