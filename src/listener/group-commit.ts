// Group commit: deliveries that arrive while a batch is being written are written together in the
// next transaction, so one fsync (synchronous=FULL) covers all of them. Each still gets its own
// SAVEPOINT (in the writer): one bad delivery is rolled back alone. Every promise settles only after
// the COMMIT of its batch returned.
//
// The writer may be synchronous (in-process, tests) or asynchronous (a worker thread, `omni listen`).
// At most one batch is in flight: while the writer fsyncs, the event loop keeps reading, verifying
// and parsing the next deliveries, and they form the next batch.
// Generic: it knows nothing of deliveries or databases; the intake supplies the batch writer.

export interface GroupCommitStats {
  batches: number;
  jobs: number;
  largestBatch: number;
  /** Size and duration of the last batch, for logs and (later) metrics. */
  last: { size: number; ms: number } | null;
}

/** The outcome of one job of a batch. */
export type BatchResult<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Writes a batch in one transaction; one result per job, in order. Rejecting fails the whole batch. */
export type BatchWriter<J, R> = (jobs: J[]) => Array<BatchResult<R>> | Promise<Array<BatchResult<R>>>;

interface Pending<J, R> {
  job: J;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitter<J, R> {
  /** Queues a job; resolves with its result once the batch holding it has committed. */
  submit(job: J): Promise<R>;
  /** Resolves when nothing is queued or being written. */
  drain(): Promise<void>;
  readonly stats: GroupCommitStats;
}

/** Batches larger than this are split, to bound the time one transaction holds the write lock. */
export const MAX_BATCH = 512;

export interface GroupCommitOptions {
  /** Batches handed to the writer before the first one is answered (an asynchronous writer's queue). */
  maxInFlight?: number;
}

export function createGroupCommitter<J, R>(write: BatchWriter<J, R>, options: GroupCommitOptions = {}): GroupCommitter<J, R> {
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  let queue: Pending<J, R>[] = [];
  let scheduled = false;
  let writing = 0;
  let idle: Array<() => void> = [];
  const stats: GroupCommitStats = { batches: 0, jobs: 0, largestBatch: 0, last: null };

  const schedule = () => {
    if (scheduled || writing >= maxInFlight) return;
    scheduled = true;
    // setImmediate runs after the poll phase: every request whose body completed in this turn of
    // the event loop joins the same batch.
    setImmediate(flush);
  };

  const flush = async () => {
    scheduled = false;
    if (queue.length === 0) {
      if (writing > 0) return; // the last batch to finish wakes the waiters
      const waiters = idle;
      idle = [];
      for (const w of waiters) w();
      return;
    }
    const batch = queue.length > MAX_BATCH ? queue.splice(0, MAX_BATCH) : queue;
    if (batch === queue) queue = [];
    writing++;
    // More may be handed over while this one is written.
    if (queue.length > 0) schedule();
    const started = performance.now();
    let results: Array<BatchResult<R>>;
    try {
      results = await write(batch.map((p) => p.job));
    } catch (error) {
      results = batch.map(() => ({ ok: false as const, error }));
    }
    writing--;
    const ms = performance.now() - started;
    stats.batches++;
    stats.jobs += batch.length;
    stats.largestBatch = Math.max(stats.largestBatch, batch.length);
    stats.last = { size: batch.length, ms };
    batch.forEach((p, i) => {
      const r = results[i];
      if (r?.ok) p.resolve(r.value);
      else p.reject(r ? r.error : new Error('the writer returned no result for this job'));
    });
    // The next batch (what arrived meanwhile) goes after this one's sockets have been answered;
    // with an empty queue this pass only wakes drain() waiters.
    schedule();
  };

  return {
    stats,
    submit(job: J): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ job, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (!scheduled && writing === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
