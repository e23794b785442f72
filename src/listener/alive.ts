// When this listener was last alive: a heartbeat row per listener (host name and port) in the
// database, written at start, every HEARTBEAT_MS and at a clean stop. Read once at start, before the
// first beat (through Kysely, on both engines), it tells how long no listener answered
// (replay-on-start.ts). On SQLite every write waits at most RETRYABLE_WRITE_BUSY_MS for the lock: a beat that cannot be written (another process holds the
// lock) is logged once and written at the next one; it never stops or freezes the listener. On PostgreSQL the beats go through the pool; a
// server that cannot be reached is the same logged-once warning.
import os from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { createHeartbeatStore, createKyselyHeartbeatWrites, latestHeartbeat, type ListenerHeartbeat } from '../db/heartbeats.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from '../db/pragmas.js';
import type { Database } from '../db/schema.js';
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
  stop(): Promise<void>;
}

export function listenerName(port: number): string {
  return `${os.hostname()}:${port}`;
}

export interface LastAliveOptions {
  /** Where the latest heartbeat is read at start (both engines) and, without `sqlite`, the beats are written. */
  db: Kysely<Database>;
  /** SQLite: the beats are written synchronously under a short busy timeout on this handle. */
  sqlite?: BetterSqlite3.Database;
  port: number;
  log: ListenerLog;
  clock?: () => Date;
  intervalMs?: number;
}

export async function startLastAlive(o: LastAliveOptions): Promise<LastAlive> {
  const clock = o.clock ?? (() => new Date());
  const listener = listenerName(o.port);
  const startedAt = clock().toISOString();
  const before = await latestHeartbeat(o.db);
  const sqlite = o.sqlite;
  let failing = false;
  const recorded = () => {
    if (failing) o.log.info('heartbeat: recorded again');
    failing = false;
  };
  const failed = (what: string, err: unknown) => {
    if (!failing) o.log.warn(`heartbeat: cannot record ${what} (tried again in ${Math.round((o.intervalMs ?? HEARTBEAT_MS) / 1000)} s): ${(err as Error).message}`);
    failing = true;
  };
  let beat: (what: string, now: string, stopped?: boolean) => Promise<void>;
  let prune: (before: string) => Promise<unknown>;
  if (sqlite) {
    const store = createHeartbeatStore(sqlite);
    beat = async (what, now, stopped) => {
      try {
        withBusyTimeout(sqlite, RETRYABLE_WRITE_BUSY_MS, () => store.beat(listener, process.pid, startedAt, now, stopped));
        recorded();
      } catch (err) {
        failed(what, err);
      }
    };
    prune = async (b) => withBusyTimeout(sqlite, RETRYABLE_WRITE_BUSY_MS, () => store.prune(b));
  } else {
    const store = createKyselyHeartbeatWrites(o.db);
    beat = (what, now, stopped) => store.beat(listener, process.pid, startedAt, now, stopped).then(recorded, (err: unknown) => failed(what, err));
    prune = (b) => store.prune(b);
  }
  await beat('that the listener started', startedAt);
  await prune(new Date(clock().getTime() - FORGET_AFTER_MS).toISOString()).catch(() => undefined); // tried again at the next start
  let last: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    last = last.then(() => beat('that the listener is alive', clock().toISOString()));
  }, o.intervalMs ?? HEARTBEAT_MS);
  timer.unref();
  return {
    before,
    listener,
    async stop() {
      clearInterval(timer);
      await last;
      await beat('the stop', clock().toISOString(), true);
    },
  };
}
