// The listeners' heartbeats (migration 0010): when each `omni listen` was last alive. On SQLite,
// synchronous better-sqlite3 statements, like the listener's other event-loop writes: the caller runs the writes
// under a short busy timeout (withBusyTimeout), so a lock held by another process never freezes the
// listener, and a beat that could not be written is simply written at the next one. Portable SQL.
// On PostgreSQL (and for the read at start, on both) the same statements through Kysely.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database, ListenerHeartbeatTable } from './schema.js';

export type ListenerHeartbeat = ListenerHeartbeatTable;

export interface HeartbeatStore {
  /** The latest heartbeat of any listener on this database, or undefined when none ever ran (a read: never waits in WAL mode). */
  latest(): ListenerHeartbeat | undefined;
  list(): ListenerHeartbeat[];
  /** This listener started: its row (re)written, alive now, not stopped. */
  start(listener: string, pid: number, now: string): void;
  /** Still alive at `now`; `stopped`: a clean stop. Re-creates the row if the start could not write it. */
  beat(listener: string, pid: number, startedAt: string, now: string, stopped?: boolean): void;
  /** Forgets listeners that stopped before `before` (a listener on a random port leaves one row per run). */
  prune(before: string): number;
}

const COLUMNS = 'listener, pid, started_at, last_alive_at, stopped_at';

export function createHeartbeatStore(sqlite: BetterSqlite3.Database): HeartbeatStore {
  const latest = sqlite.prepare<[], ListenerHeartbeat>(`SELECT ${COLUMNS} FROM listener_heartbeats ORDER BY last_alive_at DESC LIMIT 1`);
  const list = sqlite.prepare<[], ListenerHeartbeat>(`SELECT ${COLUMNS} FROM listener_heartbeats ORDER BY last_alive_at DESC`);
  const upsert = sqlite.prepare<[string, number, string, string, string | null]>(
    `INSERT INTO listener_heartbeats (listener, pid, started_at, last_alive_at, stopped_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (listener) DO UPDATE SET pid = excluded.pid, started_at = excluded.started_at, last_alive_at = excluded.last_alive_at, stopped_at = excluded.stopped_at`,
  );
  const prune = sqlite.prepare<[string]>('DELETE FROM listener_heartbeats WHERE stopped_at IS NOT NULL AND last_alive_at < ?');
  return {
    latest: () => latest.get(),
    list: () => list.all(),
    start: (listener, pid, now) => {
      upsert.run(listener, pid, now, now, null);
    },
    beat: (listener, pid, startedAt, now, stopped = false) => {
      upsert.run(listener, pid, startedAt, now, stopped ? now : null);
    },
    prune: (before) => prune.run(before).changes,
  };
}

/** The latest heartbeat of any listener on this database, or undefined when none ever ran. */
export async function latestHeartbeat(db: Kysely<Database>): Promise<ListenerHeartbeat | undefined> {
  return db.selectFrom('listener_heartbeats').selectAll().orderBy('last_alive_at', 'desc').limit(1).executeTakeFirst();
}

/** The writes of HeartbeatStore through Kysely (PostgreSQL's listener). */
export interface AsyncHeartbeatWrites {
  beat(listener: string, pid: number, startedAt: string, now: string, stopped?: boolean): Promise<void>;
  prune(before: string): Promise<number>;
}

export function createKyselyHeartbeatWrites(db: Kysely<Database>): AsyncHeartbeatWrites {
  return {
    beat: async (listener, pid, startedAt, now, stopped = false) => {
      const row = { listener, pid, started_at: startedAt, last_alive_at: now, stopped_at: stopped ? now : null };
      await db
        .insertInto('listener_heartbeats')
        .values(row)
        .onConflict((oc) => oc.column('listener').doUpdateSet({ pid, started_at: startedAt, last_alive_at: now, stopped_at: row.stopped_at }))
        .execute();
    },
    prune: async (before) => {
      const r = await db.deleteFrom('listener_heartbeats').where('stopped_at', 'is not', null).where('last_alive_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
