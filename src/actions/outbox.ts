// Actions of `omni outbox`.
import type { Context } from '../context.js';
import { createOutboxStore, type OutboxRecord, type OutboxStatus } from '../db/outbox.js';
import { NotFoundError, OmniError } from '../errors.js';
import { outboxJson } from '../outbox/model.js';
import { printJson, printTable, style } from '../output.js';
import { parseId, parseLimit } from './ticket.js';

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : null);

export async function listOutboxAction(
  ctx: Context,
  _args: [],
  opts: { status: OutboxStatus | 'all'; ticket?: string; limit: string; before?: string; json?: boolean },
): Promise<void> {
  const limit = parseLimit(opts.limit);
  const db = await ctx.db();
  const rows = createOutboxStore(db.sqlite).list({
    limit,
    ...(opts.status !== 'all' ? { status: opts.status } : {}),
    ...(opts.ticket !== undefined ? { ticketId: parseId(opts.ticket, '--ticket') } : {}),
    ...(opts.before !== undefined ? { beforeId: parseId(opts.before, '--before') } : {}),
  });
  if (opts.json) return printJson(ctx, rows.map(outboxJson));
  const s = style(ctx);
  printTable(
    ctx,
    [
      { header: 'id', value: (r: OutboxRecord) => r.id },
      { header: 'status', value: (r) => r.status },
      { header: 'ticket', value: (r) => (r.ticket_id !== null ? `#${r.ticket_id}` : r.conversation_id !== null ? 'helper' : null) },
      { header: 'to', value: (r) => r.recipient_twitter_id },
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

export async function retryOutboxAction(ctx: Context, [rawId]: [string], opts: { json?: boolean }): Promise<void> {
  const id = parseId(rawId, 'the outbox id');
  const db = await ctx.db();
  const outbox = createOutboxStore(db.sqlite);
  const now = ctx.now();
  const result = outbox.retry(id, now.toISOString());
  if (result === 'missing') throw new NotFoundError(`no outbox row ${id}`, 'list them with: omni outbox list');
  if (result === 'not-failed') {
    const row = outbox.get(id)!;
    throw new OmniError(`outbox row ${id} is ${row.status}, not failed`, {
      hint: row.status === 'sent' ? 'it was delivered already; nothing to retry' : 'it is still queued: omni listen delivers it (omni outbox list --status pending)',
    });
  }
  // Take it ourselves and try now; if a listener got to it first, it is in good hands too.
  // Imported here: sending loads the Twitter client, which `outbox list` does not need.
  const [{ outboxSettings }, { reportSend, tryNow }] = await Promise.all([import('../outbox/settings.js'), import('./outbox-send.js')]);
  const claimed = outbox.claimById(id, now.toISOString(), new Date(now.getTime() + outboxSettings(ctx.env).leaseMs).toISOString());
  try {
    if (claimed) reportSend(ctx, `outbox #${id}`, await tryNow(ctx, db, claimed));
    else ctx.err(`outbox #${id} is queued again; omni listen delivers it`);
  } finally {
    if (opts.json) printJson(ctx, outboxJson(outbox.get(id)!));
  }
}
