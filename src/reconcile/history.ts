// A DM event read from X's history (GET /2/dm_events) as the X Activity API envelope X would have
// delivered for it: dm.received when a customer sent it, dm.sent when the account did. The envelope
// goes through the one intake pipeline exactly like a webhook or stream delivery (same parser, same
// dedup on the DM event id, same requester, ticket and echo rules).
import type { DmEventV2, DmUserV2 } from '../twitter/gateway-v2.js';

/** The event_uuid prefix of envelopes built from history (X's own are UUIDs): logs tell them apart. */
export const HISTORY_UUID_PREFIX = 'history-';

/** Why an event of the history cannot be imported, or undefined when it can. */
export function unusable(e: DmEventV2): string | undefined {
  if (e.eventType !== '' && e.eventType !== 'MessageCreate') return `a ${e.eventType} event, not a message`;
  if (e.senderId === null) return 'X gave no sender_id';
  return undefined;
}

/** The other participant of a one-to-one event: the participant ids, else the conversation id "a-b". */
export function recipientOf(e: DmEventV2): string | null {
  const others = e.participantIds.filter((p) => p !== e.senderId);
  if (others.length === 1) return others[0]!;
  const parts = (e.conversationId ?? '').split('-').filter((p) => /^\d+$/.test(p) && p !== e.senderId);
  return parts.length === 1 ? parts[0]! : null;
}

/** The envelope (raw JSON text) for one usable event of `account`'s history. */
export function historyEnvelope(account: string, e: DmEventV2, users: Map<string, DmUserV2>): string {
  const sender = e.senderId!;
  const recipient = recipientOf(e);
  const created = e.createdAt === null ? NaN : Date.parse(e.createdAt);
  const person = (id: string) => {
    const u = users.get(id);
    return { data: { id, ...(u?.username ? { username: u.username } : {}), ...(u?.name ? { name: u.name } : {}) } };
  };
  const event = {
    type: 'message_create',
    id: e.id,
    ...(Number.isFinite(created) ? { created_timestamp: String(created) } : {}),
    message_create: {
      ...(recipient !== null ? { target: { recipient_id: recipient } } : {}),
      sender_id: sender,
      message_data: {
        text: e.text ?? '',
        ...(e.mediaKeys.length > 0 ? { attachment: { type: 'media', media: { id_str: e.mediaKeys[0], type: 'media' } } } : {}),
      },
    },
  };
  return JSON.stringify({
    data: {
      event_type: sender === account ? 'dm.sent' : 'dm.received',
      event_uuid: `${HISTORY_UUID_PREFIX}${e.id}`,
      filter: { user_id: account },
      payload: {
        direct_message_events: [event],
        users: Object.fromEntries([sender, ...(recipient !== null ? [recipient] : [])].map((id) => [id, person(id)])),
      },
    },
  });
}
