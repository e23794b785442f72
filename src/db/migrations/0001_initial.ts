// The foundation schema: catalogs, parameters, interactions, audit, requesters, tickets, messages.
// Portable SQL only (SQLite now, PostgreSQL later): no AUTOINCREMENT quirks beyond Kysely's builder,
// partial unique indexes (both dialects have them), TEXT timestamps.
import { sql, type Kysely } from 'kysely';
import { id } from './portable.js';

const catalogs = ['units', 'groups', 'portfolios', 'contact_origins', 'contracts'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of catalogs) {
    await db.schema
      .createTable(table)
      .addColumn('id', 'integer', id(db))
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  }
  await db.schema
    .createTable('activities')
    .addColumn('id', 'integer', id(db))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('portfolio_id', 'integer', (c) => c.notNull().references('portfolios.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('activities_portfolio_name', ['portfolio_id', 'name'])
    .execute();

  await db.schema
    .createTable('parameters')
    .addColumn('number', 'integer', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('interactions')
    .addColumn('id', 'integer', id(db))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('unit_id', 'integer', (c) => c.references('units.id'))
    .addColumn('group_id', 'integer', (c) => c.references('groups.id'))
    .addColumn('activity_id', 'integer', (c) => c.references('activities.id'))
    .addColumn('contact_origin_id', 'integer', (c) => c.references('contact_origins.id'))
    .addColumn('helper_interception', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('dev_environment', 'text', (c) => c.notNull())
    .addColumn('api_key_enc', 'text', (c) => c.notNull())
    .addColumn('api_secret_key_enc', 'text', (c) => c.notNull())
    .addColumn('access_token_enc', 'text', (c) => c.notNull())
    .addColumn('access_token_secret_enc', 'text', (c) => c.notNull())
    .addColumn('callback_url', 'text', (c) => c.notNull())
    .addColumn('account_user_id', 'text')
    .addColumn('account_screen_name', 'text')
    .addColumn('webhook_id', 'text')
    .addColumn('webhook_url', 'text')
    .addColumn('webhook_valid', 'integer')
    .addColumn('subscribed', 'integer')
    .addColumn('webhook_checked_at', 'text')
    .addColumn('webhook_last_error', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('deleted_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // Names are unique among live interactions only: a deleted one frees its name (4biz deletes logically).
  await db.schema
    .createIndex('interactions_live_name')
    .on('interactions')
    .column('name')
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', id(db))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('changes', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('requesters')
    .addColumn('id', 'integer', id(db))
    .addColumn('twitter_user_id', 'text', (c) => c.notNull().unique())
    .addColumn('screen_name', 'text')
    .addColumn('name', 'text')
    .addColumn('unit_id', 'integer', (c) => c.references('units.id'))
    .addColumn('group_id', 'integer', (c) => c.references('groups.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tickets')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('requester_id', 'integer', (c) => c.notNull().references('requesters.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('unit_id', 'integer', (c) => c.references('units.id'))
    .addColumn('group_id', 'integer', (c) => c.references('groups.id'))
    .addColumn('activity_id', 'integer', (c) => c.references('activities.id'))
    .addColumn('contact_origin_id', 'integer', (c) => c.references('contact_origins.id'))
    .addColumn('contract_id', 'integer', (c) => c.references('contracts.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('closed_at', 'text')
    .execute();
  // At most one open ticket per requester and interaction: a DM joins it, a closed one lets the next DM open a new one.
  await db.schema
    .createIndex('tickets_one_open')
    .on('tickets')
    .columns(['interaction_id', 'requester_id'])
    .unique()
    .where(sql.ref('status'), '=', 'open')
    .execute();
  await db.schema.createIndex('tickets_status_id').on('tickets').columns(['status', 'id']).execute();
  await db.schema.createIndex('tickets_requester').on('tickets').column('requester_id').execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'integer', id(db))
    .addColumn('ticket_id', 'integer', (c) => c.notNull().references('tickets.id'))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('twitter_event_id', 'text')
    .addColumn('sender_twitter_id', 'text')
    .addColumn('sent_at', 'text', (c) => c.notNull())
    .addColumn('attachments', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // The dedup key: Twitter redelivers, and one DM event must become one message.
  await db.schema
    .createIndex('messages_event_dedup')
    .on('messages')
    .columns(['interaction_id', 'twitter_event_id'])
    .unique()
    .execute();
  await db.schema.createIndex('messages_ticket').on('messages').columns(['ticket_id', 'id']).execute();

  // 4biz's default contact origins, seeded once on the first run.
  const now = new Date().toISOString();
  await db
    .insertInto('contact_origins')
    .values(['Service Desk', 'E-mail', 'Facebook', 'Twitter', 'WhatsApp'].map((name) => ({ name, created_at: now })))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['messages', 'tickets', 'requesters', 'audit_log', 'interactions', 'parameters', 'activities']) {
    await db.schema.dropTable(t).execute();
  }
  for (const t of catalogs) await db.schema.dropTable(t).execute();
}
