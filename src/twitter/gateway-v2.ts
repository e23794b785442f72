// The door to X's API of 2026: webhooks (/2/webhooks), Activity API subscriptions, Account Activity
// v2 subscriptions, DMs (send, history), replay. Each call carries the credential X documents for
// it: the app-only bearer (client_credentials, cached) for webhooks, listing and deleting; the
// account's OAuth 2.0 user token for sending, reading DMs and subscribing, with one refresh on a
// 401; OAuth 1.0a user context as a fallback where X is known to want it (subscription creation).
//
// Plain fetch rather than twitter-api-v2 raw calls: the v2 answers we must read (problem+json,
// errors[] without codes, rate-limit headers on successes) and the per-call AbortSignal are direct
// with fetch, while twitter-api-v2 maps errors into its own classes and needs an http.Agent trick for
// plain-http fakes. OAuth 1.0a signing is the one thing it does for us here (the fallback).
import http from 'node:http';
import https from 'node:https';
import { ApiResponseError, TwitterApi } from 'twitter-api-v2';
import { OmniError } from '../errors.js';
import { issueAppBearer } from './app-bearer.js';
import { TwitterError, twitterBadResponse, xErrorFromResponse, type TwitterCall } from './errors.js';
import type { TwitterCredentials, Webhook } from './gateway.js';
import { dataOf, str, xFetch, type XRequest, type XResponse } from './http.js';
import type { UserTokenSource } from './user-token.js';
import type { ConversationKeyChangeRequest, PublicKeyRegistration, RegisteredPublicKey } from '../xchat/sdk.js';

export interface XGatewayOptions {
  /** Scheme + host of the API (OMNI_TWITTER_API_URL), e.g. https://api.x.com. */
  baseUrl: string;
  timeoutMs: number;
  /** API key and secret: the app-only bearer token. */
  app: { apiKey: string; apiSecretKey: string };
  /** The account's OAuth 2.0 authorization (user-context calls). */
  userToken?: UserTokenSource;
  /** OAuth 1.0a user credentials, when the interaction holds them: the fallback for subscribing. */
  oauth1?: TwitterCredentials;
  editCommand?: string;
  authorizeCommand?: string;
  /** Told of every answer of X (src/health/observer.ts records the named refusals for `omni status`). */
  observer?: XCallObserver;
}

/**
 * Sees X's answers as they come: a refusal that names a state (402 credits depleted, 403
 * client-not-enrolled or another 403, 429, authorization lost) and successes (which end such a
 * state). Awaited, never thrown from: a failing observer does not change the call's outcome.
 */
export interface XCallObserver {
  refused(err: TwitterError): Promise<void>;
  succeeded(): Promise<void>;
}

export type ActivityEventType = 'dm.received' | 'dm.sent' | 'dm.read' | 'dm.indicate_typing' | 'chat.received' | 'chat.sent' | 'chat.conversation.join' | 'oauth.revoke' | (string & {});

export interface ActivitySubscription {
  id: string;
  eventType: string;
  userId: string | null;
  tag: string | null;
  webhookId: string | null;
  createdAt: string | null;
}

export interface RateLimit {
  limit: number;
  remaining: number;
  resetAt: Date;
}

export interface SentDmV2 {
  dmEventId: string;
  dmConversationId: string | null;
  rateLimit: RateLimit | null;
}

export interface DmEventV2 {
  id: string;
  eventType: string;
  text: string | null;
  senderId: string | null;
  createdAt: string | null;
  conversationId: string | null;
  participantIds: string[];
  /** The media keys of its attachments (attachments.media_keys), when X returns them. */
  mediaKeys: string[];
}

/** A user of a DM history page (expansions=sender_id,participant_ids). */
export interface DmUserV2 {
  id: string;
  username: string | null;
  name: string | null;
}

type Auth = 'app' | 'user2' | 'user';

/** yyyymmddhhmm in UTC, the replay endpoint's date format. */
export function replayDate(d: Date): string {
  return d.toISOString().slice(0, 16).replace(/[-T:]/g, '');
}

export function rateLimitOf(headers: Record<string, string>): RateLimit | null {
  const limit = Number(headers['x-rate-limit-limit']);
  const remaining = Number(headers['x-rate-limit-remaining']);
  const reset = Number(headers['x-rate-limit-reset']);
  if (![limit, remaining, reset].every(Number.isFinite) || headers['x-rate-limit-reset'] === undefined) return null;
  return { limit, remaining, resetAt: new Date(reset * 1000) };
}

function toWebhook(raw: unknown): Webhook {
  const w = (raw ?? {}) as Record<string, unknown>;
  const created = typeof w.created_at === 'string' ? Date.parse(w.created_at) : NaN;
  return { id: str(w.id) ?? '', url: typeof w.url === 'string' ? w.url : '', valid: w.valid === true, createdAt: Number.isFinite(created) ? new Date(created).toISOString() : null };
}

function toSubscription(raw: unknown): ActivitySubscription | null {
  const s = (raw ?? {}) as Record<string, unknown>;
  const id = str(s.subscription_id) ?? str(s.id);
  if (!id) return null;
  const filter = (s.filter ?? {}) as Record<string, unknown>;
  return {
    id,
    eventType: typeof s.event_type === 'string' ? s.event_type : '',
    userId: str(filter.user_id) ?? null,
    tag: typeof s.tag === 'string' ? s.tag : null,
    webhookId: str(s.webhook_id) ?? null,
    createdAt: typeof s.created_at === 'string' ? s.created_at : null,
  };
}

export function createXGateway(options: XGatewayOptions): XGateway {
  return new XGateway(options);
}

export class XGateway {
  readonly baseUrl: string;
  private readonly closed = new AbortController();
  private bearer: Promise<string> | undefined;
  private oauth1Client: TwitterApi | undefined;
  private agent: http.Agent | undefined;

  constructor(private readonly o: XGatewayOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
  }

  /** Cuts calls in flight (they fail at once) and the OAuth 1.0a agent. */
  close(): void {
    this.closed.abort(new Error('the gateway was closed'));
    this.agent?.destroy();
  }

  private call(method: string, path: string, auth: Auth, what: string, extra: Partial<TwitterCall> = {}): TwitterCall {
    return {
      method,
      url: `${this.baseUrl}${path}`,
      auth,
      what,
      ...(this.o.editCommand ? { editCommand: this.o.editCommand } : {}),
      ...(this.o.authorizeCommand ? { authorizeCommand: this.o.authorizeCommand } : {}),
      ...extra,
    };
  }

  private async fetch(call: TwitterCall, req: Omit<XRequest, 'method' | 'url'>): Promise<XResponse> {
    const res = await xFetch(call, { method: call.method as XRequest['method'], url: call.url, ...req }, { timeoutMs: this.o.timeoutMs, baseUrl: this.baseUrl, signal: this.closed.signal });
    await this.observe(call, res);
    return res;
  }

  /** The one place X's answers are told to the observer: 2xx, or 402/403/429 named (a 401 first refreshes; losing it is reported by markLost). */
  private async observe(call: TwitterCall, res: XResponse): Promise<void> {
    const o = this.o.observer;
    if (!o) return;
    try {
      if (res.status >= 200 && res.status < 300) await o.succeeded();
      else if (res.status === 402 || res.status === 403 || res.status === 429) await o.refused(xErrorFromResponse(call, res.status, res.body, res.headers));
    } catch {
      // Recording health must never change what the call does.
    }
  }

  private async lost(source: UserTokenSource, reason: string, url: string): Promise<TwitterError> {
    const err = await source.markLost(reason, url);
    try {
      await this.o.observer?.refused(err);
    } catch {
      // as above
    }
    return err;
  }

  /** The app-only bearer token, fetched once (a failure is not cached). */
  appBearer(): Promise<string> {
    this.bearer ??= issueAppBearer(this.o.app, { baseUrl: this.baseUrl, timeoutMs: this.o.timeoutMs, signal: this.closed.signal, ...(this.o.editCommand ? { editCommand: this.o.editCommand } : {}) });
    this.bearer.catch(() => {
      this.bearer = undefined;
    });
    return this.bearer;
  }

  private async appCall(call: TwitterCall, req: Omit<XRequest, 'method' | 'url'> = {}): Promise<XResponse> {
    const token = await this.appBearer();
    const res = await this.fetch(call, { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } });
    if (res.status === 401) this.bearer = undefined; // invalidated bearer: the next call gets a new one
    return res;
  }

  private userSource(call: TwitterCall): UserTokenSource {
    if (!this.o.userToken) {
      throw new OmniError(`${call.what} needs the account's X OAuth 2.0 authorization, and there is none`, { hint: `authorize the account: ${this.o.authorizeCommand ?? 'omni interaction authorize <interaction>'}` });
    }
    return this.o.userToken;
  }

  /**
   * A user-context call with the OAuth 2.0 token: a 401 refreshes once and retries; a second 401
   * marks the authorization lost. With `oauth1Fallback`, a 401/403 is retried once with OAuth 1.0a
   * user context when the interaction holds those credentials (X has wanted it for some endpoints).
   */
  private async userCall(call: TwitterCall, req: Omit<XRequest, 'method' | 'url'> = {}, opts: { oauth1Fallback?: boolean } = {}): Promise<XResponse> {
    const fallback = opts.oauth1Fallback === true && this.o.oauth1 !== undefined;
    if (!this.o.userToken && fallback) return this.oauth1Call({ ...call, auth: 'user' }, req);
    const source = this.userSource(call);
    const withToken = (t: string) => this.fetch(call, { ...req, headers: { ...req.headers, authorization: `Bearer ${t}` } });
    let token = await source.accessToken();
    let res = await withToken(token);
    if (res.status === 401) {
      token = await source.refreshAfterRejection(token);
      res = await withToken(token);
      if (res.status === 401 && !fallback) throw await this.lost(source, 'X answered 401 to a freshly refreshed access token (the user may have revoked the app)', call.url);
    }
    if (fallback && (res.status === 401 || res.status === 403)) {
      const second = await this.oauth1Call({ ...call, auth: 'user' }, req);
      // Refused both ways: X's answer to the OAuth 2.0 token names the cause to fix (a scope, a revoked grant).
      return second.status === 401 || second.status === 403 ? res : second;
    }
    return res;
  }

  /** OAuth 1.0a user context, signed by twitter-api-v2. */
  private async oauth1Call(call: TwitterCall, req: Omit<XRequest, 'method' | 'url'>): Promise<XResponse> {
    const c = this.o.oauth1!;
    if (!this.oauth1Client) {
      this.agent = this.baseUrl.startsWith('http:') ? new http.Agent({ keepAlive: false }) : new https.Agent({ keepAlive: true });
      this.oauth1Client = new TwitterApi({ appKey: c.apiKey, appSecret: c.apiSecretKey, accessToken: c.accessToken, accessSecret: c.accessTokenSecret }, { httpAgent: this.agent });
    }
    const client = this.oauth1Client;
    const path = call.url.slice(this.baseUrl.length + 1);
    const args = { prefix: `${this.baseUrl}/`, timeout: this.o.timeoutMs, fullResponse: true as const, ...(req.json !== undefined ? { forceBodyMode: 'json' as const } : {}) };
    try {
      const r =
        call.method === 'POST'
          ? await client.post<unknown>(path, (req.json ?? {}) as Record<string, unknown>, args)
          : call.method === 'GET'
            ? await client.get<unknown>(path, undefined, args)
            : await client.delete<unknown>(path, undefined, args);
      return { status: 200, headers: flatHeaders(r.headers), body: r.data };
    } catch (err) {
      if (err instanceof ApiResponseError) return { status: err.code, headers: flatHeaders(err.headers), body: err.data };
      throw new TwitterError('network', `cannot reach X: ${call.method} ${call.url}: ${(err as Error).message}`, { url: call.url, cause: err, hint: `check the network; the API base URL is ${this.baseUrl} (OMNI_TWITTER_API_URL)` });
    }
  }

  private fail(call: TwitterCall, res: XResponse): TwitterError {
    return xErrorFromResponse(call, res.status, res.body, res.headers);
  }

  // ---- webhooks (app-only bearer) ----

  /** POST /2/webhooks: X runs the CRC against `url` before it answers. */
  async createWebhook(url: string): Promise<Webhook> {
    const call = this.call('POST', '/2/webhooks', 'app', 'register the webhook', { webhookUrl: url });
    const res = await this.appCall(call, { json: { url } });
    if (res.status !== 200 && res.status !== 201) throw this.fail(call, res);
    const hook = toWebhook(dataOf(call, res));
    if (!hook.id) throw twitterBadResponse(call, 'no webhook id');
    return hook;
  }

  /** GET /2/webhooks: the app's webhooks (X omits `data` when there are none). */
  async listWebhooks(): Promise<Webhook[]> {
    const call = this.call('GET', '/2/webhooks', 'app', 'list the webhooks');
    const res = await this.appCall(call);
    if (res.status !== 200) throw this.fail(call, res);
    const data = (res.body as { data?: unknown } | undefined)?.data;
    if (data === undefined) return [];
    if (!Array.isArray(data)) throw twitterBadResponse(call, 'data is not an array');
    return data.map(toWebhook);
  }

  /** PUT /2/webhooks/{id}: X re-runs the CRC; resolves when it passed. */
  async revalidateWebhook(webhookId: string, webhookUrl?: string): Promise<void> {
    const call = this.call('PUT', `/2/webhooks/${encodeURIComponent(webhookId)}`, 'app', 're-validate the webhook (CRC)', webhookUrl ? { webhookUrl } : {});
    const res = await this.appCall(call);
    if (res.status !== 200) throw this.fail(call, res);
    const valid = (res.body as { data?: { valid?: unknown } } | undefined)?.data?.valid;
    if (valid !== true) throw xErrorFromResponse(call, 400, { errors: [{ message: 'CrcValidationFailed: X reported the webhook as not valid.' }] });
  }

  /** DELETE /2/webhooks/{id}; 'not-found' when X knows no such webhook. */
  async deleteWebhook(webhookId: string): Promise<'deleted' | 'not-found'> {
    const call = this.call('DELETE', `/2/webhooks/${encodeURIComponent(webhookId)}`, 'app', 'delete the webhook');
    const res = await this.appCall(call);
    if (res.status === 200) return 'deleted';
    const err = this.fail(call, res);
    if (err.kind === 'webhook-id-invalid' || err.kind === 'not-found') return 'not-found';
    throw err;
  }

  // ---- Activity API (XAA) subscriptions ----

  /**
   * POST /2/activity/subscriptions with the account's OAuth 2.0 token (dm.* needs dm.read), OAuth
   * 1.0a as the fallback. DuplicateSubscriptionFailed is success ('already-exists', no subscription).
   */
  async createActivitySubscription(p: { eventType: ActivityEventType; userId: string; webhookId?: string; tag?: string }): Promise<{ status: 'created' | 'already-exists'; subscription: ActivitySubscription | null }> {
    const call = this.call('POST', '/2/activity/subscriptions', 'user2', `subscribe to ${p.eventType} events`);
    const body = { event_type: p.eventType, filter: { user_id: p.userId }, ...(p.webhookId ? { webhook_id: p.webhookId } : {}), ...(p.tag ? { tag: p.tag } : {}) };
    const res = await this.userCall(call, { json: body }, { oauth1Fallback: true });
    if (res.status === 200 || res.status === 201) {
      // OpenAPI nests it in data.subscription, the quickstart answers it flat in data.
      const data = dataOf(call, res);
      const sub = toSubscription(data.subscription ?? data);
      if (!sub) throw twitterBadResponse(call, 'no subscription id');
      return { status: 'created', subscription: sub };
    }
    const err = this.fail(call, res);
    if (err.kind === 'duplicate-subscription') return { status: 'already-exists', subscription: null };
    throw err;
  }

  /** GET /2/activity/subscriptions (bearer), every page. */
  async listActivitySubscriptions(): Promise<ActivitySubscription[]> {
    const out: ActivitySubscription[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const qs = new URLSearchParams({ max_results: '1000', ...(token ? { pagination_token: token } : {}) });
      const call = this.call('GET', `/2/activity/subscriptions?${qs}`, 'app', 'list the Activity API subscriptions');
      const res = await this.appCall(call);
      if (res.status !== 200) throw this.fail(call, res);
      const body = (res.body ?? {}) as { data?: unknown; meta?: { next_token?: unknown } };
      if (body.data !== undefined && !Array.isArray(body.data)) throw twitterBadResponse(call, 'data is not an array');
      for (const raw of (body.data as unknown[] | undefined) ?? []) {
        const s = toSubscription(raw);
        if (s) out.push(s);
      }
      token = str(body.meta?.next_token);
      if (!token) break;
    }
    return out;
  }

  /** DELETE /2/activity/subscriptions/{id} (bearer); 'not-found' when it is gone already. */
  async deleteActivitySubscription(id: string): Promise<'deleted' | 'not-found'> {
    const call = this.call('DELETE', `/2/activity/subscriptions/${encodeURIComponent(id)}`, 'app', 'delete the Activity API subscription');
    const res = await this.appCall(call);
    if (res.status === 200) return 'deleted';
    const err = this.fail(call, res);
    if (err.kind === 'subscription-not-found' || err.kind === 'not-found') return 'not-found';
    throw err;
  }

  // ---- Account Activity API v2 subscriptions ----

  private aaaPath(webhookId: string, rest: string): string {
    return `/2/account_activity/webhooks/${encodeURIComponent(webhookId)}/${rest}`;
  }

  /** POST …/subscriptions/all (user context); DuplicateSubscriptionFailed is success. */
  async aaaSubscribe(webhookId: string): Promise<'subscribed' | 'already-subscribed'> {
    const call = this.call('POST', this.aaaPath(webhookId, 'subscriptions/all'), 'user2', 'subscribe the account');
    const res = await this.userCall(call, { json: {} }, { oauth1Fallback: true });
    if (res.status === 200 || res.status === 201 || res.status === 204) return 'subscribed';
    const err = this.fail(call, res);
    if (err.kind === 'duplicate-subscription') return 'already-subscribed';
    throw err;
  }

  /** GET …/subscriptions/all (user context): whether the account is subscribed. */
  async aaaIsSubscribed(webhookId: string): Promise<boolean> {
    const call = this.call('GET', this.aaaPath(webhookId, 'subscriptions/all'), 'user2', 'check the subscription');
    const res = await this.userCall(call, {}, { oauth1Fallback: true });
    if (res.status !== 200) throw this.fail(call, res);
    return (res.body as { data?: { subscribed?: unknown } } | undefined)?.data?.subscribed === true;
  }

  /** GET …/subscriptions/all/list (bearer): subscribed user ids. */
  async aaaListSubscriptions(webhookId: string): Promise<string[]> {
    const call = this.call('GET', this.aaaPath(webhookId, 'subscriptions/all/list'), 'app', 'list the subscriptions');
    const res = await this.appCall(call);
    if (res.status !== 200) throw this.fail(call, res);
    const subs = dataOf(call, res).subscriptions;
    if (subs === undefined) return [];
    if (!Array.isArray(subs)) throw twitterBadResponse(call, 'subscriptions is not an array');
    return subs.map((s: { user_id?: unknown }) => str(s.user_id) ?? '').filter(Boolean);
  }

  /** DELETE …/subscriptions/{user_id}/all (bearer). */
  async aaaUnsubscribe(webhookId: string, userId: string): Promise<'unsubscribed' | 'not-subscribed'> {
    const call = this.call('DELETE', this.aaaPath(webhookId, `subscriptions/${encodeURIComponent(userId)}/all`), 'app', 'unsubscribe the account');
    const res = await this.appCall(call);
    if (res.status === 200 || res.status === 204) return 'unsubscribed';
    const err = this.fail(call, res);
    if (err.kind === 'subscription-not-found' || err.kind === 'not-found') return 'not-subscribed';
    throw err;
  }

  /** GET /2/account_activity/subscriptions/count (bearer). */
  async aaaSubscriptionCount(): Promise<{ count: number; provisioned: number | null }> {
    const call = this.call('GET', '/2/account_activity/subscriptions/count', 'app', 'count the subscriptions');
    const res = await this.appCall(call);
    if (res.status !== 200) throw this.fail(call, res);
    const d = dataOf(call, res);
    const count = Number(d.subscriptions_count_all);
    if (!Number.isFinite(count)) throw twitterBadResponse(call, 'no subscriptions_count_all');
    const provisioned = Number(d.provisioned_count);
    return { count, provisioned: Number.isFinite(provisioned) ? provisioned : null };
  }

  // ---- DMs (user context) ----

  /** POST /2/dm_conversations/with/{id}/messages. A 429 throws 'rate-limited' with resetAt. */
  async sendDm(participantId: string, text: string): Promise<SentDmV2> {
    const call = this.call('POST', `/2/dm_conversations/with/${encodeURIComponent(participantId)}/messages`, 'user2', 'send a direct message');
    const res = await this.userCall(call, { json: { text } });
    if (res.status !== 201 && res.status !== 200) throw this.fail(call, res);
    const d = dataOf(call, res);
    const dmEventId = str(d.dm_event_id);
    if (!dmEventId) throw twitterBadResponse(call, 'no dm_event_id');
    return { dmEventId, dmConversationId: str(d.dm_conversation_id) ?? null, rateLimit: rateLimitOf(res.headers) };
  }

  /** One page of GET /2/dm_events (newest first; the last 30 days). */
  async dmEventsPage(p: { maxResults?: number; paginationToken?: string } = {}): Promise<{ events: DmEventV2[]; users: Map<string, DmUserV2>; nextToken: string | null; rateLimit: RateLimit | null }> {
    const qs = new URLSearchParams({
      max_results: String(p.maxResults ?? 100),
      event_types: 'MessageCreate',
      'dm_event.fields': 'id,text,event_type,sender_id,created_at,dm_conversation_id,participant_ids,attachments',
      // The people of each event, so a DM read from history builds the same requester a delivery does.
      expansions: 'sender_id,participant_ids',
      'user.fields': 'id,name,username',
      ...(p.paginationToken ? { pagination_token: p.paginationToken } : {}),
    });
    const call = this.call('GET', `/2/dm_events?${qs}`, 'user2', 'read the DM history');
    const res = await this.userCall(call);
    if (res.status !== 200) throw this.fail(call, res);
    const body = (res.body ?? {}) as { data?: unknown; meta?: { next_token?: unknown }; includes?: { users?: unknown } };
    if (body.data !== undefined && !Array.isArray(body.data)) throw twitterBadResponse(call, 'data is not an array');
    const users = new Map<string, DmUserV2>();
    for (const u of Array.isArray(body.includes?.users) ? (body.includes.users as Array<Record<string, unknown>>) : []) {
      const id = str(u?.id);
      if (id) users.set(id, { id, username: typeof u.username === 'string' ? u.username : null, name: typeof u.name === 'string' ? u.name : null });
    }
    const events = ((body.data as Array<Record<string, unknown>> | undefined) ?? []).flatMap((e) => {
      const id = str(e.id);
      if (!id) return [];
      return [
        {
          id,
          eventType: typeof e.event_type === 'string' ? e.event_type : '',
          text: typeof e.text === 'string' ? e.text : null,
          senderId: str(e.sender_id) ?? null,
          createdAt: typeof e.created_at === 'string' ? e.created_at : null,
          conversationId: str(e.dm_conversation_id) ?? null,
          participantIds: Array.isArray(e.participant_ids) ? e.participant_ids.map(String) : [],
          mediaKeys: Array.isArray((e.attachments as { media_keys?: unknown } | undefined)?.media_keys) ? ((e.attachments as { media_keys: unknown[] }).media_keys.map(String)) : [],
        },
      ];
    });
    return { events, users, nextToken: str(body.meta?.next_token) ?? null, rateLimit: rateLimitOf(res.headers) };
  }

  // ---- replay (bearer) ----

  /** POST /2/webhooks/replay: X re-sends what it attempted to deliver in [from, to] (last 24 h), then a replay_job_status event. */
  async replay(webhookId: string, from: Date, to: Date): Promise<{ jobId: string; createdAt: string | null }> {
    const call = this.call('POST', '/2/webhooks/replay', 'app', 'start a replay of the webhook events');
    const res = await this.appCall(call, { json: { webhook_id: webhookId, from_date: replayDate(from), to_date: replayDate(to) } });
    if (res.status !== 200 && res.status !== 201 && res.status !== 202) throw this.fail(call, res);
    const d = dataOf(call, res);
    const jobId = str(d.job_id);
    if (!jobId) throw twitterBadResponse(call, 'no job_id');
    return { jobId, createdAt: typeof d.created_at === 'string' ? d.created_at : null };
  }

  // ---- X Chat (user context: dm.read for reads, dm.write for writes) ----

  /** X's daily limit on key registrations answers 429 with x-user-limit-24hour-reset: read it as the reset. */
  private chatFail(call: TwitterCall, res: XResponse): TwitterError {
    const daily = res.headers['x-user-limit-24hour-reset'];
    const headers = res.status === 429 && daily !== undefined && res.headers['x-rate-limit-reset'] === undefined ? { ...res.headers, 'x-rate-limit-reset': daily } : res.headers;
    return xErrorFromResponse(call, res.status, res.body, headers);
  }

  /**
   * POST /2/users/{id}/public_keys: registers the account's X Chat public keys (X allows only a few
   * per 24 h). Answers the public_key_version X assigned (or the one the body named).
   */
  async registerChatPublicKeys(userId: string, registration: PublicKeyRegistration): Promise<{ publicKeyVersion: string; rateLimit: RateLimit | null }> {
    const call = this.call('POST', `/2/users/${encodeURIComponent(userId)}/public_keys`, 'user2', 'register the X Chat public keys');
    const res = await this.userCall(call, { json: registration });
    if (res.status !== 200 && res.status !== 201) throw this.chatFail(call, res);
    const version = str(dataOf(call, res).public_key_version) ?? (registration.generate_version ? undefined : registration.version);
    if (!version) throw twitterBadResponse(call, 'no public_key_version');
    return { publicKeyVersion: version, rateLimit: rateLimitOf(res.headers) };
  }

  /** GET /2/users/{id}/public_keys: the user's registered X Chat keys (public material), every version. */
  async chatPublicKeys(userId: string): Promise<RegisteredPublicKey[]> {
    const qs = new URLSearchParams({ 'public_key.fields': 'public_key_version,public_key,signing_public_key,identity_public_key_signature' });
    const call = this.call('GET', `/2/users/${encodeURIComponent(userId)}/public_keys?${qs}`, 'user2', "read a user's X Chat public keys");
    const res = await this.userCall(call);
    if (res.status !== 200) throw this.chatFail(call, res);
    const data = (res.body as { data?: unknown } | undefined)?.data;
    if (data === undefined) return [];
    const list = Array.isArray(data) ? data : typeof data === 'object' && data !== null && Array.isArray((data as { public_keys?: unknown }).public_keys) ? (data as { public_keys: unknown[] }).public_keys : undefined;
    if (!list) throw twitterBadResponse(call, 'data is not a list of public keys');
    return list.flatMap((raw) => {
      const k = (raw ?? {}) as Record<string, unknown>;
      const v = str(k.public_key_version);
      if (!v || typeof k.public_key !== 'string' || typeof k.signing_public_key !== 'string' || typeof k.identity_public_key_signature !== 'string') return [];
      return [{ public_key_version: v, public_key: k.public_key, signing_public_key: k.signing_public_key, identity_public_key_signature: k.identity_public_key_signature }];
    });
  }

  /** POST /2/chat/conversations/{id}/keys: a new conversation key (omni starting or rotating a conversation). */
  async postChatConversationKey(conversationId: string, request: ConversationKeyChangeRequest): Promise<void> {
    const call = this.call('POST', `/2/chat/conversations/${encodeURIComponent(chatPathId(conversationId))}/keys`, 'user2', 'send an X Chat conversation key');
    const res = await this.userCall(call, { json: request });
    if (res.status !== 200 && res.status !== 201) throw this.chatFail(call, res);
  }

  /**
   * POST /2/chat/conversations/{id}/messages: an encrypted, signed message. Answers the sent event
   * (base64 MessageEvent) when X returns it. A 429 throws 'rate-limited' with resetAt.
   */
  async sendChatMessage(conversationId: string, body: { message_id: string; encoded_message_create_event: string; encoded_message_event_signature: string; conversation_token?: string }): Promise<{ encodedMessageEvent: string | null; rateLimit: RateLimit | null }> {
    const call = this.call('POST', `/2/chat/conversations/${encodeURIComponent(chatPathId(conversationId))}/messages`, 'user2', 'send an X Chat message');
    const res = await this.userCall(call, { json: body });
    if (res.status !== 200 && res.status !== 201) throw this.chatFail(call, res);
    const d = (res.body as { data?: { encoded_message_event?: unknown } } | undefined)?.data;
    return { encodedMessageEvent: typeof d?.encoded_message_event === 'string' ? d.encoded_message_event : null, rateLimit: rateLimitOf(res.headers) };
  }

  /** One page of GET /2/chat/conversations/{id}/events (newest first) and the conversation's key change events. */
  async chatEventsPage(conversationId: string, p: { maxResults?: number; paginationToken?: string } = {}): Promise<{ events: ChatHistoryEvent[]; keyChangeEvents: string[]; nextToken: string | null }> {
    const qs = new URLSearchParams({ max_results: String(p.maxResults ?? 100), ...(p.paginationToken ? { pagination_token: p.paginationToken } : {}) });
    const call = this.call('GET', `/2/chat/conversations/${encodeURIComponent(chatPathId(conversationId))}/events?${qs}`, 'user2', 'read the X Chat conversation history');
    const res = await this.userCall(call);
    if (res.status !== 200) throw this.chatFail(call, res);
    const body = (res.body ?? {}) as { data?: unknown; meta?: { next_token?: unknown; conversation_key_events?: unknown } };
    if (body.data !== undefined && !Array.isArray(body.data)) throw twitterBadResponse(call, 'data is not an array');
    const events = ((body.data as Array<Record<string, unknown>> | undefined) ?? []).flatMap((e) => {
      const id = str(e.id);
      if (!id || typeof e.encoded_event !== 'string') return [];
      return [{ id, conversationId: str(e.conversation_id) ?? null, senderId: str(e.sender_id) ?? null, createdAt: str(e.created_at) ?? null, encodedEvent: e.encoded_event, conversationToken: str(e.conversation_token) ?? null }];
    });
    const keyEvents = Array.isArray(body.meta?.conversation_key_events) ? body.meta.conversation_key_events.filter((x): x is string => typeof x === 'string') : [];
    return { events, keyChangeEvents: keyEvents, nextToken: str(body.meta?.next_token) ?? null };
  }
}

/** One stored event of an X Chat conversation (ciphertext). */
export interface ChatHistoryEvent {
  id: string;
  conversationId: string | null;
  senderId: string | null;
  createdAt: string | null;
  encodedEvent: string;
  conversationToken: string | null;
}

/** X's URL paths take `lo-hi` (a colon is refused), a user id, or a group id. */
function chatPathId(conversationId: string): string {
  return conversationId.replace(':', '-');
}

function flatHeaders(h: Record<string, string | string[] | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
