// What receiving and sending need around the SDK: the participants' registered signing keys (X's
// `GET /2/users/{id}/public_keys`, cached and binding-checked) and the conversation key cache backed
// by the encrypted store. The X calls come in through `XChatApi`, the shape the v2 gateway
// (src/twitter/gateway-v2.ts) has, so this folder does not import the gateway.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import type { ConversationKeyChangeRequest, ConversationKeyRing, RegisteredPublicKey, SigningKey, XChatIdentity } from './sdk.js';
import { listXChatIdentities, loadConversationRing, saveConversationRing } from './store.js';

/** The X Chat calls omni makes (user context), as `XGateway` implements them. */
export interface XChatApi {
  chatPublicKeys(userId: string): Promise<RegisteredPublicKey[]>;
  postChatConversationKey(conversationId: string, request: ConversationKeyChangeRequest): Promise<void>;
  sendChatMessage(
    conversationId: string,
    body: { message_id: string; encoded_message_create_event: string; encoded_message_event_signature: string; conversation_token?: string },
  ): Promise<{ encodedMessageEvent: string | null }>;
  chatEventsPage?(conversationId: string, p?: { maxResults?: number; paginationToken?: string }): Promise<{ keyChangeEvents: string[]; nextToken: string | null }>;
}

/** The conversation key cache: rings by conversation, saved after verified key changes. */
export interface ConversationKeyCache {
  ring(conversationId: string): Promise<ConversationKeyRing>;
  /** Stores the ring's new versions; returns the versions added. */
  save(ring: ConversationKeyRing, via: 'key-change' | 'created'): Promise<string[]>;
}

export function storedKeyCache(db: Kysely<Database>, box: SecretBox, interactionId: number, now: () => Date = () => new Date()): ConversationKeyCache {
  return {
    ring: (conversationId) => loadConversationRing(db, box, interactionId, conversationId),
    save: (ring, via) => saveConversationRing(db, box, interactionId, ring, via, now().toISOString()),
  };
}

/** The registered public keys of the account itself, from the store (every version it registered). */
export async function ownRegisteredKeys(db: Kysely<Database>, interactionId: number): Promise<RegisteredPublicKey[]> {
  return (await listXChatIdentities(db, interactionId)).flatMap((r) =>
    r.publicKeyVersion !== null && r.identityPublicKeySignature !== null && r.status !== 'pending'
      ? [{ public_key_version: r.publicKeyVersion, public_key: r.publicKey, signing_public_key: r.signingPublicKey, identity_public_key_signature: r.identityPublicKeySignature }]
      : [],
  );
}

/**
 * Participants' signing keys, fetched from X once per `ttlMs` per user and kept only when the identity
 * key signed the signing key (so X cannot swap a participant's signing key unnoticed). `refresh` drops
 * a user's entry: a signature by a key version not seen yet (the participant rotated) fetches again.
 */
export class SigningKeyDirectory {
  readonly #cache = new Map<string, { at: number; keys: SigningKey[]; refused: { publicKeyVersion: string; detail: string }[] }>();

  constructor(
    private readonly api: Pick<XChatApi, 'chatPublicKeys'>,
    private readonly identity: XChatIdentity,
    private readonly own: readonly RegisteredPublicKey[] = [],
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async keysOf(userId: string, options: { fresh?: boolean } = {}): Promise<SigningKey[]> {
    const hit = this.#cache.get(userId);
    if (hit && !options.fresh && this.now() - hit.at < this.ttlMs) return hit.keys;
    const fromX = await this.api.chatPublicKeys(userId);
    // The account's own keys come from the store as well: X may list only the newest version.
    const own = userId === this.identity.userId ? this.own.filter((o) => !fromX.some((k) => k.public_key_version === o.public_key_version)) : [];
    const { trusted, refused } = this.identity.trustSigningKeys(userId, [...fromX, ...own]);
    this.#cache.set(userId, { at: this.now(), keys: trusted, refused });
    return trusted;
  }

  /** Keys X served that failed the binding check, per user (for the record of a refusal). */
  refusedOf(userId: string): { publicKeyVersion: string; detail: string }[] {
    return this.#cache.get(userId)?.refused ?? [];
  }

  /** The newest trusted key of `userId` (to encrypt a new conversation key to it). */
  async latestOf(userId: string): Promise<SigningKey | undefined> {
    const keys = await this.keysOf(userId);
    return [...keys].sort((a, b) => compareVersion(a.publicKeyVersion, b.publicKeyVersion)).at(-1);
  }
}

function compareVersion(a: string, b: string): number {
  if (/^[0-9]+$/.test(a) && /^[0-9]+$/.test(b)) {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
