// `omni listen`'s HTTP side, composed: the routes (routes/: CRC, deliveries, health, metrics) over
// one dependencies object, the server's limits (limits.ts), the group committer in front of the
// writer (group-commit.ts, intake-writer.ts), and a graceful close (shutdown.ts). Twitter retries
// anything not answered 200 within 3 s, so every refusal is cheap, and 200 means "committed with
// synchronous=FULL" (SQLite) or "COMMIT returned" (PostgreSQL). Either engine: the reads go through
// src/db/listener-reads.ts (the interaction cache), the writes through the engine's writer.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../db/connection.js';
import type { IntakeInteractionRow } from '../db/intake.js';
import { createPostgresListenerReads, createSqliteListenerReads, type ListenerReads, type MaybePromise } from '../db/listener-reads.js';
import type { OutboxCounts } from '../db/outbox.js';
import { createWebhookEventWriter, writeWebhookEvents } from '../db/webhook-events.js';
import { RETRYABLE_WRITE_BUSY_MS, withBusyTimeout } from '../db/pragmas.js';
import type { SecretBox } from '../secrets.js';
import { DEFAULT_IDLE_MS } from '../chatbot/conversation.js';
import { createAccountRouter } from './account-routing.js';
import { createUnverifiedBudget, MAX_BODY_BYTES, type UnverifiedBudget } from './body.js';
import { defaultTrustedProxies, type TrustedProxies } from './client-address.js';
import { createEventJournal, type EventJournal } from './event-journal.js';
import type { StoredResults } from './delivery-results.js';
import { createGroupCommitter, type GroupCommitter } from './group-commit.js';
import { inlineWriter, postgresWriter, type IntakeWriter, type WriteJob } from './intake-writer.js';
import { createLimitedServer, DEFAULT_LIMITS, type ListenerLimits } from './limits.js';
import type { ListenerLog } from './log.js';
import { createListenerMetrics, type ListenerMetrics } from './metrics.js';
import { InteractionUnreadable, rethrowAs, SecretUnreadable } from './refusal.js';
import { BoundedSet, type RouteDeps } from './routes/deps.js';
import { createRouter, WEBHOOK_PATH } from './routes/router.js';
import { createSecretCache } from './secrets-cache.js';
import { closeServer } from './shutdown.js';
import { tombstoneKey } from '../privacy/tombstone.js';
import { createXChatIntake, type XChatIntake, type XChatIntakeOptions } from './xchat-intake.js';


/** What the listener needs of the database: SQLite's handle, or PostgreSQL's pool, by `engine`. */
export type ListenerDb = Pick<Db, 'engine' | 'kysely' | 'sqlite' | 'pool'>;

export interface ListenerOptions {
  db: ListenerDb;
  box: SecretBox;
  log: ListenerLog;
  host: string;
  /** 0 picks a free port; the bound one is in Listener.port. */
  port: number;
  dbPath: string;
  maxBodyBytes?: number;
  clock?: () => Date;
  limits?: Partial<ListenerLimits>;
  /** Shared with the watchdog so /metrics shows its checks; created when absent. */
  metrics?: ListenerMetrics;
  /** A Helper chatbot conversation idle this long starts over (default 30 min). */
  helperIdleMs?: number;
  /** Proxies whose X-Forwarded-For is believed; default: loopback when `host` is a loopback address, else none. */
  trustedProxies?: TrustedProxies;
  /** Where write transactions run; default: inline on SQLite's handle, the pool's writer on PostgreSQL. `omni listen` passes a worker thread on SQLite. */
  writer?: IntakeWriter;
  /** X Chat (chat.received / chat.sent) read and verified before the commit; without it they are ignored as unsupported. */
  xchat?: Pick<XChatIntakeOptions, 'db' | 'box' | 'api' | 'absentTtlMs'>;
  /** GET /healthz?verbose: the accounts' health as the monitor last judged it. */
  accountHealth?: () => unknown[] | undefined;
}

export interface Listener {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly committer: GroupCommitter<WriteJob, StoredResults>;
  readonly metrics: ListenerMetrics;
  /** Where CRCs (and the watchdog's checks) are recorded; still usable after close. */
  readonly events: EventJournal;
  /** The X Chat intake (also used by --stream), when X Chat is on. */
  readonly xchat: XChatIntake | undefined;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then drops what remains. */
  close(graceMs: number): Promise<{ forced: boolean }>;
}

export async function startListener(opts: ListenerOptions): Promise<Listener> {
  const { db } = opts;
  const reads = db.engine === 'sqlite' ? createSqliteListenerReads(db.sqlite) : createPostgresListenerReads(db.pool, db.kysely);
  const metrics = opts.metrics ?? createListenerMetrics();
  const limits: ListenerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const settings = { idleMs: opts.helperIdleMs ?? DEFAULT_IDLE_MS, tombstoneKey: tombstoneKey(opts.box) };
  const writer = opts.writer ?? (db.engine === 'sqlite' ? inlineWriter(db.sqlite, settings) : postgresWriter(db.pool, settings));
  const committer = createGroupCommitter(timed(writer, metrics), { maxInFlight: writer.maxInFlight ?? 1 });
  const events = eventJournal(opts, metrics);
  const secrets = createSecretCache(opts.box);
  let closing = false;
  const trustedProxies = opts.trustedProxies ?? defaultTrustedProxies(opts.host);
  const xchat = opts.xchat ? createXChatIntake({ ...opts.xchat, record: (e) => events.record(e), registry: metrics.registry, log: opts.log, ...(opts.clock ? { clock: opts.clock } : {}) }) : undefined;

  const apiSecret = (row: IntakeInteractionRow) => rethrowAs(() => secrets.apiSecret(row.id, row.api_secret_key_enc), (e) => new SecretUnreadable(row.id, e));
  const deps: RouteDeps = {
    ping: () => reads.ping(),
    committer,
    metrics,
    log: opts.log,
    events,
    trustedProxies,
    clock: opts.clock ?? (() => new Date()),
    maxBodyBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    unverified: createUnverifiedBudget(limits.maxUnverifiedBytes, limits.maxUnverifiedBytesPerIp),
    bodyTimeoutMs: limits.bodyTimeoutMs,
    interaction: (rawId, mayBeStale) => (/^\d{1,15}$/.test(rawId) ? unreadable(() => reads.interaction(Number(rawId), mayBeStale)) : undefined),
    validatedUnder: () => reads.validatedUnder(),
    apiSecret,
    closing: () => closing,
    ...(opts.accountHealth ? { accountHealth: opts.accountHealth } : {}),
    warnedUnknownAccount: new Set(),
    poisoned: new BoundedSet(1_000),
    accounts: createAccountRouter({
      accounts: (webhookId) => unreadable(() => reads.webhookAccounts(webhookId)),
      interaction: (id) => unreadable(() => reads.interaction(id)),
      secretOf: apiSecret,
    }),
    ...(xchat ? { xchat } : {}),
  };
  const policy = {
    exempt: (address: string) => trustedProxies.has(address),
    priority: (req: IncomingMessage) => (req.method === 'GET' || req.method === 'HEAD') && isPriorityPath(req.url ?? '/'),
  };
  const { server, openConnections } = createLimitedServer(limits, metrics, policy, createRouter(deps));
  const beforeMetrics = gauges(metrics, db.engine, reads, openConnections, deps.unverified);
  if (beforeMetrics) deps.beforeMetrics = beforeMetrics;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  opts.log.listening({ url, host: address.address, port: address.port, dbPath: opts.dbPath, interactions: await reads.liveInteractions() });

  return {
    url,
    host: address.address,
    port: address.port,
    committer,
    metrics,
    events,
    xchat,
    async close(graceMs) {
      closing = true;
      const result = await closeServer(server, graceMs);
      // Whatever was submitted before the sockets went away is still committed.
      await committer.drain();
      await writer.close();
      // The X Chat keys are wiped from WASM memory once nothing can need them any more.
      xchat?.close();
      await events.close();
      return result;
    },
  };
}

/** /healthz and a webhook URL (a GET there is a CRC). */
function isPriorityPath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path === '/healthz' || WEBHOOK_PATH.test(path);
}

/** The writer, timed: the size and duration of each transaction (fsync included), inline or on the writer thread. */
function timed(writer: IntakeWriter, metrics: ListenerMetrics) {
  return (jobs: WriteJob[]) => {
    const started = performance.now();
    const done = () => metrics.commitBatch(jobs.length, performance.now() - started);
    const results = writer.write(jobs);
    if (results instanceof Promise) return results.finally(done);
    done();
    return results;
  };
}

/** A read of the listener's; what it throws or rejects with becomes InteractionUnreadable (503). */
function unreadable<T>(read: () => MaybePromise<T>): MaybePromise<T> {
  const result = rethrowAs(read, (e) => new InteractionUnreadable(e));
  return result instanceof Promise ? result.catch((e: unknown) => Promise.reject(new InteractionUnreadable(e))) : result;
}

/** The buffered journal of CRCs received, written to webhook_events. */
function eventJournal(opts: ListenerOptions, metrics: ListenerMetrics): EventJournal {
  const { db } = opts;
  let write: (batch: Parameters<ReturnType<typeof createWebhookEventWriter>>[0], final: boolean) => void | Promise<void>;
  if (db.engine === 'sqlite') {
    const sqlite = db.sqlite;
    const writeEvents = createWebhookEventWriter(sqlite);
    // Kept and tried again at the next flush if the lock is not free at once (see withBusyTimeout).
    write = (batch, final) => (final ? writeEvents(batch) : withBusyTimeout(sqlite, RETRYABLE_WRITE_BUSY_MS, () => writeEvents(batch)));
  } else {
    write = (batch) => writeWebhookEvents(db.kysely, batch);
  }
  return createEventJournal({
    write,
    onError: (err) => opts.log.error('cannot record CRCs in the database (kept for the next try)', err),
    onDropped: (n) => metrics.eventsDropped(n),
  });
}

/**
 * Gauges read at scrape time: the outbox by status, and the open connections. SQLite reads the
 * outbox in the gauge itself; PostgreSQL reads it just before rendering (the returned hook), and a
 * scrape while the server is unreachable shows the last counts read.
 */
function gauges(metrics: ListenerMetrics, engine: ListenerDb['engine'], reads: ListenerReads, openConnections: () => number, unverified: UnverifiedBudget): (() => Promise<void>) | undefined {
  let last: OutboxCounts | undefined;
  const refresh = async () => {
    last = await reads.outboxCounts();
  };
  metrics.gauge('omni_outbox_messages', 'Outbound DMs in the outbox by status (pending, sending, failed).', () => {
    const c = engine === 'sqlite' ? (reads.outboxCounts() as OutboxCounts) : last;
    return c ? (['pending', 'sending', 'failed'] as const).map((status) => ({ labels: { status }, value: c[status] })) : [];
  });
  metrics.gauge('omni_http_open_connections', 'Connections open right now.', () => [{ value: openConnections() }]);
  metrics.gauge('omni_http_unverified_bytes', 'Bytes of request bodies held before their signature is checked.', () => [{ value: unverified.held() }]);
  return engine === 'sqlite' ? undefined : () => refresh().catch(() => undefined);
}
