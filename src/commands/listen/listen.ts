// `omni listen`: opens the database, starts the HTTP listener and serves until SIGINT/SIGTERM.
import { serviceDeps, type Context } from '../../cli/context.js';
import type { Listener } from '../../listener/server.js';
import type { ListenerLog, LogFormat } from '../../listener/log.js';
import { OmniError } from '../../errors.js';
import { parseByteSize, parseDuration, parsePort, parsePositiveInt, parseSeconds } from '../../cli/flags.js';
import { UsageError } from '../../errors.js';
import type { ListenerLimits } from '../../listener/limits.js';
import type { TrustedProxies } from '../../listener/client-address.js';
import type { OutboxSettings } from '../../outbox/settings.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Db } from '../../db/connection.js';
import type { SecretBox } from '../../secrets.js';
import type { StreamPlan } from '../../listener/stream-intake.js';
import type { HealthMonitor } from '../../health/monitor.js';

/** The accounts' health is judged at least this often (more often with a shorter --watchdog-interval). */
const HEALTH_EVERY_MS = 30_000;
import type { ReconcileLoop } from '../../listener/reconcile-loop.js';

interface ListenOptions {
  port?: string;
  host?: string;
  logFormat?: LogFormat;
  grace?: string;
  /** false with --no-watchdog. */
  watchdog?: boolean;
  watchdogInterval?: string;
  helperIdle?: string;
  maxConnections?: string;
  maxConnectionsPerIp?: string;
  maxUnverifiedBytes?: string;
  maxUnverifiedBytesPerIp?: string;
  trustProxy?: string;
  /** --stream: read X's activity stream (src/listener/stream-intake.ts). */
  stream?: boolean;
  streamBackfill?: string;
  /** false with --no-replay. */
  replay?: boolean;
  /** --notify <url>, repeatable: where health transitions are POSTed. */
  notify?: string[];
  /** How often X's DM history is read for what X did not deliver (0: only at start and after reconnects). */
  reconcileEvery?: string;
  /** A DM reaching omni later than this after it was sent gets no Helper answer. */
  helperWindow?: string;
}

/** The listener's reconcile interval: 0 (off) or 1 s to 24 h (X allows about 15 history reads per 15 min per account: runs past it wait for the reset). */
const RECONCILE_BOUNDS = { minMs: 1_000, maxMs: 24 * 3_600_000 };
const DEFAULT_RECONCILE_EVERY = '15m';

/** Below a second the watchdog would only burn Twitter's rate limit; above a day it watches nothing. */
const WATCHDOG_BOUNDS = { minMs: 1_000, maxMs: 24 * 3_600_000 };
const DEFAULT_WATCHDOG_INTERVAL = '10m';
/** A Helper conversation idle this long starts over; a week bounds what "idle" can mean. */
const HELPER_IDLE_BOUNDS = { minMs: 1_000, maxMs: 7 * 24 * 3_600_000 };

/** The listener waits at most this long for a lock held by another process, then answers 503:
 *  Twitter gives up on a delivery after 3 s and retries it, so waiting longer gains nothing. */
const LISTENER_BUSY_TIMEOUT_MS = 2_000;
/** Semi-space size the main thread's young generation is held at (src/listener/young-generation.ts). */
const LISTENER_SEMI_SPACE_MB = 4;

export async function listenAction(ctx: Context, _args: [], opts: ListenOptions): Promise<number> {
  const port = opts.port !== undefined ? parsePort(opts.port, '--port') : ctx.env.OMNI_PORT ? parsePort(ctx.env.OMNI_PORT, 'OMNI_PORT') : 8080;
  const host = opts.host ?? (ctx.env.OMNI_HOST || '127.0.0.1');
  const graceSeconds = parseSeconds(opts.grace ?? '10', '--grace');
  const format = opts.logFormat ?? (ctx.stdoutIsTTY ? 'pretty' : 'json');
  const watchdogMs = opts.watchdog === false ? undefined : parseDuration(opts.watchdogInterval ?? DEFAULT_WATCHDOG_INTERVAL, '--watchdog-interval', WATCHDOG_BOUNDS);
  const { outboxSettings } = await import('../../outbox/settings.js');
  const { externalTimeoutMs: helperTimeoutMs } = await import('../../chatbot/external.js');
  const { DEFAULT_IDLE_MS } = await import('../../chatbot/conversation.js');
  const helperIdle = opts.helperIdle ?? ctx.env.OMNI_HELPER_IDLE;
  const helperIdleMs = helperIdle ? parseDuration(helperIdle, opts.helperIdle ? '--helper-idle' : 'OMNI_HELPER_IDLE', HELPER_IDLE_BOUNDS) : undefined;
  const limits = floodLimits(ctx, opts);
  const { parseTrustedProxies, TrustProxyError } = await import('../../listener/client-address.js');
  const trustSpec = opts.trustProxy ?? (ctx.env.OMNI_TRUST_PROXY || undefined);
  let trustedProxies: TrustedProxies | undefined;
  try {
    trustedProxies = trustSpec === undefined ? undefined : parseTrustedProxies(trustSpec);
  } catch (err) {
    if (!(err instanceof TrustProxyError)) throw err;
    throw new UsageError(`${opts.trustProxy !== undefined ? '--trust-proxy' : 'OMNI_TRUST_PROXY'}: ${err.message}`, 'example: --trust-proxy 10.0.0.5,192.168.1.0/24 (or loopback, or none)');
  }
  const streamBackfill = streamBackfillMinutes(opts);
  const { notifyUrlProblem } = await import('../../health/notify.js');
  for (const url of opts.notify ?? []) {
    const problem = notifyUrlProblem(url);
    if (problem) throw new UsageError(`--notify: ${problem}`, 'example: --notify https://hooks.slack.com/services/T000/B000/XXXX');
  }
  const reconcileEvery = opts.reconcileEvery ?? DEFAULT_RECONCILE_EVERY;
  const reconcileMs = reconcileEvery.trim() === '0' ? 0 : parseDuration(reconcileEvery, '--reconcile-every', RECONCILE_BOUNDS);
  const { DEFAULT_ANSWER_WINDOW_MS } = await import('../../chatbot/conversation.js');
  const answerWindowMs = opts.helperWindow === undefined ? DEFAULT_ANSWER_WINDOW_MS : opts.helperWindow.trim() === '0' ? 0 : parseDuration(opts.helperWindow, '--helper-window', { minMs: 1_000, maxMs: 30 * 24 * 3_600_000 });
  const outbox = outboxSettings(ctx.env);
  const helperTimeout = helperTimeoutMs(ctx.env);

  const db = await ctx.db();
  if (db.engine === 'sqlite') db.sqlite.pragma(`busy_timeout = ${LISTENER_BUSY_TIMEOUT_MS}`);
  const box = await ctx.secrets();
  const { tombstoneKey } = await import('../../privacy/tombstone.js');
  const [{ startListener }, { catchSignals, serveUntilSignal }, logs, { startWorkerWriter, postgresWriter }, { holdYoungGeneration }] = await Promise.all([
    import('../../listener/server.js'),
    import('../../listener/shutdown.js'),
    import('../../listener/log.js'),
    import('../../listener/intake-writer.js'),
    import('../../listener/young-generation.js'),
  ]);
  // The main thread's young generation held at 4 MB semi-spaces (what the systemd unit's
  // --max-semi-space-size=4 gives), so a plain `omni listen` under load has no ~20 MB high mode of
  // peak RSS either (docs/BENCHMARKS.md, issue 15).
  holdYoungGeneration(LISTENER_SEMI_SPACE_MB);
  // A closed log pipe (`omni listen | head`, a log collector restarting) must not stop the intake:
  // losing log lines is bad, losing DMs is worse.
  ctx.io.stdout.on('error', () => undefined);
  const log = format === 'json' ? logs.createJsonLog(ctx.io.stdout) : logs.createPrettyLog(ctx.out, ctx.color);
  // --stream: which interactions the stream serves, known (and refused when none) before the port is bound.
  const streamPlan = opts.stream ? await planStreaming(ctx, db.kysely, box) : undefined;

  // Caught before the port is bound: a signal from here on is an orderly shutdown.
  const signals = catchSignals();
  try {
    const settings = { idleMs: helperIdleMs ?? DEFAULT_IDLE_MS, tombstoneKey: tombstoneKey(box), answerWindowMs };
    // SQLite: write transactions run on a worker thread with its own connection, so the event loop
    // keeps serving while COMMIT fsyncs. This module is bundled into dist/chunks/, the worker into
    // dist/. PostgreSQL: batches commit on the pool's connections (no thread: the server does the work).
    const writer =
      db.engine === 'postgres'
        ? postgresWriter(db.pool, settings)
        : await startWorkerWriter({
            workerUrl: new URL('../intake-worker.js', import.meta.url),
            dbPath: db.path,
            busyTimeoutMs: LISTENER_BUSY_TIMEOUT_MS,
            settings,
            onExit: (err) => log.error('the intake writer thread stopped; starting it again', err),
          });
    // X Chat: each interaction's session is opened on its first chat.* event and kept until shutdown.
    const [{ createXChatGateways }, { apiBaseUrl, apiTimeoutMs }] = await Promise.all([import('../../listener/xchat-gateways.js'), import('../../twitter/gateway.js')]);
    const xchatGateways = createXChatGateways({ db: db.kysely, box, baseUrl: apiBaseUrl(ctx.env), timeoutMs: apiTimeoutMs(ctx.env), ...(ctx.env.OMNI_TWITTER_CLIENT_ID ? { clientIdFallback: ctx.env.OMNI_TWITTER_CLIENT_ID } : {}) });
    let listener;
    let health: HealthMonitor | undefined;
    try {
      listener = await startListener({ db, box, log, host, port, dbPath: db.path, writer, limits, ...(trustedProxies ? { trustedProxies } : {}), xchat: { db: db.kysely, box, api: (id) => xchatGateways.of(id) }, accountHealth: () => health?.current() });
    } catch (err) {
      await writer.close(); // a live thread would keep the process from exiting
      xchatGateways.close();
      throw listenError(err, host, port);
    }
    health = await startAccountHealth(ctx, db.kysely, box, listener, log, opts.notify ?? [], Math.min(watchdogMs ?? HEALTH_EVERY_MS, HEALTH_EVERY_MS));
    const monitor = health;
    // Reconciliation is told of stream reconnects and webhook revalidations; it starts after the replay request.
    let reconcile: ReconcileLoop | undefined;
    const stream = streamPlan ? await startStreaming(ctx, streamPlan, listener, log, streamBackfill, db.kysely, (ids) => reconcile?.trigger('stream reconnected', ids)) : undefined;
    const owner = `omni listen ${(await import('node:os')).hostname()}:${process.pid}:${listener.port}`;
    const watchdog = watchdogMs === undefined ? undefined : await startWebhookWatchdog(ctx, db, owner, listener, log, watchdogMs, opts.watchdogInterval ?? DEFAULT_WATCHDOG_INTERVAL, monitor, (id) => reconcile?.trigger('webhook revalidated', [id]));
    const stopWorkers = await startWorkers(ctx, db, log, outbox, helperTimeout);
    const lastAlive = await startLastAliveAndReplay(ctx, db, owner, box, listener.port, log, opts.replay !== false);
    reconcile = await startReconciling(ctx, db.kysely, listener, log, reconcileMs, reconcileEvery, lastAlive.replayed);
    const reconciling = reconcile;
    // The watchdog and reconciliation stop as soon as the signal arrives (their X calls are cut), not
    // after the grace period, and in any case before the database closes.
    void signals.first.then(() => watchdog?.stop());
    void signals.first.then(() => reconciling.stop());
    try {
      // The stream stops first (its connection cut, the envelope in hand committed), then the HTTP side.
      const closable = stream ? { committer: listener.committer, close: async (graceMs: number) => (await stream.stop(), listener.close(graceMs)) } : listener;
      await serveUntilSignal(closable, log, signals, graceSeconds * 1000);
    } finally {
      await reconciling.stop();
      await watchdog?.stop();
      // Before the database closes: a send in flight finishes and records Twitter's answer.
      await stopWorkers();
      await lastAlive.stop();
      await monitor.stop();
      await listener.events.close();
      xchatGateways.close();
    }
  } finally {
    signals.release();
  }
  return 0;
}

/** --stream-backfill: whole minutes, 0 to 5 (X's limit); only with --stream. */
function streamBackfillMinutes(opts: ListenOptions): number {
  if (opts.streamBackfill === undefined) return 0;
  if (!opts.stream) throw new UsageError('--stream-backfill works only with --stream', 'omni listen --stream --stream-backfill 5');
  if (!/^[0-5]$/.test(opts.streamBackfill.trim())) throw new UsageError(`--stream-backfill must be 0 to 5 minutes (X re-sends at most 5), not '${opts.streamBackfill}'`, 'example: --stream-backfill 5');
  return Number(opts.streamBackfill.trim());
}

/** The activity interactions the stream serves, by app; refused when there is none, with each one's reason. */
async function planStreaming(ctx: Context, db: Kysely<Database>, box: SecretBox) {
  const [{ planStream }, { apiBaseUrl, apiTimeoutMs }] = await Promise.all([import('../../listener/stream-intake.js'), import('../../twitter/gateway.js')]);
  const plan = await planStream({ db, box, baseUrl: apiBaseUrl(ctx.env), timeoutMs: apiTimeoutMs(ctx.env), ...(ctx.env.OMNI_TWITTER_CLIENT_ID ? { clientIdFallback: ctx.env.OMNI_TWITTER_CLIENT_ID } : {}) });
  if (plan.apps.length === 0) {
    const why = plan.skipped.map((s) => `#${s.id} ${s.name}: ${s.reason}`).join('; ');
    throw new OmniError(
      `omni listen --stream: no interaction can be read from X's activity stream${why ? ` (${why})` : ' (there is no live interaction)'}`,
      { hint: 'create one with omni interaction new --api activity, then omni interaction authorize <id>' },
    );
  }
  return plan;
}

async function startStreaming(ctx: Context, plan: StreamPlan, listener: Listener, log: ListenerLog, backfillMinutes: number, db: Kysely<Database>, onReconnect: (ids: number[]) => void) {
  const [{ startStreamIntake, ensureStreamDmSubscriptions }, { apiBaseUrl }, { patchHealth }] = await Promise.all([
    import('../../listener/stream-intake.js'),
    import('../../twitter/gateway.js'),
    import('../../db/health.js'),
  ]);
  for (const s of plan.skipped) log.info(`interaction #${s.id} ${s.name} is not on the stream: ${s.reason}`, { interaction: s.id, stream: false });
  for (const app of plan.apps) for (const i of app.interactions) log.info(`interaction #${i.id} ${i.name}: DMs of account ${i.account} from X's activity stream`, { interaction: i.id, stream: true, account: i.account });
  return startStreamIntake({
    apps: plan.apps,
    committer: listener.committer,
    log,
    metrics: listener.metrics,
    // The subscription step of src/webhooks/subscriptions.ts, injected so tests can watch it.
    ensureSubscriptions: ensureStreamDmSubscriptions,
    baseUrl: apiBaseUrl(ctx.env),
    backfillMinutes,
    ...(listener.xchat ? { xchat: listener.xchat } : {}),
    // Account health: `omni status` shows since when the stream is connected.
    onConnection: (ids, since) => {
      const at = ctx.clock().toISOString();
      patchHealth(db, ids, { stream_connected_since: since, stream_updated_at: at }, at).catch((err) => log.error('cannot record the stream state for omni status', err));
    },
    onReconnect,
  });
}

/** Reading X's DM history for what X did not deliver: at start, after reconnects and revalidations, every --reconcile-every. */
async function startReconciling(ctx: Context, kysely: Kysely<Database>, listener: Listener, log: ListenerLog, intervalMs: number, label: string, after: Promise<unknown>): Promise<ReconcileLoop> {
  const [{ startReconcileLoop }, { openXGateway }, { getInteraction }, os] = await Promise.all([
    import('../../listener/reconcile-loop.js'),
    import('../../webhooks/x-service.js'),
    import('../../db/interactions.js'),
    import('node:os'),
  ]);
  log.info(
    intervalMs > 0
      ? `reconcile: reading X's DM history of the v2/activity interactions at start and every ${label} for DMs X did not deliver (off: --reconcile-every 0)`
      : "reconcile: X's DM history is read at start and after stream reconnects and webhook revalidations only (--reconcile-every 0)",
  );
  const deps = serviceDeps(ctx);
  return startReconcileLoop({
    db: kysely,
    committer: listener.committer,
    log,
    intervalMs,
    owner: `omni listen ${os.hostname()}:${process.pid}:${listener.port}`,
    clock: ctx.clock,
    after,
    ...(listener.xchat ? { xchat: listener.xchat } : {}),
    openGateway: async (id) => {
      const row = await getInteraction(kysely, id);
      if (!row) throw new OmniError(`interaction ${id} is gone`, { hint: 'nothing to do: it was deleted meanwhile' });
      return openXGateway(deps, row);
    },
  });
}

/** Account health judged every interval: transitions recorded once across listeners, notified to --notify URLs and the stored ones. */
async function startAccountHealth(ctx: Context, db: Kysely<Database>, box: SecretBox, listener: Listener, log: ListenerLog, flagUrls: string[], intervalMs: number): Promise<HealthMonitor> {
  const [{ startHealthMonitor }, { storedNotifyUrls }, { maskUrl }, { UNHEALTHY_STATES }] = await Promise.all([
    import('../../health/monitor.js'),
    import('../../health/notify-settings.js'),
    import('../../health/notify.js'),
    import('../../health/model.js'),
  ]);
  const urls = [...new Set([...flagUrls, ...(await storedNotifyUrls(db, box))])];
  if (urls.length) log.info(`notify: health transitions are POSTed to ${urls.map(maskUrl).join(', ')}`);
  const monitor = startHealthMonitor({ db, log, intervalMs, notifyUrls: urls, clock: ctx.clock });
  const m = listener.metrics;
  const each = <T>(f: (h: NonNullable<ReturnType<typeof monitor.current>>[number]) => T) => (monitor.current() ?? []).map(f);
  m.gauge('omni_interaction_healthy', 'Interactions healthy (1) or in an unhealthy state (0), as last judged (omni status).', () =>
    each((h) => ({ labels: { interaction: String(h.id) }, value: h.healthy ? 1 : 0 })),
  );
  m.gauge('omni_interaction_unhealthy', 'Unhealthy states of each interaction: 1 while it holds (authorization-lost, webhook-invalid, subscription-missing, credits-depleted, app-not-enrolled, silence, outbox-stuck).', () =>
    (monitor.current() ?? []).flatMap((h) => UNHEALTHY_STATES.map((state) => ({ labels: { interaction: String(h.id), state }, value: h.problems.some((p) => p.state === state) ? 1 : 0 }))),
  );
  m.gauge('omni_interaction_silent_seconds', 'Seconds since the last inbound DM, for interactions with a silence alert.', () =>
    (monitor.current() ?? []).filter((h) => h.silence.silentForSeconds !== null).map((h) => ({ labels: { interaction: String(h.id) }, value: h.silence.silentForSeconds! })),
  );
  m.gauge('omni_interaction_outbox_oldest_seconds', 'Age of the oldest DM waiting in the outbox, per interaction (0: none).', () =>
    each((h) => ({ labels: { interaction: String(h.id) }, value: h.outbox.oldestAt ? Math.max(0, Math.round((ctx.clock().getTime() - Date.parse(h.outbox.oldestAt)) / 1000)) : 0 })),
  );
  m.gauge('omni_interaction_authorization_expires_seconds', 'Seconds until the OAuth 2.0 access token expires (refreshed 2 min before).', () =>
    (monitor.current() ?? []).filter((h) => h.authorization.expiresInSeconds !== null).map((h) => ({ labels: { interaction: String(h.id) }, value: h.authorization.expiresInSeconds! })),
  );
  m.gauge('omni_silence_alerts_entered', 'Silence alerts this listener recorded since it started.', () => [{ value: monitor.silencesEntered() }]);
  return monitor;
}

/** The flood limits from flags, else the environment; what neither sets keeps its default. */
function floodLimits(ctx: Context, opts: ListenOptions): Partial<ListenerLimits> {
  const limits: Partial<ListenerLimits> = {};
  const pick = (flag: string, value: string | undefined, env: string): [string, string] | undefined =>
    value !== undefined ? [flag, value] : ctx.env[env] ? [env, ctx.env[env]!] : undefined;
  const count = pick('--max-connections', opts.maxConnections, 'OMNI_MAX_CONNECTIONS');
  if (count) limits.maxConnections = parsePositiveInt(count[1], count[0], `${count[0]} 512`);
  const perIp = pick('--max-connections-per-ip', opts.maxConnectionsPerIp, 'OMNI_MAX_CONNECTIONS_PER_IP');
  if (perIp) limits.maxConnectionsPerIp = parsePositiveInt(perIp[1], perIp[0], `${perIp[0]} 64`);
  const bytes = pick('--max-unverified-bytes', opts.maxUnverifiedBytes, 'OMNI_MAX_UNVERIFIED_BYTES');
  if (bytes) limits.maxUnverifiedBytes = parseByteSize(bytes[1], bytes[0], 1024);
  const bytesPerIp = pick('--max-unverified-bytes-per-ip', opts.maxUnverifiedBytesPerIp, 'OMNI_MAX_UNVERIFIED_BYTES_PER_IP');
  if (bytesPerIp) limits.maxUnverifiedBytesPerIp = parseByteSize(bytesPerIp[1], bytesPerIp[0], 1024);
  return limits;
}

async function startWebhookWatchdog(ctx: Context, db: Db, owner: string, listener: Listener, log: ListenerLog, intervalMs: number, label: string, health: HealthMonitor, onRevalidated: (interactionId: number) => void) {
  const [{ startWatchdog }, { claimFleetRun }] = await Promise.all([import('../../webhooks/watchdog.js'), import('../../db/fleet.js')]);
  log.info(`watchdog: checking every registered webhook with Twitter every ${label} (off: --no-watchdog; with several listeners on one database, one of them per interval)`);
  return startWatchdog({
    deps: { ...serviceDeps(ctx), actor: `${ctx.actor} (omni listen watchdog)` },
    intervalMs,
    log,
    // Once per fleet: the listeners of one database share the round (src/db/fleet.ts).
    claimRound: () => claimFleetRun(db, 'webhook-watchdog', { intervalMs, owner, now: ctx.clock() }),
    onCheck: (c) => {
      listener.metrics.watchdog(c.result);
      // Written at once (with the CRCs buffered so far, which the check may just have caused), so
      // `omni webhook status` tells the story right after a re-validation.
      listener.events.record({ interactionId: c.interactionId, at: c.at, kind: 'watchdog', result: c.result, detail: c.detail }, { flush: true });
      // Judged at once: a subscription found missing and created again is still an entering and a leaving.
      const seen = c.subscriptionsMissing?.length
        ? [{ interactionId: c.interactionId, problem: { state: 'subscription-missing' as const, since: c.at, text: `subscription missing at X: ${c.subscriptionsMissing.join(', ')} (the watchdog creates it again; DMs meanwhile: omni reconcile ${c.interactionId})` } }]
        : [];
      void health.evaluate(seen).then(() => (seen.length ? health.evaluate() : undefined));
      // X may have dropped deliveries while the webhook was invalid, and replays only what it attempted.
      if (c.result === 'revalidated') onRevalidated(c.interactionId);
    },
  });
}

/**
 * The heartbeat of this listener (migration 0010) and, after a gap longer than a minute with no
 * listener alive, the replay of what X tried to deliver meanwhile (in the background; --no-replay).
 * Once per fleet: of several listeners starting after one gap, the first to stamp fleet_jobs asks.
 */
async function startLastAliveAndReplay(
  ctx: Context,
  db: Db,
  owner: string,
  box: SecretBox,
  port: number,
  log: ListenerLog,
  replay: boolean,
): Promise<{ stop(): Promise<void>; replayed: Promise<unknown> }> {
  const [{ startLastAlive }, { replayOnStart, replayStart, REPLAY_AFTER_GAP_MS }, { apiBaseUrl, apiTimeoutMs }, { claimFleetRun }] = await Promise.all([
    import('../../listener/alive.js'),
    import('../../listener/replay-on-start.js'),
    import('../../twitter/gateway.js'),
    import('../../db/fleet.js'),
  ]);
  const kysely = db.kysely;
  const alive = await startLastAlive({ db: kysely, ...(db.engine === 'sqlite' ? { sqlite: db.sqlite } : {}), port, log, clock: ctx.clock });
  const lastAliveAt = alive.before?.last_alive_at;
  const aborted = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  if (!replay) {
    const start = replayStart(lastAliveAt, ctx.clock());
    if (!('skip' in start)) log.warn(`replay: off (--no-replay), though no listener was alive since ${lastAliveAt}; to recover what X tried to deliver meanwhile: omni webhook replay <interaction> --since ${start.since.toISOString()}`);
  } else if ('skip' in replayStart(lastAliveAt, ctx.clock())) {
    running = Promise.resolve();
  } else {
    const replay = () => replayOnStart({ db: kysely, box, lastAliveAt, log, baseUrl: apiBaseUrl(ctx.env), timeoutMs: apiTimeoutMs(ctx.env), clock: ctx.clock, signal: aborted.signal });
    running = claimFleetRun(db, 'replay-on-start', { intervalMs: REPLAY_AFTER_GAP_MS, owner, now: ctx.clock() }).then(
      (mine) => {
        if (mine) return replay();
        log.info('replay: another listener of this database started after the same gap and asks X to replay it');
        return [];
      },
      // Undecided (the database busy): a replay asked twice stores each DM once; one never asked loses them.
      () => replay(),
    );
  }
  return {
    replayed: running,
    async stop() {
      aborted.abort();
      await running;
      await alive.stop();
    },
  };
}

/** The outbox worker (sends queued DMs) and the helper worker (calls the external Helper). */
async function startWorkers(
  ctx: Context,
  db: Db,
  log: ListenerLog,
  outbox: OutboxSettings,
  helperTimeoutMs: number,
): Promise<() => Promise<void>> {
  const [{ startOutboxWorker }, { startChatbotWorker: startHelperWorker }, { xSender }] = await Promise.all([
    import('../../outbox/worker.js'),
    import('../../chatbot/worker.js'),
    import('../outbox/send.js'),
  ]);
  const x = xSender(ctx);
  // Both engines: SQLite claims under its write lock, PostgreSQL with FOR UPDATE SKIP LOCKED, so
  // every listener of a fleet runs its workers and each DM is still sent by one of them.
  const sender = startOutboxWorker({ db, box: ctx.secrets, twitter: ctx.twitter, x, log, leaseMs: outbox.leaseMs, retryBaseMs: outbox.retryBaseMs });
  const helper = startHelperWorker({ db, log, timeoutMs: helperTimeoutMs, onQueued: () => sender.wake() });
  // Hourly, off unless messages.retention is set (omni retention set 90d).
  const [{ startRetentionSchedule }, { openDatabase }] = await Promise.all([import('../../privacy/schedule.js'), import('../../db/connection.js')]);
  const retention = startRetentionSchedule({ open: () => openDatabase(ctx.dbPath, { migrate: false }), log, actor: `${ctx.actor} (omni listen retention)` });
  return async () => {
    await retention.stop();
    await helper.stop(); // it queues DMs: stop it first
    await sender.stop();
    x.close?.(); // the X Chat keys of the outbox's sessions, wiped from WASM memory
  };
}

function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new OmniError(`port ${port} on ${host} is already in use`, { hint: 'is another omni listen running? choose another with --port or OMNI_PORT', cause: err });
  }
  if (code === 'EACCES') {
    return new OmniError(`not allowed to listen on ${host}:${port}`, { hint: 'ports below 1024 need privileges: use --port 8080 behind a reverse proxy (docs/reverse-proxy.md)', cause: err });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new OmniError(`cannot listen on ${host}: no such local address`, { hint: 'use --host 127.0.0.1 (local) or 0.0.0.0 (all interfaces)', cause: err });
  }
  return err;
}
