// `omni listen --stream`: DMs without a public URL. X's activity stream (GET /2/activity/stream, app
// bearer) carries every Activity API event of an app's subscriptions, webhook or not, so a laptop
// needs no proxy, TLS or CRC. For each live `activity` interaction with an OAuth 2.0 authorization:
// its `dm.received`/`dm.sent` subscriptions are made sure of (user token, tag omni:<id>, no
// webhook), then one stream per app is consumed (src/twitter/stream.ts: reconnect with backoff and
// jitter, a 429's reset honoured, backfill_minutes ≤ 5 on reconnect). Each envelope goes to the
// interaction of its account and through the same group committer and writer as a webhook delivery
// (the one intake pipeline: dedup on the DM event id, the Helper, the outbox echo links), and is
// logged with the same per-event line.
import { activityEventTypes, ensureDmSubscriptions, type NeededSubscription } from '../webhooks/subscriptions.js';
import { hasActiveXChat } from '../xchat/conversations.js';
import { parseJsonLossless } from '../intake/json.js';
import { isChatEventType, type XChatIntake } from './xchat-intake.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { intakeInteractionOf, type IntakeInteraction } from '../db/intake.js';
import { SECRET_COLUMNS } from '../interactions/model.js';
import { oauthClientIdOf, openInteractionXGateway } from '../interactions/x-gateway.js';
import { deliveryAccount, parseDelivery } from '../intake/parse.js';
import { unroutedResults } from '../intake/pipeline.js';
import { allResults, type StoredResults } from './delivery-results.js';
import type { SecretBox } from '../secrets.js';
import type { XGateway } from '../twitter/gateway-v2.js';
import { activityStream, type StreamEvent } from '../twitter/stream.js';
import type { GroupCommitter } from './group-commit.js';
import { isPoison, type WriteJob } from './intake-writer.js';
import type { ListenerLog } from './log.js';
import type { ListenerMetrics } from './metrics.js';
import { Counter, Gauge } from './prometheus.js';

/** The most X re-sends on reconnect (backfill_minutes). */
export const MAX_BACKFILL_MINUTES = 5;

/** The Activity API events a helpdesk needs of an account: the DMs it receives and its own (the echoes). */
/**
 * Makes sure the account's dm.received and dm.sent subscriptions exist (created with the account's
 * user token, tag omni:<id>; `webhookId` null: for the stream only). Injected, so tests can watch it.
 */
export type EnsureDmSubscriptions = (
  gateway: XGateway,
  p: { interactionId: number; accountUserId: string; webhookId: string | null; eventTypes?: readonly string[] },
) => Promise<{ created: string[]; present: string[] }>;

/**
 * The one used by `webhook register` (src/webhooks/subscriptions.ts): with no webhook, a
 * subscription of the type for the account counts whatever its webhook (X streams every
 * subscription's events); a missing one is created without a webhook.
 */
export const ensureStreamDmSubscriptions: EnsureDmSubscriptions = async (gateway, p) => {
  const r = await ensureDmSubscriptions(gateway, p);
  const types = (list: NeededSubscription[]) => list.map((n) => (n.api === 'activity' ? n.eventType : 'subscriptions/all'));
  return { created: types(r.created), present: types(r.present) };
};

export interface StreamInteraction {
  id: number;
  name: string;
  account: string;
  /** What crosses to the writer thread. */
  intake: IntakeInteraction;
  /** Its gateway: the app bearer, and its own user token for subscribing. */
  gateway: XGateway;
  /** It has an active X Chat identity: chat.received/chat.sent are subscribed to and read too. */
  xchat?: boolean;
}

/** The interactions of one app (one API key): one stream connection serves them all. */
export interface StreamApp {
  apiKey: string;
  interactions: StreamInteraction[];
}

export interface StreamPlan {
  apps: StreamApp[];
  /** Live interactions not on the stream, each with why (and the fix). */
  skipped: Array<{ id: number; name: string; reason: string }>;
}

export interface StreamPlanOptions {
  db: Kysely<Database>;
  box: SecretBox;
  /** OMNI_TWITTER_API_URL. */
  baseUrl: string;
  timeoutMs: number;
  /** OMNI_TWITTER_CLIENT_ID, for interactions authorized without storing their client id. */
  clientIdFallback?: string;
}

/** Which interactions the stream serves, grouped by app, and why the others are not on it. */
export async function planStream(o: StreamPlanOptions): Promise<StreamPlan> {
  const rows = await o.db
    .selectFrom('interactions as i')
    .leftJoin('oauth_tokens as t', 't.interaction_id', 'i.id')
    .select([
      'i.id', 'i.name', 'i.api', 'i.api_key_enc', 'i.api_secret_key_enc', 'i.client_id_enc', 'i.client_secret_enc', 'i.account_user_id', 'i.unit_id', 'i.group_id',
      'i.activity_id', 'i.contact_origin_id', 'i.helper_interception', 'i.revoked_at', 't.account_user_id as token_account', 't.interaction_id as authorized', 't.lost_at',
    ])
    .where('i.deleted_at', 'is', null)
    .orderBy('i.id')
    .execute();
  const apps = new Map<string, StreamApp>();
  const skipped: StreamPlan['skipped'] = [];
  for (const r of rows) {
    const skip = (reason: string) => skipped.push({ id: r.id, name: r.name, reason });
    if (r.api !== 'activity') {
      skip(`api ${r.api}: the activity stream carries only X Activity API events; it is served by its webhook (omni listen without --stream, or omni interaction edit ${r.id} --api activity)`);
      continue;
    }
    if (r.authorized === null) {
      skip(`not authorized with X OAuth 2.0 yet: omni interaction authorize ${r.id}`);
      continue;
    }
    if (r.lost_at !== null) {
      skip(`its X authorization is lost since ${r.lost_at}: omni interaction authorize ${r.id}`);
      continue;
    }
    const account = r.account_user_id ?? r.token_account;
    if (account === null) {
      skip(`its account is not known: omni interaction authorize ${r.id}`);
      continue;
    }
    const setup = { db: o.db, box: o.box, baseUrl: o.baseUrl, timeoutMs: o.timeoutMs, ...(o.clientIdFallback !== undefined ? { clientIdFallback: o.clientIdFallback } : {}) };
    if (oauthClientIdOf(setup, r) === undefined) {
      skip(`no OAuth 2.0 client id to refresh its token with: set OMNI_TWITTER_CLIENT_ID, or run omni interaction authorize ${r.id} with it`);
      continue;
    }
    const gateway = openInteractionXGateway(setup, r);
    const apiKey = o.box.decrypt(r.api_key_enc, SECRET_COLUMNS.apiKey);
    const apiSecretKey = o.box.decrypt(r.api_secret_key_enc, SECRET_COLUMNS.apiSecretKey);
    const key = `${apiKey}\n${apiSecretKey}`;
    const app = apps.get(key) ?? { apiKey, interactions: [] };
    app.interactions.push({ id: r.id, name: r.name, account, gateway, xchat: await hasActiveXChat(o.db, r.id), intake: intakeInteractionOf({ ...r, account_user_id: account }) });
    apps.set(key, app);
  }
  return { apps: [...apps.values()], skipped };
}

export interface StreamIntakeOptions {
  apps: StreamApp[];
  committer: GroupCommitter<WriteJob, StoredResults>;
  log: ListenerLog;
  metrics: ListenerMetrics;
  ensureSubscriptions: EnsureDmSubscriptions;
  baseUrl: string;
  /** backfill_minutes of the first connection (0–5); reconnects ask for the minutes since the last byte. */
  backfillMinutes?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  stallMs?: number;
  clock?: () => Date;
  /** X Chat events decrypted and verified before the commit (the listener's, shared with its webhook route). */
  xchat?: XChatIntake;
  /** Told when an app's stream connects (the time) and disconnects (null): account health, `omni status`. */
  onConnection?: (interactionIds: number[], connectedSince: string | null) => void;
  /** Told when an app's stream connects again after a drop (X backfills 5 minutes at most): the listener reconciles those interactions. */
  onReconnect?: (interactionIds: number[]) => void;
}

export interface StreamIntake {
  /** Stops every stream (its connection is cut) and waits for the envelope in hand to be committed. */
  stop(): Promise<void>;
  /** Settles when every stream has ended (stopped, or refused by X for good). */
  readonly done: Promise<void>;
  /** Streams still running. */
  running(): number;
}

/** How long a write that fails for a passing reason (a busy database) is retried before the envelope is given up. */
const WRITE_RETRY_MS = [100, 500, 1_000, 2_000, 5_000, 10_000];

export function startStreamIntake(o: StreamIntakeOptions): StreamIntake {
  const stop = new AbortController();
  const clock = o.clock ?? (() => new Date());
  const { log } = o;
  const envelopes = o.metrics.registry.add(new Counter('omni_stream_envelopes_total', 'Envelopes read from X\'s activity stream (--stream), duplicates by event_uuid excluded.'));
  const connects = o.metrics.registry.add(new Counter('omni_stream_connections_total', 'Connections opened to X\'s activity stream (--stream): the first, then one per reconnect.'));
  const connected = new Set<string>();
  let live = 0;
  o.metrics.registry.add(new Gauge('omni_stream_connected', 'Activity streams connected right now (--stream), one per app.', () => [{ value: connected.size }]));

  const runApp = async (app: StreamApp): Promise<void> => {
    const label = `the app of ${app.interactions.map((i) => `#${i.id}`).join(', ')}`;
    // Subscriptions first: a failure for one account is its line, not the others' loss.
    for (const i of app.interactions) {
      if (stop.signal.aborted) return;
      try {
        const r = await o.ensureSubscriptions(i.gateway, { interactionId: i.id, accountUserId: i.account, webhookId: null, ...(i.xchat ? { eventTypes: activityEventTypes(true) } : {}) });
        for (const type of r.created) log.info(`interaction #${i.id} ${i.name}: created the ${type} subscription of account ${i.account} (tag omni:${i.id})`, { interaction: i.id, subscription: type, account: i.account });
      } catch (err) {
        const e = err as { message?: string; hint?: string };
        log.error(`interaction #${i.id} ${i.name}: cannot make sure of its DM subscriptions; its DMs may not reach the stream`, err, { interaction: i.id, ...(e.hint ? { hint: e.hint } : {}) });
      }
    }
    const byAccount = new Map(app.interactions.map((i) => [i.account, i]));
    const gateway = app.interactions[0]!.gateway;
    let connections = 0;
    const onEvent = (e: StreamEvent) => {
      switch (e.type) {
        case 'connected':
          if (connections++ > 0) o.onReconnect?.(app.interactions.map((i) => i.id));
          connects.inc();
          connected.add(app.apiKey);
          o.onConnection?.(app.interactions.map((i) => i.id), clock().toISOString());
          log.info(`stream connected: ${label}${e.backfillMinutes > 0 ? `, X re-sends the last ${e.backfillMinutes} min` : ''}`, { stream: app.interactions.map((i) => i.id), backfillMinutes: e.backfillMinutes });
          break;
        case 'disconnected':
          connected.delete(app.apiKey);
          o.onConnection?.(app.interactions.map((i) => i.id), null);
          if (!stop.signal.aborted) log.warn(`stream disconnected: ${label}: ${e.reason}`, { stream: app.interactions.map((i) => i.id) });
          break;
        case 'reconnecting':
          log.info(`stream: reconnecting in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt}); X backfills what was missed`, { stream: app.interactions.map((i) => i.id), delayMs: e.delayMs, attempt: e.attempt });
          break;
        case 'stalled':
          log.warn(`stream: nothing from X for ${Math.round(e.silentMs / 1000)} s (not even a keep-alive): reconnecting`, { stream: app.interactions.map((i) => i.id) });
          break;
        case 'bad-line':
          log.warn('stream: a line that is no Activity API envelope was skipped', { line: e.line });
          break;
        case 'keep-alive':
          break;
      }
    };
    try {
      for await (const env of activityStream({
        baseUrl: o.baseUrl,
        bearer: () => gateway.appBearer(),
        signal: stop.signal,
        backfillMinutes: Math.min(MAX_BACKFILL_MINUTES, Math.max(0, o.backfillMinutes ?? 0)),
        onEvent,
        ...(o.backoff ? { backoff: o.backoff } : {}),
        ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}),
      })) {
        envelopes.inc();
        await intake(byAccount, env.raw);
      }
    } catch (err) {
      const e = err as { hint?: string };
      log.error(`stream refused by X for good: ${label}; its interactions get no DMs until omni listen --stream is started again`, err, { stream: app.interactions.map((i) => i.id), ...(e.hint ? { hint: e.hint } : {}) });
    } finally {
      connected.delete(app.apiKey);
      o.onConnection?.(app.interactions.map((i) => i.id), null);
    }
  };

  /** One envelope: routed by account, written like a webhook delivery, logged with the same line. */
  const intake = async (byAccount: Map<string, StreamInteraction>, line: string): Promise<void> => {
    const started = performance.now();
    const parsed = parseDelivery(line);
    const account = deliveryAccount(parsed);
    const target = account === null ? undefined : byAccount.get(account);
    if (!target) {
      const results = unroutedResults(parsed, account === null ? 'the envelope names no account (filter.user_id)' : `no interaction on this stream owns account ${account}: not stored`);
      o.metrics.deliveryAccepted(results.map((r) => r.outcome));
      log.delivery({ interaction: null, interactionId: 'stream', source: 'stream', status: 200, results, ms: performance.now() - started, remote: undefined });
      return;
    }
    let job: WriteJob = { interaction: target.intake, body: line, at: clock().toISOString(), allResults: true };
    if (o.xchat && isChatEventType(parsed.eventType)) {
      // X Chat: decrypted and verified before the commit; X unreachable for keys is tried again here
      // (nothing re-sends a stream event but a reconnect's backfill), then recorded as refused.
      const chatTarget = { id: target.id, name: target.name };
      for (let attempt = 0; ; attempt++) {
        const step = await o.xchat.receive(chatTarget, parseJsonLossless(line));
        if (step.kind === 'store') {
          job = { interaction: target.intake, body: '', at: job.at, chat: step.chat, allResults: true };
          break;
        }
        const results = step.kind === 'answered' ? step.results : attempt >= WRITE_RETRY_MS.length || stop.signal.aborted ? o.xchat.giveUp(chatTarget, parsed.eventType!, step.detail) : undefined;
        if (results) {
          o.metrics.deliveryAccepted(results.map((r) => r.outcome));
          log.delivery({ interaction: { id: target.id, name: target.name }, source: 'stream', status: 200, results, ms: performance.now() - started, remote: undefined });
          return;
        }
        await new Promise((r) => setTimeout(r, WRITE_RETRY_MS[attempt]));
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const results = allResults(await o.committer.submit(job));
        o.metrics.deliveryAccepted(results.map((r) => r.outcome));
        log.delivery({ interaction: { id: target.id, name: target.name }, source: 'stream', status: 200, results, ms: performance.now() - started, remote: undefined });
        return;
      } catch (err) {
        if (isPoison(err) || attempt >= WRITE_RETRY_MS.length || stop.signal.aborted) {
          // Not acknowledged to anyone: a backfill (reconnect within 5 min) or a replay brings it again.
          log.error(`stream: an event for interaction #${target.id} could not be stored and is dropped`, err, { interaction: target.id });
          return;
        }
        await new Promise((r) => setTimeout(r, WRITE_RETRY_MS[attempt]));
      }
    }
  };

  live = o.apps.length;
  const done = Promise.all(
    o.apps.map((app) =>
      runApp(app).finally(() => {
        live--;
      }),
    ),
  ).then(() => undefined);

  return {
    running: () => live,
    done,
    async stop() {
      stop.abort();
      // Cuts X calls in flight (a subscription being made sure of), so stopping never waits for their time limit.
      for (const app of o.apps) for (const i of app.interactions) i.gateway.close();
      await done;
    },
  };
}
