// Reads for tests on either engine: a statement written once (portable SQL, `?` placeholders as on
// SQLite) run through Kysely, which numbers the parameters for PostgreSQL.
import { sql } from 'kysely';
import type { Db } from '../../src/db/connection.js';

/** Runs `query` with `?` placeholders on `db` and returns its rows (counts are numbers on both engines). */
export async function queryRows(db: Db, query: string, ...params: unknown[]): Promise<any[]> {
  const parts = query.split('?');
  if (parts.length - 1 !== params.length) throw new Error(`queryRows: ${parts.length - 1} placeholders, ${params.length} parameters: ${query}`);
  const strings = Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray;
  return (await sql<any>(strings, ...params).execute(db.kysely)).rows;
}
