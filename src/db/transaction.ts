// Write paths run alone (their own transaction) or inside a caller's (`omni apply` applies a whole
// file in one): this runs `fn` in a new transaction, or in `db` when it already is one.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
