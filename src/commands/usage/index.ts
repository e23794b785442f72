// `omni usage`: what X bills for the DMs, counted from what omni recorded. Flags and help only.
import { Command, Option } from '@commander-js/extra-typings';
import { examples, type Runner } from '../../cli/runner.js';

const ABOUT = `
Counted from what omni recorded, per UTC day and interaction:
  delivered  dm.received / chat.received events X delivered (webhook or stream) and omni stored
  read       DM events read from X's history by reconciliation, each once per UTC day (X's dedup)
  sent       DMs omni sent (outbox rows X accepted)
The cost is an estimate at X's published pay-per-use rates (delivered $0.010, read $0.010 per event,
sent $0.015 per DM), each a parameter: --price-* or OMNI_X_PRICE_DELIVERED / _READ / _SENT.
X's developer console is authoritative. Docs: docs/x-billing.md.
`;

export function registerUsageCommand(program: Command, run: Runner): void {
  run(
    program
      .command('usage')
      .description('what X bills for DMs (delivered, read, sent), per day or interaction, with an estimated cost')
      .option('--since <when>', 'from this time: a duration (30d, 12h) or an ISO-8601 time', '30d')
      .addOption(new Option('--by <what>', 'one row per UTC day, or per interaction').choices(['day', 'interaction']).default('day'))
      .option('--price-delivered <usd>', 'USD per delivered DM event (default 0.010)')
      .option('--price-read <usd>', 'USD per DM event read from the history (default 0.010)')
      .option('--price-sent <usd>', 'USD per DM sent (default 0.015)')
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        ABOUT +
          examples(['omni usage', 'omni usage --since 7d --by interaction', 'omni usage --since 2026-11-01 --json', 'omni usage --price-read 0.001   # the owned-read rate, if your account has it']),
      ),
    async () => (await import('./usage.js')).usageAction,
  );
}
