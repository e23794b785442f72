// `omni reconcile`: bring in the DMs X never delivered, from the account's DM history. Flags and help only.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

const ABOUT = `
X's delivery is not gap-free: a webhook or stream delivery X never attempted (a subscription missing
or revoked, the app out of credits, an event X lost) is never replayed. X keeps 30 days of each
account's DM history (GET /2/dm_events, the account's OAuth 2.0 token); reconcile reads it newest
first and imports every DM omni does not hold through the same intake as a delivery: same requester,
ticket and message, each DM event stored once however it arrived. The account's own DMs are echoes:
linked to the outbox rows omni sent, never customer messages. A DM that reaches omni more than
--helper-window after it was sent is filed on a ticket without a Helper answer.

Without --since it reads back to where the previous run stopped (the cursor kept per interaction;
the first run: to the first DM already stored, at most 30 days). With --since it reads the whole
window whatever is stored, finding gaps anywhere in it. omni listen does the same on start, after a
stream reconnect or webhook revalidation, and every --reconcile-every (default 15m).

With an active X Chat identity, each encrypted conversation omni knows is read too (GET
/2/chat/conversations/{id}/events), each message decrypted and verified as a delivery is (docs/xchat.md).

X bills every DM event read (once per UTC day); the summary estimates it (omni usage for the rest).
`;

export function registerReconcileCommand(program: Command, run: Runner): void {
  run(
    program
      .command('reconcile')
      .description("import the DMs X never delivered, from the account's 30-day DM history (v2/activity)")
      .argument('[interaction]', 'interaction id or name (or --all)')
      .option('--all', 'every live v2/activity interaction authorized with X OAuth 2.0')
      .option('--since <when>', 'read back to this time: a duration (30m, 2h, 7d) or an ISO-8601 time; at most 30 days (default: the stored cursor)')
      .option('--dry-run', 'list the DMs omni is missing; write nothing')
      .addOption(new Option('--helper-window <duration>', 'older DMs get no Helper answer: 15m, 1h, 0 (off) (default 15m)'))
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        ABOUT +
          examples([
            'omni reconcile 1',
            'omni reconcile support --since 7d --dry-run   # what is missing in the last week; writes nothing',
            'omni reconcile --all --since 2026-11-28T00:00Z',
            'omni reconcile --all --json',
          ]),
      ),
    async () => (await import('./reconcile.js')).reconcileAction,
  );
}
