// What `omni db status` reports about a database: storage facts and row counts.
// Counting goes through Kysely, the same on both engines; the storage facts are per engine.
import fs from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { Db } from './connection.js';
import type { Database } from './schema.js';

export interface DbCounts {
  interactions: { live: number; deleted: number };
  tickets: { open: number; closed: number };
  requesters: number;
  messages: number;
}

export async function databaseCounts(db: Kysely<Database>): Promise<DbCounts> {
  const interactions = await db
    .selectFrom('interactions')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.count<number>('deleted_at').as('deleted'), // COUNT(col) skips NULLs: only the deleted ones
    ])
    .executeTakeFirstOrThrow();
  const tickets = await db
    .selectFrom('tickets')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  const count = async (table: 'requesters' | 'messages') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const byStatus = (s: string) => Number(tickets.find((t) => t.status === s)?.n ?? 0);
  return {
    interactions: { live: Number(interactions.total) - Number(interactions.deleted), deleted: Number(interactions.deleted) },
    tickets: { open: byStatus('open'), closed: byStatus('closed') },
    requesters: await count('requesters'),
    messages: await count('messages'),
  };
}

export interface StorageInfo {
  /** SQLite: bytes of the main file; PostgreSQL: pg_database_size of the database. */
  sizeBytes: number;
  /** SQLite: the WAL holds recent commits until a checkpoint copies them back. 0 on PostgreSQL. */
  walBytes: number;
  /** SQLite's journal mode; null on PostgreSQL (the server's WAL is not a per-database setting). */
  journalMode: string | null;
}

export async function storageInfo(db: Db): Promise<StorageInfo> {
  if (db.engine === 'postgres') {
    const { rows } = await sql<{ size: number }>`select pg_database_size(current_database()) as size`.execute(db.kysely);
    return { sizeBytes: Number(rows[0]?.size ?? 0), walBytes: 0, journalMode: null };
  }
  const size = (file: string) => {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  };
  return {
    sizeBytes: size(db.path),
    walBytes: size(`${db.path}-wal`),
    journalMode: String(db.sqlite.pragma('journal_mode', { simple: true })),
  };
}
