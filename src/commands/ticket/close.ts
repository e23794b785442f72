// `omni ticket close`: closes a ticket (audit record in the same transaction), optionally queueing a closing DM.
import type { Context } from '../../cli/context.js';
import { NotFoundError, OmniError, UsageError } from '../../errors.js';
import { closeTicket, getTicket } from '../../db/tickets.js';
import { recordAudit } from '../../db/audit.js';
import { outboxRow, type OutboxRecord } from '../../db/outbox.js';
import { runInTransaction } from '../../db/step-runner.js';
import { queueTicketDmStep } from '../../outbox/queue.js';
import { ticketJson } from '../../tickets/model.js';
import { outboxJson } from '../../outbox/model.js';
import { printJson, success, warn } from '../../cli/output.js';
// Sending loads the Twitter client; `ticket list|show` must not, so it is imported when used.
const sending = () => import('../outbox/send.js');
import { parseId } from '../../cli/flags.js';
import { ticketOrFail, addressOf, deliver } from './shared.js';

export async function closeTicketAction(ctx: Context, [rawId]: [string], opts: { json?: boolean; message?: string }): Promise<void> {
  const id = parseId(rawId, 'the ticket id');
  const message = opts.message !== undefined ? opts.message.trim() : undefined;
  if (message === '') throw new UsageError('--message is empty', 'leave it out to close without a message, or give the text');
  const db = await ctx.db();
  const now = ctx.clock().toISOString();
  const { changed, queued } = await db.kysely.transaction().execute(async (trx) => {
    const t = await getTicket(trx, id);
    if (!t) throw new NotFoundError(`no ticket ${id}`, 'list them with: omni ticket list --status all');
    const ok = await closeTicket(trx, id, now);
    if (!ok && message !== undefined) {
      throw new OmniError(`ticket ${id} is already closed; the closing message was not sent`, {
        hint: "a closed ticket stays closed: the requester's next DM opens a new ticket, answer that one",
      });
    }
    let row: OutboxRecord | undefined;
    if (ok && message !== undefined) {
      const { recipient, account } = await addressOf(trx, t);
      const claimedUntil = await (await sending()).claimUntil(ctx, trx, t.interaction_id, recipient);
      row = (await runInTransaction(db, trx, queueTicketDmStep({ ticketId: id, interactionId: t.interaction_id, recipientTwitterId: recipient, accountTwitterId: account, text: message, now, ...(claimedUntil ? { claimedUntil } : {}) }))).row;
    }
    if (ok) {
      await recordAudit(trx, {
        at: now,
        actor: ctx.actor,
        entity: 'ticket',
        entityId: id,
        action: 'close',
        changes: { status: 'closed', ...(row ? { closingMessage: { outboxId: row.id } } : {}) },
      });
    }
    return { changed: ok, queued: row };
  });
  const t = await ticketOrFail(ctx, id);
  if (opts.json) printJson(ctx, { ...ticketJson(t), ...(queued ? { closingMessage: outboxJson((await outboxRow(db.kysely, queued.id))!) } : {}) });
  if (!changed) return warn(ctx, `ticket ${id} was already closed`);
  success(ctx, `closed ticket ${id}; the requester's next DM opens a new ticket`);
  if (queued) await deliver(ctx, queued, `the closing message of ticket ${id}`);
}
