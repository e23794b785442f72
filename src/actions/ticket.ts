// Actions of `omni ticket`. Closing writes an audit record in the same transaction.
import type { Context } from '../context.js';
import { NotFoundError, UsageError } from '../errors.js';
import { closeTicket, getTicket, listMessages, listTickets, type TicketView } from '../db/tickets.js';
import { findInteraction } from '../db/interactions.js';
import { findRequester } from '../db/requesters.js';
import { recordAudit } from '../db/audit.js';
import { requesterLabel, ticketJson, ticketWithMessagesJson } from '../tickets/model.js';
import { printJson, printTable, style, success, warn } from '../output.js';

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
    const arrow = m.direction === 'inbound' ? s.cyan(`← ${who}`) : s.magenta('→ agent');
    ctx.out(`${s.dim(when)}  ${arrow}`);
    for (const line of m.text.split('\n')) ctx.out(`    ${line}`);
    for (const a of ticketWithMessagesJson(t, [m]).messages[0]!.attachments) ctx.out(s.dim(`    [${a.type}] ${a.mediaUrl ?? a.idStr ?? ''}`));
  }
  if (messages.length === 0) ctx.err('no messages');
}

export async function closeTicketAction(ctx: Context, [rawId]: [string], opts: { json?: boolean }): Promise<void> {
  const id = parseId(rawId, 'the ticket id');
  const db = (await ctx.db()).kysely;
  const now = ctx.now().toISOString();
  const changed = await db.transaction().execute(async (trx) => {
    const t = await getTicket(trx, id);
    if (!t) throw new NotFoundError(`no ticket ${id}`, 'list them with: omni ticket list --status all');
    const ok = await closeTicket(trx, id, now);
    if (ok) await recordAudit(trx, { at: now, actor: ctx.actor, entity: 'ticket', entityId: id, action: 'close', changes: { status: 'closed' } });
    return ok;
  });
  const t = await ticketOrFail(ctx, id);
  if (opts.json) printJson(ctx, ticketJson(t));
  if (changed) success(ctx, `closed ticket ${id}; the requester's next DM opens a new ticket`);
  else warn(ctx, `ticket ${id} was already closed`);
}
