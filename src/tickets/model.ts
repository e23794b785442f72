// The JSON shapes of tickets, messages and requesters (the contract), independent of storage.
import type { Message } from '../db/schema.js';
import type { MessageView, TicketView } from '../db/tickets.js';
import type { RequesterView } from '../db/requesters.js';

const ref = (id: number | null, name: string | null) => (id === null ? null : { id, name });

export function ticketJson(t: TicketView) {
  return {
    id: t.id,
    interactionId: t.interaction_id,
    status: t.status,
    subject: t.subject,
    requester: { id: t.requester_id, twitterUserId: t.requester_twitter_user_id, screenName: t.requester_screen_name, name: t.requester_name },
    unit: ref(t.unit_id, t.unit_name),
    group: ref(t.group_id, t.group_name),
    activity: ref(t.activity_id, t.activity_name),
    contactOrigin: ref(t.contact_origin_id, t.contact_origin_name),
    contract: ref(t.contract_id, t.contract_name),
    createdAt: t.created_at,
    updatedAt: t.updated_at,
    messageCount: t.message_count,
  };
}
export type TicketJson = ReturnType<typeof ticketJson>;

export interface AttachmentJson {
  type: string;
  mediaUrl: string | null;
  idStr: string | null;
}

/** Where an outbound DM omni queued stands; null for one sent from outside omni (Twitter's own app). */
export function deliveryJson(m: MessageView) {
  if (m.outbox_id === null || m.delivery_status === null) return null;
  return {
    outboxId: m.outbox_id,
    status: m.delivery_status,
    attempts: m.delivery_attempts ?? 0,
    error: m.delivery_error,
    nextAttemptAt: m.delivery_status === 'pending' || m.delivery_status === 'sending' ? m.delivery_next_attempt_at : null,
    by: m.conversation_id !== null ? ('helper' as const) : ('agent' as const),
  };
}

export function messageJson(m: Message | MessageView) {
  let attachments: AttachmentJson[] = [];
  try {
    const parsed = JSON.parse(m.attachments) as unknown;
    if (Array.isArray(parsed)) attachments = parsed as AttachmentJson[];
  } catch {
    // A row written by hand with bad JSON: show no attachments rather than fail the transcript.
  }
  const base = { id: m.id, direction: m.direction, text: m.text, twitterEventId: m.twitter_event_id, sentAt: m.sent_at, attachments };
  // Only outbound messages have a delivery; inbound ones keep the shape they always had.
  if (m.direction !== 'outbound') return base;
  return { ...base, delivery: 'outbox_id' in m ? deliveryJson(m) : null };
}

export function ticketWithMessagesJson(t: TicketView, messages: Array<Message | MessageView>) {
  return { ...ticketJson(t), messages: messages.map(messageJson) };
}

export function requesterJson(r: RequesterView) {
  return {
    id: r.id,
    twitterUserId: r.twitter_user_id,
    screenName: r.screen_name,
    name: r.name,
    unit: ref(r.unit_id, r.unit_name),
    group: ref(r.group_id, r.group_name),
    ticketCount: r.ticket_count,
    openTicketCount: r.open_ticket_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** "@alice (Alice A.)", "@alice", "Alice A.", or the Twitter id when no profile was ever seen. */
export function requesterLabel(r: { screenName: string | null; name: string | null; twitterUserId: string }): string {
  if (r.screenName && r.name && r.name !== r.screenName) return `@${r.screenName} (${r.name})`;
  if (r.screenName) return `@${r.screenName}`;
  return r.name ?? `twitter:${r.twitterUserId}`;
}
