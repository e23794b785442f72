// Once per fleet: work that one listener of a database should do per interval, not every listener
// (the webhook watchdog's round, the replay on start, the retention run). A row per job in
// fleet_jobs (migration 0017) says when it last ran; a listener about to run a job stamps the row,
// unless another listener stamped it within the interval, and then skips the run. PostgreSQL: read
// and stamped in one transaction holding pg_try_advisory_xact_lock(job key), so two listeners
// deciding at once cannot both win (the loser of the lock skips at once, never waits). SQLite: the
// same stamp, one statement (the write lock serialises the processes), waiting at most
// RETRYABLE_WRITE_BUSY_MS for the lock like the listener's other event-loop writes: a claim that
// finds the lock held throws SQLITE_BUSY and the caller decides (skip, or run anyway).
import { sql, type Kysely } from 'kysely';
import type { Db } from './connection.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from './pragmas.js';
import type { Database } from './schema.js';

/** The database a claim is made on: SQLite's handle (a short busy timeout) or PostgreSQL's Kysely. */
export type FleetDb = Pick<Db, 'engine' | 'kysely' | 'sqlite'>;

/** The jobs run once per fleet; the names are the rows of fleet_jobs. */
export type FleetJob = 'webhook-watchdog' | 'replay-on-start' | 'retention';

/** A run counts as "this interval's" when stamped less than this share of the interval ago: timers drift by a few ms. */
const SAME_INTERVAL = 0.9;

/** The advisory lock key of a job: a stable 32-bit number per name (hashtext is PostgreSQL's own). */
function lockOf(job: FleetJob) {
  return sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(hashtext(${`omni fleet job ${job}`})) AS locked`;
}

/**
 * True when this caller should run `job` now (the row is then stamped with `owner` and `now`); false
 * when another listener ran it less than an interval ago, or is deciding right now (PostgreSQL).
 * The stamp is one conditional upsert (atomic on both engines: a concurrent insert of the same job
 * waits and is then judged against the row that won); on PostgreSQL it runs under the job's
 * advisory lock, so the other listeners skip at once instead of queueing on the row.
 */
export async function claimFleetRun(db: FleetDb, job: FleetJob, o: { intervalMs: number; owner: string; now: Date }): Promise<boolean> {
  const at = o.now.toISOString();
  const ranBefore = new Date(o.now.getTime() - o.intervalMs * SAME_INTERVAL).toISOString();
  const stamp = (q: Kysely<Database>) =>
    q
      .insertInto('fleet_jobs')
      .values({ job, last_run_at: at, owner: o.owner })
      .onConflict((oc) => oc.column('job').doUpdateSet({ last_run_at: at, owner: o.owner }).where('fleet_jobs.last_run_at', '<=', ranBefore))
      .returning('job');
  if (db.engine === 'sqlite') {
    const sqlite = db.sqlite;
    const q = stamp(db.kysely).compile();
    return withBusyTimeout(sqlite, RETRYABLE_WRITE_BUSY_MS, () => sqlite.prepare(q.sql).get(...(q.parameters as unknown[]))) !== undefined;
  }
  return db.kysely.transaction().execute(async (trx) => ((await lockOf(job).execute(trx)).rows[0]?.locked ? (await stamp(trx).executeTakeFirst()) !== undefined : false));
}

/** Who ran a job last and when (omni status, tests). */
export async function lastFleetRun(db: Kysely<Database>, job: FleetJob): Promise<{ last_run_at: string; owner: string } | undefined> {
  return db.selectFrom('fleet_jobs').select(['last_run_at', 'owner']).where('job', '=', job).executeTakeFirst();
}
