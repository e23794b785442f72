// Queueing a DM that belongs to a ticket: an outbound message on the ticket (its DM id is filled in
// when Twitter answers) and the outbox row that delivers it, written together. The caller holds
// the transaction that also records what caused the DM (a reply, a close, a Helper handoff).
// A step (src/db/step.ts): the same code on both engines; queueTicketDm runs it on a SQLite store.
import type { OutboxRecord, OutboxStore } from '../db/outbox.js';
import { op, runSync, type Step } from '../db/step.js';
import type { QuickReplyOption } from '../twitter/gateway.js';
import { dmText, encodeOptions } from './options.js';

export interface TicketDm {
  ticketId: number;
  interactionId: number;
  recipientTwitterId: string;
  /** The interaction's account (the sender), when known. */
  accountTwitterId: string | null;
  text: string;
  options?: QuickReplyOption[];
  now: string;
  /** The Helper conversation that produced it (shown as the Helper's, not an agent's). */
  conversationId?: number;
  /** Claim the row for the caller at once (it will try to send it itself) until this time. */
  claimedUntil?: string;
}

export function* queueTicketDmStep(dm: TicketDm): Step<{ messageId: number; row: OutboxRecord }> {
  const text = dmText(dm.text);
  const messageId = (yield* op('outbox', 'insertTicketMessage', {
    ticketId: dm.ticketId,
    interactionId: dm.interactionId,
    direction: 'outbound',
    text,
    twitterEventId: null,
    senderTwitterId: dm.accountTwitterId,
    sentAt: dm.now,
    attachments: '[]',
    at: dm.now,
  }))!; // no event id yet, so no conflict is possible
  const row = yield* op('outbox', 'enqueue', {
    interactionId: dm.interactionId,
    ticketId: dm.ticketId,
    messageId,
    conversationId: dm.conversationId ?? null,
    recipientTwitterId: dm.recipientTwitterId,
    text,
    options: encodeOptions(dm.options),
    now: dm.now,
    ...(dm.claimedUntil ? { claimedUntil: dm.claimedUntil } : {}),
  });
  return { messageId, row };
}

export function queueTicketDm(outbox: OutboxStore, dm: TicketDm): { messageId: number; row: OutboxRecord } {
  return runSync(queueTicketDmStep(dm), { outbox });
}
