// Reads for tests on either engine: a statement written once (portable SQL, `?` placeholders as on
// SQLite) run through Kysely, which numbers the parameters for PostgreSQL.
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { parseDbLocation } from '../../src/db/location.js';

/** Runs `query` with `?` placeholders on `db` and returns its rows (counts are numbers on both engines). */
export async function queryRows(db: Db, query: string, ...params: unknown[]): Promise<any[]> {
  const parts = query.split('?');
  if (parts.length - 1 !== params.length) throw new Error(`queryRows: ${parts.length - 1} placeholders, ${params.length} parameters: ${query}`);
  const strings = Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray;
  return (await sql<any>(strings, ...params).execute(db.kysely)).rows;
}

/**
 * queryRows on the database at `where`, opened for this one read: on SQLite a read-only connection
 * (nothing migrated, no lock taken from a running listener), on PostgreSQL a pool closed after it.
 */
export async function readRowsAt(where: string, query: string, ...params: unknown[]): Promise<any[]> {
  const location = parseDbLocation(where);
  if (location.engine === 'sqlite') {
    const ro = new BetterSqlite3(location.path, { readonly: true });
    try {
      return ro.prepare(query).all(...params) as any[];
    } finally {
      ro.close();
    }
  }
  const db = await openDatabase(where);
  try {
    return await queryRows(db, query, ...params);
  } finally {
    await db.close();
  }
}

/** Puts a pending DM in the outbox directly (a reply queued elsewhere), due at `at` (default: a second ago); its id. */
export async function queueOutboxRow(db: Db, interactionId: number, recipient: string, text: string, at = new Date(Date.now() - 1000).toISOString()): Promise<number> {
  const row = await db.kysely
    .insertInto('outbox')
    .values({ interaction_id: interactionId, ticket_id: null, message_id: null, conversation_id: null, recipient_twitter_id: recipient, text, options: null, status: 'pending', attempts: 0, next_attempt_at: at, created_at: at, updated_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
