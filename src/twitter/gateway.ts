// The one door to Twitter. Every call omni makes goes through a TwitterGateway built on
// twitter-api-v2's raw get/post/put/delete (it has no Account Activity helpers), so that auth,
// base URL, timeouts and error mapping live in one place and tests can point it at a fake.
import http from 'node:http';
import https from 'node:https';
import { ApiPartialResponseError, ApiRequestError, ApiResponseError, TwitterApi } from 'twitter-api-v2';
import { OmniError } from '../errors.js';
import { issueAppBearer } from './app-bearer.js';
import { TwitterError, twitterBadResponse, twitterErrorFromResponse, twitterNetworkError, type TwitterCall } from './errors.js';

export const DEFAULT_API_URL = 'https://api.twitter.com';
export const DEFAULT_TIMEOUT_MS = 15_000;

export interface TwitterCredentials {
  apiKey: string;
  apiSecretKey: string;
  accessToken: string;
  accessTokenSecret: string;
}

export interface GatewayOptions {
  /** Scheme + host (+ optional path prefix) of the API; default https://api.twitter.com. */
  baseUrl?: string;
  /** Per request: no answer within this many ms fails the call. */
  timeoutMs?: number;
  /** How the user fixes the credentials, quoted in error hints (e.g. "omni interaction edit 3"). */
  editCommand?: string;
}

export interface TwitterAccount {
  userId: string;
  screenName: string;
  name: string | null;
  /**
   * What the access token may do, from the x-access-level header Twitter puts on user-context
   * answers: 'read', 'read-write' or 'read-write-directmessages'. The only way to learn the DM
   * permission without sending a DM; null when the header was missing (a proxy may strip it).
   */
  accessLevel?: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  valid: boolean;
  /** ISO-8601 UTC, or null when Twitter gave none. */
  createdAt: string | null;
}

export interface DevEnvironment {
  name: string;
  webhooks: Webhook[];
}

export interface QuickReplyOption {
  /** At most 36 characters. */
  label: string;
  /** At most 72 characters. */
  description?: string;
  /** Comes back in the DM event when chosen; at most 1000 characters. */
  metadata?: string;
}

export interface SentDirectMessage {
  /** The DM event id; its echo delivered to the webhook carries the same id. */
  id: string;
  createdAt: string | null;
}

export interface TwitterGateway {
  readonly baseUrl: string;
  /** GET account/verify_credentials (user context): whose tokens these are. */
  verifyCredentials(): Promise<TwitterAccount>;
  /** GET account_activity/all/webhooks (app-only): every environment of the app with its webhooks. */
  listEnvironments(): Promise<DevEnvironment[]>;
  /** GET account_activity/all/:env/webhooks (app-only). */
  listWebhooks(env: string): Promise<Webhook[]>;
  /** POST account_activity/all/:env/webhooks?url= (user context). Twitter runs a CRC against url first. */
  registerWebhook(env: string, url: string): Promise<Webhook>;
  /** PUT account_activity/all/:env/webhooks/:id (user context): re-run the CRC; resolves when it passed. */
  triggerCrc(env: string, webhookId: string, webhookUrl?: string): Promise<void>;
  /** DELETE account_activity/all/:env/webhooks/:id (user context); 'not-found' when already gone. */
  deleteWebhook(env: string, webhookId: string): Promise<'deleted' | 'not-found'>;
  /** POST account_activity/all/:env/subscriptions (user context); "already subscribed" is success. */
  subscribe(env: string): Promise<'subscribed' | 'already-subscribed'>;
  /** GET account_activity/all/:env/subscriptions (user context): 204 yes, 404/34 no. */
  isSubscribed(env: string): Promise<boolean>;
  /** GET account_activity/all/:env/subscriptions/list (app-only): subscribed user ids. */
  listSubscriptions(env: string): Promise<string[]>;
  /** DELETE account_activity/all/:env/subscriptions/:user_id (app-only); 'not-subscribed' when it was not. */
  unsubscribe(env: string, userId: string): Promise<'unsubscribed' | 'not-subscribed'>;
  /** POST direct_messages/events/new (user context, JSON body). */
  sendDirectMessage(recipientId: string, text: string, quickReplies?: QuickReplyOption[]): Promise<SentDirectMessage>;
  /** Drops this gateway's connections: calls in flight fail at once with a network error. For
   *  long-lived users (the listener's watchdog) at shutdown, so a pending call does not hold the
   *  process for up to the request timeout. */
  close(): void;
}


/** The API base URL from OMNI_TWITTER_API_URL (http allowed, for fakes and proxies). */
export function apiBaseUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.OMNI_TWITTER_API_URL?.trim() || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OmniError(`OMNI_TWITTER_API_URL is not a URL: '${raw}'`, { exitCode: 2, hint: `unset it to use ${DEFAULT_API_URL}` });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    throw new OmniError(`OMNI_TWITTER_API_URL must be a plain http(s) URL, not '${raw}'`, { exitCode: 2, hint: `unset it to use ${DEFAULT_API_URL}` });
  }
  return url.toString().replace(/\/+$/, '');
}

/** Per-request timeout from OMNI_TWITTER_TIMEOUT_MS, default 15 s (a registration waits for Twitter's 3 s CRC). */
export function apiTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.OMNI_TWITTER_TIMEOUT_MS?.trim();
  if (!raw) return DEFAULT_TIMEOUT_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new OmniError(`OMNI_TWITTER_TIMEOUT_MS must be a positive number of milliseconds, not '${raw}'`, { exitCode: 2 });
  }
  return n;
}

/** "2017-06-02 23:54:02 +0000" (Twitter's v1.1 format) → ISO-8601 UTC. */
export function twitterTimestampToIso(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(value);
  const t = m ? Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`) : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

type Auth = 'user' | 'app';

export function createTwitterGateway(credentials: TwitterCredentials, options: GatewayOptions = {}): TwitterGateway {
  return new Gateway(credentials, options);
}

class Gateway implements TwitterGateway {
  readonly baseUrl: string;
  private readonly v11: string;
  private readonly timeoutMs: number;
  private readonly editCommand: string | undefined;
  private readonly agent: http.Agent;
  private readonly settings: { httpAgent: http.Agent };
  private readonly user: TwitterApi;
  private app: Promise<TwitterApi> | undefined;
  private readonly closed = new AbortController();

  constructor(
    private readonly credentials: TwitterCredentials,
    options: GatewayOptions,
  ) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
    this.v11 = `${this.baseUrl}/1.1/`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.editCommand = options.editCommand;
    // twitter-api-v2 always calls https.request; Node accepts an http: URL there only when the
    // agent is an http.Agent, so plain http (fakes, local proxies) needs one. An agent of our own
    // for https too (configured like Node's global one) is what lets close() cut calls in flight.
    this.agent = this.baseUrl.startsWith('http:') ? new http.Agent({ keepAlive: false }) : new https.Agent({ keepAlive: true });
    this.settings = { httpAgent: this.agent };
    this.user = new TwitterApi(
      {
        appKey: credentials.apiKey,
        appSecret: credentials.apiSecretKey,
        accessToken: credentials.accessToken,
        accessSecret: credentials.accessTokenSecret,
      },
      this.settings,
    );
  }

  close(): void {
    this.agent.destroy();
    this.closed.abort(new Error('the gateway was closed'));
  }

  private call(method: string, path: string, auth: TwitterCall['auth'], what: string, extra: Partial<TwitterCall> = {}): TwitterCall {
    return {
      method,
      url: path.startsWith('http') ? path : this.v11 + path,
      auth,
      what,
      ...(this.editCommand ? { editCommand: this.editCommand } : {}),
      ...extra,
    };
  }

  /** App-only bearer token, fetched once per gateway (app-bearer.ts, shared with the v2 gateway). */
  private appClient(): Promise<TwitterApi> {
    this.app ??= (async () => {
      const token = await issueAppBearer(this.credentials, {
        baseUrl: this.baseUrl,
        timeoutMs: this.timeoutMs,
        signal: this.closed.signal,
        ...(this.editCommand ? { editCommand: this.editCommand } : {}),
      });
      return new TwitterApi(token, this.settings);
    })();
    // A failed attempt must not poison later calls of a long-lived gateway (the listener's watchdog).
    this.app.catch(() => {
      this.app = undefined;
    });
    return this.app;
  }

  private client(auth: Auth): Promise<TwitterApi> {
    return auth === 'user' ? Promise.resolve(this.user) : this.appClient();
  }

  /** Runs one request; turns every library error into a TwitterError naming the URL. */
  private async send<T>(call: TwitterCall, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw await this.translate(call, err);
    }
  }

  private async translate(call: TwitterCall, err: unknown): Promise<unknown> {
    if (err instanceof TwitterError) return err;
    if (err instanceof ApiResponseError) {
      const mapped = twitterErrorFromResponse(call, err.code, err.data, err.headers as Record<string, string | string[] | undefined>);
      Object.defineProperty(mapped, 'cause', { value: err, enumerable: false });
      if (mapped.kind === 'unknown-environment' && call.env !== undefined) return this.withExistingEnvironments(mapped, call.env);
      return mapped;
    }
    if (err instanceof ApiRequestError) {
      // twitter-api-v2 1.29 stores the socket error as _options.error while its requestError
      // getter reads _options.requestError (always undefined), so look in both places.
      const options = (err as unknown as { _options?: { error?: unknown; requestError?: unknown } })._options;
      return twitterNetworkError(call, err.requestError ?? options?.error ?? options?.requestError ?? err, this.baseUrl, this.timeoutMs);
    }
    if (err instanceof ApiPartialResponseError) return twitterBadResponse(call, err.message, err);
    return err;
  }

  /** "no dev environment named X; existing: a, b" — asks Twitter which labels exist. */
  private async withExistingEnvironments(err: TwitterError, env: string): Promise<TwitterError> {
    let existing: string;
    try {
      const envs = await this.listEnvironments();
      existing = envs.length ? `existing: ${envs.map((e) => e.name).join(', ')}` : 'the app has no dev environment yet';
    } catch {
      return err;
    }
    return new TwitterError('unknown-environment', `no dev environment named '${env}'; ${existing}`, {
      url: err.url,
      cause: err,
      ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}),
      ...(err.twitterCode !== undefined ? { twitterCode: err.twitterCode } : {}),
      ...(err.hint ? { hint: err.hint } : {}),
    });
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    auth: Auth,
    what: string,
    opts: { query?: Record<string, string>; body?: Record<string, unknown>; json?: boolean; extra?: Partial<TwitterCall> } = {},
  ): Promise<T> {
    const query = opts.query ?? {};
    const qs = new URLSearchParams(query).toString();
    const call = this.call(method, path + (qs ? `?${qs}` : ''), auth, what, opts.extra);
    const client = await this.client(auth);
    const args = {
      prefix: this.v11,
      timeout: this.timeoutMs,
      ...(opts.json ? { forceBodyMode: 'json' as const } : {}),
    };
    return this.send(call, async () => {
      switch (method) {
        case 'GET':
          return (await client.get(path, query, args)) as T;
        case 'DELETE':
          return (await client.delete(path, query, args)) as T;
        case 'POST':
          // Query parameters ride in the URL (signed by twitter-api-v2); the body stays empty.
          return (await client.post(path + (qs ? `?${qs}` : ''), opts.body ?? {}, args)) as T;
        case 'PUT':
          return (await client.put(path, opts.body ?? {}, args)) as T;
      }
    });
  }

  private envPath(env: string, rest: string): string {
    return `account_activity/all/${encodeURIComponent(env)}/${rest}`;
  }

  async verifyCredentials(): Promise<TwitterAccount> {
    const path = 'account/verify_credentials.json';
    const query = { skip_status: 'true', include_entities: 'false' };
    const call = this.call('GET', `${path}?${new URLSearchParams(query)}`, 'user', 'verify the credentials');
    // The full response, not just the body: the access level is only in a header.
    const res = await this.send(call, () => this.user.get<Record<string, unknown>>(path, query, { prefix: this.v11, timeout: this.timeoutMs, fullResponse: true }));
    const data = res.data;
    // id_str, never id: 64-bit ids do not survive JavaScript numbers.
    if (typeof data?.id_str !== 'string' || typeof data.screen_name !== 'string') {
      throw twitterBadResponse(call, 'no id_str/screen_name');
    }
    const level = res.headers['x-access-level'];
    return {
      userId: data.id_str,
      screenName: data.screen_name,
      name: typeof data.name === 'string' ? data.name : null,
      accessLevel: (Array.isArray(level) ? level[0] : level) ?? null,
    };
  }

  async listEnvironments(): Promise<DevEnvironment[]> {
    const path = 'account_activity/all/webhooks.json';
    const data = await this.request<{ environments?: unknown }>('GET', path, 'app', 'list the dev environments');
    if (!Array.isArray(data?.environments)) throw twitterBadResponse(this.call('GET', path, 'app', ''), 'no environments array');
    return data.environments.map((e: { environment_name?: unknown; webhooks?: unknown }) => ({
      name: String(e.environment_name),
      webhooks: Array.isArray(e.webhooks) ? e.webhooks.map(toWebhook) : [],
    }));
  }

  async listWebhooks(env: string): Promise<Webhook[]> {
    const path = this.envPath(env, 'webhooks.json');
    const data = await this.request<unknown>('GET', path, 'app', `list the webhooks of '${env}'`, { extra: { env } });
    if (!Array.isArray(data)) throw twitterBadResponse(this.call('GET', path, 'app', ''), 'expected an array of webhooks');
    return data.map(toWebhook);
  }

  async registerWebhook(env: string, url: string): Promise<Webhook> {
    const path = this.envPath(env, 'webhooks.json');
    const data = await this.request<unknown>('POST', path, 'user', 'register the webhook', {
      query: { url },
      extra: { env, webhookUrl: url },
    });
    const hook = toWebhook(data);
    if (!hook.id) throw twitterBadResponse(this.call('POST', path, 'user', ''), 'no webhook id');
    return hook;
  }

  async triggerCrc(env: string, webhookId: string, webhookUrl?: string): Promise<void> {
    await this.request('PUT', this.envPath(env, `webhooks/${encodeURIComponent(webhookId)}.json`), 'user', 're-validate the webhook (CRC)', {
      extra: { env, ...(webhookUrl ? { webhookUrl } : {}) },
    });
  }

  async deleteWebhook(env: string, webhookId: string): Promise<'deleted' | 'not-found'> {
    try {
      await this.request('DELETE', this.envPath(env, `webhooks/${encodeURIComponent(webhookId)}.json`), 'user', 'delete the webhook', { extra: { env } });
      return 'deleted';
    } catch (err) {
      if (err instanceof TwitterError && err.kind === 'not-found') return 'not-found';
      throw err;
    }
  }

  async subscribe(env: string): Promise<'subscribed' | 'already-subscribed'> {
    try {
      await this.request('POST', this.envPath(env, 'subscriptions.json'), 'user', 'subscribe the account', { extra: { env } });
      return 'subscribed';
    } catch (err) {
      if (err instanceof TwitterError && err.kind === 'already-subscribed') return 'already-subscribed';
      throw err;
    }
  }

  async isSubscribed(env: string): Promise<boolean> {
    try {
      await this.request('GET', this.envPath(env, 'subscriptions.json'), 'user', 'check the subscription', { extra: { env } });
      return true;
    } catch (err) {
      if (err instanceof TwitterError && err.kind === 'not-found') return false;
      throw err;
    }
  }

  async listSubscriptions(env: string): Promise<string[]> {
    const path = this.envPath(env, 'subscriptions/list.json');
    const data = await this.request<{ subscriptions?: unknown }>('GET', path, 'app', 'list the subscriptions', { extra: { env } });
    if (!Array.isArray(data?.subscriptions)) throw twitterBadResponse(this.call('GET', path, 'app', ''), 'no subscriptions array');
    return data.subscriptions.map((s: { user_id?: unknown }) => String(s.user_id));
  }

  async unsubscribe(env: string, userId: string): Promise<'unsubscribed' | 'not-subscribed'> {
    try {
      await this.request('DELETE', this.envPath(env, `subscriptions/${encodeURIComponent(userId)}.json`), 'app', 'unsubscribe the account', {
        extra: { env },
      });
      return 'unsubscribed';
    } catch (err) {
      if (err instanceof TwitterError && err.kind === 'not-found') return 'not-subscribed';
      throw err;
    }
  }

  async sendDirectMessage(recipientId: string, text: string, quickReplies?: QuickReplyOption[]): Promise<SentDirectMessage> {
    const path = 'direct_messages/events/new.json';
    const messageData: Record<string, unknown> = { text };
    if (quickReplies && quickReplies.length > 0) {
      messageData.quick_reply = {
        type: 'options',
        options: quickReplies.map((o) => ({
          label: o.label,
          ...(o.description !== undefined ? { description: o.description } : {}),
          ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
        })),
      };
    }
    const body = { event: { type: 'message_create', message_create: { target: { recipient_id: recipientId }, message_data: messageData } } };
    const data = await this.request<{ event?: { id?: unknown; created_timestamp?: unknown } }>('POST', path, 'user', 'send a direct message', {
      body,
      json: true,
    });
    const id = data?.event?.id;
    if (typeof id !== 'string' || id === '') throw twitterBadResponse(this.call('POST', path, 'user', ''), 'no event id');
    return { id, createdAt: twitterTimestampToIso(data.event?.created_timestamp) };
  }
}

function toWebhook(raw: unknown): Webhook {
  const w = (raw ?? {}) as { id?: unknown; url?: unknown; valid?: unknown; created_timestamp?: unknown };
  return {
    id: typeof w.id === 'string' ? w.id : w.id === undefined || w.id === null ? '' : String(w.id),
    url: typeof w.url === 'string' ? w.url : '',
    valid: w.valid === true,
    createdAt: twitterTimestampToIso(w.created_timestamp),
  };
}
