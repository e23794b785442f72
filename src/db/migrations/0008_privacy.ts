// A requester's data on request (erase, retention). `erased_events` is the tombstone: keyed hashes
// (HMAC-SHA256 under a subkey of the installation's secret key) of the DM event ids of an erased
// requester, and nothing else, so that a replayed, retried or reconciled delivery of an erased DM is
// dropped instead of stored again. `settings` holds omni's own named settings (messages.retention).
// requesters.erased_at and messages.redacted_at mark rows whose content was erased or redacted: the
// rows stay, so ticket numbers and counts still add up.
import type { Kysely } from 'kysely';
import { id } from './portable.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('erased_events')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.references('interactions.id'))
    // hex of HMAC-SHA256(subkey, DM event id): the intake looks every DM event id up here.
    .addColumn('event_hash', 'text', (c) => c.notNull().unique())
    .addColumn('erased_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('requesters').addColumn('erased_at', 'text').execute();
  await db.schema.alterTable('messages').addColumn('redacted_at', 'text').execute();
  // Retention walks closed tickets by the time they were closed.
  await db.schema.createIndex('tickets_status_closed_at').on('tickets').columns(['status', 'closed_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('tickets_status_closed_at').execute();
  await db.schema.alterTable('messages').dropColumn('redacted_at').execute();
  await db.schema.alterTable('requesters').dropColumn('erased_at').execute();
  await db.schema.dropTable('settings').execute();
  await db.schema.dropTable('erased_events').execute();
}
