// A fake Twitter for tests, faithful to the documented v1.1 protocol rather than to omni's client:
// OAuth 1.0a HMAC-SHA1 verified per RFC 5849, app-only bearer tokens from POST /oauth2/token,
// Account Activity webhooks (one per dev environment, a real CRC GET with a 3 s limit) and
// subscriptions, verify_credentials, direct_messages/events/new, errors in Twitter's shape
// {"errors":[{"code","message"}]}, signed webhook deliveries with retries. It records what it
// received so tests can assert on the wire, not on omni's opinion of it.
// The same server answers X's API of 2026 (OAuth 2.0, /2/webhooks, Activity API, Account Activity
// v2, DMs v2, replay, the stream): tests/support/fake-x/, reached through `fake.x`.
//
// const tw = await startFakeTwitter({ apps: [{ consumerKey, consumerSecret, envs: ['dev'] }],
//                                     users: [{ accessToken, accessTokenSecret, userId, screenName }] });
// run omni with OMNI_TWITTER_API_URL=tw.url ... ; await tw.close();
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { signBody, crcResponseToken, SIGNATURE_HEADER } from '../../src/twitter/signature.js';
import { baseStringUri, formPairs, hmacSha1Signature, parseAuthorizationHeader, signatureBaseString, signaturesEqual } from './oauth1.js';
import { createX2026, type FakeX2026, type X2026Options, type XAuth } from './fake-x/index.js';

export interface FakeApp {
  consumerKey: string;
  consumerSecret: string;
  /** Dev environment labels of this app (Account Activity API). */
  envs?: string[];
  /** "Read, Write and Direct Messages" granted; default true. */
  dmPermission?: boolean;
  appId?: string;
  name?: string;
}

export interface FakeUser {
  accessToken: string;
  accessTokenSecret: string;
  userId: string;
  screenName: string;
  name?: string;
  /** The app that issued this token (consumer key); default the first app. */
  consumerKey?: string;
  /** false: subscribing this account is refused with code 348. */
  allowSubscriptions?: boolean;
}

export interface FakeTwitterOptions {
  apps: FakeApp[];
  users?: FakeUser[];
  /** Twitter's rules for webhook URLs: https and no port. Off by default so tests can use http://127.0.0.1:port. */
  strictUrls?: boolean;
  /** Twitter waits 3 s for a CRC answer. */
  crcTimeoutMs?: number;
  /** Delays before each retry of an unanswered delivery (Twitter: a few tries over ~5 min; compressed here). */
  retryDelaysMs?: number[];
  /** How long a delivery waits for the 200 (Twitter: 3 s). */
  deliveryTimeoutMs?: number;
  /** Allowed OAuth timestamp skew in seconds (Twitter rejects far-off clocks with code 135). */
  timestampSkewSec?: number;
  /** Deliver the echo of every DM sent through the API to the sender's subscribed webhooks (as Twitter does). Default true. */
  echoSentDms?: boolean;
  /** Recipients who do not accept DMs (code 349). */
  closedDms?: string[];
  /** X's API of 2026 (OAuth 2.0 clients, webhook/subscription limits, rate limits, stream): tests/support/fake-x/. */
  x?: X2026Options;
}

export interface RecordedRequest {
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Who the request authenticated as, when it did. */
  auth: { type: 'oauth1'; consumerKey: string; userId?: string } | { type: 'bearer'; consumerKey: string } | { type: 'basic'; consumerKey: string } | Extract<XAuth, { type: 'oauth2' }> | null;
  status: number;
  /** The Twitter error code answered, if any. */
  errorCode?: number;
}

export interface CrcCheck {
  at: string;
  env: string;
  url: string;
  crcToken: string;
  ok: boolean;
  /** Twitter's message when it failed. */
  reason?: string;
  status?: number;
  ms: number;
  trigger: 'register' | 'put' | 'revalidate';
}

export interface FakeWebhook {
  id: string;
  url: string;
  valid: boolean;
  createdTimestamp: string;
}

export interface SentDm {
  id: string;
  at: string;
  consumerKey: string;
  senderId: string;
  recipientId: string;
  text: string;
  quickReply?: unknown;
  event: Record<string, unknown>;
}

export interface DeliveryAttempt {
  at: string;
  status?: number;
  error?: string;
  ms: number;
}

export interface DeliveryRecord {
  env: string;
  url: string;
  body: string;
  signature: string;
  attempts: DeliveryAttempt[];
  delivered: boolean;
}

export interface FailRule {
  method?: string;
  /** Matched against the path (without query). */
  path: string | RegExp;
  status?: number;
  errors?: Array<{ code: number; message: string }>;
  headers?: Record<string, string>;
  /** Never answer (for client timeouts). */
  stall?: boolean;
  /** Answer this body as is (X's v2 shapes) instead of {"errors":[…]}. */
  body?: unknown;
  /** Wait this long, then answer normally (no failure): for overlapping calls. */
  delayMs?: number;
  /** Wait this long, then fail as the rule says: for failures that overlap. */
  failAfterMs?: number;
  /** How many matching requests fail; default 1. */
  times?: number;
}

interface EnvState {
  name: string;
  consumerKey: string;
  webhook: FakeWebhook | undefined;
  subscriptions: Set<string>;
}

export interface FakeTwitter {
  url: string;
  close(): Promise<void>;
  state: {
    requests: RecordedRequest[];
    crcChecks: CrcCheck[];
    sentDms: SentDm[];
    deliveries: DeliveryRecord[];
  };
  /** The webhook of an environment, if any. */
  webhook(env: string): FakeWebhook | undefined;
  subscriptions(env: string): string[];
  /** Puts a webhook in place without a CRC (someone else's, or a stale one). */
  addWebhook(env: string, url: string, opts?: { valid?: boolean; id?: string }): FakeWebhook;
  /** Marks the environment's webhook invalid, as a failed periodic check would. */
  invalidate(env: string): void;
  /** Twitter's periodic re-validation: a CRC against the registered URL, recorded. */
  revalidate(env: string): Promise<CrcCheck>;
  subscribe(env: string, userId: string): void;
  /** Posts a signed delivery to the environment's webhook, retrying like Twitter until 200 or out of retries. */
  deliver(env: string, body: string | Buffer | object): Promise<DeliveryRecord>;
  /** Someone DMs `toUserId`: delivered to every environment where that account is subscribed. */
  userSendsDm(opts: { from: { id: string; screenName?: string; name?: string }; toUserId: string; text: string; quickReplyResponse?: string }): Promise<DeliveryRecord[]>;
  /** The next matching request(s) get this answer instead. */
  failNext(rule: FailRule): void;
  /** Requests that hit a path (helper for assertions). */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[];
  /** X's API of 2026 on the same server: state and test switches (tests/support/fake-x/). */
  x: FakeX2026;
}

const MAX_BODY = 1024 * 1024;

function twitterTime(d: Date): string {
  // "2017-06-02 23:54:02 +0000"
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' +0000');
}

/** Snowflake-like string ids, above 2^53 so a client that uses numbers breaks visibly. */
function snowflake(): string {
  return (BigInt(1) << 60n | BigInt.asUintN(59, BigInt('0x' + crypto.randomBytes(8).toString('hex')))).toString();
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const E = {
  badAuth: () => new HttpError(400, 215, 'Bad Authentication data.'),
  couldNotAuth: () => new HttpError(401, 32, 'Could not authenticate you.'),
  invalidToken: () => new HttpError(401, 89, 'Invalid or expired token.'),
  timestamp: () => new HttpError(401, 135, 'Timestamp out of bounds.'),
  notAllowed: () => new HttpError(403, 220, 'Your credentials do not allow access to this resource.'),
  forbiddenEnv: () => new HttpError(403, 200, 'Forbidden.'),
  notFound: () => new HttpError(404, 34, 'Sorry, that page does not exist.'),
  unableToVerify: () => new HttpError(403, 99, 'Unable to verify your credentials'),
};

export async function startFakeTwitter(options: FakeTwitterOptions): Promise<FakeTwitter> {
  const apps = new Map(options.apps.map((a) => [a.consumerKey, { dmPermission: true, envs: [], appId: String(100000 + Math.floor(Math.random() * 900000)), name: 'omni-test', ...a }]));
  const firstApp = options.apps[0]?.consumerKey;
  const users = new Map((options.users ?? []).map((u) => [u.accessToken, { consumerKey: firstApp, allowSubscriptions: true, ...u }]));
  const envs = new Map<string, EnvState>();
  for (const app of apps.values()) {
    for (const name of app.envs) envs.set(name, { name, consumerKey: app.consumerKey, webhook: undefined, subscriptions: new Set() });
  }
  const bearer = new Map<string, string>(); // token → consumer key
  const bearerOf = new Map<string, string>(); // consumer key → token
  const seenNonces = new Set<string>();
  const closed = new Set(options.closedDms ?? []);
  const crcTimeoutMs = options.crcTimeoutMs ?? 3000;
  const retryDelays = options.retryDelaysMs ?? [200, 400, 800];
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 3000;
  const skew = options.timestampSkewSec ?? 300;
  const echo = options.echoSentDms ?? true;
  const rules: FailRule[] = [];
  const state: FakeTwitter['state'] = { requests: [], crcChecks: [], sentDms: [], deliveries: [] };
  const timers = new Set<NodeJS.Timeout>();
  const pending = new Set<Promise<unknown>>();
  const stalled = new Set<http.ServerResponse>();
  let closing = false;

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  // ---- outbound HTTP (CRC, deliveries) ----
  function outbound(method: 'GET' | 'POST', target: string, body: string | Buffer | undefined, headers: Record<string, string>, timeoutMs: number) {
    return new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
      const started = Date.now();
      const u = new URL(target);
      const lib = u.protocol === 'https:' ? https : http;
      const req = lib.request(u, { method, headers: { 'user-agent': 'Twitter-Webhooks/fake', ...headers }, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started });
        });
        res.on('error', reject);
      });
      // The limit is for the whole answer, not just idle time: a slow trickle fails too.
      const deadline = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), timeoutMs);
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => {
        clearTimeout(deadline);
        reject(err);
      });
      if (body !== undefined) req.end(body);
      else req.end();
    });
  }

  async function runCrc(env: EnvState, url: string, trigger: CrcCheck['trigger']): Promise<CrcCheck> {
    const app = apps.get(env.consumerKey)!;
    const crcToken = crypto.randomBytes(24).toString('base64url');
    const target = new URL(url);
    target.searchParams.set('crc_token', crcToken);
    target.searchParams.set('nonce', crypto.randomBytes(8).toString('hex'));
    const at = new Date().toISOString();
    const started = Date.now();
    const fail = (reason: string, status?: number): CrcCheck => ({ at, env: env.name, url, crcToken, ok: false, reason, ...(status !== undefined ? { status } : {}), ms: Date.now() - started, trigger });
    let check: CrcCheck;
    try {
      const res = await outbound('GET', target.toString(), undefined, {}, crcTimeoutMs);
      if (res.status !== 200) check = fail('Non-200 response code during CRC GET request (i.e. 404, 500, etc).', res.status);
      else {
        let token: unknown;
        try {
          token = (JSON.parse(res.body) as { response_token?: unknown }).response_token;
        } catch {
          token = undefined;
        }
        check =
          token === crcResponseToken(app.consumerSecret, crcToken)
            ? { at, env: env.name, url, crcToken, ok: true, status: 200, ms: res.ms, trigger }
            : fail('Webhook URL does not meet the requirements. Invalid CRC token or json response format.', 200);
      }
    } catch (err) {
      check =
        (err as { code?: string }).code === 'ETIMEDOUT'
          ? fail('High latency on CRC GET request. Your webhook should respond in less than 3 seconds.')
          : fail('Non-200 response code during CRC GET request (i.e. 404, 500, etc).');
    }
    state.crcChecks.push(check);
    return check;
  }

  async function deliver(envName: string, payload: string | Buffer | object): Promise<DeliveryRecord> {
    const env = envs.get(envName);
    if (!env?.webhook) throw new Error(`fake twitter: no webhook registered on '${envName}'`);
    const app = apps.get(env.consumerKey)!;
    const raw = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    const record: DeliveryRecord = {
      env: envName,
      url: env.webhook.url,
      body: Buffer.isBuffer(raw) ? raw.toString('utf8') : raw,
      signature: signBody(app.consumerSecret, raw),
      attempts: [],
      delivered: false,
    };
    state.deliveries.push(record);
    return track(
      (async () => {
        for (let i = 0; i <= retryDelays.length && !closing; i++) {
          if (i > 0) await sleep(retryDelays[i - 1]!);
          if (closing) break;
          const at = new Date().toISOString();
          const started = Date.now();
          try {
            const res = await outbound('POST', record.url, raw, { 'content-type': 'application/json; charset=utf-8', [SIGNATURE_HEADER]: record.signature }, deliveryTimeoutMs);
            record.attempts.push({ at, status: res.status, ms: res.ms });
            if (res.status === 200) {
              record.delivered = true;
              break;
            }
          } catch (err) {
            record.attempts.push({ at, error: (err as Error).message, ms: Date.now() - started });
          }
        }
        return record;
      })(),
    );
  }

  function userObject(id: string, screenName?: string, name?: string) {
    return { id, created_timestamp: String(Date.now() - 86_400_000), name: name ?? screenName ?? `user ${id}`, screen_name: screenName ?? `user${id}`, protected: false, verified: false, followers_count: 1, friends_count: 1, statuses_count: 1, profile_image_url: 'https://pbs.twimg.com/profile_images/default.png', profile_image_url_https: 'https://pbs.twimg.com/profile_images/default.png' };
  }

  function dmEvent(senderId: string, recipientId: string, text: string, extra: Record<string, unknown> = {}) {
    return {
      type: 'message_create',
      id: snowflake(),
      created_timestamp: String(Date.now()),
      message_create: {
        target: { recipient_id: recipientId },
        sender_id: senderId,
        message_data: { text, entities: { hashtags: [], symbols: [], user_mentions: [], urls: [] }, ...extra },
      },
    };
  }

  function subscribedEnvs(userId: string): EnvState[] {
    return [...envs.values()].filter((e) => e.subscriptions.has(userId) && e.webhook?.valid);
  }

  // ---- auth ----
  type Auth = NonNullable<RecordedRequest['auth']>;
  function authenticate(req: http.IncomingMessage, path: string, query: string, body: string): { auth: Auth; user?: ReturnType<typeof users.get> } | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    if (/^Bearer\s+/i.test(header)) {
      const consumerKey = bearer.get(header.replace(/^Bearer\s+/i, '').trim());
      if (!consumerKey) throw E.invalidToken();
      return { auth: { type: 'bearer', consumerKey } };
    }
    const p = parseAuthorizationHeader(header);
    if (!p) throw E.badAuth();
    const consumerKey = p.get('oauth_consumer_key');
    const signature = p.get('oauth_signature');
    const timestamp = p.get('oauth_timestamp');
    const nonce = p.get('oauth_nonce');
    if (!consumerKey || !signature || !timestamp || !nonce || p.get('oauth_signature_method') !== 'HMAC-SHA1') throw E.badAuth();
    if (p.has('oauth_version') && p.get('oauth_version') !== '1.0') throw E.badAuth();
    if (!/^\d+$/.test(timestamp) || Math.abs(Number(timestamp) - Date.now() / 1000) > skew) throw E.timestamp();
    const app = apps.get(consumerKey);
    if (!app) throw E.couldNotAuth();
    const token = p.get('oauth_token');
    const user = token !== undefined ? users.get(token) : undefined;
    if (token !== undefined && (!user || user.consumerKey !== consumerKey)) throw E.invalidToken();
    const isForm = /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '');
    const params: Array<[string, string]> = [...formPairs(query), ...(isForm ? formPairs(body) : []), ...[...p.entries()]];
    const base = signatureBaseString(req.method ?? 'GET', baseStringUri('http', req.headers.host ?? '', path), params);
    const expected = hmacSha1Signature(base, app.consumerSecret, user?.accessTokenSecret ?? '');
    if (!signaturesEqual(expected, signature)) throw E.couldNotAuth();
    const nonceKey = `${consumerKey}:${timestamp}:${nonce}`;
    if (seenNonces.has(nonceKey)) throw E.couldNotAuth();
    seenNonces.add(nonceKey);
    return { auth: { type: 'oauth1', consumerKey, ...(user ? { userId: user.userId } : {}) }, ...(user ? { user } : {}) };
  }

  // ---- X's API of 2026, on the same server ----
  // Its sleeps wake up at close(), so a replay or a retry waiting in a tracked promise cannot hold close().
  const wakers = new Set<() => void>();
  const wakeableSleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wakers.add(done);
    });
  const x = createX2026(
    {
      apps,
      users: () => [...users.values()],
      bearerApp: (token) => bearer.get(token),
      oauth1: (req, path, rawQuery, body) => {
        const who = authenticate(req, path, rawQuery, body);
        if (!who || who.auth.type !== 'oauth1') throw E.badAuth();
        return { consumerKey: who.auth.consumerKey, ...(who.auth.userId !== undefined ? { userId: who.auth.userId } : {}) };
      },
      outbound: (method, target, body, headers, timeoutMs) => outbound(method, target, body, headers, timeoutMs),
      track,
      sleep: wakeableSleep,
      closing: () => closing,
      strictUrls: options.strictUrls ?? false,
      crcTimeoutMs,
      retryDelaysMs: retryDelays,
      deliveryTimeoutMs,
      closedDms: closed,
    },
    options.x,
  );

  // ---- routing ----
  interface Reply {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
  }
  type Ctx = { req: http.IncomingMessage; path: string; query: URLSearchParams; rawQuery: string; body: string; who: ReturnType<typeof authenticate> };

  const needUser = (c: Ctx) => {
    if (!c.who) throw E.badAuth();
    if (c.who.auth.type !== 'oauth1' || !c.who.user) throw E.notAllowed();
    return { app: apps.get(c.who.auth.consumerKey)!, user: c.who.user };
  };
  const needApp = (c: Ctx) => {
    if (!c.who) throw E.badAuth();
    if (c.who.auth.type !== 'bearer') throw E.notAllowed();
    return apps.get(c.who.auth.consumerKey)!;
  };
  const envOf = (consumerKey: string, name: string) => {
    const env = envs.get(name);
    if (!env || env.consumerKey !== consumerKey) throw E.forbiddenEnv();
    return env;
  };
  const webhookJson = (w: FakeWebhook) => ({ id: w.id, url: w.url, valid: w.valid, created_timestamp: w.createdTimestamp });

  const routes: Array<[string, RegExp, (c: Ctx, m: RegExpExecArray) => Promise<Reply> | Reply]> = [
    [
      'POST',
      /^\/oauth2\/token$/,
      (c) => {
        const m = /^Basic\s+(.+)$/i.exec(c.req.headers.authorization ?? '');
        if (!m) throw E.unableToVerify();
        const [rawKey = '', rawSecret = ''] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
        let key: string;
        let secret: string;
        try {
          key = decodeURIComponent(rawKey);
          secret = decodeURIComponent(rawSecret);
        } catch {
          throw E.unableToVerify();
        }
        const app = apps.get(key);
        if (!app || !signaturesEqual(app.consumerSecret, secret)) throw E.unableToVerify();
        if (new URLSearchParams(c.body).get('grant_type') !== 'client_credentials') throw new HttpError(403, 170, 'Missing required parameter: grant_type');
        let token = bearerOf.get(key);
        if (!token) {
          token = 'AAAAAAAAAAAAAAAAAAAAA' + crypto.randomBytes(30).toString('base64url');
          bearerOf.set(key, token);
          bearer.set(token, key);
        }
        return { status: 200, body: { token_type: 'bearer', access_token: token } };
      },
    ],
    [
      'GET',
      /^\/1\.1\/account\/verify_credentials\.json$/,
      (c) => {
        const { user } = needUser(c);
        return { status: 200, body: { id: Number(user.userId), id_str: user.userId, name: user.name ?? user.screenName, screen_name: user.screenName } };
      },
    ],
    [
      'GET',
      /^\/1\.1\/account_activity\/all\/webhooks\.json$/,
      (c) => {
        const app = needApp(c);
        const list = [...envs.values()].filter((e) => e.consumerKey === app.consumerKey);
        return { status: 200, body: { environments: list.map((e) => ({ environment_name: e.name, webhooks: e.webhook ? [webhookJson(e.webhook)] : [] })) } };
      },
    ],
    [
      'GET',
      /^\/1\.1\/account_activity\/all\/subscriptions\/count\.json$/,
      (c) => {
        const app = needApp(c);
        const count = [...envs.values()].filter((e) => e.consumerKey === app.consumerKey).reduce((n, e) => n + e.subscriptions.size, 0);
        return { status: 200, body: { account_name: 'my-account', subscriptions_count_all: String(count), subscriptions_count_direct_messages: '0' } };
      },
    ],
    [
      'GET',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/webhooks\.json$/,
      (c, m) => {
        const app = needApp(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        return { status: 200, body: env.webhook ? [webhookJson(env.webhook)] : [] };
      },
    ],
    [
      'POST',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/webhooks\.json$/,
      async (c, m) => {
        const { app } = needUser(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        const url = c.query.get('url') ?? new URLSearchParams(c.body).get('url');
        if (!url) throw new HttpError(400, 214, 'Webhook URL does not meet the requirements. Please provide a url.');
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          throw new HttpError(400, 214, 'Webhook URL does not meet the requirements. Invalid URL.');
        }
        if (options.strictUrls && parsed.protocol !== 'https:') throw new HttpError(400, 214, 'Webhook URL does not meet the requirements. Please use HTTPS.');
        if (options.strictUrls && parsed.port) throw new HttpError(400, 214, 'Webhook URL does not meet the requirements. Please remove the port from the URL.');
        if (env.webhook) throw new HttpError(400, 214, 'Too many resources already created.');
        const check = await runCrc(env, url, 'register');
        // Like Twitter: a URL that fails its first CRC is not registered at all.
        if (!check.ok) throw new HttpError(400, 214, check.reason!);
        env.webhook = { id: snowflake(), url, valid: true, createdTimestamp: twitterTime(new Date()) };
        return { status: 200, body: webhookJson(env.webhook) };
      },
    ],
    [
      'PUT',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/webhooks\/([^/]+)\.json$/,
      async (c, m) => {
        const { app } = needUser(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        if (!env.webhook || env.webhook.id !== decodeURIComponent(m[2]!)) throw E.notFound();
        const hook = env.webhook;
        const check = await runCrc(env, hook.url, 'put');
        hook.valid = check.ok;
        if (!check.ok) throw new HttpError(400, 214, check.reason!);
        return { status: 204 };
      },
    ],
    [
      'DELETE',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/webhooks\/([^/]+)\.json$/,
      (c, m) => {
        const { app } = needUser(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        if (!env.webhook || env.webhook.id !== decodeURIComponent(m[2]!)) throw E.notFound();
        env.webhook = undefined;
        return { status: 204 };
      },
    ],
    [
      'GET',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/subscriptions\/list\.json$/,
      (c, m) => {
        const app = needApp(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        return { status: 200, body: { environment: env.name, application_id: app.appId, subscriptions: [...env.subscriptions].map((user_id) => ({ user_id })) } };
      },
    ],
    [
      'POST',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/subscriptions\.json$/,
      (c, m) => {
        const { app, user } = needUser(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        // Twitter answers 348 both when the account did not authorise the app and when the token
        // predates the app's "Read, Write and Direct Messages" permission.
        if (!user.allowSubscriptions || !app.dmPermission) throw new HttpError(403, 348, "Client application is not permitted to access this user's webhook subscriptions.");
        if (env.subscriptions.has(user.userId)) throw new HttpError(409, 355, 'Subscription already exists.');
        env.subscriptions.add(user.userId);
        return { status: 204 };
      },
    ],
    [
      'GET',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/subscriptions\.json$/,
      (c, m) => {
        const { app, user } = needUser(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        if (!env.subscriptions.has(user.userId)) throw E.notFound();
        return { status: 204 };
      },
    ],
    [
      'DELETE',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/subscriptions\.json$/,
      (c, m) => {
        // Deprecated user-context variant, still documented.
        const { app, user } = needUser(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        if (!env.subscriptions.delete(user.userId)) throw E.notFound();
        return { status: 204 };
      },
    ],
    [
      'DELETE',
      /^\/1\.1\/account_activity\/all\/([^/]+)\/subscriptions\/([^/]+)\.json$/,
      (c, m) => {
        const app = needApp(c);
        const env = envOf(app.consumerKey, decodeURIComponent(m[1]!));
        if (!env.subscriptions.delete(decodeURIComponent(m[2]!))) throw E.notFound();
        return { status: 204 };
      },
    ],
    [
      'POST',
      /^\/1\.1\/direct_messages\/events\/new\.json$/,
      (c) => {
        const { app, user } = needUser(c);
        if (!app.dmPermission) throw new HttpError(403, 93, 'This application is not allowed to access or delete your direct messages.');
        let payload: { event?: { type?: string; message_create?: { target?: { recipient_id?: unknown }; message_data?: { text?: unknown; quick_reply?: unknown } } } };
        try {
          payload = JSON.parse(c.body);
        } catch {
          throw new HttpError(400, 214, 'event: body is not valid JSON.');
        }
        const mc = payload.event?.message_create;
        if (payload.event?.type !== 'message_create' || !mc) throw new HttpError(400, 214, 'event.type: must be message_create.');
        const recipientId = mc.target?.recipient_id;
        if (typeof recipientId !== 'string' || !/^\d+$/.test(recipientId)) throw new HttpError(400, 214, 'event.message_create.target.recipient_id: must be a user id string.');
        const text = mc.message_data?.text;
        if (typeof text !== 'string' || text === '') throw new HttpError(400, 214, 'event.message_create.message_data.text: required.');
        if ([...text].length > 10_000) throw new HttpError(403, 354, 'The text of your direct message is over the max character limit.');
        const qr = mc.message_data?.quick_reply as { type?: unknown; options?: Array<{ label?: unknown; description?: unknown; metadata?: unknown }> } | undefined;
        if (qr !== undefined) {
          const ok =
            qr.type === 'options' &&
            Array.isArray(qr.options) &&
            qr.options.length >= 1 &&
            qr.options.length <= 20 &&
            qr.options.every(
              (o) =>
                typeof o.label === 'string' &&
                o.label.length >= 1 &&
                [...o.label].length <= 36 &&
                (o.description === undefined || (typeof o.description === 'string' && [...o.description].length <= 72)) &&
                (o.metadata === undefined || (typeof o.metadata === 'string' && o.metadata.length <= 1000)),
            );
          if (!ok) throw new HttpError(400, 214, 'event.message_create.message_data.quick_reply: invalid options (1-20, label <= 36 chars, description <= 72, metadata <= 1000).');
        }
        if (closed.has(recipientId)) throw new HttpError(403, 349, 'You cannot send messages to this user.');
        const event = dmEvent(user.userId, recipientId, text, qr !== undefined ? { quick_reply: qr } : {});
        state.sentDms.push({ id: event.id, at: new Date().toISOString(), consumerKey: app.consumerKey, senderId: user.userId, recipientId, text, ...(qr !== undefined ? { quickReply: qr } : {}), event });
        if (echo) {
          // Twitter delivers the account's own DMs to its webhooks too (the "echo").
          for (const env of subscribedEnvs(user.userId)) {
            void deliver(env.name, {
              for_user_id: user.userId,
              direct_message_events: [{ ...event, message_create: { ...event.message_create, source_app_id: app.appId } }],
              apps: { [app.appId]: { id: app.appId, name: app.name, url: 'https://example.com' } },
              users: { [user.userId]: userObject(user.userId, user.screenName, user.name), [recipientId]: userObject(recipientId) },
            }).catch(() => undefined);
          }
        }
        return { status: 200, body: { event } };
      },
    ],
  ];

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c as Buffer);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const record: RecordedRequest = {
      at: new Date().toISOString(),
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers,
      body,
      auth: null,
      status: 0,
    };
    state.requests.push(record);
    const send = (reply: Reply) => {
      record.status = reply.status;
      const json = reply.body === undefined ? undefined : JSON.stringify(reply.body);
      // Twitter states the token's permission on every user-context answer.
      const level = record.auth?.type === 'oauth1' && record.auth.userId !== undefined
        ? { 'x-access-level': apps.get(record.auth.consumerKey)!.dmPermission ? 'read-write-directmessages' : 'read-write' }
        : {};
      res.writeHead(reply.status, { ...(json !== undefined ? { 'content-type': 'application/json;charset=utf-8' } : {}), ...level, ...reply.headers });
      res.end(json);
    };
    const fail = (status: number, errors: Array<{ code: number; message: string }>, headers?: Record<string, string>) => {
      record.errorCode = errors[0]?.code;
      send({ status, body: { errors }, ...(headers ? { headers } : {}) });
    };
    try {
      const rawQuery = u.search.replace(/^\?/, '');
      const isX = x.owns(u.pathname);
      const who = u.pathname === '/oauth2/token' || isX ? undefined : authenticate(req, u.pathname, rawQuery, body);
      if (who) record.auth = who.auth;
      if (u.pathname === '/oauth2/token') {
        const key = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
        if (key) record.auth = { type: 'basic', consumerKey: decodeURIComponent(Buffer.from(key[1]!, 'base64').toString('utf8').split(':')[0] ?? '') };
      }
      const ruleIndex = rules.findIndex((r) => (!r.method || r.method === req.method) && (typeof r.path === 'string' ? r.path === u.pathname : r.path.test(u.pathname)));
      if (ruleIndex >= 0) {
        const rule = rules[ruleIndex]!;
        rule.times = (rule.times ?? 1) - 1;
        if (rule.times <= 0) rules.splice(ruleIndex, 1);
        if (rule.stall) {
          stalled.add(res);
          res.on('close', () => stalled.delete(res));
          return;
        }
        if (rule.failAfterMs !== undefined) await wakeableSleep(rule.failAfterMs);
        if (rule.delayMs !== undefined) await wakeableSleep(rule.delayMs);
        else if (rule.body !== undefined) {
          return send({ status: rule.status ?? 500, body: rule.body, headers: { 'content-type': 'application/problem+json', ...rule.headers } });
        } else return fail(rule.status ?? 500, rule.errors ?? [{ code: 131, message: 'Internal error' }], rule.headers);
      }
      if (isX) {
        const ctx = { req, res, method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, rawQuery, body };
        const reply = await x.handle(ctx);
        const a = x.authOf(ctx);
        if (a) record.auth = a.type === 'oauth2' ? a : a.type === 'bearer' ? { type: 'bearer', consumerKey: a.consumerKey } : { type: 'oauth1', consumerKey: a.consumerKey, ...(a.userId !== undefined ? { userId: a.userId } : {}) };
        if (reply === 'streaming') {
          record.status = 200;
          return;
        }
        return send(reply);
      }
      for (const [method, re, fn] of routes) {
        const m = re.exec(u.pathname);
        if (!m || method !== req.method) continue;
        return send(await fn({ req, path: u.pathname, query: u.searchParams, rawQuery, body, who }, m));
      }
      throw E.notFound();
    } catch (err) {
      if (err instanceof HttpError) return fail(err.status, [{ code: err.code, message: err.message }], err.headers);
      fail(500, [{ code: 131, message: `Internal error: ${(err as Error).message}` }]);
    }
  }

  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeTwitter = {
    url: `http://127.0.0.1:${port}`,
    state,
    async close() {
      closing = true;
      x.close();
      for (const wake of [...wakers]) wake();
      for (const t of timers) clearTimeout(t);
      for (const res of stalled) res.destroy();
      await Promise.allSettled([...pending]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    webhook: (env) => envs.get(env)?.webhook,
    subscriptions: (env) => [...(envs.get(env)?.subscriptions ?? [])],
    addWebhook(envName, url, opts = {}) {
      const env = envs.get(envName);
      if (!env) throw new Error(`fake twitter: no environment '${envName}'`);
      env.webhook = { id: opts.id ?? snowflake(), url, valid: opts.valid ?? true, createdTimestamp: twitterTime(new Date()) };
      return env.webhook;
    },
    invalidate(envName) {
      const hook = envs.get(envName)?.webhook;
      if (!hook) throw new Error(`fake twitter: no webhook on '${envName}'`);
      hook.valid = false;
    },
    async revalidate(envName) {
      const env = envs.get(envName);
      if (!env?.webhook) throw new Error(`fake twitter: no webhook on '${envName}'`);
      const check = await runCrc(env, env.webhook.url, 'revalidate');
      env.webhook.valid = check.ok;
      return check;
    },
    subscribe(envName, userId) {
      const env = envs.get(envName);
      if (!env) throw new Error(`fake twitter: no environment '${envName}'`);
      env.subscriptions.add(userId);
    },
    deliver,
    async userSendsDm({ from, toUserId, text, quickReplyResponse }) {
      const event = dmEvent(from.id, toUserId, text, quickReplyResponse !== undefined ? { quick_reply_response: { type: 'options', metadata: quickReplyResponse } } : {});
      const account = [...users.values()].find((u) => u.userId === toUserId);
      return Promise.all(
        subscribedEnvs(toUserId).map((env) =>
          deliver(env.name, {
            for_user_id: toUserId,
            direct_message_events: [event],
            users: { [from.id]: userObject(from.id, from.screenName, from.name), [toUserId]: userObject(toUserId, account?.screenName, account?.name) },
          }),
        ),
      );
    },
    failNext(rule) {
      rules.push({ ...rule });
    },
    requestsTo(method, path) {
      return state.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
    },
    x: x.api,
  };
  return fake;
}

/** A 127.0.0.1 server answering Twitter's CRC like `omni listen` will, for tests of registration. */
export async function startCrcResponder(consumerSecret: string, opts: { mode?: 'ok' | 'wrong' | 'status500' | 'slow'; slowMs?: number } = {}) {
  let mode = opts.mode ?? 'ok';
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const token = u.searchParams.get('crc_token');
    seen.push(u.pathname);
    if (req.method !== 'GET' || !token) return void res.writeHead(400).end();
    if (mode === 'status500') return void res.writeHead(500).end();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ response_token: mode === 'wrong' ? crcResponseToken(consumerSecret + 'x', token) : crcResponseToken(consumerSecret, token) }));
    };
    if (mode === 'slow') setTimeout(answer, opts.slowMs ?? 4000).unref();
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    /** Base URL to use as the interaction's callback URL. */
    url: `http://127.0.0.1:${port}`,
    seen,
    setMode(m: NonNullable<typeof opts.mode>) {
      mode = m;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
