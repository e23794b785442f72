// Reconciliation from X's DM history (GET /2/dm_events) and what X bills (`omni reconcile`,
// `omni usage`, the listener's periodic reconcile; src/db/reconcile.ts):
// - reconcile_state: per interaction, the newest DM event already read from X's history (the cursor
//   the next run stops at), the last run and what it found, X's rate-limit reset, and the lease that
//   lets one listener of a fleet reconcile an account at a time (a plain row lease: one atomic UPDATE,
//   the same on SQLite and PostgreSQL).
// - x_history_reads: each DM event read from X's history, once per UTC day (X bills a resource read
//   again only on another UTC day), and whether the run imported it (it was never delivered).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reconcile_state')
    .addColumn('interaction_id', 'integer', (c) => c.primaryKey().references('interactions.id'))
    // The newest DM event id seen in X's history and its time: the next run reads back to it.
    .addColumn('cursor_event_id', 'text')
    .addColumn('cursor_at', 'text')
    .addColumn('last_run_at', 'text')
    .addColumn('last_read', 'integer')
    .addColumn('last_found', 'integer')
    .addColumn('last_error', 'text')
    // X's x-rate-limit-reset (or a 429's): no history call for this account before it.
    .addColumn('limited_until', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .execute();
  await db.schema
    .createTable('x_history_reads')
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('imported', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('x_history_reads_pk', ['day', 'interaction_id', 'event_id'])
    .execute();
  await db.schema.createIndex('x_history_reads_event').on('x_history_reads').columns(['interaction_id', 'event_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('x_history_reads').execute();
  await db.schema.dropTable('reconcile_state').execute();
}
