// The few column definitions that differ between the engines, for the migrations. SQLite keeps
// exactly the DDL it always had (INTEGER PRIMARY KEY AUTOINCREMENT: ids never reused); PostgreSQL
// gets an identity column, which also never reuses ids and still accepts explicit ids (db copy).
import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import { engineOf } from '../engine.js';

/** The `id` column of every table: `.addColumn('id', 'integer', id(db))`. */
export function id(db: Kysely<any>): (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return engineOf(db) === 'postgres'
    ? (c) => c.primaryKey().generatedByDefaultAsIdentity()
    : (c) => c.primaryKey().autoIncrement();
}
