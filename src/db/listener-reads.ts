// What the listener reads per request, on either engine: the interaction a webhook path names, the
// accounts of a shared X webhook, and (for the banner, /healthz and /metrics) the live interactions,
// a ping and the outbox counts. The interaction rows are cached across requests behind one counter
// (migration 0017: listener_cache_version moves in the transaction of any change to a cached column,
// whoever makes it), and a moved counter drops the cache, so a deleted or edited interaction is never
// served from it, even when another process changed it.
// SQLite: a delivery reads the counter at most every CACHE_CHECK_MS (reading it cost ~6 µs, a tenth
// of the bare server's whole request), and the writer's transaction is the final guard: each job
// carries the counter its row was validated under (`validatedUnder`), the writer reads the counter
// once per batch under the write lock and writes nothing for a job whose counter moved (the listener
// then reads the row afresh and decides again: src/listener/routes/delivery.ts). CRCs and account
// routing read fresh. PostgreSQL: one round trip for the counter per request (a hit costs no more),
// promises; its jobs carry no counter.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { createIntakeStore, type IntakeInteractionRow, type WebhookAccount } from './intake.js';
import { createOutboxStore, type OutboxCounts } from './outbox.js';
import { createPgStores, type PgQueryable } from './pg-stores.js';
import type { Database } from './schema.js';

export type MaybePromise<T> = T | Promise<T>;

export interface LiveInteraction {
  id: number;
  name: string;
  account_user_id: string | null;
}

export interface ListenerReads {
  /**
   * A live (not deleted) interaction, or undefined: from the cache unless any process changed one
   * since. `mayBeStale` (SQLite, deliveries): the counter is read at most every CACHE_CHECK_MS, and
   * the writer checks `validatedUnder()` in its transaction.
   */
  interaction(id: number, mayBeStale?: boolean): MaybePromise<IntakeInteractionRow | undefined>;
  /** The counter the row last returned by interaction() was validated under, when it may be stale; undefined when every read is fresh (PostgreSQL). */
  validatedUnder(): number | undefined;
  /** The live v2/activity interactions on X webhook `webhookId` and their accounts. */
  webhookAccounts(webhookId: string): MaybePromise<WebhookAccount[]>;
  /** Live interactions, for the start-up banner. */
  liveInteractions(): MaybePromise<LiveInteraction[]>;
  /** The outbox by status, for /metrics. */
  outboxCounts(): MaybePromise<OutboxCounts>;
  /** A cheap read that proves the database answers (throws otherwise). */
  ping(): MaybePromise<void>;
}

/** SQLite: how old the counter behind a delivery's cached row may be (the writer re-checks it). */
export const CACHE_CHECK_MS = 100;

/** SQLite: the cache counter (migration 0017), read by the listener and, once per batch, by its writer. */
export function createCacheVersionReader(sqlite: BetterSqlite3.Database): () => number {
  const version = sqlite.prepare<[], { version: number }>('SELECT version FROM listener_cache_version WHERE id = 1');
  return () => version.get()?.version ?? 0;
}

/** Cached rows past this many are dropped (an installation has tens of interactions, not thousands). */
const MAX_CACHED = 10_000;

/** The interaction cache: rows valid while the counter they were read under has not moved. */
class InteractionCache {
  private version: number | undefined;
  private readonly rows = new Map<number, IntakeInteractionRow>();
  /** The cached row, or undefined; `version` is the counter read for this request. */
  get(version: number, id: number): IntakeInteractionRow | undefined {
    // An older counter (PostgreSQL: a request that read it before another's) is only a miss.
    if (this.version !== undefined && version < this.version) return undefined;
    if (version !== this.version) {
      this.rows.clear();
      this.version = version;
      return undefined;
    }
    return this.rows.get(id);
  }
  /** Only live rows are kept: an unknown id costs a lookup each time but cannot fill the memory. */
  set(version: number, row: IntakeInteractionRow | undefined): void {
    if (!row || version !== this.version) return;
    if (this.rows.size >= MAX_CACHED) this.rows.clear();
    this.rows.set(row.id, row);
  }
}

/** SQLite: synchronous prepared statements on the listener's own connection. */
export function createSqliteListenerReads(sqlite: BetterSqlite3.Database): ListenerReads {
  const store = createIntakeStore(sqlite);
  const outbox = createOutboxStore(sqlite);
  const readVersion = createCacheVersionReader(sqlite);
  const cache = new InteractionCache();
  let v = 0;
  let checkedAt = -Infinity;
  return {
    interaction: (id, mayBeStale = false) => {
      const now = performance.now();
      if (!mayBeStale || now - checkedAt >= CACHE_CHECK_MS) {
        v = readVersion();
        checkedAt = now;
      }
      const hit = cache.get(v, id);
      if (hit) return hit;
      // A miss reads the row now: under the counter read now.
      if (checkedAt !== now) {
        v = readVersion();
        checkedAt = now;
        const fresh = cache.get(v, id);
        if (fresh) return fresh;
      }
      const row = store.interaction(id);
      cache.set(v, row);
      return row;
    },
    validatedUnder: () => v,
    webhookAccounts: (webhookId) => store.webhookAccounts(webhookId),
    liveInteractions: () => store.liveInteractions(),
    outboxCounts: () => outbox.counts(),
    ping: () => store.ping(),
  };
}

/** PostgreSQL: queries on the pool (each on whichever connection is free). */
export function createPostgresListenerReads(pool: PgQueryable, db: Kysely<Database>): ListenerReads {
  const { intake } = createPgStores(pool);
  const cache = new InteractionCache();
  const readVersion = async () => Number((await pool.query('SELECT version FROM listener_cache_version WHERE id = 1')).rows[0]?.version ?? 0);
  return {
    validatedUnder: () => undefined,
    interaction: async (id) => {
      const v = await readVersion();
      const hit = cache.get(v, id);
      if (hit) return hit;
      const row = await intake.interaction(id);
      cache.set(v, row);
      return row;
    },
    webhookAccounts: async (webhookId) =>
      db
        .selectFrom('interactions as i')
        .leftJoin('oauth_tokens as t', 't.interaction_id', 'i.id')
        .select((eb) => ['i.id', eb.fn.coalesce('i.account_user_id', 't.account_user_id').as('account')])
        .where('i.webhook_id', '=', webhookId)
        .where('i.deleted_at', 'is', null)
        .where('i.api', '<>', 'v1.1')
        .orderBy('i.id')
        .execute(),
    liveInteractions: () =>
      db
        .selectFrom('interactions as i')
        .leftJoin('oauth_tokens as t', 't.interaction_id', 'i.id')
        .select((eb) => ['i.id', 'i.name', eb.fn.coalesce('i.account_user_id', 't.account_user_id').as('account_user_id')])
        .where('i.deleted_at', 'is', null)
        .orderBy('i.id')
        .execute(),
    outboxCounts: async () => {
      const rows = await db
        .selectFrom('outbox')
        .select((eb) => ['status', eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest')])
        .where('status', 'in', ['pending', 'sending', 'failed'])
        .groupBy('status')
        .execute();
      const c: OutboxCounts = { pending: 0, sending: 0, failed: 0, oldestUnsentAt: null };
      for (const r of rows) {
        if (r.status === 'pending' || r.status === 'sending' || r.status === 'failed') c[r.status] = Number(r.n);
        if ((r.status === 'pending' || r.status === 'sending') && r.oldest && (c.oldestUnsentAt === null || r.oldest < c.oldestUnsentAt)) c.oldestUnsentAt = r.oldest;
      }
      return c;
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
  };
}
