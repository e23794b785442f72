// An encrypted X Chat message from the account, ready for and sent to
// `POST /2/chat/conversations/{id}/messages`: encrypted and signed under the conversation's newest key
// (X refuses older ones), as a reply to the customer's event when there is one. When omni starts a
// conversation (no key yet), it first creates a conversation key for both participants, posts the
// signed key change (`POST …/keys`) and saves the key to the encrypted cache, in that order: a key X
// never accepted is never used. The outbox calls `sendChatMessage`; its retry and rate-limit rules
// stay the outbox's (errors from X come through unchanged).
import { OmniError } from '../errors.js';
import type { ConversationKeyCache, SigningKeyDirectory, XChatApi } from './keys.js';
import { canonicalConversationId, type OutgoingAttachment, type OutgoingChatMessage, type XChatIdentity } from './sdk.js';

export interface SendDeps {
  identity: XChatIdentity;
  directory: SigningKeyDirectory;
  keys: ConversationKeyCache;
  api: Pick<XChatApi, 'postChatConversationKey' | 'sendChatMessage'>;
}

export interface ChatSendRequest {
  /** The customer (the other participant of the 1:1). */
  peerId: string;
  text: string;
  /** The customer's raw `encoded_event` to answer (encryptReply); absent for a new message. */
  replyToEvent?: string;
  /** X's `conversation_token` of the conversation, when known. */
  conversationToken?: string;
  attachments?: OutgoingAttachment[];
}

export interface ChatSendResult {
  conversationId: string;
  urlConversationId: string;
  /** The message id omni signed (what X and the customer's app know it by). */
  messageId: string;
  conversationKeyVersion: string;
  /** A conversation key omni created and posted before this message. */
  createdKeyVersion: string | undefined;
  /** The sent event as X stored it (base64), when X answered it. */
  encodedMessageEvent: string | null;
}

/** Encrypts `text` for the conversation with `peerId` (creating its key first when there is none). */
export async function prepareChatMessage(deps: Omit<SendDeps, 'api'> & { api: Pick<XChatApi, 'postChatConversationKey'> }, r: ChatSendRequest): Promise<{ message: OutgoingChatMessage; createdKeyVersion: string | undefined }> {
  const conversationId = canonicalConversationId(deps.identity.userId, r.peerId);
  const ring = await deps.keys.ring(conversationId);
  let createdKeyVersion: string | undefined;
  if (ring.latestVersion() === undefined) {
    const peer = await deps.directory.latestOf(r.peerId);
    if (!peer) {
      throw new OmniError(`user ${r.peerId} has no X Chat keys omni can trust, so no conversation key can be created for them`, {
        hint: 'they have to open X Chat once (or register their keys again); until then answer them by a classic DM',
      });
    }
    const prepared = deps.identity.prepareConversationKey({ userId: r.peerId, publicKey: peer.identityPublicKey, publicKeyVersion: peer.publicKeyVersion }, ring);
    await deps.api.postChatConversationKey(prepared.urlConversationId, prepared.request);
    await deps.keys.save(ring, 'created');
    createdKeyVersion = prepared.conversationKeyVersion;
  }
  const message = deps.identity.encryptMessage(ring, r.text, {
    ...(r.replyToEvent !== undefined ? { replyToEvent: r.replyToEvent } : {}),
    ...(r.attachments !== undefined ? { attachments: r.attachments } : {}),
  });
  return { message, createdKeyVersion };
}

/** Prepares and sends one message; errors from X (rate limits, refusals) are thrown unchanged for the outbox's rules. */
export async function sendChatMessage(deps: SendDeps, r: ChatSendRequest): Promise<ChatSendResult> {
  const { message, createdKeyVersion } = await prepareChatMessage(deps, r);
  const sent = await deps.api.sendChatMessage(message.urlConversationId, {
    ...message.body,
    ...(r.conversationToken !== undefined ? { conversation_token: r.conversationToken } : {}),
  });
  return {
    conversationId: message.conversationId,
    urlConversationId: message.urlConversationId,
    messageId: message.body.message_id,
    conversationKeyVersion: message.conversationKeyVersion,
    createdKeyVersion,
    encodedMessageEvent: sent.encodedMessageEvent,
  };
}
