// Replay jobs of X's webhooks (POST /2/webhooks/replay): when one was requested and the
// `replay_job_status` event X delivers at its end (job_state Complete | Incomplete, with X's
// description). One row per X job id; the listener's intake writes the status, `omni webhook replay`
// and the listener's replay on start write the request, and both read it (src/db/replay-jobs.ts).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('replay_jobs')
    .addColumn('job_id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    // The interaction whose webhook URL the status arrived on, or that asked for the replay.
    .addColumn('interaction_id', 'integer', (c) => c.references('interactions.id'))
    // 'requested' until X reports; then X's job_state (Complete, Incomplete, or what X sends).
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('requested_at', 'text')
    .addColumn('reported_at', 'text')
    .execute();
  await db.schema.createIndex('replay_jobs_webhook').on('replay_jobs').columns(['webhook_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('replay_jobs').execute();
}
