// The PostgreSQL batch committer: the listener's group commit on one pooled client. BEGIN, a
// SAVEPOINT per job (a failed job is rolled back alone), COMMIT; a job's promise is answered only
// after COMMIT returned, so a 200 always means durable (synchronous_commit on, the server default).
// Several listeners commit in parallel; the database's constraints and locks serialise them. A job
// that loses a race on a unique or partial unique index (23505: the requester's one open ticket,
// the one active Helper conversation), or is chosen as a deadlock victim (40P01) or a serialization
// failure (40001), is rolled back to its savepoint and run again: it then sees what the winner
// committed (READ COMMITTED: every statement reads the latest committed data).
import type { Pool, PoolClient } from 'pg';
import { isDatabaseUnavailable, type JobResult } from './batch.js';
import type { PgQueryable } from './pg-stores.js';

/** A job that lost a race on a unique index runs again from its savepoint: the winner has committed. */
const UNIQUE_VIOLATION = '23505';
/**
 * A deadlock victim (40P01) or a serialization failure (40001): the locks the batch's earlier jobs
 * hold are part of the cycle, so the whole batch is rolled back and run again after a short random
 * pause (the other side finishes meanwhile). The writer orders a batch's jobs by requester to make
 * cycles rare in the first place.
 */
const BATCH_CONFLICTS = new Set(['40P01', '40001']);
/** Runs of one job, and of one batch, before its conflict is reported (the listener answers 500/503, X retries). */
export const MAX_RUNS = 5;

/**
 * The client lost its connection, or could not get one (no SQLSTATE: pg's own errors, e.g.
 * "Connection terminated unexpectedly"). Answered 503; the pool reconnects for the next batch.
 */
export class DatabaseUnreachable extends Error {
  readonly code = 'ERR_DB_UNREACHABLE';
  constructor(cause: unknown) {
    super(`PostgreSQL is unreachable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnreachable';
  }
}

/** A server error (it carries a SQLSTATE) stays as it is; anything else pg throws means the connection is gone. */
function fromPg(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (/^[0-9A-Z]{5}$/.test(code) || isDatabaseUnavailable(err))) return err;
  return new DatabaseUnreachable(err);
}

export function isRetryableConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === UNIQUE_VIOLATION || (typeof code === 'string' && BATCH_CONFLICTS.has(code));
}

function isBatchConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && BATCH_CONFLICTS.has(code);
}

/** Thrown out of a batch's transaction to run the whole batch again. */
class RunAgain extends Error {
  constructor(readonly conflict: unknown) {
    super('run the batch again');
  }
}

/** One job of a batch: it runs its statements on the client it is given (the batch's transaction). */
export type PgJob<T> = (client: PgQueryable) => Promise<T>;

export type PgBatchCommitter = <T>(jobs: Array<PgJob<T>>) => Promise<Array<JobResult<T>>>;

export function createPgBatchCommitter(pool: Pick<Pool, 'connect'>): PgBatchCommitter {
  return async <T>(jobs: Array<PgJob<T>>): Promise<Array<JobResult<T>>> => {
    for (let run = 1; ; run++) {
      const outcome = await once(pool, jobs, run < MAX_RUNS);
      if (outcome !== 'again') return outcome;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * run));
    }
  };
}

async function once<T>(pool: Pick<Pool, 'connect'>, jobs: Array<PgJob<T>>, mayRunAgain: boolean): Promise<Array<JobResult<T>> | 'again'> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    const error = fromPg(err);
    return jobs.map(() => ({ ok: false as const, error }));
  }
  const q: PgQueryable = {
    query: async (text, values) => {
      try {
        return await client.query(text, values);
      } catch (err) {
        throw fromPg(err);
      }
    },
  };
  try {
    await q.query('BEGIN');
    const results: Array<JobResult<T>> = [];
    for (const job of jobs) {
      for (let run = 1; ; run++) {
        await q.query('SAVEPOINT job');
        try {
          const value = await job(q);
          await q.query('RELEASE SAVEPOINT job');
          results.push({ ok: true, value });
          break;
        } catch (error) {
          // The connection itself is gone: nothing of the batch is durable.
          if (isDatabaseUnavailable(error)) throw error;
          if (isBatchConflict(error) && mayRunAgain) throw new RunAgain(error);
          await q.query('ROLLBACK TO SAVEPOINT job');
          await q.query('RELEASE SAVEPOINT job');
          if ((error as { code?: unknown }).code === UNIQUE_VIOLATION && run < MAX_RUNS) continue;
          results.push({ ok: false, error });
          break;
        }
      }
    }
    await q.query('COMMIT');
    client.release();
    return results;
  } catch (err) {
    // BEGIN, a savepoint or COMMIT failed, or the connection dropped: every job fails (never a 200
    // for any of them). A COMMIT whose answer was lost may have committed: the retry that the 503
    // brings is then a duplicate, which the dedup key answers as such.
    const error = err instanceof RunAgain ? err : fromPg(err);
    let broken = isDatabaseUnavailable(error);
    if (!broken) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
    }
    client.release(broken ? (error as Error) : undefined); // a broken client is discarded, not reused
    if (error instanceof RunAgain && !broken) return 'again';
    const failure = error instanceof RunAgain ? error.conflict : error;
    return jobs.map(() => ({ ok: false as const, error: failure }));
  }
}
