// `omni ticket reply`: queues a DM to the requester in the same transaction as the ticket update, then tries it at once.
import type { Context } from '../../cli/context.js';
import { NotFoundError, OmniError } from '../../errors.js';
import { getTicket } from '../../db/tickets.js';
import { outboxRow } from '../../db/outbox.js';
import { runInTransaction } from '../../db/step-runner.js';
import { queueTicketDmStep } from '../../outbox/queue.js';
import { requesterLabel } from '../../tickets/model.js';
import { outboxJson } from '../../outbox/model.js';
import { printJson } from '../../cli/output.js';
// Sending loads the Twitter client; `ticket list|show` must not, so it is imported when used.
const sending = () => import('../outbox/send.js');
import { parseId } from '../../cli/flags.js';
import { replyText } from './reply-text.js';
import { ticketOrFail, addressOf, deliver } from './shared.js';

export async function replyTicketAction(ctx: Context, [rawId, rawText]: [string, string | undefined], opts: { json?: boolean }): Promise<void> {
  const id = parseId(rawId, 'the ticket id');
  const before = await ticketOrFail(ctx, id);
  if (before.status === 'closed') {
    throw new OmniError(`ticket ${id} is closed, so it takes no reply`, {
      hint: "a closed ticket stays closed (as in 4biz): the requester's next DM opens a new ticket, answer that one",
    });
  }
  const text = await replyText(ctx, rawText, `Reply to ticket #${id} (${before.subject})`);
  const db = await ctx.db();
  const now = ctx.clock().toISOString();
  const row = await db.kysely.transaction().execute(async (trx) => {
    // Read again inside the transaction: it may have been closed while the editor was open.
    const t = await getTicket(trx, id);
    if (!t) throw new NotFoundError(`no ticket ${id}`, 'list them with: omni ticket list --status all');
    if (t.status !== 'open') throw new OmniError(`ticket ${id} was closed meanwhile, so the reply was not sent`, { hint: "the requester's next DM opens a new ticket" });
    const { recipient, account } = await addressOf(trx, t);
    const claimedUntil = await (await sending()).claimUntil(ctx, trx, t.interaction_id, recipient);
    const queued = await runInTransaction(db, trx, queueTicketDmStep({ ticketId: id, interactionId: t.interaction_id, recipientTwitterId: recipient, accountTwitterId: account, text, now, ...(claimedUntil ? { claimedUntil } : {}) }));
    await trx.updateTable('tickets').set({ updated_at: now }).where('id', '=', id).execute();
    return queued.row;
  });
  const what = `reply to ticket ${id} (${requesterLabel({ screenName: before.requester_screen_name, name: before.requester_name, twitterUserId: before.requester_twitter_user_id })})`;
  try {
    await deliver(ctx, row, what);
  } finally {
    if (opts.json) printJson(ctx, outboxJson((await outboxRow(db.kysely, row.id))!));
  }
}
