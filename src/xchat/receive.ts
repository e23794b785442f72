// From a `chat.received` / `chat.sent` Activity API event to what the intake pipeline takes: a
// verified, decrypted message (sender, conversation, the signed message id for dedup, text, time,
// attachment metadata) or a refusal with its reason. Key changes come first: the payload's
// `conversation_key_change_event`, and when the key a message needs is still unknown, the
// conversation's key change events from X's history; only verified key changes add keys, and the keys
// learned are saved to the encrypted cache before the message is decrypted. Fails closed: nothing that
// did not verify is ever returned as the sender's words. Pure of HTTP and SQL except through the
// injected `XChatApi`, `SigningKeyDirectory` and `ConversationKeyCache`.
import { OmniError } from '../errors.js';
import type { ConversationKeyCache, SigningKeyDirectory, XChatApi } from './keys.js';
import { signedConversationId, urlConversationId, type ChatAttachment, type RejectReason, type Rejection, type SigningKey, type XChatIdentity } from './sdk.js';
import { decodeMessageEvent, fromBase64 } from './thrift.js';

export const CHAT_EVENT_TYPES = ['chat.received', 'chat.sent'] as const;
export type ChatEventType = (typeof CHAT_EVENT_TYPES)[number];

/** A decrypted, verified X Chat message, ready for the intake pipeline. */
export interface ChatIntakeMessage {
  /** `received`: a customer wrote to the account; `sent`: the account's own message (an echo). */
  direction: 'received' | 'sent';
  eventType: ChatEventType;
  /** The Activity API's delivery id (duplicates of one delivery share it). */
  eventUuid: string | undefined;
  senderId: string;
  /** The other participant of a 1:1 (the requester); undefined in group conversations. */
  peerId: string | undefined;
  /** `lo:hi` as signed. */
  conversationId: string;
  /** `lo-hi`, for X's URL paths. */
  urlConversationId: string;
  /** The message id the sender signed: the dedup key. */
  messageId: string;
  sequenceId: string | undefined;
  text: string;
  /** ISO-8601 UTC, from the signed event (else the payload's created_at_msec). */
  createdAt: string;
  conversationKeyVersion: string;
  attachments: ChatAttachment[];
  /** The raw `encoded_event`, to answer with `encryptReply`. */
  encodedEvent: string;
  conversationToken: string | undefined;
}

export type ChatRejectReason = RejectReason | 'not_a_participant' | 'unknown_event_type' | 'wrong_direction';

/** A refused event, as the intake records it (no key bytes, no text). */
export interface ChatRejection {
  status: 'rejected';
  eventType: string;
  eventUuid: string | undefined;
  reason: ChatRejectReason;
  detail: string;
  eventId: string | undefined;
  senderId: string | undefined;
  conversationId: string | undefined;
}

export type ChatReceiveOutcome =
  | { status: 'message'; message: ChatIntakeMessage; learnedKeyVersions: string[]; keyChangeRejections: Rejection[] }
  /** A verified event that is not words (key change only, typing, reaction…): nothing to store. */
  | { status: 'event'; kind: string; eventUuid: string | undefined; learnedKeyVersions: string[]; keyChangeRejections: Rejection[] }
  | (ChatRejection & { learnedKeyVersions: string[]; keyChangeRejections: Rejection[] })
  /** X could not be asked for a participant's keys or the history: try the delivery again later. */
  | { status: 'deferred'; eventUuid: string | undefined; detail: string };

export interface ReceiveDeps {
  identity: XChatIdentity;
  directory: SigningKeyDirectory;
  keys: ConversationKeyCache;
  /** For key changes a payload does not carry (GET /2/chat/conversations/{id}/events). */
  api?: Pick<XChatApi, 'chatEventsPage'>;
  /**
   * The account's retired identities (after a rotation): a key change a customer's app encrypted to
   * an older public key of the account is opened with the identity that holds it.
   */
  retired?: readonly XChatIdentity[];
}

const USER_ID = /^[0-9]{1,19}$/;

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function msecToIso(v: string | undefined): string | undefined {
  if (v === undefined || !/^[0-9]{1,16}$/.test(v)) return undefined;
  const d = new Date(Number(v));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The signed key version an event names (read before any check; used only to decide what to fetch). */
function keyVersionOf(eventB64: unknown): string | undefined {
  if (typeof eventB64 !== 'string') return undefined;
  const bytes = fromBase64(eventB64);
  if (!bytes) return undefined;
  try {
    return decodeMessageEvent(bytes).conversationKeyVersion;
  } catch {
    return undefined;
  }
}

function decodeIds(eventB64: string): string | undefined {
  const bytes = fromBase64(eventB64);
  if (!bytes) return undefined;
  try {
    return decodeMessageEvent(bytes).messageId;
  } catch {
    return undefined;
  }
}

/**
 * Accepts the whole Activity API envelope (`{data:{event_type, event_uuid, payload}}`), its `data`, the
 * stream consumer's `ActivityEnvelope` (`{eventType, eventUuid, payload}`), or a bare payload with
 * `eventTypeHint` given.
 */
export async function receiveChatEvent(deps: ReceiveDeps, envelope: unknown, eventTypeHint?: ChatEventType): Promise<ChatReceiveOutcome> {
  const root = asRecord(envelope);
  const data = asRecord(root?.data) ?? root;
  // The stream consumer's parsed envelope (src/twitter/stream.ts) names them in camelCase.
  const eventType = str(data?.event_type) ?? str(data?.eventType) ?? eventTypeHint ?? '';
  const eventUuid = str(data?.event_uuid) ?? str(data?.eventUuid);
  const payload = asRecord(data?.payload) ?? (data?.encoded_event !== undefined ? data : undefined);
  const none = { learnedKeyVersions: [] as string[], keyChangeRejections: [] as Rejection[] };
  const refuse = (reason: ChatRejectReason, detail: string, ids: Partial<Pick<ChatRejection, 'eventId' | 'senderId' | 'conversationId'>> = {}, extra = none): ChatReceiveOutcome => ({
    status: 'rejected',
    eventType,
    eventUuid,
    reason,
    detail,
    eventId: ids.eventId,
    senderId: ids.senderId,
    conversationId: ids.conversationId,
    ...extra,
  });

  if (!(CHAT_EVENT_TYPES as readonly string[]).includes(eventType)) return refuse('unknown_event_type', `'${eventType || 'no event_type'}' is not an X Chat message event (chat.received, chat.sent)`);
  if (!payload) return refuse('malformed', `the ${eventType} event has no payload`);
  const rawConversation = str(payload.conversation_id);
  if (!rawConversation) return refuse('malformed', `the ${eventType} payload has no conversation_id`, { senderId: str(payload.sender_id) });
  const conversationId = signedConversationId(rawConversation);
  const me = deps.identity.userId;
  const pair = /^([0-9]{1,19}):([0-9]{1,19})$/.exec(conversationId);
  const participants = pair ? [pair[1]!, pair[2]!] : [];
  if (pair && !participants.includes(me)) {
    return refuse('not_a_participant', `conversation ${conversationId} is not one of account ${me}`, { conversationId, senderId: str(payload.sender_id) });
  }
  const senderHint = str(payload.sender_id);
  // Signing keys of every participant (1:1) or of the sender and the account (groups).
  const userIds = [...new Set([...(pair ? participants : []), ...(senderHint && USER_ID.test(senderHint) ? [senderHint] : []), me])];

  let ring;
  try {
    ring = await deps.keys.ring(conversationId);
  } catch (err) {
    if (err instanceof OmniError) return refuse('undecryptable', `the stored keys of ${conversationId} cannot be read: ${err.message}`, { conversationId, senderId: senderHint });
    throw err;
  }

  const signingKeys = async (fresh: boolean): Promise<SigningKey[] | string> => {
    try {
      return (await Promise.all(userIds.map((u) => deps.directory.keysOf(u, { fresh })))).flat();
    } catch (err) {
      return `cannot read the participants' X Chat keys from X: ${(err as Error).message}`;
    }
  };
  let keys = await signingKeys(false);
  if (typeof keys === 'string') return { status: 'deferred', eventUuid, detail: keys };

  // A message under a key the ring lacks and the payload does not carry: the history's key changes first.
  const wanted = keyVersionOf(payload.encoded_event) ?? str(payload.conversation_key_version);
  const carried = keyVersionOf(payload.conversation_key_change_event);
  const historyLearned: string[] = [];
  const historyRejected: Rejection[] = [];
  let historyEvents: string[] = [];
  if (wanted && !ring.has(wanted) && carried !== wanted && deps.api?.chatEventsPage) {
    try {
      const page = await deps.api.chatEventsPage(urlConversationId(conversationId), { maxResults: 100 });
      historyEvents = page.keyChangeEvents;
      const fresh = page.keyChangeEvents.filter((ev) => {
        const v = keyVersionOf(ev);
        return v === undefined || !ring.has(v);
      });
      const r = deps.identity.applyKeyChanges(ring, fresh, keys);
      historyLearned.push(...r.learned);
      historyRejected.push(...r.rejected);
    } catch (err) {
      return { status: 'deferred', eventUuid, detail: `cannot read the key changes of ${conversationId} from X: ${(err as Error).message}` };
    }
  }

  let result = deps.identity.decryptPayload(ring, payload, keys);
  const unknownSigner = (o: typeof result) => o.outcome.status === 'rejected' && o.outcome.reason === 'unknown_signing_key';
  if (unknownSigner(result) || result.keyChangeRejections.some((r) => r.reason === 'unknown_signing_key')) {
    // A participant rotated their keys since the directory fetched them: fetch again, once.
    const again = await signingKeys(true);
    if (typeof again === 'string') return { status: 'deferred', eventUuid, detail: again };
    keys = again;
    result = deps.identity.decryptPayload(ring, payload, keys);
  }
  const retiredLearned: string[] = [];
  // A key change with no entry for the current key: the SDK says 'undecryptable' or, 0.4.3, that its
  // signature has no matching signing key. Either way a retired identity may hold the key it is for.
  const locked = result.keyChangeRejections.length > 0 || historyRejected.length > 0 || (result.outcome.status === 'rejected' && result.outcome.reason === 'unknown_key_version');
  if (deps.retired && deps.retired.length > 0 && locked) {
    const carriedEvent = typeof payload.conversation_key_change_event === 'string' ? [payload.conversation_key_change_event] : [];
    for (const old of deps.retired) {
      const pending = [...carriedEvent, ...historyEvents].filter((ev) => {
        const v = keyVersionOf(ev);
        return v === undefined || !ring.has(v);
      });
      if (pending.length === 0) break;
      retiredLearned.push(...old.applyKeyChanges(ring, pending, keys).learned);
    }
    if (retiredLearned.length > 0) {
      result = deps.identity.decryptPayload(ring, payload, keys);
      // Refusals of key changes a retired identity opened are no longer refusals.
      for (let i = historyRejected.length - 1; i >= 0; i--) {
        const v = keyVersionOf(historyEvents.find((ev) => decodeIds(ev) === historyRejected[i]!.eventId));
        if (v !== undefined && ring.has(v)) historyRejected.splice(i, 1);
      }
    }
  }
  const learned = [...historyLearned, ...retiredLearned, ...result.learnedKeyVersions];
  const extra = { learnedKeyVersions: learned, keyChangeRejections: [...historyRejected, ...result.keyChangeRejections] };
  if (learned.length > 0) await deps.keys.save(ring, 'key-change');

  const o = result.outcome;
  if (o.status === 'rejected') {
    return refuse(o.reason, o.detail, { eventId: o.eventId, senderId: o.senderId ?? senderHint, conversationId: o.conversationId ?? conversationId }, extra);
  }
  if (o.status === 'keyChange') return { status: 'event', kind: 'keyChange', eventUuid, ...extra };
  if (o.status === 'event') return { status: 'event', kind: o.kind, eventUuid, ...extra };

  const m = o.message;
  const direction = eventType === 'chat.sent' ? 'sent' : 'received';
  if ((direction === 'sent') !== (m.senderId === me)) {
    return refuse(
      'wrong_direction',
      direction === 'sent' ? `a chat.sent event signed by ${m.senderId}, not by the account ${me}` : `a chat.received event signed by the account ${me} itself`,
      { eventId: m.messageId, senderId: m.senderId, conversationId: m.conversationId },
      extra,
    );
  }
  const createdAt = msecToIso(m.createdAtMsec) ?? msecToIso(str(payload.created_at_msec)) ?? new Date().toISOString();
  return {
    status: 'message',
    message: {
      direction,
      eventType: eventType as ChatEventType,
      eventUuid,
      senderId: m.senderId,
      peerId: pair ? participants.find((p) => p !== me) ?? me : undefined,
      conversationId: m.conversationId,
      urlConversationId: urlConversationId(m.conversationId),
      messageId: m.messageId,
      sequenceId: m.sequenceId,
      text: m.text,
      createdAt,
      conversationKeyVersion: m.conversationKeyVersion,
      attachments: m.attachments,
      encodedEvent: payload.encoded_event as string,
      conversationToken: str(payload.conversation_token),
    },
    ...extra,
  };
}
