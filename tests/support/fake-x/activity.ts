// Subscriptions and event fan-out of the fake X: the Activity API (XAA: /2/activity/subscriptions,
// envelopes to the stream and, when the subscription names a webhook, to the webhook), Account
// Activity v2 (/2/account_activity/...: the v1.1 delivery shape), and GET /2/activity/stream
// (app bearer; newline-delimited envelopes; "\r\n" keep-alives; backfill_minutes 0–5; 2 connections).
import crypto from 'node:crypto';
import type http from 'node:http';
import { invalidRequest, json, problem, snowflake, type XHost, type XRoute } from './common.js';
import type { FakeOAuth2 } from './oauth2.js';
import type { FakeWebhooks, XDelivery } from './webhooks.js';

export interface ActivityOptions {
  /** Account Activity v2 subscriptions per app (pay-per-use: 3). */
  aaaSubscriptionLimit?: number;
  /** Activity API subscriptions per app (self-serve: 1,500). */
  xaaSubscriptionLimit?: number;
  /** The docs disagree on POST /2/activity/subscriptions: OpenAPI nests data.subscription, the quickstart is flat. */
  xaaResponseShape?: 'openapi' | 'flat';
  /** Keep-alive interval of the stream (X: at least every 20 s). */
  streamKeepAliveMs?: number;
  /** Stream connections per app (X: 2). */
  streamConnectionLimit?: number;
}

export interface XaaSubscription {
  id: string;
  consumerKey: string;
  eventType: string;
  filter: { user_id: string; direction?: string; keyword?: string };
  tag?: string;
  webhookId?: string;
  createdAt: string;
  updatedAt: string;
}

interface StreamConn {
  consumerKey: string;
  res: http.ServerResponse;
  timer: NodeJS.Timeout | undefined;
  stalled: boolean;
}

const DM_EVENTS = new Set(['dm.received', 'dm.sent', 'dm.read', 'dm.indicate_typing']);
const KNOWN_EVENTS = new Set([...DM_EVENTS, 'chat.received', 'chat.sent', 'chat.conversation.join', 'oauth.revoke', 'profile.update.bio', 'follow.follow']);
const AAA_SCOPES = ['dm.read', 'dm.write', 'tweet.read', 'users.read'];

/** The delivered events X bills under pay-per-use. */
const BILLED_EVENTS = new Set(['dm.received', 'chat.received']);

export function createActivity(host: XHost, auth: FakeOAuth2, webhooks: FakeWebhooks, opts: ActivityOptions) {
  const aaaLimit = opts.aaaSubscriptionLimit ?? 3;
  const xaaLimit = opts.xaaSubscriptionLimit ?? 1500;
  const shape = opts.xaaResponseShape ?? 'openapi';
  const keepAliveMs = opts.streamKeepAliveMs ?? 20_000;
  const connLimit = opts.streamConnectionLimit ?? 2;
  const xaa = new Map<string, XaaSubscription>();
  const aaa = new Map<string, Set<string>>(); // webhook id → user ids
  const log: Array<{ at: number; consumerKey: string; line: string }> = [];
  const conns = new Set<StreamConn>();

  webhooks.onDelete.push((id) => {
    aaa.delete(id);
    for (const s of xaa.values()) if (s.webhookId === id) delete s.webhookId;
  });

  const subJson = (s: XaaSubscription) => ({
    subscription_id: s.id,
    event_type: s.eventType,
    filter: s.filter,
    ...(s.tag !== undefined ? { tag: s.tag } : {}),
    ...(s.webhookId !== undefined ? { webhook_id: s.webhookId } : {}),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  });

  /** Sends an XAA event to the subscriptions matching it: stream connections of the app, and the webhook. */
  /** What X would bill the apps for deliveries (pay-per-use: dm.received and chat.received events). */
  const billed = { delivered: 0 };

  function publishXaa(eventType: string, userId: string, payload: Record<string, unknown>): Array<{ subscription: XaaSubscription; envelope: Record<string, unknown>; delivery?: XDelivery }> {
    const out: Array<{ subscription: XaaSubscription; envelope: Record<string, unknown>; delivery?: XDelivery }> = [];
    for (const s of xaa.values()) {
      if (s.eventType !== eventType || s.filter.user_id !== userId) continue;
      const envelope = {
        data: {
          event_type: eventType,
          event_uuid: crypto.randomUUID(),
          filter: { user_id: userId },
          ...(s.tag !== undefined ? { tag: s.tag } : {}),
          payload,
        },
      };
      const line = JSON.stringify(envelope);
      log.push({ at: Date.now(), consumerKey: s.consumerKey, line });
      let streamed = false;
      for (const c of conns) {
        if (c.consumerKey === s.consumerKey && !c.stalled) {
          c.res.write(line + '\r\n');
          streamed = true;
        }
      }
      const delivery = s.webhookId !== undefined && webhooks.hooks.has(s.webhookId) ? webhooks.deliver(s.webhookId, 'xaa', line) : undefined;
      // X bills each received DM event it delivers to the app (webhook or stream), not the ones it lost.
      if (BILLED_EVENTS.has(eventType) && (streamed || (delivery !== undefined && !delivery.dropped))) billed.delivered++;
      out.push({ subscription: s, envelope, ...(delivery ? { delivery } : {}) });
    }
    return out;
  }

  /** Sends an Account Activity v2 body to every webhook where `userId` is subscribed. */
  function publishAaa(userId: string, body: (webhookId: string, consumerKey: string) => Record<string, unknown>) {
    const out = [];
    for (const [webhookId, users] of aaa) {
      const hook = webhooks.hooks.get(webhookId);
      if (!hook || !hook.valid || !users.has(userId)) continue;
      out.push(webhooks.deliver(webhookId, 'aaa', body(webhookId, hook.consumerKey)));
    }
    return out;
  }

  function stream(c: Parameters<XRoute[2]>[0]): 'streaming' {
    const { consumerKey } = auth.requireAuth(c, { app: true });
    const raw = c.query.get('backfill_minutes');
    const backfill = raw === null ? 0 : Number(raw);
    if (!Number.isInteger(backfill) || backfill < 0 || backfill > 5) {
      throw problem(400, 'Invalid Request', 'The `backfill_minutes` query parameter value must be between 0 and 5.', 'invalid-request');
    }
    if ([...conns].filter((x) => x.consumerKey === consumerKey).length >= connLimit) {
      throw problem(429, 'ConnectionException', 'This stream is currently at the maximum allowed connection limit.', 'streaming-connection', { connection_issue: 'TooManyConnections' });
    }
    const res = c.res;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
    const conn: StreamConn = { consumerKey, res, timer: undefined, stalled: false };
    conn.timer = setInterval(() => {
      if (!conn.stalled) res.write('\r\n');
    }, keepAliveMs);
    conns.add(conn);
    res.on('close', () => {
      clearInterval(conn.timer);
      conns.delete(conn);
    });
    const since = Date.now() - backfill * 60_000;
    for (const e of log) if (backfill > 0 && e.consumerKey === consumerKey && e.at >= since) res.write(e.line + '\r\n');
    // Headers and the first keep-alive at once, so clients see the connection is up.
    res.write('\r\n');
    return 'streaming';
  }

  const routes: XRoute[] = [
    [
      'POST',
      /^\/2\/activity\/subscriptions$/,
      (c) => {
        const b = json(c.body);
        const eventType = typeof b.event_type === 'string' ? b.event_type : '';
        const filter = (typeof b.filter === 'object' && b.filter !== null ? b.filter : {}) as Record<string, unknown>;
        const userId = typeof filter.user_id === 'string' ? filter.user_id : '';
        const isPrivate = DM_EVENTS.has(eventType) || eventType.startsWith('chat.');
        // Private events need the user's own authorization: an OAuth 2.0 token with dm.read (or OAuth 1.0a user).
        const who = auth.requireAuth(c, isPrivate ? { user: ['dm.read'], oauth1: true } : { app: true, user: [], oauth1: true });
        if (!KNOWN_EVENTS.has(eventType)) throw problem(400, 'Invalid Request', `event_type '${eventType}' is not supported.`, 'invalid-request');
        if (!/^\d{1,19}$/.test(userId)) throw problem(400, 'Invalid Request', 'filter.user_id is required.', 'invalid-request');
        if (isPrivate && who.userId !== userId) throw problem(403, 'Forbidden', `You are not permitted to subscribe to private events of user ${userId}.`, 'not-authorized-for-resource');
        const tag = b.tag;
        if (tag !== undefined && (typeof tag !== 'string' || tag.length < 1 || tag.length > 200)) throw problem(400, 'Invalid Request', 'tag must be 1 to 200 characters.', 'invalid-request');
        const webhookId = b.webhook_id;
        if (webhookId !== undefined) {
          const hook = typeof webhookId === 'string' ? webhooks.hooks.get(webhookId) : undefined;
          if (!hook || hook.consumerKey !== who.consumerKey) throw invalidRequest('WebhookIdInvalid', `webhook ${String(webhookId)} does not exist for this application.`);
        }
        const mine = [...xaa.values()].filter((s) => s.consumerKey === who.consumerKey);
        const direction = typeof filter.direction === 'string' ? filter.direction : undefined;
        if (mine.some((s) => s.eventType === eventType && s.filter.user_id === userId && s.filter.direction === direction && s.webhookId === webhookId)) {
          throw invalidRequest('DuplicateSubscriptionFailed', 'A subscription with this event_type, filter and webhook already exists.', 409);
        }
        if (mine.length >= xaaLimit) throw invalidRequest('SubscriptionLimitExceeded', `Maximum number of subscriptions (${xaaLimit}) reached.`);
        const now = new Date().toISOString();
        const s: XaaSubscription = {
          id: snowflake(),
          consumerKey: who.consumerKey,
          eventType,
          filter: { user_id: userId, ...(direction !== undefined ? { direction } : {}) },
          ...(typeof tag === 'string' ? { tag } : {}),
          ...(typeof webhookId === 'string' ? { webhookId } : {}),
          createdAt: now,
          updatedAt: now,
        };
        xaa.set(s.id, s);
        return { status: 200, body: { data: shape === 'openapi' ? { subscription: subJson(s) } : subJson(s) } };
      },
    ],
    [
      'GET',
      /^\/2\/activity\/subscriptions$/,
      (c) => {
        const who = auth.requireAuth(c, { app: true, user: [], oauth1: true });
        const max = c.query.has('max_results') ? Number(c.query.get('max_results')) : 100;
        if (!Number.isInteger(max) || max < 1 || max > 1000) throw problem(400, 'Invalid Request', 'The `max_results` query parameter value must be between 1 and 1000.', 'invalid-request');
        const all = [...xaa.values()].filter((s) => s.consumerKey === who.consumerKey);
        const start = c.query.has('pagination_token') ? Number(Buffer.from(c.query.get('pagination_token')!, 'base64url').toString()) : 0;
        const page = all.slice(start, start + max);
        const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
        return { status: 200, body: { ...(page.length ? { data: page.map(subJson) } : {}), meta: { result_count: page.length, ...(next ? { next_token: next } : {}) } } };
      },
    ],
    [
      'DELETE',
      /^\/2\/activity\/subscriptions\/(\d+)$/,
      (c, m) => {
        const { consumerKey } = auth.requireAuth(c, { app: true });
        const s = xaa.get(m[1]!);
        if (!s || s.consumerKey !== consumerKey) throw invalidRequest('SubscriptionNotFound', `subscription ${m[1]} does not exist.`, 404);
        xaa.delete(s.id);
        return { status: 200, body: { data: { deleted: true } } };
      },
    ],
    ['GET', /^\/2\/activity\/stream$/, stream],
    [
      'POST',
      /^\/2\/account_activity\/webhooks\/(\d+)\/subscriptions\/all$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: AAA_SCOPES, oauth1: true });
        const hook = webhooks.hooks.get(m[1]!);
        if (!hook || hook.consumerKey !== who.consumerKey) throw invalidRequest('WebhookIdInvalid', `webhook ${m[1]} does not exist for this application.`);
        const users = aaa.get(hook.id) ?? new Set<string>();
        if (users.has(who.userId!)) throw invalidRequest('DuplicateSubscriptionFailed', 'The user is already subscribed to this webhook.', 409);
        const count = [...aaa.entries()].filter(([id]) => webhooks.hooks.get(id)?.consumerKey === who.consumerKey).reduce((n, [, u]) => n + u.size, 0);
        if (count >= aaaLimit) throw invalidRequest('SubscriptionLimitExceeded', `Maximum number of subscriptions (${aaaLimit}) reached for this application.`);
        users.add(who.userId!);
        aaa.set(hook.id, users);
        return { status: 200, body: { data: { subscribed: true } } };
      },
    ],
    [
      'GET',
      /^\/2\/account_activity\/webhooks\/(\d+)\/subscriptions\/all$/,
      (c, m) => {
        const who = auth.requireAuth(c, { user: AAA_SCOPES, oauth1: true });
        const hook = webhooks.hooks.get(m[1]!);
        if (!hook || hook.consumerKey !== who.consumerKey) throw invalidRequest('WebhookIdInvalid', `webhook ${m[1]} does not exist for this application.`);
        return { status: 200, body: { data: { subscribed: aaa.get(hook.id)?.has(who.userId!) === true } } };
      },
    ],
    [
      'GET',
      /^\/2\/account_activity\/webhooks\/(\d+)\/subscriptions\/all\/list$/,
      (c, m) => {
        const { consumerKey } = auth.requireAuth(c, { app: true });
        const hook = webhooks.hooks.get(m[1]!);
        if (!hook || hook.consumerKey !== consumerKey) throw invalidRequest('WebhookIdInvalid', `webhook ${m[1]} does not exist for this application.`);
        const app = host.apps.get(consumerKey)!;
        return { status: 200, body: { data: { application_id: app.appId, webhook_id: hook.id, webhook_url: hook.url, subscriptions: [...(aaa.get(hook.id) ?? [])].map((user_id) => ({ user_id })) } } };
      },
    ],
    [
      'DELETE',
      /^\/2\/account_activity\/webhooks\/(\d+)\/subscriptions\/(\d+)\/all$/,
      (c, m) => {
        const { consumerKey } = auth.requireAuth(c, { app: true });
        const hook = webhooks.hooks.get(m[1]!);
        if (!hook || hook.consumerKey !== consumerKey) throw invalidRequest('WebhookIdInvalid', `webhook ${m[1]} does not exist for this application.`);
        if (!aaa.get(hook.id)?.delete(m[2]!)) throw invalidRequest('SubscriptionNotFound', `user ${m[2]} is not subscribed to webhook ${hook.id}.`, 404);
        return { status: 200, body: { data: { subscribed: false } } };
      },
    ],
    [
      'GET',
      /^\/2\/account_activity\/subscriptions\/count$/,
      (c) => {
        const { consumerKey } = auth.requireAuth(c, { app: true });
        const count = [...aaa.entries()].filter(([id]) => webhooks.hooks.get(id)?.consumerKey === consumerKey).reduce((n, [, u]) => n + u.size, 0);
        return { status: 200, body: { data: { account_name: 'my-account', provisioned_count: String(aaaLimit), subscriptions_count_all: String(count), subscriptions_count_direct_messages: String(count) } } };
      },
    ],
  ];

  return {
    routes,
    xaa,
    aaa,
    billed,
    publishXaa,
    publishAaa,
    /** Tests: open stream connections (per app when given). */
    streamConnections(consumerKey?: string): number {
      return [...conns].filter((c) => consumerKey === undefined || c.consumerKey === consumerKey).length;
    },
    /** Tests: the streams go silent (no events, no keep-alives) without closing: a stall. */
    stallStreams() {
      for (const c of conns) c.stalled = true;
    },
    /** Tests: X closes every stream connection. */
    dropStreams() {
      for (const c of conns) c.res.destroy();
    },
    close() {
      for (const c of conns) {
        clearInterval(c.timer);
        c.res.destroy();
      }
    },
  };
}

export type FakeActivity = ReturnType<typeof createActivity>;
