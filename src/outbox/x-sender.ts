// Sending for interactions on X's API of 2026 (`api` v2 or activity): POST
// /2/dm_conversations/with/{participant_id}/messages {"text"} with the account's OAuth 2.0 user
// token (never OAuth 1.0a), refreshed through the user-token source (one refresh on a 401, then
// "authorization lost"). X takes no quick replies there: options go out as a numbered text menu.
// The returned dm_event_id is the sent id, so the dm.sent echo links to the outbound message.
import type { Kysely } from 'kysely';
import type { SendingInteraction } from '../db/outbox.js';
import { getOAuthToken } from '../db/oauth-tokens.js';
import type { Database } from '../db/schema.js';
import { openInteractionXGateway } from '../interactions/x-gateway.js';
import type { SecretBox } from '../secrets.js';
import type { QuickReplyOption, SentDirectMessage } from '../twitter/gateway.js';
import type { XGateway } from '../twitter/gateway-v2.js';
import { numberedMenu } from './options.js';
import { UnsendableError } from './policy.js';
import { xchatConversationWith, type XChatConversation } from '../xchat/conversations.js';
import { openXChatSession, type XChatSession } from '../xchat/session.js';

/** What the outbox needs of a gateway: one DM, its id back. The v1.1 TwitterGateway is one too. */
export interface DmSender {
  sendDirectMessage(recipientId: string, text: string, options?: QuickReplyOption[]): Promise<SentDirectMessage>;
  close?(): void;
}

/** Builds the sender of a v2/activity interaction from its row (credentials still encrypted). */
export type XSenderFactory = ((row: SendingInteraction, box: SecretBox) => Promise<DmSender>) & {
  /** Wipes the X Chat keys of the senders built so far from WASM memory (the listener's shutdown). */
  close?(): void;
};

export interface XSenderOptions {
  /** The database holding oauth_tokens (the refresh is serialised through it). */
  db: () => Promise<Kysely<Database>>;
  /** OMNI_TWITTER_API_URL. */
  baseUrl: string;
  timeoutMs: number;
}

export function createXSenderFactory(o: XSenderOptions): XSenderFactory {
  const sessions = new Set<Promise<XChatSession | undefined>>();
  const factory: XSenderFactory = async (row, box) => {
    const authorize = `omni interaction authorize ${row.id}`;
    if (row.client_id_enc === null) {
      throw new UnsendableError('authorization-lost', `interaction ${row.id} has no OAuth 2.0 client id, so its X authorization cannot be used`, `authorize the support account: ${authorize}`);
    }
    const db = await o.db();
    if (!(await getOAuthToken(db, row.id))) {
      throw new UnsendableError('authorization-lost', `interaction ${row.id} has no X OAuth 2.0 authorization to send with`, `authorize the support account: ${authorize}`);
    }
    let gateway: XGateway;
    try {
      gateway = openInteractionXGateway({ db, box, baseUrl: o.baseUrl, timeoutMs: o.timeoutMs }, row);
    } catch (err) {
      throw new UnsendableError('secrets', `cannot read the credentials of interaction ${row.id}: ${(err as Error).message}`, (err as { hint?: string }).hint);
    }
    // X Chat: a customer who writes from X Chat is answered there, encrypted (docs/xchat.md). The
    // session (the account's keys in the SDK) is opened on the first such send and kept.
    let session: Promise<XChatSession | undefined> | undefined;
    const chat = async (): Promise<XChatSession> => {
      if (!session) {
        session = openXChatSession({ db, box, interactionId: row.id, api: gateway });
        sessions.add(session);
        session.catch(() => {
          sessions.delete(session!);
          session = undefined;
        });
      }
      let s: XChatSession | undefined;
      try {
        s = await session;
      } catch (err) {
        throw new UnsendableError('xchat', `cannot read the X Chat keys of interaction ${row.id}: ${(err as Error).message}`, (err as { hint?: string }).hint ?? `omni doctor ${row.id}`);
      }
      if (!s) {
        throw new UnsendableError('xchat', `the customer writes from X Chat (encrypted), but interaction ${row.id} has no active X Chat identity to answer with`, `omni interaction xchat setup ${row.id}, then omni outbox retry <id>`);
      }
      return s;
    };
    return xDmSender(gateway, {
      conversationWith: (recipientId) => xchatConversationWith(db, row.id, recipientId),
      session: chat,
    });
  };
  factory.close = () => {
    for (const s of sessions) s.then((x) => x?.dispose(), () => undefined);
    sessions.clear();
  };
  return factory;
}

/** How a sender finds the customers who write from X Chat, and the session that answers them. */
export interface XChatRoute {
  conversationWith(recipientId: string): Promise<XChatConversation | undefined>;
  session(): Promise<XChatSession>;
}

export function xDmSender(gateway: XGateway, xchat?: XChatRoute): DmSender {
  return {
    async sendDirectMessage(recipientId, text, options) {
      const conversation = await xchat?.conversationWith(recipientId);
      if (xchat && conversation) {
        // Encrypted to the conversation's newest key and signed; X's errors come through unchanged,
        // so the outbox's retry, 429 and 401 rules are the same as for a DM. The id is the signed
        // message id: the chat.sent echo links to this row by it.
        const session = await xchat.session();
        const sent = await session.send({ peerId: recipientId, text: numberedMenu(text, options ?? []), ...(conversation.conversationToken !== null ? { conversationToken: conversation.conversationToken } : {}) });
        return { id: sent.messageId, createdAt: null };
      }
      const sent = await gateway.sendDm(recipientId, numberedMenu(text, options ?? []));
      return { id: sent.dmEventId, createdAt: null };
    },
    close: () => gateway.close(),
  };
}
