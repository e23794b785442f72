// The JSON shape of an outbox row, for `omni outbox list --json`, `ticket show --json` and doctor.
import type { OutboxRecord } from '../db/outbox.js';
import { decodeOptions } from './options.js';

export function outboxJson(r: OutboxRecord) {
  return {
    id: r.id,
    status: r.status,
    interactionId: r.interaction_id,
    ticketId: r.ticket_id,
    messageId: r.message_id,
    conversationId: r.conversation_id,
    recipientTwitterId: r.recipient_twitter_id,
    text: r.text,
    options: decodeOptions(r.options),
    attempts: r.attempts,
    /** pending: not before; sending: when the current claim expires. */
    nextAttemptAt: r.status === 'pending' || r.status === 'sending' ? r.next_attempt_at : null,
    lastError: r.last_error,
    lastErrorKind: r.last_error_kind,
    twitterDmId: r.twitter_dm_id,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}
export type OutboxJson = ReturnType<typeof outboxJson>;
