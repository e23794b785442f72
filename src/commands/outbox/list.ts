// `omni outbox list`: outbox rows, newest first, a page at a time.
import type { Context } from '../../cli/context.js';
import { listOutbox, type OutboxRecord, type OutboxStatus } from '../../db/outbox.js';
import { outboxJson } from '../../outbox/model.js';
import { printJson, printTable, style } from '../../cli/output.js';
import { parseId, parseLimit } from '../../cli/flags.js';
import { screenNamesByTwitterId } from '../../db/requesters.js';

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : null);

export async function listOutboxAction(
  ctx: Context,
  _args: [],
  opts: { status: OutboxStatus | 'all'; ticket?: string; limit: string; before?: string; json?: boolean },
): Promise<void> {
  const limit = parseLimit(opts.limit);
  const db = await ctx.db();
  const rows = await listOutbox(db.kysely, {
    limit,
    ...(opts.status !== 'all' ? { status: opts.status } : {}),
    ...(opts.ticket !== undefined ? { ticketId: parseId(opts.ticket, '--ticket') } : {}),
    ...(opts.before !== undefined ? { beforeId: parseId(opts.before, '--before') } : {}),
  });
  if (opts.json) return printJson(ctx, rows.map(outboxJson));
  const s = style(ctx);
  // People know their requesters by @name; the raw Twitter id only where no name is known.
  const names = await screenNamesByTwitterId(db.kysely, rows.map((r) => r.recipient_twitter_id));
  printTable(
    ctx,
    [
      { header: 'id', value: (r: OutboxRecord) => r.id },
      { header: 'status', value: (r) => r.status },
      { header: 'ticket', value: (r) => (r.ticket_id !== null ? `#${r.ticket_id}` : r.conversation_id !== null ? 'helper' : null) },
      { header: 'to', value: (r) => { const n = names.get(r.recipient_twitter_id); return n ? `@${n}` : r.recipient_twitter_id; } },
      { header: 'tries', value: (r) => r.attempts },
      { header: 'when', value: (r) => (r.status === 'sent' ? when(r.sent_at) : r.status === 'failed' ? when(r.updated_at) : `next ${when(r.next_attempt_at)}`) },
      { header: 'text / error', value: (r) => oneLine(r.status === 'sent' || !r.last_error ? r.text : r.last_error) },
    ],
    rows,
    opts.status === 'all' ? 'the outbox is empty: replies (omni ticket reply) and Helper answers appear here' : `no ${opts.status} DM`,
  );
  if (rows.length === limit) ctx.err(s.dim(`more: add --before ${rows[rows.length - 1]!.id}`));
}

function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 60 ? t.slice(0, 59) + '…' : t;
}
