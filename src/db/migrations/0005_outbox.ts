// The transactional outbox (every DM omni sends) and the Helper's conversations, transcripts and
// jobs. A DM to send is a row written in the same transaction as whatever caused it; workers claim
// rows with one atomic UPDATE, so several processes on one database file never send a row twice
// at the same time. Portable SQL: partial indexes and TEXT timestamps work on PostgreSQL too.
import { sql, type Kysely } from 'kysely';
import { id } from './portable.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('helper_conversations')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('requester_id', 'integer', (c) => c.notNull().references('requesters.id'))
    // active: the bot answers; handed_off: a ticket opened (ticket_id); expired: idle too long.
    .addColumn('status', 'text', (c) => c.notNull())
    // Where the built-in dialogue stands: start | menu | awaiting_description.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('ticket_id', 'integer', (c) => c.references('tickets.id'))
    .addColumn('last_activity_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .execute();
  // One live conversation per requester and interaction, as with open tickets.
  await db.schema
    .createIndex('helper_conversations_one_active')
    .on('helper_conversations')
    .columns(['interaction_id', 'requester_id'])
    .unique()
    .where(sql.ref('status'), '=', 'active')
    .execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('ticket_id', 'integer', (c) => c.references('tickets.id'))
    // The outbound message on the ticket this row delivers (ticket show reads its state here).
    .addColumn('message_id', 'integer', (c) => c.references('messages.id'))
    .addColumn('conversation_id', 'integer', (c) => c.references('helper_conversations.id'))
    .addColumn('recipient_twitter_id', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    // JSON array of quick-reply options {label, description?, metadata?}, or NULL.
    .addColumn('options', 'text')
    // pending → sending → sent | failed (→ pending again through `omni outbox retry`).
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // pending: not before this time; sending: the claim's lease ends here (then it is due again).
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('last_error_kind', 'text')
    .addColumn('twitter_dm_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'text')
    .execute();
  // The worker's "due" query: status IN (pending, sending) AND next_attempt_at <= now, oldest first.
  await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at', 'id']).execute();
  // Per-recipient order: a row waits while an older one to the same person is unsent.
  await db.schema.createIndex('outbox_recipient').on('outbox').columns(['interaction_id', 'recipient_twitter_id', 'id']).execute();
  await db.schema.createIndex('outbox_ticket').on('outbox').columns(['ticket_id', 'id']).execute();
  await db.schema.createIndex('outbox_message').on('outbox').column('message_id').unique().where(sql.ref('message_id'), 'is not', null).execute();
  await db.schema.createIndex('outbox_conversation').on('outbox').columns(['conversation_id', 'id']).execute();

  await db.schema
    .createTable('helper_messages')
    .addColumn('id', 'integer', id(db))
    .addColumn('conversation_id', 'integer', (c) => c.notNull().references('helper_conversations.id'))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    // The quick-reply payload the requester chose (inbound) or the options offered (outbound, JSON).
    .addColumn('payload', 'text')
    // Inbound: the DM event id (the dedup key, as for messages). Outbound: the DM id once sent.
    .addColumn('twitter_event_id', 'text')
    .addColumn('attachments', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('outbox_id', 'integer', (c) => c.references('outbox.id'))
    .addColumn('sent_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('helper_messages_event_dedup')
    .on('helper_messages')
    .columns(['interaction_id', 'twitter_event_id'])
    .unique()
    .execute();
  await db.schema.createIndex('helper_messages_conversation').on('helper_messages').columns(['conversation_id', 'id']).execute();
  await db.schema.createIndex('helper_messages_outbox').on('helper_messages').column('outbox_id').execute();

  // One inbound message waiting for the external Helper. Called outside any transaction by the
  // listener's helper worker; one job at a time per conversation, in order.
  await db.schema
    .createTable('helper_jobs')
    .addColumn('id', 'integer', id(db))
    .addColumn('conversation_id', 'integer', (c) => c.notNull().references('helper_conversations.id'))
    .addColumn('helper_message_id', 'integer', (c) => c.notNull().unique().references('helper_messages.id'))
    // pending → working → done | skipped (the conversation was handed off meanwhile).
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('helper_jobs_due').on('helper_jobs').columns(['status', 'next_attempt_at', 'id']).execute();
  await db.schema.createIndex('helper_jobs_conversation').on('helper_jobs').columns(['conversation_id', 'status', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['helper_jobs', 'helper_messages', 'outbox', 'helper_conversations']) await db.schema.dropTable(t).execute();
}
