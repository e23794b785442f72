// X Chat in `omni listen` (issue 16): a `chat.received` / `chat.sent` event, from a webhook delivery
// or from the activity stream, is decrypted and verified here on the main thread (receive is async
// and may call X for signing keys or a conversation's key changes), BEFORE the group commit. What
// verifies becomes a `ChatWriteItem` the writer stores through the one intake pipeline, like a DM
// (src/intake/chat.ts). What does not is a refusal: recorded in webhook_events (kind chat_rejected,
// result = the reason), counted in /metrics, logged, answered 200 (X retrying the same bytes cannot
// make them verify); never a crash, never a silent drop. A `deferred` (X unreachable for keys) is
// NOT answered as stored: the webhook route answers 503 so X retries the delivery; the stream tries
// again a few times, then records it as refused `deferred` with the fix (a backfill, or a replay).
// One session per interaction (its keys decrypted into the SDK once), kept across requests, opened
// lazily, and disposed (keys wiped from WASM memory) when the listener stops.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { NewWebhookEvent } from '../db/webhook-events.js';
import type { ChatWriteItem } from '../intake/chat.js';
import type { EventResult } from '../intake/pipeline.js';
import type { SecretBox } from '../secrets.js';
import { hasActiveXChat, rememberXChatConversation } from '../xchat/conversations.js';
import type { XChatApi } from '../xchat/keys.js';
import { CHAT_EVENT_TYPES, type ChatIntakeMessage } from '../xchat/receive.js';
import { openXChatSession, type XChatSession } from '../xchat/session.js';
import type { ListenerLog } from './log.js';
import { Counter, type Registry } from './prometheus.js';

/** Why an X Chat event was refused, as /metrics labels it (the receive reasons, and the listener's own). */
export const CHAT_REJECT_REASONS = [
  'bad_signature',
  'unknown_signing_key',
  'unknown_key_version',
  'undecryptable',
  'envelope_mismatch',
  'conversation_mismatch',
  'wrong_direction',
  'not_a_participant',
  'unsigned',
  'malformed',
  'unknown_event_type',
  'no_identity',
  'keys_unreadable',
  'deferred',
] as const;
export type ChatRejectLabel = (typeof CHAT_REJECT_REASONS)[number];

export const CHAT_RESULTS = ['message', 'event', 'rejected', 'deferred'] as const;

/** Whether an X Activity event type is X Chat's (chat.received, chat.sent). */
export function isChatEventType(eventType: string | undefined): boolean {
  return eventType !== undefined && (CHAT_EVENT_TYPES as readonly string[]).includes(eventType);
}

export interface ChatTarget {
  id: number;
  name: string;
}

export type ChatIntakeStep =
  /** A verified message: submit it to the group committer (WriteJob.chat). */
  | { kind: 'store'; chat: ChatWriteItem; eventType: string }
  /** Nothing to store: a verified non-message event, or a refusal already recorded. Answer 200. */
  | { kind: 'answered'; results: EventResult[] }
  /** X could not be asked for keys: not stored, not refused. The webhook answers 503; the stream retries. */
  | { kind: 'deferred'; detail: string; results: EventResult[] };

export interface XChatIntake {
  /** `record: false` (reconcile re-reading an event a previous run already read): a refusal is returned, not recorded or counted again. */
  receive(target: ChatTarget, envelope: unknown, opts?: { source?: 'webhook' | 'stream' | 'reconcile'; record?: boolean }): Promise<ChatIntakeStep>;
  /** Records a delivery given up as deferred (the stream, after its retries). */
  giveUp(target: ChatTarget, eventType: string, detail: string): EventResult[];
  /** Disposes every session (wipes the keys from WASM memory). */
  close(): void;
}

export interface XChatIntakeOptions {
  db: Kysely<Database>;
  box: SecretBox;
  /** The X Chat calls of an interaction (its gateway, with the account's OAuth 2.0 user token). */
  api(interactionId: number): Promise<XChatApi>;
  /** Where refusals are recorded (the listener's event journal → webhook_events). */
  record(event: NewWebhookEvent): void;
  registry: Registry;
  log: ListenerLog;
  clock?: () => Date;
  /** An interaction found without X Chat is looked at again after this long (default 60 s): `xchat setup` while listening. */
  absentTtlMs?: number;
}

const each = (name: string, values: readonly string[]) => values.map((v) => ({ [name]: v }));

export function createXChatIntake(o: XChatIntakeOptions): XChatIntake {
  const clock = o.clock ?? (() => new Date());
  const absentTtlMs = o.absentTtlMs ?? 60_000;
  const events = o.registry.add(new Counter('omni_xchat_events_total', 'X Chat events (chat.received, chat.sent) by what the listener did: message (verified, stored through the intake), event (verified, nothing to store), rejected, deferred (X unreachable for keys; retried).', each('result', CHAT_RESULTS)));
  const rejected = o.registry.add(new Counter('omni_xchat_rejected_total', 'X Chat events refused (recorded, never stored as words), by reason.', each('reason', CHAT_REJECT_REASONS)));
  const sessions = new Map<number, { at: number; session: Promise<XChatSession | undefined> }>();
  let closed = false;

  const sessionOf = (interactionId: number): Promise<XChatSession | undefined> => {
    const hit = sessions.get(interactionId);
    if (hit) {
      // A session is kept for the listener's life; "no identity" is looked at again after a while.
      return hit.session.then((s) => {
        if (s || Date.now() - hit.at < absentTtlMs || sessions.get(interactionId) !== hit) return s;
        sessions.delete(interactionId);
        return sessionOf(interactionId);
      });
    }
    // No identity: no gateway is built (its credentials are not even decrypted).
    const session = (async () => ((await hasActiveXChat(o.db, interactionId)) ? openXChatSession({ db: o.db, box: o.box, interactionId, api: await o.api(interactionId), now: clock }) : undefined))();
    const entry = { at: Date.now(), session };
    sessions.set(interactionId, entry);
    // A failure (keys unreadable, credentials unreadable) is not kept: the next event tries again.
    session.catch(() => {
      if (sessions.get(interactionId) === entry) sessions.delete(interactionId);
    });
    return session;
  };

  const refuse = (target: ChatTarget, eventType: string, reason: ChatRejectLabel, detail: string, ids: { id?: string | undefined; sender?: string | undefined } = {}, record = true): EventResult[] => {
    if (record) events.inc({ result: 'rejected' });
    if (record) rejected.inc({ reason });
    if (record) o.record({ interactionId: target.id, at: clock().toISOString(), kind: 'chat_rejected', result: reason, detail: `${eventType}${ids.id ? ` ${ids.id}` : ''}${ids.sender ? ` from ${ids.sender}` : ''}: ${detail}` });
    return [{ event: eventType, outcome: 'rejected', ...(ids.id ? { id: ids.id } : {}), ...(ids.sender ? { sender: ids.sender } : {}), detail: `${reason}: ${detail}` }];
  };

  return {
    async receive(target, envelope, opts = {}) {
      const record = opts.record !== false;
      // Reconcile re-reads stored messages: /metrics counts what X delivered, not what reconcile re-read.
      const count = opts.source !== 'reconcile';
      const data = (envelope as { data?: { event_type?: unknown } } | null)?.data;
      const eventType = typeof data?.event_type === 'string' ? data.event_type : 'chat';
      if (closed) return { kind: 'deferred', detail: 'the listener is stopping', results: [{ event: eventType, outcome: 'rejected', detail: 'the listener is stopping: not stored, X retries' }] };
      let session: XChatSession | undefined;
      try {
        session = await sessionOf(target.id);
      } catch (err) {
        const e = err as { message?: string; hint?: string };
        return { kind: 'answered', results: refuse(target, eventType, 'keys_unreadable', `the X Chat keys of interaction #${target.id} cannot be used: ${e.message ?? String(err)}${e.hint ? ` (fix: ${e.hint})` : ''}`, {}, record) };
      }
      if (!session) {
        return { kind: 'answered', results: refuse(target, eventType, 'no_identity', `interaction #${target.id} has no active X Chat identity, so encrypted messages cannot be read (fix: omni interaction xchat setup ${target.id})`, {}, record) };
      }
      const out = await session.receive(envelope);
      for (const k of out.status === 'deferred' || !record ? [] : out.keyChangeRejections) {
        // A refused key change is recorded too: it may be why a later message cannot be read.
        rejected.inc({ reason: k.reason });
        o.record({ interactionId: target.id, at: clock().toISOString(), kind: 'chat_rejected', result: k.reason, detail: `key change${k.eventId ? ` ${k.eventId}` : ''}: ${k.detail}` });
      }
      switch (out.status) {
        case 'deferred':
          if (count) events.inc({ result: 'deferred' });
          o.log.warn(`interaction #${target.id} ${target.name}: an X Chat event cannot be checked now (${out.detail}); not stored, retried`, { interaction: target.id, eventUuid: out.eventUuid ?? null });
          return { kind: 'deferred', detail: out.detail, results: [{ event: eventType, outcome: 'rejected', detail: `deferred: ${out.detail}` }] };
        case 'rejected':
          return { kind: 'answered', results: refuse(target, out.eventType || eventType, out.reason, out.detail, { id: out.eventId, sender: out.senderId }, record) };
        case 'event':
          if (count) events.inc({ result: 'event' });
          return { kind: 'answered', results: [{ event: eventType, outcome: 'ignored', detail: `verified X Chat ${out.kind} event${out.learnedKeyVersions.length ? ` (conversation key ${out.learnedKeyVersions.join(', ')} learned)` : ''}: nothing to store` }] };
        case 'message': {
          if (count) events.inc({ result: 'message' });
          const m = out.message;
          if (m.peerId !== undefined && m.peerId !== session.identity.userId) {
            // Before the commit: an answer the Helper queues in the same transaction must already go to X Chat.
            const now = clock().toISOString();
            await rememberXChatConversation(o.db, { interactionId: target.id, peerUserId: m.peerId, conversationId: m.conversationId, conversationToken: m.conversationToken, messageId: m.messageId, messageAt: m.createdAt, now });
          }
          return { kind: 'store', chat: writeItem(m, session.identity.userId), eventType: m.eventType };
        }
      }
    },
    giveUp(target, eventType, detail) {
      return refuse(target, eventType, 'deferred', `${detail}; not stored (fix: within 5 minutes, restart with omni listen --stream --stream-backfill 5 so that X re-sends it; with a webhook: omni webhook replay ${target.id} --since <time>)`);
    },
    close() {
      closed = true;
      for (const { session } of sessions.values()) session.then((s) => s?.dispose(), () => undefined);
      sessions.clear();
    },
  };
}

function writeItem(m: ChatIntakeMessage, account: string): ChatWriteItem {
  return {
    direction: m.direction,
    account,
    senderId: m.senderId,
    peerId: m.peerId ?? null,
    messageId: m.messageId,
    conversationId: m.conversationId,
    text: m.text,
    createdAt: m.createdAt,
    attachments: m.attachments.map((a) => ({
      type: a.type,
      ...(a.mediaHashKey !== undefined ? { mediaHashKey: a.mediaHashKey } : {}),
      ...(a.filename !== undefined ? { filename: a.filename } : {}),
      ...(a.filesizeBytes !== undefined ? { filesizeBytes: a.filesizeBytes } : {}),
      ...(a.mediaType !== undefined ? { mediaType: a.mediaType } : {}),
      ...(a.url !== undefined ? { url: a.url } : {}),
    })),
  };
}
