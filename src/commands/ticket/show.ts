// `omni ticket show`: a ticket and its transcript, with the delivery state of each DM sent.
import type { Context } from '../../cli/context.js';
import { listMessages } from '../../db/tickets.js';
import { deliveryJson, requesterLabel, ticketJson, ticketWithMessagesJson } from '../../tickets/model.js';
import { printJson, style } from '../../cli/output.js';
import { parseId } from '../../cli/flags.js';
import { ticketOrFail } from './shared.js';
import { terminalSafe as safe, terminalSafeLines } from '../../terminal-text.js';

export async function showTicketAction(ctx: Context, [rawId]: [string], opts: { json?: boolean }): Promise<void> {
  const t = await ticketOrFail(ctx, parseId(rawId, 'the ticket id'));
  const messages = await listMessages((await ctx.db()).kysely, t.id);
  if (opts.json) return printJson(ctx, ticketWithMessagesJson(t, messages));
  const j = ticketJson(t);
  const s = style(ctx);
  // Names, subjects and DM text come from Twitter users: shown, never obeyed (control characters).
  const name = (r: { name: string | null } | null) => safe(r?.name ?? '-');
  const who = safe(requesterLabel(j.requester));
  ctx.out(`${s.bold(`Ticket #${t.id}`)}  ${t.status === 'open' ? s.green('open') : s.dim('closed')}  ${safe(t.subject)}`);
  ctx.out(`Requester    ${who}  ${s.dim(`(requester ${j.requester.id}, twitter id ${j.requester.twitterUserId})`)}`);
  ctx.out(`Interaction  #${t.interaction_id} ${safe(t.interaction_name)}`);
  ctx.out(`Unit ${name(j.unit)} · Group ${name(j.group)} · Activity ${name(j.activity)} · Origin ${name(j.contactOrigin)} · Contract ${name(j.contract)}`);
  ctx.out(`Created ${t.created_at}  Updated ${t.updated_at}${t.closed_at ? `  Closed ${t.closed_at}` : ''}`);
  ctx.out('');
  for (const m of messages) {
    const when = m.sent_at.slice(0, 19).replace('T', ' ');
    const delivery = m.direction === 'outbound' ? deliveryJson(m) : null;
    const arrow = m.direction === 'inbound' ? s.cyan(`← ${who}`) : s.magenta(delivery?.by === 'helper' ? '→ Helper' : '→ agent');
    ctx.out(`${s.dim(when)}  ${arrow}${delivery ? `  ${deliveryLabel(ctx, delivery)}` : ''}`);
    for (const line of terminalSafeLines(m.text)) ctx.out(`    ${line}`);
    for (const a of ticketWithMessagesJson(t, [m]).messages[0]!.attachments) ctx.out(s.dim(safe(`    [${a.type}] ${a.mediaUrl ?? a.idStr ?? ''}`)));
  }
  if (messages.length === 0) ctx.err('no messages');
}

function deliveryLabel(ctx: Context, d: NonNullable<ReturnType<typeof deliveryJson>>): string {
  const s = style(ctx);
  switch (d.status) {
    case 'sent':
      return s.green('[sent]');
    case 'pending':
      return s.yellow(`[pending: outbox #${d.outboxId}, next try ${d.nextAttemptAt ?? 'now'}${d.error ? `; last error: ${safe(d.error)}` : ''}]`);
    case 'sending':
      return s.yellow(`[sending: outbox #${d.outboxId}]`);
    case 'failed':
      return s.red(`[failed: ${safe(d.error ?? 'unknown reason')}; after fixing it: omni outbox retry ${d.outboxId}]`);
  }
}
