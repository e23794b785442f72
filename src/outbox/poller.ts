// The loop behind the listener's workers: claim what is due (synchronously, so a claim never
// interleaves with a group commit), work on up to `concurrency` items at once, sleep until the next
// poll or a wake(). stop() claims nothing more and waits for the work in hand: abandoning a claimed
// send would leave it to the lease and risk sending it twice.
export interface Poller {
  /** Look for due work now instead of at the next poll. */
  wake(): void;
  /** Stops claiming and resolves when the items in hand are finished. */
  stop(): Promise<void>;
}

export interface PollerOptions<T> {
  intervalMs: number;
  concurrency: number;
  claim: () => T | undefined;
  work: (item: T) => Promise<void>;
  onError: (err: unknown) => void;
}

export function startPoller<T>(opts: PollerOptions<T>): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeUp: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();

  const sleep = () =>
    new Promise<void>((resolve) => {
      wakeUp = resolve;
      timer = setTimeout(resolve, opts.intervalMs);
    }).finally(() => {
      clearTimeout(timer);
      wakeUp = undefined;
    });

  const wake = () => wakeUp?.();
  // A lock held elsewhere for minutes (a backup, an open sqlite3 shell) fails every poll: report the
  // first failure of such a streak, not one error line every interval.
  let busyStreak = false;

  const fill = () => {
    while (!stopped && inFlight.size < opts.concurrency) {
      let item: T | undefined;
      try {
        item = opts.claim();
        busyStreak = false;
      } catch (err) {
        // SQLITE_BUSY and friends: another process holds the lock; try again at the next poll.
        const busy = String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY');
        if (!busy || !busyStreak) opts.onError(err);
        busyStreak = busy;
        return;
      }
      if (item === undefined) return;
      const p: Promise<void> = opts
        .work(item)
        .catch(opts.onError)
        .finally(() => {
          inFlight.delete(p);
          wake(); // a slot is free
        });
      inFlight.add(p);
    }
  };

  const loop = (async () => {
    while (!stopped) {
      fill();
      await sleep();
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
