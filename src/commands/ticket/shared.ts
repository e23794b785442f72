// What the `omni ticket` verbs share: finding a ticket, addressing a DM on it, and sending one queued.
import type { Context } from '../../cli/context.js';
import { NotFoundError } from '../../errors.js';
import { getTicket, type TicketView } from '../../db/tickets.js';
import { getInteraction } from '../../db/interactions.js';
import { type OutboxRecord } from '../../db/outbox.js';
import type { Database } from '../../db/schema.js';
import type { Kysely } from 'kysely';
// Sending loads the Twitter client; `ticket list|show` must not, so it is imported when used.
const sending = () => import('../outbox/send.js');

export async function ticketOrFail(ctx: Context, id: number): Promise<TicketView> {
  const t = await getTicket((await ctx.db()).kysely, id);
  if (!t) throw new NotFoundError(`no ticket ${id}`, 'list them with: omni ticket list --status all');
  return t;
}

/** The requester's Twitter id and the interaction's account, for a DM on this ticket. */
export async function addressOf(db: Kysely<Database>, t: TicketView): Promise<{ recipient: string; account: string | null }> {
  const interaction = await getInteraction(db, t.interaction_id, true);
  return { recipient: t.requester_twitter_user_id, account: interaction?.account_user_id ?? null };
}

export async function deliver(ctx: Context, row: OutboxRecord, what: string): Promise<void> {
  const { reportQueued, reportSend, tryNow } = await sending();
  if (row.status !== 'sending') return reportQueued(ctx, what, row);
  reportSend(ctx, what, await tryNow(ctx, await ctx.db(), row));
}
