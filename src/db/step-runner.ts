// Running steps (src/db/step.ts) and claiming work outside the listener's batch, on either engine:
// what the outbox and Helper workers and the CLI's sending commands use.
//   - SQLite: the synchronous stores on the handle, a transaction being BEGIN IMMEDIATE (runSync);
//     claims are one statement under the write lock, tried with a short busy timeout.
//   - PostgreSQL: a transaction is one pooled client, BEGIN … COMMIT (src/db/pg-batch.ts: a lost
//     race on a unique index runs the step again, a lost connection is DatabaseUnreachable); claims
//     are `FOR UPDATE SKIP LOCKED` over the pool (createPgOutboxQueue, claimPgHelperJob).
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Pool } from 'pg';
import type { Db } from './connection.js';
import type { Database } from './schema.js';
import { createChatbotStore, type ChatbotJob } from './chatbot.js';
import { createIntakeStore } from './intake.js';
import { createOutboxStore, type OutboxRecord } from './outbox.js';
import { createPgBatchCommitter, DatabaseUnreachable } from './pg-batch.js';
import { claimPgHelperJob, createPgOutboxQueue, createPgStores, type PgQueryable, type PgStoreOptions } from './pg-stores.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from './pragmas.js';
import { runAsync, runSync, type Step, type SyncStores } from './step.js';

export interface StepRunner {
  /**
   * Runs a step as one transaction. `make` builds the step afresh: on PostgreSQL a job that lost a
   * race on a unique index (another process committed the row first) runs again and then sees it.
   */
  transaction<T>(make: () => Step<T>): Promise<T>;
  /** Runs a step of reads, outside any transaction. */
  read<T>(make: () => Step<T>): Promise<T>;
}

/** The engine's claim of the next due row or job: synchronous on SQLite (no promise on its path), a promise on PostgreSQL. */
export type Claim<T> = (now: string, leaseUntil: string) => T | undefined | Promise<T | undefined>;

export function createStepRunner(db: Db, opts: PgStoreOptions = {}): StepRunner {
  if (db.engine === 'sqlite') {
    const stores = sqliteStores(db);
    const inTransaction = db.sqlite.transaction((step: Step<unknown>) => runSync(step, stores));
    return {
      transaction: async <T>(make: () => Step<T>) => inTransaction.immediate(make()) as T,
      read: async <T>(make: () => Step<T>) => runSync(make(), stores),
    };
  }
  const pool = db.pool;
  const commit = createPgBatchCommitter(pool);
  const autocommit = createPgStores(unreachableAsSuch(pool), opts);
  return {
    transaction: async <T>(make: () => Step<T>) => {
      const [r] = await commit([(client) => runAsync(make(), createPgStores(client, opts))]);
      if (!r!.ok) throw r!.error;
      return r!.value as T;
    },
    read: (make) => runAsync(make(), autocommit),
  };
}

/**
 * Runs a step inside a Kysely transaction the caller holds (a CLI command that writes its own rows
 * in the same transaction). On SQLite Kysely's transaction is the handle's, so the synchronous
 * stores are in it too.
 */
export async function runInTransaction<T>(db: Db, trx: Transaction<Database>, step: Step<T>): Promise<T> {
  if (db.engine === 'sqlite') return runSync(step, sqliteStores(db));
  return runAsync(step, createPgStores(kyselyQueryable(trx)));
}

/** The outbox worker's claim: the oldest due row whose recipient has no older unsent row. */
export function outboxClaim(db: Db): Claim<OutboxRecord> {
  if (db.engine === 'sqlite') {
    const sqlite = db.sqlite;
    const outbox = createOutboxStore(sqlite);
    // A claim that cannot get the lock at once is tried again at the next poll.
    return (now, leaseUntil) => withBusyTimeout(sqlite, RETRYABLE_WRITE_BUSY_MS, () => outbox.claimNext(now, leaseUntil));
  }
  const queue = createPgOutboxQueue(db.pool);
  return (now, leaseUntil) => queue.claimNext(now, leaseUntil).catch(asUnreachable);
}

/** The Helper worker's claim: the first due job of a conversation with no earlier unfinished job. */
export function helperJobClaim(db: Db): Claim<ChatbotJob> {
  if (db.engine === 'sqlite') {
    const sqlite = db.sqlite;
    const chatbot = createChatbotStore(sqlite);
    return (now, leaseUntil) => withBusyTimeout(sqlite, RETRYABLE_WRITE_BUSY_MS, () => chatbot.claimJob(now, leaseUntil));
  }
  const pool = db.pool;
  return (now, leaseUntil) => claimPgHelperJob(pool, now, leaseUntil).catch(asUnreachable);
}

function sqliteStores(db: Db): SyncStores {
  const sqlite = db.sqlite;
  return { intake: createIntakeStore(sqlite), outbox: createOutboxStore(sqlite), chatbot: createChatbotStore(sqlite) };
}

/** A Kysely transaction as a pg client: the statements run on its connection, parameters as given ($n). */
function kyselyQueryable(trx: Kysely<Database>): PgQueryable {
  return {
    query: async (text, values = []) => {
      const r = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: r.rows as any[], rowCount: r.numAffectedRows !== undefined ? Number(r.numAffectedRows) : r.rows.length };
    },
  };
}

/** pg's own errors carry no SQLSTATE (a terminated connection, no connection to be had): the database is unreachable. */
function asUnreachable(err: unknown): never {
  const code = (err as { code?: unknown } | null)?.code;
  throw typeof code === 'string' ? err : new DatabaseUnreachable(err);
}

function unreachableAsSuch(pool: Pool): PgQueryable {
  return { query: (text, values) => pool.query(text, values).catch(asUnreachable) };
}
