// What happened to each interaction's webhook, as seen from omni: every CRC the listener received
// (answered or refused, with the remote address) and every check of the listener's watchdog. It backs
// `omni webhook status` and `omni doctor` ("last CRC from Twitter 40 min ago"). Bounded: the writer
// keeps the newest rows per interaction and kind (src/db/webhook-events.ts).
import type { Kysely } from 'kysely';
import { id } from './portable.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'integer', id(db))
    .addColumn('interaction_id', 'integer', (c) => c.notNull().references('interactions.id'))
    .addColumn('at', 'text', (c) => c.notNull())
    // crc_answered | crc_refused | watchdog
    .addColumn('kind', 'text', (c) => c.notNull())
    // crc: answered or the refusal reason; watchdog: valid, revalidated, invalid, missing, rate_limited, error
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('remote', 'text')
    .execute();
  // "The newest event of this kind for this interaction", and pruning to the newest N, walk this index.
  await db.schema.createIndex('webhook_events_interaction_kind_id').on('webhook_events').columns(['interaction_id', 'kind', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_events').execute();
}
