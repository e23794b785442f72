// X Chat on the fake X: public key registration (POST/GET /2/users/{id}/public_keys; a few per 24 h
// per user, 429 with x-user-limit-24hour-* headers), conversation keys (POST /2/chat/conversations/
// {id}/keys), encrypted messages (POST …/messages) and history (GET …/events). All user context with
// X's scopes: dm.write for writes, dm.read for reads; an app-only token gets 403; a colon in the path
// id is refused as X's OpenAPI pattern does. The test side is the customer's X Chat app built on the
// same SDK (tests/support/xchat-customer.ts): it shares a conversation key with the support account,
// writes encrypted `chat.received` events delivered through the Activity API (webhook and stream), and
// decrypts what omni sends, keeping the text it read so a test can assert the customer can read it.
import { problem, json, RateLimiter, XHttpError, type XHost, type XRoute } from './common.js';
import type { FakeActivity } from './activity.js';
import type { FakeOAuth2 } from './oauth2.js';
import { XChatCustomer, type ChatDelivery } from '../xchat-customer.js';
import type { OutgoingAttachment, RegisteredPublicKey } from '../../../src/xchat/sdk.js';
import { decodeMessageEvent } from '../../../src/xchat/thrift.js';

export interface ChatOptions {
  /** Key registrations per user per window (X: "a few" per 24 h). */
  publicKeyRegistrationLimit?: { limit: number; windowMs: number };
  /** X Chat messages sent per user per window. */
  chatSendLimit?: { limit: number; windowMs: number };
}

/** What the customer's app read of a message the support account sent. */
export interface CustomerRead {
  conversationId: string;
  messageId: string;
  text: string | null;
  conversationKeyVersion: string | null;
  /** The refusal, when the customer's app could not verify or decrypt it. */
  rejected: string | null;
}

interface StoredEvent {
  id: string;
  senderId: string;
  createdAtMsec: string;
  encodedEvent: string;
  signature: ChatDelivery['data']['payload']['message_event_signature'] | undefined;
  keyChange: boolean;
}

interface Conversation {
  customer: XChatCustomer;
  events: StoredEvent[];
}

const WRITE = ['dm.write', 'tweet.read', 'users.read'];
const READ = ['dm.read', 'tweet.read', 'users.read'];
const PATH_ID = /^([0-9]{1,19}|[0-9]{1,19}-[0-9]{1,19}|g[0-9]{1,19})$/;

export function createChat(host: XHost, auth: FakeOAuth2, activity: FakeActivity, opts: ChatOptions) {
  const reg = new RateLimiter(opts.publicKeyRegistrationLimit?.limit ?? 3, opts.publicKeyRegistrationLimit?.windowMs ?? 24 * 3600_000);
  const send = new RateLimiter(opts.chatSendLimit?.limit ?? 15, opts.chatSendLimit?.windowMs ?? 15 * 60_000);
  const keys = new Map<string, RegisteredPublicKey[]>(); // user id → registered versions, oldest first
  const conversations = new Map<string, Conversation>(); // `lo:hi` → conversation
  const reads: CustomerRead[] = [];
  let nextVersion = 1000;

  const latestKey = (userId: string) => keys.get(userId)?.at(-1);

  function conversationOf(pathId: string, userId: string): Conversation {
    if (!PATH_ID.test(pathId)) {
      throw problem(400, 'Invalid Request', `The \`id\` query parameter value [${pathId}] does not match ^([0-9]{1,19}|[0-9]{1,19}-[0-9]{1,19}|g[0-9]{1,19})$`, 'invalid-request');
    }
    const [a, b] = pathId.includes('-') ? pathId.split('-') : [pathId, userId];
    const lo = BigInt(a!) <= BigInt(b!) ? a! : b!;
    const hi = lo === a ? b! : a!;
    const c = conversations.get(`${lo}:${hi}`);
    if (!c || (c.customer.userId !== userId && c.customer.supportUserId !== userId)) {
      throw problem(404, 'Not Found Error', `Could not find conversation with id: [${pathId}].`, 'resource-not-found');
    }
    return c;
  }

  function chatError(status: number, code: string, message: string): XHttpError {
    return new XHttpError(status, { errors: [{ code, message }], title: 'Invalid Request', detail: `${code}: ${message}`, type: 'https://api.twitter.com/2/problems/invalid-request' }, { 'content-type': 'application/problem+json' });
  }

  function publishChat(delivery: ChatDelivery): void {
    activity.publishXaa(delivery.data.event_type, delivery.data.filter.user_id, delivery.data.payload as unknown as Record<string, unknown>);
  }

  const routes: XRoute[] = [
    [
      'POST',
      /^\/2\/users\/(\d+)\/public_keys$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: WRITE });
        if (who.userId !== m[1]) throw problem(403, 'Forbidden', 'You can only register public keys for the authenticated user.', 'not-authorized-for-resource');
        let headers: Record<string, string>;
        try {
          headers = reg.take(who.userId!);
        } catch (err) {
          if (!(err instanceof XHttpError)) throw err;
          // X names this limit with its own headers, per user and 24 h.
          const reset = err.headers['x-rate-limit-reset']!;
          throw new XHttpError(429, err.body, { 'content-type': 'application/problem+json', 'x-user-limit-24hour-limit': String(reg.limit), 'x-user-limit-24hour-remaining': '0', 'x-user-limit-24hour-reset': reset });
        }
        const b = json(c.body);
        const pk = b.public_key as Record<string, unknown> | undefined;
        if (!pk || typeof pk !== 'object' || typeof b.version !== 'string') throw problem(400, 'Invalid Request', 'public_key and version are required.', 'invalid-request');
        for (const f of ['public_key', 'signing_public_key', 'identity_public_key_signature']) {
          if (typeof pk[f] !== 'string' || pk[f] === '') throw problem(400, 'Invalid Request', `public_key.${f} is required.`, 'invalid-request');
        }
        const version = b.generate_version === true ? String(nextVersion++) : b.version;
        const list = keys.get(who.userId!) ?? [];
        list.push({ public_key_version: version, public_key: pk.public_key as string, signing_public_key: pk.signing_public_key as string, identity_public_key_signature: pk.identity_public_key_signature as string });
        keys.set(who.userId!, list);
        return { status: 200, headers: { 'x-user-limit-24hour-limit': headers['x-rate-limit-limit']!, 'x-user-limit-24hour-remaining': headers['x-rate-limit-remaining']!, 'x-user-limit-24hour-reset': headers['x-rate-limit-reset']! }, body: { data: { public_key_version: version } } };
      },
    ],
    [
      'GET',
      /^\/2\/users\/(\d+)\/public_keys$/,
      (c, m) => {
        auth.requireAuth(c, { user: READ });
        const list = keys.get(m[1]!) ?? [];
        return { status: 200, body: list.length ? { data: list } : { meta: { result_count: 0 } } };
      },
    ],
    [
      'POST',
      /^\/2\/chat\/conversations\/([^/]+)\/keys$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: WRITE });
        const conv = conversationOf(decodeURIComponent(m[1]!), who.userId!);
        const b = json(c.body);
        if (typeof b.conversation_key_version !== 'string' || !Array.isArray(b.conversation_participant_keys) || !Array.isArray(b.action_signatures)) {
          throw problem(400, 'Invalid Request', 'conversation_key_version, conversation_participant_keys and action_signatures are required.', 'invalid-request');
        }
        if (who.userId !== conv.customer.supportUserId) throw problem(403, 'Forbidden', 'Only the support account is driven through the API in this fake.', 'not-authorized-for-resource');
        // The customer's app checks against the support account's current registered key, as X serves it.
        const current = latestKey(who.userId!);
        if (current) conv.customer.supportKeyChanged(current);
        const out = conv.customer.keyChangeFromSupport(b as never);
        if (out.rejected.length > 0) throw chatError(400, 'INVALID_SENDER_SIGNATURE', out.rejected[0]!.detail);
        const f = decodeMessageEvent(Buffer.from(out.event, 'base64'));
        conv.events.push({ id: f.sequenceId ?? '', senderId: who.userId!, createdAtMsec: f.createdAtMsec ?? String(Date.now()), encodedEvent: out.event, signature: undefined, keyChange: true });
        return { status: 201, body: { data: { conversation_key_version: b.conversation_key_version } } };
      },
    ],
    [
      'POST',
      /^\/2\/chat\/conversations\/([^/]+)\/messages$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: WRITE });
        const headers = send.take(who.userId!);
        const conv = conversationOf(decodeURIComponent(m[1]!), who.userId!);
        const b = json(c.body);
        for (const f of ['message_id', 'encoded_message_create_event', 'encoded_message_event_signature']) {
          if (typeof b[f] !== 'string' || b[f] === '') throw problem(400, 'Invalid Request', `${f} is required.`, 'invalid-request');
        }
        const signer = latestKey(who.userId!);
        if (!signer) throw chatError(400, 'MISSING_PUBLIC_KEY', 'the sender has no registered public key');
        conv.customer.supportKeyChanged(signer);
        const body = b as { message_id: string; encoded_message_create_event: string; encoded_message_event_signature: string };
        const { encodedEvent, delivery } = conv.customer.eventFromSupport(body, signer.signing_public_key);
        const outcome = conv.customer.decrypt(encodedEvent);
        if (outcome.status === 'rejected') {
          if (outcome.reason === 'unknown_key_version') throw chatError(400, 'NON_LATEST_CKEY_VERSION', outcome.detail);
          throw chatError(400, 'INVALID_SENDER_SIGNATURE', outcome.detail);
        }
        if (outcome.status === 'message' && outcome.message.conversationKeyVersion !== conv.customer.ring.latestVersion()) {
          throw chatError(400, 'NON_LATEST_CKEY_VERSION', `conversation key ${outcome.message.conversationKeyVersion} is not the latest (${conv.customer.ring.latestVersion()})`);
        }
        reads.push({
          conversationId: conv.customer.conversationId,
          messageId: body.message_id,
          text: outcome.status === 'message' ? outcome.message.text : null,
          conversationKeyVersion: outcome.status === 'message' ? outcome.message.conversationKeyVersion : null,
          rejected: null,
        });
        const p = delivery.data.payload;
        conv.events.push({ id: p.id, senderId: who.userId!, createdAtMsec: p.created_at_msec, encodedEvent, signature: p.message_event_signature, keyChange: false });
        publishChat(delivery);
        return { status: 201, headers, body: { data: { encoded_message_event: encodedEvent } } };
      },
    ],
    [
      'GET',
      /^\/2\/chat\/conversations\/([^/]+)\/events$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: READ });
        const conv = conversationOf(decodeURIComponent(m[1]!), who.userId!);
        const max = c.query.has('max_results') ? Number(c.query.get('max_results')) : 100;
        if (!Number.isInteger(max) || max < 1 || max > 100) throw problem(400, 'Invalid Request', 'The `max_results` query parameter value must be between 1 and 100.', 'invalid-request');
        const all = conv.events.filter((e) => !e.keyChange).reverse();
        const start = c.query.has('pagination_token') ? Number(Buffer.from(c.query.get('pagination_token')!, 'base64url').toString()) : 0;
        const page = all.slice(start, start + max);
        const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
        return {
          status: 200,
          body: {
            ...(page.length
              ? {
                  data: page.map((e) => ({
                    id: e.id,
                    conversation_id: conv.customer.conversationId,
                    conversation_token: conv.customer.conversationToken,
                    created_at: e.createdAtMsec,
                    encoded_event: e.encodedEvent,
                    ...(e.signature ? { message_event_signature: e.signature } : {}),
                    sender_id: e.senderId,
                    is_trusted: true,
                  })),
                }
              : {}),
            meta: { result_count: page.length, has_more: next !== undefined, ...(next ? { next_token: next } : {}), conversation_key_events: [...conv.customer.keyChangeEvents] },
          },
        };
      },
    ],
  ];

  /** The customer's app in a conversation with a support account, as the tests drive it. */
  class Chatter {
    constructor(readonly customer: XChatCustomer) {}
    get conversationId(): string {
      return this.customer.conversationId;
    }
    #record(d: ChatDelivery): ChatDelivery {
      const p = d.data.payload;
      conversations.get(this.customer.conversationId)!.events.push({ id: p.id, senderId: p.sender_id, createdAtMsec: p.created_at_msec, encodedEvent: p.encoded_event, signature: p.message_event_signature, keyChange: false });
      publishChat(d);
      return d;
    }
    /** The customer writes `text`: X stores it and delivers `chat.received` to the support account. */
    says(text: string, options: { replyToEvent?: string; withKeyChange?: boolean; attachments?: OutgoingAttachment[] } = {}): ChatDelivery {
      const before = this.customer.keyChangeEvents.length;
      const d = this.customer.encryptedDm(text, options);
      for (const ev of this.customer.keyChangeEvents.slice(before)) this.#storeKeyChange(ev);
      return this.#record(d);
    }
    /** A delivery whose signature does not verify (X relays what it was given). */
    saysTampered(text: string): ChatDelivery {
      const before = this.customer.keyChangeEvents.length;
      const d = this.customer.tampered(text);
      for (const ev of this.customer.keyChangeEvents.slice(before)) this.#storeKeyChange(ev);
      publishChat(d);
      return d;
    }
    /** The customer's app rotates the conversation key; later messages use the new one. */
    rotatesKey(): string {
      const ev = this.customer.rotateKey();
      this.#storeKeyChange(ev);
      return ev;
    }
    /** The support account registered a new key: the customer's app uses it from now on. */
    supportKeyChanged(): void {
      const k = latestKey(this.customer.supportUserId);
      if (k) this.customer.supportKeyChanged(k);
    }
    /** What the customer's app read of the support account's messages, oldest first. */
    reads(): CustomerRead[] {
      return reads.filter((r) => r.conversationId === this.customer.conversationId);
    }
    #storeKeyChange(ev: string): void {
      const f = decodeMessageEvent(Buffer.from(ev, 'base64'));
      conversations.get(this.customer.conversationId)!.events.push({ id: f.sequenceId ?? '', senderId: f.senderId ?? '', createdAtMsec: f.createdAtMsec ?? '', encodedEvent: ev, signature: undefined, keyChange: true });
    }
  }

  return {
    routes,
    /** Tests: the registered X Chat keys of a user, oldest first. */
    publicKeys: (userId: string): RegisteredPublicKey[] => [...(keys.get(userId) ?? [])],
    /** Tests: registers keys for a user directly (a customer, or a registration made elsewhere). */
    addPublicKey(userId: string, k: RegisteredPublicKey): void {
      keys.set(userId, [...(keys.get(userId) ?? []), k]);
    },
    /**
     * Tests: a customer's X Chat app with fresh keys (registered at X) in a 1:1 conversation with
     * `supportUserId`, which must have registered its keys. Its first message shares a conversation key.
     */
    async customerChat(p: { userId: string; supportUserId: string }): Promise<Chatter> {
      const support = latestKey(p.supportUserId);
      if (!support) throw new Error(`the support account ${p.supportUserId} has no registered X Chat key: run xchat setup first`);
      const customer = await XChatCustomer.create({ userId: p.userId, supportUserId: p.supportUserId, support });
      keys.set(p.userId, [...(keys.get(p.userId) ?? []), customer.registered]);
      conversations.set(customer.conversationId, { customer, events: [] });
      return new Chatter(customer);
    },
    /** Tests: every read of the customers' apps, oldest first. */
    customerReads: () => [...reads],
    close(): void {
      for (const c of conversations.values()) c.customer.dispose();
      conversations.clear();
    },
  };
}

export type FakeChat = ReturnType<typeof createChat>;
