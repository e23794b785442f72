// The loop behind the listener's workers: claim what is due, work on up to `concurrency` items at
// once, sleep until the next poll or a wake(). On SQLite a claim is synchronous (it never
// interleaves with a group commit); on PostgreSQL it is a promise (one statement on the pool).
// stop() claims nothing more and waits for the work in hand: abandoning a claimed send would leave
// it to the lease and risk sending it twice.
import { isDatabaseUnavailable } from '../db/batch.js';

export interface Poller {
  /** Look for due work now instead of at the next poll. */
  wake(): void;
  /** Stops claiming and resolves when the items in hand are finished. */
  stop(): Promise<void>;
}

export interface PollerOptions<T> {
  intervalMs: number;
  concurrency: number;
  claim: () => T | undefined | Promise<T | undefined>;
  work: (item: T) => Promise<void>;
  onError: (err: unknown) => void;
  /** The database answers claims again after it was unavailable (once per outage). */
  onRecovered?: () => void;
  /** The longest pause between polls while the database is unavailable (default 10 s). */
  maxBackoffMs?: number;
}

export const DEFAULT_MAX_BACKOFF_MS = 10_000;

export function startPoller<T>(opts: PollerOptions<T>): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeUp: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();
  const maxBackoffMs = Math.max(opts.intervalMs, opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);

  // A wake() that comes while a claim is awaited (PostgreSQL) is not lost: the next sleep is skipped.
  let wokenEarly = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (wokenEarly) {
        wokenEarly = false;
        return resolve();
      }
      wakeUp = resolve;
      timer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(timer);
      wakeUp = undefined;
    });

  const wake = () => {
    if (wakeUp) wakeUp();
    else wokenEarly = true;
  };
  // A lock held elsewhere for minutes (a backup, an open sqlite3 shell), or a PostgreSQL server that
  // is down, fails every poll: report the first failure of such a streak, not one line every
  // interval. While the database is unavailable the pause between polls doubles up to maxBackoffMs.
  let unavailableStreak = 0;

  const claimed = (item: T | undefined): boolean => {
    if (unavailableStreak > 0) {
      unavailableStreak = 0;
      opts.onRecovered?.();
    }
    if (item === undefined) return false;
    const p: Promise<void> = opts
      .work(item)
      .catch(opts.onError)
      .finally(() => {
        inFlight.delete(p);
        wake(); // a slot is free
      });
    inFlight.add(p);
    return true;
  };
  const failed = (err: unknown) => {
    // SQLITE_BUSY, a lost connection…: try again at the next poll.
    const unavailable = isDatabaseUnavailable(err);
    if (!unavailable || unavailableStreak === 0) opts.onError(err);
    unavailableStreak = unavailable ? unavailableStreak + 1 : 0;
  };

  /** Claims until nothing is due or every slot is busy; a promise only when a claim was one. */
  const fill = (): void | Promise<void> => {
    while (!stopped && inFlight.size < opts.concurrency) {
      let got: T | undefined | Promise<T | undefined>;
      try {
        got = opts.claim();
      } catch (err) {
        return failed(err);
      }
      if (got instanceof Promise) {
        // A claimed item is worked on even when stop() came meanwhile: its lease must not decide.
        return got.then((item) => (claimed(item) ? fill() : undefined), failed);
      }
      if (!claimed(got)) return;
    }
  };

  const pause = () => (unavailableStreak > 0 ? Math.min(maxBackoffMs, opts.intervalMs * 2 ** Math.min(unavailableStreak, 16)) : opts.intervalMs);

  const loop = (async () => {
    while (!stopped) {
      wokenEarly = false;
      const filling = fill();
      if (filling) await filling;
      if (!stopped) await sleep(pause());
    }
  })();

  return {
    wake,
    async stop() {
      stopped = true;
      wake();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
