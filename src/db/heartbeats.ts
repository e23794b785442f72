// The listeners' heartbeats (migration 0010): when each `omni listen` was last alive. Portable Kysely.
import type { Kysely } from 'kysely';
import type { Database, ListenerHeartbeatTable } from './schema.js';

export type ListenerHeartbeat = ListenerHeartbeatTable;

/** The latest heartbeat of any listener on this database, or undefined when none ever ran. */
export async function latestHeartbeat(db: Kysely<Database>): Promise<ListenerHeartbeat | undefined> {
  return db.selectFrom('listener_heartbeats').selectAll().orderBy('last_alive_at', 'desc').limit(1).executeTakeFirst();
}

export async function listHeartbeats(db: Kysely<Database>): Promise<ListenerHeartbeat[]> {
  return db.selectFrom('listener_heartbeats').selectAll().orderBy('last_alive_at', 'desc').execute();
}

/** This listener started: its row (re)written, alive now, not stopped. */
export async function startHeartbeat(db: Kysely<Database>, listener: string, pid: number, now: string): Promise<void> {
  await db
    .insertInto('listener_heartbeats')
    .values({ listener, pid, started_at: now, last_alive_at: now, stopped_at: null })
    .onConflict((oc) => oc.column('listener').doUpdateSet({ pid, started_at: now, last_alive_at: now, stopped_at: null }))
    .execute();
}

/** Still alive at `now`; `stopped`: a clean stop. */
export async function beat(db: Kysely<Database>, listener: string, now: string, stopped = false): Promise<void> {
  await db
    .updateTable('listener_heartbeats')
    .set({ last_alive_at: now, ...(stopped ? { stopped_at: now } : {}) })
    .where('listener', '=', listener)
    .execute();
}

/** Forgets listeners that stopped before `before` (a listener on a random port leaves one row per run). */
export async function pruneHeartbeats(db: Kysely<Database>, before: string): Promise<number> {
  const r = await db.deleteFrom('listener_heartbeats').where('stopped_at', 'is not', null).where('last_alive_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}
