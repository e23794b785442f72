// Buffers webhook events (CRCs received, watchdog checks) and writes them in one transaction per
// flush, so a CRC is answered before anything touches the disk and a flood of CRC requests costs
// at most one fsync per interval. The buffer is bounded: past MAX_BUFFERED, events are counted as
// dropped instead of queued (the log line and the metrics still see every one). The write is
// synchronous on SQLite (its own busy timeout) and a promise on PostgreSQL; either way a failed
// write keeps its events for the next flush.
import type { NewWebhookEvent } from '../db/webhook-events.js';

export const FLUSH_INTERVAL_MS = 1_000;
export const MAX_BUFFERED = 1_000;

export interface EventJournal {
  /** Queues an event; with `flush`, writes everything queued now (the watchdog's rare records). */
  record(event: NewWebhookEvent, opts?: { flush?: boolean }): void;
  /** Writes what is queued; failures are reported to onError and the events kept for the next try. */
  flush(): void | Promise<void>;
  /** Final flush (awaited: on PostgreSQL before the pool closes); later records are written at once. */
  close(): void | Promise<void>;
}

export interface JournalOptions {
  /** `final`: the last write (close), which may wait for the lock as long as any other write. */
  write: (events: NewWebhookEvent[], final: boolean) => void | Promise<void>;
  onError: (err: unknown) => void;
  onDropped: (count: number) => void;
  intervalMs?: number;
  maxBuffered?: number;
}

export function createEventJournal(opts: JournalOptions): EventJournal {
  const max = opts.maxBuffered ?? MAX_BUFFERED;
  let queue: NewWebhookEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Writes still running (PostgreSQL), awaited by close(). */
  const writing = new Set<Promise<void>>();

  const failed = (batch: NewWebhookEvent[], err: unknown) => {
    // Busy, read-only or unreachable for a moment: keep what fits and try again at the next flush.
    const kept = batch.slice(0, Math.max(0, max - queue.length));
    if (batch.length > kept.length) opts.onDropped(batch.length - kept.length);
    queue = [...kept, ...queue];
    if (!closed) schedule();
    opts.onError(err);
  };

  const flush = (): void | Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    let written: void | Promise<void>;
    try {
      written = opts.write(batch, closed);
    } catch (err) {
      failed(batch, err);
      return;
    }
    if (!(written instanceof Promise)) return;
    const done: Promise<void> = written.catch((err: unknown) => failed(batch, err)).finally(() => writing.delete(done));
    writing.add(done);
    return done;
  };

  const schedule = () => {
    if (timer || closed) return;
    timer = setTimeout(flush, opts.intervalMs ?? FLUSH_INTERVAL_MS);
    // A pending flush must not keep the process alive; close() writes what remains.
    timer.unref();
  };

  return {
    record(event, { flush: now = false } = {}) {
      const urgent = now || closed;
      // A full buffer makes room for an urgent record (the watchdog's) by writing what is queued,
      // so a flood of CRC requests cannot silence the watchdog.
      if (queue.length >= max && urgent) flush();
      if (queue.length >= max) {
        opts.onDropped(1);
        return;
      }
      queue.push(event);
      if (urgent) flush();
      else schedule();
    },
    flush,
    close() {
      closed = true;
      const last = flush();
      if (last === undefined && writing.size === 0) return;
      return Promise.all([last, ...writing]).then(() => undefined);
    },
  };
}
