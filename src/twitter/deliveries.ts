// Twitter-shaped Account Activity deliveries (v1.1 DM events), built the way Twitter sends them:
// ids and timestamps as strings, users{} keyed by id. Used by `omni simulate` and by tests.
import crypto from 'node:crypto';

/** Twitter's epoch for snowflake ids (2010-11-04T01:42:54.657Z). */
const TWITTER_EPOCH = 1288834974657n;

// Laid out like Twitter's snowflakes: milliseconds since the epoch, a 10-bit worker (random per
// process, so two `omni simulate` runs rarely meet) and a 12-bit sequence within the millisecond.
const WORKER = BigInt(crypto.randomInt(0, 1024));
let lastMs = 0;
let sequence = 0;

/**
 * A snowflake-shaped DM event id (19 digits today, above 2^53 like the real ones), never repeated
 * within a process: ids drawn at random collided among thousands made in the same millisecond,
 * and the dedup key then (rightly) stored one message for two deliveries.
 */
export function newEventId(nowMs: number = Date.now()): string {
  let ms = Math.max(nowMs, lastMs);
  if (ms === lastMs) {
    sequence++;
    if (sequence >= 4096) {
      // Over 4,096 in one millisecond: borrow the next one, as Twitter's generators do.
      ms++;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastMs = ms;
  return (((BigInt(ms) - TWITTER_EPOCH) << 22n) | (WORKER << 12n) | BigInt(sequence)).toString();
}

export interface DmSpec {
  senderId: string;
  recipientId: string;
  text: string;
  eventId?: string;
  createdAt?: Date;
  /** t.co links in the text and what they stand for. */
  urls?: Array<{ url: string; expandedUrl: string }>;
  attachment?: { type: string; idStr: string; mediaUrlHttps: string; url?: string };
  /** The metadata of a chosen quick-reply option (message_data.quick_reply_response). */
  quickReplyResponse?: string;
}

export interface UserSpec {
  name: string;
  screenName: string;
}

export interface DeliverySpec {
  forUserId: string;
  events: DmSpec[];
  /** Profiles by id; omit a sender to simulate a missing profile. */
  users?: Record<string, UserSpec>;
}

export function dmEvent(e: DmSpec): Record<string, unknown> {
  const messageData: Record<string, unknown> = {
    text: e.text,
    entities: {
      hashtags: [],
      symbols: [],
      user_mentions: [],
      urls: (e.urls ?? []).map((u) => {
        const at = e.text.indexOf(u.url);
        return { url: u.url, expanded_url: u.expandedUrl, display_url: u.expandedUrl.replace(/^https?:\/\//, ''), indices: [at, at + u.url.length] };
      }),
    },
  };
  if (e.quickReplyResponse !== undefined) messageData.quick_reply_response = { type: 'options', metadata: e.quickReplyResponse };
  if (e.attachment) {
    messageData.attachment = {
      type: 'media',
      media: {
        id_str: e.attachment.idStr,
        media_url_https: e.attachment.mediaUrlHttps,
        url: e.attachment.url ?? 'https://t.co/media',
        type: e.attachment.type,
      },
    };
  }
  return {
    type: 'message_create',
    id: e.eventId ?? newEventId(),
    created_timestamp: String((e.createdAt ?? new Date()).getTime()),
    message_create: { target: { recipient_id: e.recipientId }, sender_id: e.senderId, message_data: messageData },
  };
}

/** The exact bytes of a delivery; sign these, not a re-serialisation. */
export function dmDeliveryBody(spec: DeliverySpec): string {
  const users: Record<string, unknown> = {};
  for (const [id, u] of Object.entries(spec.users ?? {})) {
    users[id] = { id, created_timestamp: '1290730789000', name: u.name, screen_name: u.screenName, protected: false, verified: false };
  }
  return JSON.stringify({
    for_user_id: spec.forUserId,
    direct_message_events: spec.events.map(dmEvent),
    ...(spec.users ? { users } : {}),
  });
}
