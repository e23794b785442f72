// `omni requester show`: a requester and their tickets.
import type { Context } from '../../cli/context.js';
import { NotFoundError } from '../../errors.js';
import { findRequester } from '../../db/requesters.js';
import { listTickets } from '../../db/tickets.js';
import { requesterJson, ticketJson } from '../../tickets/model.js';
import { printJson, printTable, style } from '../../cli/output.js';
import { terminalSafe as safe } from '../../terminal-text.js';

export async function showRequesterAction(ctx: Context, [ref]: [string], opts: { json?: boolean }): Promise<void> {
  const db = (await ctx.db()).kysely;
  const r = await findRequester(db, ref);
  if (!r) throw new NotFoundError(`no requester '${ref}'`, 'list them with: omni requester list (refer to one by id, @screen_name or tw:<twitter id>)');
  const tickets = await listTickets(db, { requesterId: r.id, limit: 50 });
  if (opts.json) return printJson(ctx, { ...requesterJson(r), tickets: tickets.map(ticketJson) });
  const s = style(ctx);
  ctx.out(`${s.bold(`Requester ${r.id}`)}  ${safe(r.screen_name ? `@${r.screen_name}` : '-')}  ${safe(r.name ?? '')}`);
  ctx.out(`Twitter id ${r.twitter_user_id} · Unit ${safe(r.unit_name ?? '-')} · Group ${safe(r.group_name ?? '-')}`);
  ctx.out(`First seen ${r.created_at}  Updated ${r.updated_at}`);
  ctx.out('');
  printTable(
    ctx,
    [
      { header: 'ticket', value: (t: (typeof tickets)[number]) => t.id },
      { header: 'status', value: (t) => t.status },
      { header: 'interaction', value: (t) => `${t.interaction_id} ${t.interaction_name}` },
      { header: 'msgs', value: (t) => t.message_count },
      { header: 'subject', value: (t) => t.subject },
    ],
    tickets,
    'no tickets',
  );
}
