// `omni requester list`: requesters, newest first, a page at a time.
import type { Context } from '../../cli/context.js';
import { listRequesters, type RequesterView } from '../../db/requesters.js';
import { requesterJson } from '../../tickets/model.js';
import { printJson, printTable, style } from '../../cli/output.js';
import { parseId, parseLimit } from '../../cli/flags.js';

export async function listRequestersAction(ctx: Context, _args: [], opts: { limit: string; before?: string; json?: boolean }): Promise<void> {
  const limit = parseLimit(opts.limit);
  const rows = await listRequesters((await ctx.db()).kysely, {
    limit,
    ...(opts.before !== undefined ? { beforeId: parseId(opts.before, '--before') } : {}),
  });
  if (opts.json) return printJson(ctx, rows.map(requesterJson));
  printTable(
    ctx,
    [
      { header: 'id', value: (r: RequesterView) => r.id },
      { header: 'twitter id', value: (r) => r.twitter_user_id },
      { header: 'screen name', value: (r) => (r.screen_name ? `@${r.screen_name}` : null) },
      { header: 'name', value: (r) => r.name },
      { header: 'unit', value: (r) => r.unit_name },
      { header: 'tickets', value: (r) => `${r.ticket_count} (${r.open_ticket_count} open)` },
    ],
    rows,
    'no requester yet; they are created when DMs arrive (omni listen)',
  );
  if (rows.length === limit) ctx.err(style(ctx).dim(`more: add --before ${rows[rows.length - 1]!.id}`));
}
