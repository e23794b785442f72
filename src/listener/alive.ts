// When this listener was last alive: a heartbeat row per listener (host name and port) in the
// database, written at start, every HEARTBEAT_MS and at a clean stop. Read once at start, before the
// first beat, it tells how long no listener answered (replay-on-start.ts). Every write waits at most
// RETRYABLE_WRITE_BUSY_MS for the lock: a beat that cannot be written (another process holds the
// lock) is logged once and written at the next one; it never stops or freezes the listener.
import os from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import { createHeartbeatStore, type ListenerHeartbeat } from '../db/heartbeats.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from '../db/pragmas.js';
import type { ListenerLog } from './log.js';

/** Every 20 s: a gap longer than a minute is then never a heartbeat merely not written yet. */
export const HEARTBEAT_MS = 20_000;
/** Rows of listeners stopped longer ago than this are removed at start (X replays 24 h at most). */
const FORGET_AFTER_MS = 30 * 24 * 3_600_000;

export interface LastAlive {
  /** The latest heartbeat of any listener on this database before this one started, if any. */
  readonly before: ListenerHeartbeat | undefined;
  /** This listener's row name. */
  readonly listener: string;
  /** The last beat, marking a clean stop. */
  stop(): void;
}

export function listenerName(port: number): string {
  return `${os.hostname()}:${port}`;
}

export function startLastAlive(o: { sqlite: BetterSqlite3.Database; port: number; log: ListenerLog; clock?: () => Date; intervalMs?: number }): LastAlive {
  const clock = o.clock ?? (() => new Date());
  const store = createHeartbeatStore(o.sqlite);
  const listener = listenerName(o.port);
  const startedAt = clock().toISOString();
  const before = store.latest();
  let failing = false;
  const write = (what: string, fn: () => void) => {
    try {
      withBusyTimeout(o.sqlite, RETRYABLE_WRITE_BUSY_MS, fn);
      if (failing) o.log.info('heartbeat: recorded again');
      failing = false;
    } catch (err) {
      if (!failing) o.log.warn(`heartbeat: cannot record ${what} (tried again in ${Math.round((o.intervalMs ?? HEARTBEAT_MS) / 1000)} s): ${(err as Error).message}`);
      failing = true;
    }
  };
  write('that the listener started', () => {
    store.start(listener, process.pid, startedAt);
    store.prune(new Date(clock().getTime() - FORGET_AFTER_MS).toISOString());
  });
  const timer = setInterval(() => write('that the listener is alive', () => store.beat(listener, process.pid, startedAt, clock().toISOString())), o.intervalMs ?? HEARTBEAT_MS);
  timer.unref();
  return {
    before,
    listener,
    stop() {
      clearInterval(timer);
      write('the stop', () => store.beat(listener, process.pid, startedAt, clock().toISOString(), true));
    },
  };
}
