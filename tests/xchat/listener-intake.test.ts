// The pieces of X Chat in the listener, in process on a real database of either engine: a verified chat message as
// the writer's job goes through the one pipeline (a ticket, dedup by the signed message id, the echo
// path for chat.sent); the intake refuses and records what it cannot read (no identity), counting it;
// and `requester erase` removes the customer's X Chat conversation and the keys learned for it.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import type { NewWebhookEvent } from '../../src/db/webhook-events.js';
import type { ChatWriteItem } from '../../src/intake/chat.js';
import { createJsonLog } from '../../src/listener/log.js';
import { Registry } from '../../src/listener/prometheus.js';
import { createXChatIntake } from '../../src/listener/xchat-intake.js';
import { eraseRequester } from '../../src/privacy/erase.js';
import { loadSecretBox } from '../../src/secrets.js';
import { rememberXChatConversation, xchatConversationWith } from '../../src/xchat/conversations.js';
import { testDatabase, testSecretEnv } from '../support/engine.js';
import { TEST_TOMBSTONE_KEY, sampleInteraction, writerFor } from '../support/intake.js';
import { seedInteraction } from '../support/seed.js';

const ACCOUNT = '1234567890123456789';
const CUSTOMER = '9876543210987654321';
const CONVERSATION = `${ACCOUNT}:${CUSTOMER}`;

const item = (over: Partial<ChatWriteItem> = {}): ChatWriteItem => ({
  direction: 'received',
  account: ACCOUNT,
  senderId: CUSTOMER,
  peerId: CUSTOMER,
  messageId: 'a3c1f0a2-5d7e-4c1b-9a53-1f2e3d4c5b6a',
  conversationId: CONVERSATION,
  text: 'Where is my parcel?',
  createdAt: '2026-12-01T08:00:00.000Z',
  attachments: [{ type: 'media', mediaHashKey: 'mhk-1', filename: 'photo.jpg', filesizeBytes: 2048, mediaType: 'image' }],
  ...over,
});

describe('X Chat in the listener (in process)', () => {
  it('stores a verified chat message through the one pipeline: a ticket, dedup by the signed id, chat.sent as an echo', async () => {
    const dbPath = testDatabase();
    const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT });
    const db = await openDatabase(dbPath);
    try {
      const writer = writerFor(db, { idleMs: 30 * 60_000, tombstoneKey: TEST_TOMBSTONE_KEY });
      const at = new Date().toISOString();
      const interaction = { ...sampleInteraction(id), account_user_id: ACCOUNT };
      const [first, again, echo] = await writer.write([
        { interaction, body: '', at, chat: item() },
        { interaction, body: '', at, chat: item() },
        { interaction, body: '', at, chat: item({ direction: 'sent', senderId: ACCOUNT, messageId: 'b7d2e1f0-0000-4000-8000-000000000001', text: 'Sent from the X app' }) },
      ]);
      expect(first).toMatchObject({ ok: true, value: [{ event: 'message_create', outcome: 'new_ticket', id: item().messageId, sender: CUSTOMER }] });
      expect(again).toMatchObject({ ok: true, value: [{ outcome: 'duplicate' }] });
      // The account's own message from elsewhere joins the customer's open ticket as outbound, never a new ticket.
      expect(echo).toMatchObject({ ok: true, value: [{ outcome: 'echo', detail: 'sent from outside omni; stored as an outbound message' }] });
      const rows = await db.kysely.selectFrom('messages').select(['direction', 'text', 'twitter_event_id', 'attachments']).orderBy('id').execute();
      expect(rows.map((r) => [r.direction, r.text, r.twitter_event_id])).toEqual([
        ['inbound', 'Where is my parcel?', item().messageId],
        ['outbound', 'Sent from the X app', 'b7d2e1f0-0000-4000-8000-000000000001'],
      ]);
      expect(JSON.parse(rows[0]!.attachments)).toEqual([{ type: 'media', mediaUrl: null, idStr: null, mediaHashKey: 'mhk-1', filename: 'photo.jpg', filesizeBytes: 2048, mediaType: 'image' }]);
      expect(await db.kysely.selectFrom('tickets').select('id').execute()).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('refuses a chat event for an interaction without an X Chat identity: recorded with the fix, counted, not stored', async () => {
    const dbPath = testDatabase();
    const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT });
    const db = await openDatabase(dbPath);
    try {
      const recorded: NewWebhookEvent[] = [];
      const registry = new Registry();
      const lines: string[] = [];
      const intake = createXChatIntake({
        db: db.kysely,
        box: loadSecretBox(dbPath, testSecretEnv(dbPath)),
        api: async () => {
          throw new Error('X is not called without an identity');
        },
        record: (e) => recorded.push(e),
        registry,
        log: createJsonLog({ write: (l: string) => lines.push(l) }),
      });
      const step = await intake.receive({ id, name: 'Support' }, { data: { event_type: 'chat.received', payload: { conversation_id: CONVERSATION, encoded_event: 'AAAA' } } });
      expect(step).toEqual({ kind: 'answered', results: [{ event: 'chat.received', outcome: 'rejected', detail: `no_identity: interaction #${id} has no active X Chat identity, so encrypted messages cannot be read (fix: omni interaction xchat setup ${id})` }] });
      expect(recorded).toEqual([expect.objectContaining({ interactionId: id, kind: 'chat_rejected', result: 'no_identity' })]);
      const text = registry.render();
      expect(text).toContain('omni_xchat_rejected_total{reason="no_identity"} 1');
      expect(text).toContain('omni_xchat_events_total{result="rejected"} 1');
      expect(text).toContain('omni_xchat_rejected_total{reason="bad_signature"} 0');
      intake.close();
    } finally {
      await db.close();
    }
  });

  it('requester erase removes the customer\'s X Chat conversation and the conversation keys learned for it', async () => {
    const dbPath = testDatabase();
    const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT });
    const db = await openDatabase(dbPath);
    try {
      const writer = writerFor(db, { idleMs: 30 * 60_000, tombstoneKey: TEST_TOMBSTONE_KEY });
      const now = new Date().toISOString();
      await writer.write([{ interaction: { ...sampleInteraction(id), account_user_id: ACCOUNT }, body: '', at: now, chat: item() }]);
      await rememberXChatConversation(db.kysely, { interactionId: id, peerUserId: CUSTOMER, conversationId: CONVERSATION, conversationToken: 'tok', messageId: item().messageId, messageAt: item().createdAt, now });
      await db.kysely.insertInto('xchat_conversation_keys').values({ interaction_id: id, conversation_id: CONVERSATION, key_version: '1', key_enc: 'envelope', via: 'key-change', created_at: now }).execute();
      expect(await xchatConversationWith(db.kysely, id, CUSTOMER)).toMatchObject({ conversationId: CONVERSATION, conversationToken: 'tok', lastMessageId: item().messageId });
      const { id: requester } = await db.kysely.selectFrom('requesters').select('id').where('twitter_user_id', '=', CUSTOMER).executeTakeFirstOrThrow();
      await eraseRequester(db.kysely, { requesterId: requester, hash: (e) => `h:${e}`, now, actor: 'test', reason: null });
      expect(await xchatConversationWith(db.kysely, id, CUSTOMER)).toBeUndefined();
      expect(await db.kysely.selectFrom('xchat_conversation_keys').select('interaction_id').execute()).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
