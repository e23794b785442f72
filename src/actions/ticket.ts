// Actions of `omni ticket`. Closing writes an audit record in the same transaction.
// Replies and closing messages are queued in the outbox in the same transaction as what causes
// them. The CLI's Kysely transaction and the outbox's synchronous statements run on the one
// better-sqlite3 connection, so they commit or roll back together.
import type { Context } from '../context.js';
import { NotFoundError, OmniError, UsageError } from '../errors.js';
import { closeTicket, getTicket, listMessages, listTickets, type TicketView } from '../db/tickets.js';
import { findInteraction, getInteraction } from '../db/interactions.js';
import { findRequester } from '../db/requesters.js';
import { recordAudit } from '../db/audit.js';
import { createOutboxStore, type OutboxRecord } from '../db/outbox.js';
import type { Database } from '../db/schema.js';
import type { Kysely } from 'kysely';
import { queueTicketDm } from '../outbox/queue.js';
import { deliveryJson, requesterLabel, ticketJson, ticketWithMessagesJson } from '../tickets/model.js';
import { outboxJson } from '../outbox/model.js';
import { printJson, printTable, style, success, warn } from '../output.js';
// Sending loads the Twitter client; `ticket list|show` must not, so it is imported when used.
const sending = () => import('./outbox-send.js');
import { replyText } from './reply-text.js';

export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) throw new UsageError(`--limit must be a number from 1 to 1000, not '${value}'`);
  return Number(value);
}

export function parseId(value: string, what: string): number {
  const v = value.trim().replace(/^#/, '');
  if (!/^\d{1,15}$/.test(v) || Number(v) < 1) throw new UsageError(`${what} must be a positive number, not '${value}'`);
  return Number(v);
}

async function ticketOrFail(ctx: Context, id: number): Promise<TicketView> {
  const t = await getTicket((await ctx.db()).kysely, id);
  if (!t) throw new NotFoundError(`no ticket ${id}`, 'list them with: omni ticket list --status all');
  return t;
}

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

export async function showTicketAction(ctx: Context, [rawId]: [string], opts: { json?: boolean }): Promise<void> {
  const t = await ticketOrFail(ctx, parseId(rawId, 'the ticket id'));
  const messages = await listMessages((await ctx.db()).kysely, t.id);
  if (opts.json) return printJson(ctx, ticketWithMessagesJson(t, messages));
  const j = ticketJson(t);
  const s = style(ctx);
  const name = (r: { name: string | null } | null) => r?.name ?? '-';
  const who = requesterLabel(j.requester);
  ctx.out(`${s.bold(`Ticket #${t.id}`)}  ${t.status === 'open' ? s.green('open') : s.dim('closed')}  ${t.subject}`);
  ctx.out(`Requester    ${who}  ${s.dim(`(requester ${j.requester.id}, twitter id ${j.requester.twitterUserId})`)}`);
  ctx.out(`Interaction  #${t.interaction_id} ${t.interaction_name}`);
  ctx.out(`Unit ${name(j.unit)} · Group ${name(j.group)} · Activity ${name(j.activity)} · Origin ${name(j.contactOrigin)} · Contract ${name(j.contract)}`);
  ctx.out(`Created ${t.created_at}  Updated ${t.updated_at}${t.closed_at ? `  Closed ${t.closed_at}` : ''}`);
  ctx.out('');
  for (const m of messages) {
    const when = m.sent_at.slice(0, 19).replace('T', ' ');
    const delivery = m.direction === 'outbound' ? deliveryJson(m) : null;
    const arrow = m.direction === 'inbound' ? s.cyan(`← ${who}`) : s.magenta(delivery?.by === 'helper' ? '→ Helper' : '→ agent');
    ctx.out(`${s.dim(when)}  ${arrow}${delivery ? `  ${deliveryLabel(ctx, delivery)}` : ''}`);
    for (const line of m.text.split('\n')) ctx.out(`    ${line}`);
    for (const a of ticketWithMessagesJson(t, [m]).messages[0]!.attachments) ctx.out(s.dim(`    [${a.type}] ${a.mediaUrl ?? a.idStr ?? ''}`));
  }
  if (messages.length === 0) ctx.err('no messages');
}

function deliveryLabel(ctx: Context, d: NonNullable<ReturnType<typeof deliveryJson>>): string {
  const s = style(ctx);
  switch (d.status) {
    case 'sent':
      return s.green('[sent]');
    case 'pending':
      return s.yellow(`[pending: outbox #${d.outboxId}, next try ${d.nextAttemptAt ?? 'now'}${d.error ? `; last error: ${d.error}` : ''}]`);
    case 'sending':
      return s.yellow(`[sending: outbox #${d.outboxId}]`);
    case 'failed':
      return s.red(`[failed: ${d.error ?? 'unknown reason'}; after fixing it: omni outbox retry ${d.outboxId}]`);
  }
}

/** The requester's Twitter id and the interaction's account, for a DM on this ticket. */
async function addressOf(db: Kysely<Database>, t: TicketView): Promise<{ recipient: string; account: string | null }> {
  const interaction = await getInteraction(db, t.interaction_id, true);
  return { recipient: t.requester_twitter_user_id, account: interaction?.account_user_id ?? null };
}

export async function closeTicketAction(ctx: Context, [rawId]: [string], opts: { json?: boolean; message?: string }): Promise<void> {
  const id = parseId(rawId, 'the ticket id');
  const message = opts.message !== undefined ? opts.message.trim() : undefined;
  if (message === '') throw new UsageError('--message is empty', 'leave it out to close without a message, or give the text');
  const db = await ctx.db();
  const now = ctx.now().toISOString();
  const outbox = createOutboxStore(db.sqlite);
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
      const claimedUntil = (await sending()).claimUntil(ctx, db, t.interaction_id, recipient);
      row = queueTicketDm(outbox, { ticketId: id, interactionId: t.interaction_id, recipientTwitterId: recipient, accountTwitterId: account, text: message, now, ...(claimedUntil ? { claimedUntil } : {}) }).row;
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
  if (opts.json) printJson(ctx, { ...ticketJson(t), ...(queued ? { closingMessage: outboxJson(outbox.get(queued.id)!) } : {}) });
  if (!changed) return warn(ctx, `ticket ${id} was already closed`);
  success(ctx, `closed ticket ${id}; the requester's next DM opens a new ticket`);
  if (queued) await deliver(ctx, queued, `the closing message of ticket ${id}`);
}

async function deliver(ctx: Context, row: OutboxRecord, what: string): Promise<void> {
  const { reportQueued, reportSend, tryNow } = await sending();
  if (row.status !== 'sending') return reportQueued(ctx, what, row);
  reportSend(ctx, what, await tryNow(ctx, await ctx.db(), row));
}

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
  const now = ctx.now().toISOString();
  const outbox = createOutboxStore(db.sqlite);
  const row = await db.kysely.transaction().execute(async (trx) => {
    // Read again inside the transaction: it may have been closed while the editor was open.
    const t = await getTicket(trx, id);
    if (!t) throw new NotFoundError(`no ticket ${id}`, 'list them with: omni ticket list --status all');
    if (t.status !== 'open') throw new OmniError(`ticket ${id} was closed meanwhile, so the reply was not sent`, { hint: "the requester's next DM opens a new ticket" });
    const { recipient, account } = await addressOf(trx, t);
    const claimedUntil = (await sending()).claimUntil(ctx, db, t.interaction_id, recipient);
    const queued = queueTicketDm(outbox, { ticketId: id, interactionId: t.interaction_id, recipientTwitterId: recipient, accountTwitterId: account, text, now, ...(claimedUntil ? { claimedUntil } : {}) });
    await trx.updateTable('tickets').set({ updated_at: now }).where('id', '=', id).execute();
    return queued.row;
  });
  const what = `reply to ticket ${id} (${requesterLabel({ screenName: before.requester_screen_name, name: before.requester_name, twitterUserId: before.requester_twitter_user_id })})`;
  try {
    await deliver(ctx, row, what);
  } finally {
    if (opts.json) printJson(ctx, outboxJson(outbox.get(row.id)!));
  }
}
