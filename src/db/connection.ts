// Opening the database: SQLite (a file: permissions, per-connection pragmas) or PostgreSQL (a URL:
// a pg pool), chosen by --db / OMNI_DB; migrations on open, the same files for both engines.
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type MigrationInfo } from 'kysely';
import { LATEST_SCHEMA_VERSION } from './migrations/latest.js';
import type { Database } from './schema.js';
import { DbError } from './errors.js';
import type { Pool } from 'pg';
import { configureConnection } from './pragmas.js';
import { parseDbLocation, type DbLocation, type Engine, type PostgresLocation, type SqliteLocation } from './location.js';
import { DEFAULT_POOL_SIZE, createPool, createPostgresKysely, migratePostgres, postgresError, postgresSchemaVersion } from './postgres.js';

export interface Db {
  engine: Engine;
  kysely: Kysely<Database>;
  /**
   * SQLite only: the raw handle, for pragmas and the listener's synchronous group commit. On
   * PostgreSQL reading it throws a DbError saying the command needs SQLite (check `engine` first).
   */
  readonly sqlite: BetterSqlite3.Database;
  /**
   * PostgreSQL only: the pg pool, for the listener's batch committer (src/db/pg-batch.ts). On SQLite
   * reading it throws a DbError (check `engine` first).
   */
  readonly pool: Pool;
  /** The file for SQLite; the URL with its password masked for PostgreSQL. Safe to print. */
  path: string;
  location: DbLocation;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Wait this long for a lock held by another process before SQLITE_BUSY (ms). */
  busyTimeoutMs?: number;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  readonly?: boolean;
  /** PostgreSQL: connections in the pool (default 10). */
  poolSize?: number;
}

const LATEST = LATEST_SCHEMA_VERSION;
/** The migrations themselves, loaded only when one must run or be listed: an up-to-date database opens without them (start-up time). */
const loadMigrations = () => import('./migrations/index.js');

/**
 * Kysely's SQLite driver opens transactions with a plain (deferred) BEGIN. A deferred transaction
 * that reads and then writes cannot wait for the write lock in WAL mode: if another connection (the
 * listener) committed since its read, the upgrade fails at once with SQLITE_BUSY, busy_timeout or
 * not. Our transactions exist to write, so they take the write lock up front and wait for it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly database: BetterSqlite3.Database) {
    super({ database });
  }
  override createDriver() {
    return new ImmediateSqliteDriver({ database: this.database });
  }
}

/** Creates the directory (0700) and an empty file (0600) so SQLite never creates them world-readable. */
function prepareFile(file: string): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    // SQLite gives -wal and -shm the main file's mode, so 0600 here covers them too.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  }
}

/** Opens a file path, sqlite:PATH, or a postgres:// / postgresql:// URL. */
export { poolSizeFrom } from './postgres.js';

export async function openDatabase(where: string | DbLocation, options: OpenOptions = {}): Promise<Db> {
  const location = typeof where === 'string' ? parseDbLocation(where) : where;
  return location.engine === 'postgres' ? openPostgres(location, options) : openSqlite(location, options);
}

async function openPostgres(location: PostgresLocation, options: OpenOptions): Promise<Db> {
  const pool = await createPool(location, options.poolSize ?? DEFAULT_POOL_SIZE);
  const kysely = createPostgresKysely(pool);
  const db: Db = {
    engine: 'postgres',
    kysely,
    get sqlite(): BetterSqlite3.Database {
      throw new DbError(
        `this needs a SQLite database; ${location.display} is PostgreSQL`,
        'this step only exists on SQLite: run it with --db <sqlite file>, or report it with --debug if a command reached it on PostgreSQL',
      );
    },
    pool,
    path: location.display,
    location,
    close: async () => {
      await kysely.destroy(); // ends the pool
    },
  };
  try {
    // Reach the server now (the migration check does): a wrong URL is one clear line here, not an
    // error deep in a command.
    if (options.migrate !== false && !options.readonly) await migratePostgres(kysely, location, (await loadMigrations()).migrations);
    else await sql`select 1`.execute(kysely);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw postgresError(location, err);
  }
  return db;
}

async function openSqlite(location: SqliteLocation, options: OpenOptions): Promise<Db> {
  const file = location.path;
  let sqlite: BetterSqlite3.Database;
  try {
    if (!options.readonly) prepareFile(file);
    sqlite = new BetterSqlite3(file, { readonly: Boolean(options.readonly), fileMustExist: Boolean(options.readonly) });
    configureConnection(sqlite, { busyTimeoutMs: options.busyTimeoutMs ?? 5000, readonly: Boolean(options.readonly) });
  } catch (err) {
    throw openError(file, err);
  }
  const kysely = new Kysely<Database>({ dialect: new ImmediateSqliteDialect(sqlite) });
  const db: Db = {
    engine: 'sqlite',
    kysely,
    sqlite,
    get pool(): Pool {
      throw new DbError(`this needs a PostgreSQL database; ${file} is SQLite`, 'use its SQLite handle (Db.sqlite) instead');
    },
    path: file,
    location,
    close: async () => {
      await kysely.destroy(); // closes the better-sqlite3 handle too
    },
  };
  if (options.migrate !== false && !options.readonly) {
    try {
      await migrate(db);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err instanceof DbError ? err : openError(file, err);
    }
  }
  return db;
}

function openError(file: string, err: unknown): DbError {
  const code = (err as { code?: string }).code ?? '';
  const msg = (err as Error).message ?? String(err);
  if (code === 'SQLITE_NOTADB') {
    return new DbError(`${file} is not an omni database`, 'point --db or OMNI_DB at the right file', 1, err);
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EROFS' || code === 'ENOENT') {
    return new DbError(
      `cannot open the database ${file}: ${msg}`,
      'check that the directory exists and is writable, or choose another file with --db or OMNI_DB',
      1,
      err,
    );
  }
  return new DbError(`cannot open the database ${file}: ${msg}`, 'run again with --debug for details', 1, err);
}

/**
 * Applies pending migrations, all or nothing. Kysely runs SQLite migrations outside a transaction
 * (its SQLite adapter reports no transactional DDL), so a crash or a second process starting at the
 * same moment could see half a schema. We hold one IMMEDIATE transaction around the whole run: the
 * second process waits (busy_timeout), re-reads the version and finds nothing to do.
 * user_version caches "all applied", so a normal start costs one pragma.
 */
export async function migrate(db: Db): Promise<void> {
  if (db.location.engine === 'postgres') return migratePostgres(db.kysely, db.location, (await loadMigrations()).migrations);
  const version = () => db.sqlite.pragma('user_version', { simple: true }) as number;
  if (version() === LATEST) return;
  db.sqlite.exec('BEGIN IMMEDIATE');
  try {
    const current = version();
    if (current > LATEST) {
      throw new DbError(
        `the database ${db.path} was written by a newer omni (schema ${current}, this omni knows ${LATEST})`,
        'upgrade omni (npm install) before using this database',
      );
    }
    if (current < LATEST) {
      const migrator = new Migrator({ db: db.kysely, provider: (await loadMigrations()).migrationProvider, disableTransactions: true });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
        throw new DbError(`migration ${failed} failed: ${(error as Error).message}`, 'restore a backup or report a bug', 1, error);
      }
      db.sqlite.pragma(`user_version = ${LATEST}`);
    }
    db.sqlite.exec('COMMIT');
  } catch (err) {
    if (db.sqlite.inTransaction) db.sqlite.exec('ROLLBACK');
    throw err;
  }
}

export async function migrationStatus(db: Db): Promise<readonly MigrationInfo[]> {
  return new Migrator({ db: db.kysely, provider: (await loadMigrations()).migrationProvider }).getMigrations();
}

/** How many migrations the database has applied (user_version on SQLite, kysely_migration on PostgreSQL). */
export async function schemaVersion(db: Db): Promise<number> {
  if (db.engine === 'postgres') return postgresSchemaVersion(db.kysely);
  return db.sqlite.pragma('user_version', { simple: true }) as number;
}

export function latestSchemaVersion(): number {
  return LATEST;
}
