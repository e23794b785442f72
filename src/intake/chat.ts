// A verified, decrypted X Chat message (src/xchat/receive.ts) as an item of the one intake pipeline:
// the listener's main thread decrypts and checks it (receive may call X), then hands the writer this
// plain data instead of a body to parse, and the writer builds the same `Delivery` a dm.received /
// dm.sent would give: requester by the sender id, ticket, message, the Helper, dedup by the signed
// message id; a `chat.sent` is the account's own message, so it takes the echo path (linked to the
// outbox row that sent it). Nothing here decrypts or verifies: what reaches it was verified.
import type { Attachment, Delivery } from './parse.js';

/** What crosses to the writer thread for one X Chat message (structured-clone safe). */
export interface ChatWriteItem {
  direction: 'received' | 'sent';
  /** The support account (the receiver of a chat.received, the sender of a chat.sent). */
  account: string;
  senderId: string;
  /** The other participant (the customer) of the 1:1. */
  peerId: string | null;
  /** The message id the sender signed: the dedup key, stored as the message's event id. */
  messageId: string;
  conversationId: string;
  text: string;
  /** ISO-8601, from the signed event. */
  createdAt: string;
  attachments: Array<{ type: string; mediaHashKey?: string; filename?: string; filesizeBytes?: number; mediaType?: string; url?: string }>;
}

export function chatDelivery(c: ChatWriteItem): Delivery {
  const attachments: Attachment[] = c.attachments.map((a) => ({
    type: a.type,
    mediaUrl: null,
    idStr: null,
    ...(a.mediaHashKey !== undefined ? { mediaHashKey: a.mediaHashKey } : {}),
    ...(a.filename !== undefined ? { filename: a.filename } : {}),
    ...(a.filesizeBytes !== undefined ? { filesizeBytes: a.filesizeBytes } : {}),
    ...(a.mediaType !== undefined ? { mediaType: a.mediaType } : {}),
    ...(a.url !== undefined ? { url: a.url } : {}),
  }));
  return {
    format: 'x-activity',
    eventType: c.direction === 'sent' ? 'dm.sent' : 'dm.received',
    forUserId: c.account,
    items: [
      {
        kind: 'dm',
        event: {
          id: c.messageId,
          senderId: c.senderId,
          recipientId: c.direction === 'sent' ? c.peerId : c.account,
          createdAt: c.createdAt,
          text: c.text,
          attachments,
          quickReplyPayload: null,
        },
      },
    ],
    profiles: new Map(),
  };
}
