// The PostgreSQL side of opening a database: the pg pool built from the URL (TLS from sslmode, pool
// size), errors mapped to one line with the fix, and migrations under a transaction-level advisory
// lock so that N listeners starting together never race.
import fs from 'node:fs';
import type { Pool, PoolConfig } from 'pg';
import { Kysely, PostgresDialect, sql, type Migration } from 'kysely';
import { DbError } from './errors.js';
import { maskPasswords, type PostgresLocation } from './location.js';
import type { Database } from './schema.js';

export const DEFAULT_POOL_SIZE = 10;
const MAX_POOL_SIZE = 1000;

/** pg_advisory_xact_lock key of omni's migrations: any constant, the same in every omni. */
const MIGRATION_LOCK_KEY = '7316432001462553345';

/** --db-pool-size, else OMNI_DB_POOL_SIZE, else 10. */
export function poolSizeFrom(flag: string | number | undefined, env: NodeJS.ProcessEnv): number {
  const raw = flag !== undefined && flag !== '' ? String(flag) : env.OMNI_DB_POOL_SIZE;
  if (raw === undefined || raw.trim() === '') return DEFAULT_POOL_SIZE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_POOL_SIZE) {
    const from = flag !== undefined && flag !== '' ? '--db-pool-size' : 'OMNI_DB_POOL_SIZE';
    throw new DbError(`${from} must be a whole number from 1 to ${MAX_POOL_SIZE}, not '${raw}'`, `e.g. ${from === '--db-pool-size' ? '--db-pool-size 10' : 'OMNI_DB_POOL_SIZE=10'}`, 2);
  }
  return n;
}

const SSL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;

/**
 * The pool configuration for a URL. TLS follows libpq's sslmode where pg can honour it:
 * disable (or none given): plain TCP; require: TLS, the certificate not verified (verified against
 * sslrootcert when one is given, as libpq does); verify-ca: TLS, the chain checked against
 * sslrootcert, any host name; verify-full: TLS, chain and host name checked (system CAs unless
 * sslrootcert). allow/prefer would need a fallback between TLS and plain TCP that pg cannot do.
 */
export function poolConfig(location: PostgresLocation, poolSize: number): PoolConfig {
  const url = new URL(location.url);
  const params = Object.fromEntries(SSL_PARAMS.map((p) => [p, url.searchParams.get(p) ?? undefined])) as Record<(typeof SSL_PARAMS)[number], string | undefined>;
  for (const p of SSL_PARAMS) url.searchParams.delete(p);
  const read = (param: string, file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new DbError(`cannot read ${param}=${file} of the database URL: ${(err as Error).message}`, 'fix the path in --db / OMNI_DB', 2);
    }
  };
  const tls: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; checkServerIdentity?: () => undefined } = {};
  if (params.sslrootcert) tls.ca = read('sslrootcert', params.sslrootcert);
  if (params.sslcert) tls.cert = read('sslcert', params.sslcert);
  if (params.sslkey) tls.key = read('sslkey', params.sslkey);
  let ssl: PoolConfig['ssl'];
  switch (params.sslmode ?? (params.sslrootcert || params.sslcert ? 'verify-full' : 'disable')) {
    case 'disable':
      ssl = false;
      break;
    case 'require':
      ssl = tls.ca ? { ...tls, checkServerIdentity: () => undefined } : { ...tls, rejectUnauthorized: false };
      break;
    case 'verify-ca':
      if (!tls.ca) throw new DbError('sslmode=verify-ca needs sslrootcert=<CA file> in the database URL', 'add sslrootcert=/path/to/ca.pem, or use sslmode=verify-full', 2);
      ssl = { ...tls, checkServerIdentity: () => undefined };
      break;
    case 'verify-full':
      ssl = tls;
      break;
    case 'allow':
    case 'prefer':
      throw new DbError(
        `sslmode=${params.sslmode} is not supported: omni does not fall back between TLS and plain connections`,
        'use sslmode=verify-full (or require) for TLS, or sslmode=disable',
        2,
      );
    default:
      throw new DbError(`sslmode=${params.sslmode} is not an sslmode`, 'use disable, require, verify-ca or verify-full', 2);
  }
  return {
    connectionString: url.href,
    ssl,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'omni',
  } as PoolConfig;
}

export async function createPool(location: PostgresLocation, poolSize: number): Promise<Pool> {
  const pg = (await import('pg')).default;
  const pool = new pg.Pool({
    ...poolConfig(location, poolSize),
    types: {
      // COUNT(*) and SUM() come back as int8/numeric; every such value omni reads fits a double.
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 || oid === 1700 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as never,
    },
  });
  // An idle connection the server dropped: pg discards it and the next query opens a new one.
  pool.on('error', () => undefined);
  // A connection lost while checked out (a batch's transaction, a Kysely query) makes its client
  // emit 'error', which pg-pool listens to only while the client is idle: unheard, it would end the
  // process. The query in flight fails by itself (the caller sees the database as unreachable), and
  // the client is discarded when it is released with that error.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function createPostgresKysely(pool: Pool): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** One line with the fix for a failure to reach or use the server; the password never appears. */
export function postgresError(location: PostgresLocation, err: unknown): DbError {
  if (err instanceof DbError) return err;
  const code = (err as { code?: string }).code ?? '';
  const msg = maskPasswords((err as Error).message ?? String(err));
  const where = `PostgreSQL at ${location.host}:${location.port}`;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET'].includes(code) || /timeout/i.test(msg)) {
    return new DbError(`cannot reach ${where}: ${msg}`, 'start the server or fix the host and port in --db / OMNI_DB', 1, err);
  }
  if (code === '28P01' || code === '28000') {
    return new DbError(`${where} refused user '${location.user}': ${msg}`, 'fix the user and password in --db / OMNI_DB (or ~/.pgpass)', 1, err);
  }
  if (code === '3D000') {
    return new DbError(`${where} has no database '${location.database}'`, `create it: createdb -O ${location.user || '<user>'} ${location.database}`, 1, err);
  }
  if (code === '42501') {
    return new DbError(`${location.display}: permission denied: ${msg}`, `grant the user the rights on the database (GRANT ALL ON SCHEMA public TO ${location.user || '<user>'})`, 1, err);
  }
  return new DbError(`${location.display}: ${msg}`, 'run again with --debug for details', 1, err);
}

export async function serverVersion(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ server_version: string }>`show server_version`.execute(db);
  return rows[0]?.server_version ?? 'unknown';
}

/** Names of the applied migrations; none when the bookkeeping table does not exist yet. */
async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ exists: string | null }>`select to_regclass('kysely_migration')::text as exists`.execute(db);
  if (!rows[0]?.exists) return [];
  const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return applied.rows.map((r) => r.name);
}

export async function postgresSchemaVersion(db: Kysely<any>): Promise<number> {
  return (await appliedMigrations(db)).length;
}

function refuseNewer(location: PostgresLocation, applied: string[], known: Record<string, Migration>): void {
  const unknown = applied.filter((name) => !(name in known));
  if (unknown.length > 0) {
    throw new DbError(
      `the database ${location.display} was written by a newer omni (schema ${applied.length}, this omni knows ${Object.keys(known).length}; unknown migration ${unknown[0]})`,
      'upgrade omni (npm install) on this host before using this database',
    );
  }
}

/**
 * Applies pending migrations in one transaction holding pg_advisory_xact_lock: the first process
 * migrates, the others wait for its COMMIT, re-read the list and find nothing to do. The bookkeeping
 * table is Kysely's (kysely_migration: name, timestamp), so `omni db status` reads it the same way
 * on both engines. A normal start costs two small queries and no lock.
 */
export async function migratePostgres(db: Kysely<Database>, location: PostgresLocation, known: Record<string, Migration>): Promise<void> {
  const names = Object.keys(known).sort();
  const before = await appliedMigrations(db);
  refuseNewer(location, before, known);
  if (names.every((n) => before.includes(n))) return;
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)}::bigint)`.execute(trx);
    await sql`create table if not exists kysely_migration (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(trx);
    const applied = await appliedMigrations(trx);
    refuseNewer(location, applied, known);
    for (const name of names) {
      if (applied.includes(name)) continue;
      try {
        await known[name]!.up(trx);
      } catch (err) {
        throw new DbError(`migration ${name} failed on ${location.display}: ${maskPasswords((err as Error).message)}`, 'nothing was changed (one transaction); report a bug with --debug output', 1, err);
      }
      await sql`insert into kysely_migration (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(trx);
    }
  });
}
