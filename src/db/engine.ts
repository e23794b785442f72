// Which engine a Kysely instance talks to, for the few statements that differ between SQLite and
// PostgreSQL (identity columns, sequence readers). Everything else is the same Kysely query.
import { PostgresAdapter, type Kysely } from 'kysely';
import type { Engine } from './location.js';

export function engineOf(db: Kysely<any>): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
