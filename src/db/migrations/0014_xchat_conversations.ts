// X Chat conversations omni takes part in (issue 16): which customers of an interaction write from
// X Chat, in which conversation, so that what omni sends them (a ticket reply, a Helper answer, a
// close message) goes out encrypted to that conversation instead of as a classic DM. One row per
// interaction and customer, written when a verified `chat.received` arrives (or omni's own
// `chat.sent` echo); public data only: ids, X's conversation token, times.
import type { Kysely } from 'kysely';
import { id } from './portable.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('xchat_conversations')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    // The customer: the other participant of the 1:1 (its requester's twitter_user_id).
    .addColumn('peer_user_id', 'text', (c) => c.notNull())
    // `lo:hi` as signed inside events.
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('conversation_token', 'text')
    // The signed message id of the newest verified message, and when it was written.
    .addColumn('last_message_id', 'text')
    .addColumn('last_message_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('xchat_conversations_peer', ['interaction_id', 'peer_user_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('xchat_conversations').execute();
}
