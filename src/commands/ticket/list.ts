// `omni ticket list`: tickets, newest first, a page at a time.
import type { Context } from '../../cli/context.js';
import { NotFoundError } from '../../errors.js';
import { listTickets, type TicketView } from '../../db/tickets.js';
import { findInteraction } from '../../db/interactions.js';
import { findRequester } from '../../db/requesters.js';
import { requesterLabel, ticketJson } from '../../tickets/model.js';
import { printJson, printTable, style } from '../../cli/output.js';
import { parseId, parseLimit } from '../../cli/flags.js';

export async function listTicketsAction(
  ctx: Context,
  _args: [],
  opts: { status: 'open' | 'closed' | 'all'; interaction?: string; requester?: string; limit: string; before?: string; json?: boolean },
): Promise<void> {
  const limit = parseLimit(opts.limit);
  const beforeId = opts.before !== undefined ? parseId(opts.before, '--before') : undefined;
  const db = (await ctx.db()).kysely;
  const interaction = opts.interaction ? await findInteraction(db, opts.interaction, true) : undefined;
  const requester = opts.requester ? await findRequester(db, opts.requester) : undefined;
  if (opts.requester && !requester) throw new NotFoundError(`no requester '${opts.requester}'`, 'list them with: omni requester list');
  const rows = await listTickets(db, {
    limit,
    ...(opts.status !== 'all' ? { status: opts.status } : {}),
    ...(interaction ? { interactionId: interaction.id } : {}),
    ...(requester ? { requesterId: requester.id } : {}),
    ...(beforeId !== undefined ? { beforeId } : {}),
  });
  if (opts.json) return printJson(ctx, rows.map(ticketJson));
  const filtered = opts.interaction || opts.requester || beforeId !== undefined;
  printTable(
    ctx,
    [
      { header: 'ticket', value: (t: TicketView) => t.id },
      { header: 'status', value: (t) => t.status },
      { header: 'interaction', value: (t) => `${t.interaction_id} ${t.interaction_name}` },
      { header: 'requester', value: (t) => requesterLabel({ screenName: t.requester_screen_name, name: t.requester_name, twitterUserId: t.requester_twitter_user_id }) },
      { header: 'msgs', value: (t) => t.message_count },
      { header: 'updated', value: (t) => t.updated_at.slice(0, 19).replace('T', ' ') },
      { header: 'subject', value: (t) => (t.subject.length > 50 ? t.subject.slice(0, 49) + '…' : t.subject) },
    ],
    rows,
    filtered || opts.status !== 'open'
      ? 'no ticket matches'
      : 'no open ticket; DMs become tickets while omni listen runs (try: omni simulate dm <interaction> --text hello)',
  );
  if (rows.length === limit) ctx.err(style(ctx).dim(`more: add --before ${rows[rows.length - 1]!.id}`));
}
