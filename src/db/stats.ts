// What `omni db status` reports about a database: storage facts and row counts.
// Counting goes through Kysely so it works on PostgreSQL too; the storage facts are SQLite's.
import fs from 'node:fs';
import type { Kysely } from 'kysely';
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
  /** Bytes of the main file; the WAL holds recent commits until a checkpoint copies them back. */
  sizeBytes: number;
  walBytes: number;
  journalMode: string;
}

export function storageInfo(db: Db): StorageInfo {
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
