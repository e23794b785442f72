// Replay jobs of X's webhooks (migration 0012). `omni webhook replay` and the listener's replay on
// start record the request (recordReplayJobRequested); the `replay_job_status` event X delivers at
// the end of the job is recorded by the listener's intake (the better-sqlite3 statement of
// createReplayJobStatusWriter, inside the batch transaction; recordReplayJobStatus is the same write
// through Kysely). Either may come first: a status can arrive for a job this database never saw
// requested (another installation, the developer console), and a retry of it changes nothing.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database, ReplayJob } from './schema.js';

export type { ReplayJob };

/** What a `replay_job_status` event says, and where and when it arrived. */
export interface ReplayJobStatus {
  jobId: string;
  webhookId: string;
  /** X's job_state: Complete, Incomplete (or whatever X sends). */
  state: string;
  description: string | null;
  /** The interaction whose webhook URL the event arrived on. */
  interactionId: number | null;
  /** ISO-8601 UTC arrival time. */
  at: string;
}

const STATUS_UPSERT = `INSERT INTO replay_jobs (job_id, webhook_id, interaction_id, state, description, reported_at)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (job_id) DO UPDATE SET
    webhook_id = excluded.webhook_id,
    interaction_id = COALESCE(replay_jobs.interaction_id, excluded.interaction_id),
    state = excluded.state,
    description = excluded.description,
    reported_at = excluded.reported_at`;

/** The intake's statement (listener hot path, synchronous, inside the caller's transaction). */
export function createReplayJobStatusWriter(sqlite: BetterSqlite3.Database): (s: ReplayJobStatus) => void {
  const upsert = sqlite.prepare<[string, string, number | null, string, string | null, string]>(STATUS_UPSERT);
  return (s) => {
    upsert.run(s.jobId, s.webhookId, s.interactionId, s.state, s.description, s.at);
  };
}

/** The same write through Kysely (both engines). */
export async function recordReplayJobStatus(db: Kysely<Database>, s: ReplayJobStatus): Promise<void> {
  await db
    .insertInto('replay_jobs')
    .values({ job_id: s.jobId, webhook_id: s.webhookId, interaction_id: s.interactionId, state: s.state, description: s.description, reported_at: s.at })
    .onConflict((oc) =>
      oc.column('job_id').doUpdateSet((eb) => ({
        webhook_id: eb.ref('excluded.webhook_id'),
        interaction_id: eb.fn.coalesce('replay_jobs.interaction_id', eb.ref('excluded.interaction_id')),
        state: eb.ref('excluded.state'),
        description: eb.ref('excluded.description'),
        reported_at: eb.ref('excluded.reported_at'),
      })),
    )
    .execute();
}

/** A replay X accepted (its job id): state 'requested' until X reports; a status already there stays. */
export async function recordReplayJobRequested(db: Kysely<Database>, r: { jobId: string; webhookId: string; interactionId: number | null; at: string }): Promise<void> {
  await db
    .insertInto('replay_jobs')
    .values({ job_id: r.jobId, webhook_id: r.webhookId, interaction_id: r.interactionId, state: 'requested', requested_at: r.at })
    .onConflict((oc) => oc.column('job_id').doUpdateSet((eb) => ({ requested_at: eb.ref('excluded.requested_at') })))
    .execute();
}

/** One job by X's id, or undefined when neither its request nor its status was recorded here. */
export async function replayJobStatus(db: Kysely<Database>, jobId: string): Promise<ReplayJob | undefined> {
  return db.selectFrom('replay_jobs').selectAll().where('job_id', '=', jobId).executeTakeFirst();
}

/** The jobs of one webhook, newest first (by request, else report time). */
export async function replayJobsOfWebhook(db: Kysely<Database>, webhookId: string, limit = 20): Promise<ReplayJob[]> {
  const rows = await db.selectFrom('replay_jobs').selectAll().where('webhook_id', '=', webhookId).execute();
  const when = (j: ReplayJob) => j.requested_at ?? j.reported_at ?? '';
  return rows.sort((a, b) => when(b).localeCompare(when(a))).slice(0, limit);
}
