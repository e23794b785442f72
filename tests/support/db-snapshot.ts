// What a test compares to prove a command changed nothing, on either engine. SQLite: the bytes of the
// file and its WAL (not a byte moved; opening it here would checkpoint and move bytes). PostgreSQL:
// every row of every table, read through Kysely.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { openDatabase } from '../../src/db/connection.js';
import { TEST_ENGINE } from './engine.js';

export async function databaseSnapshot(where: string): Promise<string> {
  const h = crypto.createHash('sha256');
  if (TEST_ENGINE === 'sqlite') {
    for (const f of [where, `${where}-wal`]) if (fs.existsSync(f)) h.update(fs.readFileSync(f));
    return h.digest('hex');
  }
  const db = await openDatabase(where);
  try {
    const tables = (await db.kysely.introspection.getTables()).map((t) => t.name).sort();
    for (const table of tables) {
      const rows = await db.kysely.selectFrom(table as never).selectAll().execute();
      h.update(table).update(JSON.stringify(rows.map((r) => JSON.stringify(r)).sort()));
    }
  } finally {
    await db.close();
  }
  return h.digest('hex');
}

/**
 * What the database holds, as bytes to search for a secret that must not be there. SQLite: the file
 * and its WAL as they are on disk (only what exists). PostgreSQL: every value of every row of every
 * table, binary ones as their bytes, others as their text.
 */
export async function storedBytes(where: string): Promise<Buffer[]> {
  if (TEST_ENGINE === 'sqlite') return [where, `${where}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
  const db = await openDatabase(where);
  try {
    const parts: Buffer[] = [];
    for (const { name } of await db.kysely.introspection.getTables()) {
      for (const row of await db.kysely.selectFrom(name as never).selectAll().execute()) {
        for (const v of Object.values(row as Record<string, unknown>)) {
          parts.push(Buffer.isBuffer(v) ? v : Buffer.from(v instanceof Date ? v.toISOString() : String(v), 'utf8'), Buffer.from('\n'));
        }
      }
    }
    return [Buffer.concat(parts)];
  } finally {
    await db.close();
  }
}
