// When each `omni listen` was last alive: one row per listener (host name and port), its heartbeat
// written every ~20 s and at a clean stop. On start, a listener that finds every heartbeat older than a
// minute knows deliveries may have been missed meanwhile and asks X to replay them (docs/reliability.md).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('listener_heartbeats')
    // "<host name>:<port>": the same listener restarted keeps its row.
    .addColumn('listener', 'text', (c) => c.primaryKey())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('last_alive_at', 'text', (c) => c.notNull())
    // Set by a clean stop; null while running or after a crash.
    .addColumn('stopped_at', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('listener_heartbeats').execute();
}
