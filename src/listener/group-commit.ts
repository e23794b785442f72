// Group commit: deliveries that arrive while the event loop is busy are written in one transaction,
// so one fsync (synchronous=FULL) covers all of them. Each still gets its own SAVEPOINT: one bad
// delivery is rolled back alone. Every promise settles only after COMMIT returned.
import type { JobResult } from '../db/intake.js';

export interface GroupCommitStats {
  batches: number;
  jobs: number;
  largestBatch: number;
  /** Size and duration of the last batch, for logs and (later) metrics. */
  last: { size: number; ms: number } | null;
}

interface Pending<T> {
  job: () => T;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitter {
  /** Queues a synchronous job; resolves with its value once the batch holding it has committed. */
  submit<T>(job: () => T): Promise<T>;
  /** Resolves when nothing is queued or being written. */
  drain(): Promise<void>;
  readonly stats: GroupCommitStats;
}

/** Batches larger than this are split, to bound the time the event loop spends in one transaction. */
export const MAX_BATCH = 512;

export function createGroupCommitter(commit: <T>(jobs: Array<() => T>) => Array<JobResult<T>>): GroupCommitter {
  let queue: Pending<any>[] = [];
  let scheduled = false;
  let idle: Array<() => void> = [];
  const stats: GroupCommitStats = { batches: 0, jobs: 0, largestBatch: 0, last: null };

  const flush = () => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.length > MAX_BATCH ? queue.splice(0, MAX_BATCH) : queue;
      if (batch === queue) queue = [];
      const started = performance.now();
      const results = commit(batch.map((p) => p.job));
      const ms = performance.now() - started;
      stats.batches++;
      stats.jobs += batch.length;
      stats.largestBatch = Math.max(stats.largestBatch, batch.length);
      stats.last = { size: batch.length, ms };
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r.ok) p.resolve(r.value);
        else p.reject(r.error);
      });
      if (queue.length > 0) {
        // Let the sockets of this batch be answered before writing the next one.
        scheduled = true;
        setImmediate(flush);
        return;
      }
    }
    const waiters = idle;
    idle = [];
    for (const w of waiters) w();
  };

  return {
    stats,
    submit<T>(job: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ job, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // setImmediate runs after the poll phase: every request whose body completed in this
          // turn of the event loop joins the same batch.
          setImmediate(flush);
        }
      });
    },
    drain() {
      if (!scheduled && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
