// One write transaction for a batch of jobs (the listener's group commit), and which database
// errors mean "cannot take writes now". Recognised by SQLite's error codes, never by message text.
import type BetterSqlite3 from 'better-sqlite3';

export type JobResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs every job in ONE write transaction (BEGIN IMMEDIATE … COMMIT), each job in its own SAVEPOINT
 * so that a failing job is rolled back alone. If BEGIN or COMMIT fails, every job fails with that
 * error: nothing of the batch is durable, and the caller must not answer any of them 200.
 */
export function createBatchCommitter(sqlite: BetterSqlite3.Database): <T>(jobs: Array<() => T>) => Array<JobResult<T>> {
  // A nested better-sqlite3 transaction function runs as SAVEPOINT / RELEASE / ROLLBACK TO.
  const one = sqlite.transaction((job: () => unknown) => job());
  // The common case first: every job of the batch in one transaction, no savepoints (two statements
  // less per delivery). If any job throws, nothing of this attempt is kept and the batch runs again
  // with a savepoint per job, so one bad delivery is rolled back alone.
  const optimistic = sqlite.transaction((jobs: Array<() => unknown>) => jobs.map((job): JobResult<unknown> => ({ ok: true, value: job() })));
  const isolated = sqlite.transaction((jobs: Array<() => unknown>) =>
    jobs.map((job): JobResult<unknown> => {
      try {
        return { ok: true, value: one(job) };
      } catch (error) {
        if (isDatabaseUnavailable(error) && !sqlite.inTransaction) throw error; // the transaction itself is gone
        return { ok: false, error };
      }
    }),
  );
  return <T>(jobs: Array<() => T>) => {
    try {
      // IMMEDIATE takes the write lock up front: reads inside see the latest data, so "find the
      // open ticket, else create one" cannot race with another process writing the same file.
      return optimistic.immediate(jobs) as Array<JobResult<T>>;
    } catch (error) {
      // A locked or unwritable database fails every job the same way: answer now (503, Twitter
      // retries) instead of waiting for the lock a second time.
      if (isDatabaseUnavailable(error)) return jobs.map(() => ({ ok: false as const, error }));
      try {
        return isolated.immediate(jobs) as Array<JobResult<T>>;
      } catch (error) {
        return jobs.map(() => ({ ok: false as const, error }));
      }
    }
  };
}

/**
 * Errors that mean "the database cannot take writes now" (answer 503 so the sender retries).
 * SQLite: its busy/IO codes. PostgreSQL: SQLSTATE class 08 (connection), 53 (insufficient
 * resources: 53300 too many connections), 57P01–57P03 (shutting down, cannot connect now), 25006
 * (a read-only standby), the socket's own errors, and ERR_DB_UNREACHABLE (src/db/pg-batch.ts: the
 * client lost its connection). The pool opens a new connection for the next batch by itself.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (
    /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|CORRUPT|NOTADB|PERM|AUTH)/.test(code) ||
    code === 'ERR_DB_CLOSED' ||
    code === 'ERR_DB_UNREACHABLE' ||
    /^(08...|53...|57P0[123]|25006)$/.test(code) ||
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code)
  );
}

/** An error of the database itself (SQLite's codes, a PostgreSQL SQLSTATE, omni's ERR_DB_*), not of the code that called it. */
export function isDatabaseError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_') || code.startsWith('ERR_DB_') || /^[0-9A-Z]{5}$/.test(code) || isDatabaseUnavailable(err));
}
