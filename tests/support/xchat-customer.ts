// The customer's X Chat app, for the fake X: its own identity and registered public keys, a 1:1
// conversation with the support account, the conversation key shared through a signed key change,
// and encrypted `chat.received` deliveries exactly as X sends them. It also plays X's server in
// building `encoded_event` (tests/support/xchat-events.ts), and it decrypts what omni sends to prove
// the customer can read it. Uses the real SDK through omni's adapter; nothing here is mocked.
import { randomUUID } from 'node:crypto';
import {
  ConversationKeyRing,
  XChatIdentity,
  canonicalConversationId,
  urlConversationId,
  type OutgoingChatMessage,
  type PublicKeyRegistration,
  type RegisteredPublicKey,
  type SigningKey,
  type DecryptOutcome,
  type ConversationKeyChangeRequest,
  type Rejection,
  type OutgoingAttachment,
} from '../../src/xchat/sdk.js';
import { decodeSignature, encodeMessageEvent, type MessageEventInput } from './xchat-events.js';

/** What `GET /2/users/{id}/public_keys` answers for a freshly registered identity. */
export function registeredKey(reg: PublicKeyRegistration, version = reg.version): RegisteredPublicKey {
  return {
    public_key_version: version,
    public_key: reg.public_key.public_key,
    signing_public_key: reg.public_key.signing_public_key,
    identity_public_key_signature: reg.public_key.identity_public_key_signature,
  };
}

export function signingKeyOf(userId: string, k: RegisteredPublicKey): SigningKey {
  return {
    userId,
    publicKeyVersion: k.public_key_version,
    publicKey: k.signing_public_key,
    identityPublicKey: k.public_key,
    identityPublicKeySignature: k.identity_public_key_signature,
  };
}

/** A `chat.received` / `chat.sent` delivery as X sends it (webhook body or one stream line). */
export interface ChatDelivery {
  data: {
    event_uuid: string;
    event_type: 'chat.received' | 'chat.sent';
    filter: { user_id: string };
    tag?: string;
    payload: ChatPayload;
  };
}

export interface ChatPayload {
  id: string;
  conversation_id: string;
  created_at_msec: string;
  sender_id: string;
  conversation_key_version: string;
  encoded_event: string;
  conversation_key_change_event?: string;
  conversation_token: string;
  message_event_signature: {
    public_key_version: string;
    signature: string;
    signature_version: string;
    signing_public_key: string;
  };
}

export class XChatCustomer {
  readonly userId: string;
  readonly supportUserId: string;
  readonly identity: XChatIdentity;
  readonly registration: PublicKeyRegistration;
  /** `lo:hi`, as signed inside events. */
  readonly conversationId: string;
  /** `lo-hi`, as in X's URL paths. */
  readonly urlConversationId: string;
  readonly ring: ConversationKeyRing;
  readonly conversationToken = randomUUID();
  #support: RegisteredPublicKey;
  #sequence = 0n;
  #clock: () => number;
  /** The newest key change event (base64 MessageEvent) X attaches to every chat event. */
  keyChangeEvent: string | undefined;
  /** Every key change so far, oldest first (what `meta.conversation_key_events` would list). */
  readonly keyChangeEvents: string[] = [];

  private constructor(
    identity: XChatIdentity,
    registration: PublicKeyRegistration,
    supportUserId: string,
    support: RegisteredPublicKey,
    clock: () => number,
  ) {
    this.identity = identity;
    this.userId = identity.userId;
    this.registration = registration;
    this.supportUserId = supportUserId;
    this.#support = support;
    this.#clock = clock;
    this.conversationId = canonicalConversationId(this.userId, supportUserId);
    this.urlConversationId = urlConversationId(this.conversationId);
    this.ring = new ConversationKeyRing(this.conversationId);
  }

  /** A customer with fresh keys, talking to `supportUserId` whose registered key is `support`. */
  static async create(options: {
    userId: string;
    supportUserId: string;
    support: RegisteredPublicKey;
    clock?: () => number;
  }): Promise<XChatCustomer> {
    const { identity, registration } = await XChatIdentity.generate(options.userId);
    return new XChatCustomer(identity, registration, options.supportUserId, options.support, options.clock ?? Date.now);
  }

  /** This customer's entry in `GET /2/users/{id}/public_keys`. */
  get registered(): RegisteredPublicKey {
    return registeredKey(this.registration);
  }

  /** The signing keys of both participants, as a decrypting client would fetch them. */
  get signingKeys(): SigningKey[] {
    return [signingKeyOf(this.userId, this.registered), signingKeyOf(this.supportUserId, this.#support)];
  }

  /** The support account registered a new key (X would answer it from then on). */
  supportKeyChanged(support: RegisteredPublicKey): void {
    this.#support = support;
  }

  #next(): { sequenceId: string; createdAtMsec: string } {
    this.#sequence += 1n;
    // Sequence ids grow like X's: time-based with a counter, as decimal strings.
    return { sequenceId: (BigInt(this.#clock()) * 1000n + this.#sequence).toString(), createdAtMsec: String(this.#clock()) };
  }

  /**
   * Creates a conversation key shared with the support account (first key or a rotation) and
   * returns the key change event X would store; it travels with every later chat event.
   */
  shareKey(): string {
    const prepared = this.identity.prepareConversationKey(
      { userId: this.supportUserId, publicKey: this.#support.public_key, publicKeyVersion: this.#support.public_key_version },
      this.ring,
    );
    const sig = prepared.request.action_signatures[0]!;
    const { sequenceId, createdAtMsec } = this.#next();
    const event = encodeMessageEvent({
      sequenceId,
      messageId: sig.message_id,
      senderId: this.userId,
      conversationId: this.conversationId,
      conversationToken: this.conversationToken,
      createdAtMsec,
      detail: { encodedDetail: Buffer.from(sig.encoded_message_event_detail, 'base64') },
      signature: sig.message_event_signature,
    });
    this.keyChangeEvent = event;
    this.keyChangeEvents.push(event);
    return event;
  }

  /** A new conversation key version mid-conversation; later messages use it. */
  rotateKey(): string {
    return this.shareKey();
  }

  /** The customer writes `text`: the `chat.received` delivery X sends the support account. */
  encryptedDm(text: string, options: { replyToEvent?: string; withKeyChange?: boolean; attachments?: OutgoingAttachment[] } = {}): ChatDelivery {
    if (!this.keyChangeEvent) this.shareKey();
    const out = this.identity.encryptMessage(this.ring, text, {
      ...(options.replyToEvent === undefined ? {} : { replyToEvent: options.replyToEvent }),
      ...(options.attachments === undefined ? {} : { attachments: options.attachments }),
    });
    return this.#deliver(this.userId, out, options.withKeyChange ?? true, 'chat.received');
  }

  /**
   * Like `encryptedDm` but with a signature that does not verify: X relays what the sender signed, so a
   * signature over other words (here: one byte of it flipped) reaches omni unchanged.
   */
  tampered(text: string): ChatDelivery {
    const delivery = this.encryptedDm(text);
    const p = delivery.data.payload;
    const sig = p.message_event_signature.signature;
    const i = Math.floor(sig.length / 2);
    const flipped = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
    p.message_event_signature = { ...p.message_event_signature, signature: flipped };
    p.encoded_event = this.#rebuild(p, flipped);
    return delivery;
  }

  /**
   * X's side of `POST /2/chat/conversations/{id}/keys` from the support account (omni starting or
   * rotating the conversation): the key change event X stores; the customer's app verifies it and
   * keeps the key. Returns the event and what the customer's app made of it.
   */
  keyChangeFromSupport(request: ConversationKeyChangeRequest): { event: string; learned: string[]; rejected: Rejection[] } {
    const sig = request.action_signatures[0];
    if (!sig) throw new Error('the key change request carries no action signature');
    const { sequenceId, createdAtMsec } = this.#next();
    const event = encodeMessageEvent({
      sequenceId,
      messageId: sig.message_id,
      senderId: this.supportUserId,
      conversationId: this.conversationId,
      conversationToken: this.conversationToken,
      createdAtMsec,
      detail: { encodedDetail: Buffer.from(sig.encoded_message_event_detail, 'base64') },
      signature: sig.message_event_signature,
    });
    const { learned, rejected } = this.identity.applyKeyChanges(this.ring, [event], this.signingKeys);
    if (learned.length > 0) {
      this.keyChangeEvent = event;
      this.keyChangeEvents.push(event);
    }
    return { event, learned, rejected };
  }

  /** X's side of `POST /2/chat/conversations/{id}/messages` from the support account: the stored event. */
  eventFromSupport(message: OutgoingChatMessage['body'], signingPublicKey: string): { encodedEvent: string; delivery: ChatDelivery } {
    const sig = decodeSignature(message.encoded_message_event_signature);
    const { sequenceId, createdAtMsec } = this.#next();
    const encodedEvent = encodeMessageEvent({
      sequenceId,
      messageId: message.message_id,
      senderId: this.supportUserId,
      conversationId: this.conversationId,
      conversationToken: this.conversationToken,
      createdAtMsec,
      detail: { messageCreate: Buffer.from(message.encoded_message_create_event, 'base64') },
      signature: { ...sig, signing_public_key: signingPublicKey },
    });
    const delivery = this.#envelope('chat.sent', this.supportUserId, {
      id: sequenceId,
      conversation_id: this.conversationId,
      created_at_msec: createdAtMsec,
      sender_id: this.supportUserId,
      conversation_key_version: this.ring.latestVersion() ?? '',
      encoded_event: encodedEvent,
      ...(this.keyChangeEvent ? { conversation_key_change_event: this.keyChangeEvent } : {}),
      conversation_token: this.conversationToken,
      message_event_signature: { ...sig, signing_public_key: signingPublicKey },
    });
    return { encodedEvent, delivery };
  }

  /** The customer's app reads an event of the conversation (what omni sent, as X stored it). */
  decrypt(encodedEvent: string): DecryptOutcome {
    return this.identity.decryptEvent(this.ring, encodedEvent, this.signingKeys);
  }

  dispose(): void {
    this.identity.dispose();
  }

  #deliver(senderId: string, out: OutgoingChatMessage, withKeyChange: boolean, type: 'chat.received' | 'chat.sent'): ChatDelivery {
    const sig = decodeSignature(out.body.encoded_message_event_signature);
    const signature = { ...sig, signing_public_key: this.registration.public_key.signing_public_key };
    const { sequenceId, createdAtMsec } = this.#next();
    const input: MessageEventInput = {
      sequenceId,
      messageId: out.body.message_id,
      senderId,
      conversationId: this.conversationId,
      conversationToken: this.conversationToken,
      createdAtMsec,
      detail: { messageCreate: Buffer.from(out.body.encoded_message_create_event, 'base64') },
      signature,
    };
    const encodedEvent = encodeMessageEvent(input);
    this.#built.set(encodedEvent, input);
    return this.#envelope(type, this.supportUserId, {
      id: sequenceId,
      conversation_id: this.conversationId,
      created_at_msec: createdAtMsec,
      sender_id: senderId,
      conversation_key_version: out.conversationKeyVersion,
      encoded_event: encodedEvent,
      ...(withKeyChange && this.keyChangeEvent ? { conversation_key_change_event: this.keyChangeEvent } : {}),
      conversation_token: this.conversationToken,
      message_event_signature: signature,
    });
  }

  #rebuild(p: ChatPayload, signature: string): string {
    // Re-encode the same event with another signature string (what a forger or a bug would send).
    const original = this.#built.get(p.encoded_event);
    if (!original) throw new Error('tampered() can only alter an event this customer built');
    return encodeMessageEvent({ ...original, signature: { ...original.signature!, signature } });
  }

  /** The events this customer built, to re-encode one with another signature. */
  readonly #built = new Map<string, MessageEventInput>();

  #envelope(type: 'chat.received' | 'chat.sent', forUser: string, payload: ChatPayload): ChatDelivery {
    return { data: { event_uuid: randomUUID(), event_type: type, filter: { user_id: forUser }, payload } };
  }
}
