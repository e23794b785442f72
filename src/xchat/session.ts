// What the listener and the outbox hold per interaction with X Chat set up: the active identity and
// the retired ones (decrypted into the SDK once), the participants' signing keys (cached) and the
// encrypted conversation key cache, behind two calls: `receive` (a chat.* event → a verified message
// or a refusal) and `send` (an encrypted message to a customer). `dispose()` wipes the keys from WASM
// memory. Undefined when the interaction has no active X Chat identity.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SecretBox } from '../secrets.js';
import { ownRegisteredKeys, SigningKeyDirectory, storedKeyCache, type ConversationKeyCache, type XChatApi } from './keys.js';
import { receiveChatEvent, type ChatEventType, type ChatReceiveOutcome } from './receive.js';
import type { IdentitySummary, XChatIdentity } from './sdk.js';
import { sendChatMessage, type ChatSendRequest, type ChatSendResult } from './send.js';
import { loadActiveXChatIdentity, loadRetiredXChatIdentities } from './store.js';

export interface XChatSession {
  readonly interactionId: number;
  readonly identity: IdentitySummary;
  receive(envelope: unknown, eventTypeHint?: ChatEventType): Promise<ChatReceiveOutcome>;
  send(request: ChatSendRequest): Promise<ChatSendResult>;
  dispose(): void;
}

export interface XChatSessionOptions {
  db: Kysely<Database>;
  box: SecretBox;
  interactionId: number;
  api: XChatApi;
  now?: () => Date;
  /** How long participants' signing keys are trusted before X is asked again. */
  signingKeyTtlMs?: number;
}

export async function openXChatSession(o: XChatSessionOptions): Promise<XChatSession | undefined> {
  const identity = await loadActiveXChatIdentity(o.db, o.box, o.interactionId);
  if (!identity) return undefined;
  let retired: XChatIdentity[] = [];
  try {
    retired = await loadRetiredXChatIdentities(o.db, o.box, o.interactionId);
    const directory = new SigningKeyDirectory(o.api, identity, await ownRegisteredKeys(o.db, o.interactionId), o.signingKeyTtlMs);
    const keys: ConversationKeyCache = storedKeyCache(o.db, o.box, o.interactionId, o.now);
    const summary = identity.describe();
    let disposed = false;
    return {
      interactionId: o.interactionId,
      identity: summary,
      receive: (envelope, hint) => receiveChatEvent({ identity, directory, keys, api: o.api, retired }, envelope, hint),
      send: (request) => sendChatMessage({ identity, directory, keys, api: o.api }, request),
      dispose() {
        if (disposed) return;
        disposed = true;
        identity.dispose();
        for (const r of retired) r.dispose();
      },
    };
  } catch (err) {
    identity.dispose();
    for (const r of retired) r.dispose();
    throw err;
  }
}
