// A fleet of listeners on one database (issue 12). `listener_cache_version`: one row whose counter
// moves, in the same transaction, whenever a column the listener caches of an interaction changes
// (its routing, secret, defaults, deletion; the account its OAuth 2.0 authorization names): a
// listener reads the counter per request and drops its cached interaction rows when it moved, so a
// deleted interaction is never served, whichever process deleted it (src/db/listener-reads.ts).
// `fleet_jobs`: when each once-per-fleet job (watchdog, replay on start, retention…) last ran; a
// listener stamps it before running and skips a run another listener stamped within the interval
// (src/db/fleet.ts).
import { sql, type Kysely } from 'kysely';
import { engineOf } from '../engine.js';

/** The interaction columns the listener caches (IntakeInteractionRow, webhook accounts). */
const CACHED_INTERACTION_COLUMNS = 'name, api_secret_key_enc, account_user_id, unit_id, group_id, activity_id, contact_origin_id, helper_interception, revoked_at, api, webhook_id, deleted_at';
const CACHED_TOKEN_COLUMNS = 'interaction_id, account_user_id';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('listener_cache_version')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO listener_cache_version (id, version) VALUES (1, 0)`.execute(db);

  await db.schema
    .createTable('fleet_jobs')
    .addColumn('job', 'text', (c) => c.primaryKey())
    .addColumn('last_run_at', 'text', (c) => c.notNull())
    // Which listener ran it last ("omni listen <host>:<pid>:<port>").
    .addColumn('owner', 'text', (c) => c.notNull())
    .execute();

  const bump = 'UPDATE listener_cache_version SET version = version + 1 WHERE id = 1';
  if (engineOf(db) === 'postgres') {
    await sql
      .raw(`CREATE FUNCTION omni_listener_cache_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${bump}; RETURN NULL; END $$`)
      .execute(db);
    await sql
      .raw(`CREATE TRIGGER interactions_listener_cache AFTER INSERT OR DELETE OR UPDATE OF ${CACHED_INTERACTION_COLUMNS} ON interactions FOR EACH STATEMENT EXECUTE FUNCTION omni_listener_cache_bump()`)
      .execute(db);
    await sql
      .raw(`CREATE TRIGGER oauth_tokens_listener_cache AFTER INSERT OR DELETE OR UPDATE OF ${CACHED_TOKEN_COLUMNS} ON oauth_tokens FOR EACH STATEMENT EXECUTE FUNCTION omni_listener_cache_bump()`)
      .execute(db);
    return;
  }
  // SQLite has row triggers only; an UPDATE OF trigger fires whatever the new value.
  for (const [table, columns] of [
    ['interactions', CACHED_INTERACTION_COLUMNS],
    ['oauth_tokens', CACHED_TOKEN_COLUMNS],
  ] as const) {
    await sql.raw(`CREATE TRIGGER ${table}_listener_cache_insert AFTER INSERT ON ${table} BEGIN ${bump}; END`).execute(db);
    await sql.raw(`CREATE TRIGGER ${table}_listener_cache_delete AFTER DELETE ON ${table} BEGIN ${bump}; END`).execute(db);
    await sql.raw(`CREATE TRIGGER ${table}_listener_cache_update AFTER UPDATE OF ${columns} ON ${table} BEGIN ${bump}; END`).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (engineOf(db) === 'postgres') {
    await sql`DROP TRIGGER IF EXISTS interactions_listener_cache ON interactions`.execute(db);
    await sql`DROP TRIGGER IF EXISTS oauth_tokens_listener_cache ON oauth_tokens`.execute(db);
    await sql`DROP FUNCTION IF EXISTS omni_listener_cache_bump()`.execute(db);
  } else {
    for (const table of ['interactions', 'oauth_tokens']) for (const op of ['insert', 'delete', 'update']) await sql.raw(`DROP TRIGGER IF EXISTS ${table}_listener_cache_${op}`).execute(db);
  }
  await db.schema.dropTable('fleet_jobs').execute();
  await db.schema.dropTable('listener_cache_version').execute();
}
