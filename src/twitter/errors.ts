// Twitter's refusals as one line a person can act on. Twitter answers errors as
// {"errors":[{"code":N,"message":"..."}]} plus an HTTP status; the code says what went wrong and
// the call (which endpoint, which kind of auth, which environment) says which fix to suggest.
import { OmniError } from '../errors.js';

export type TwitterErrorKind =
  /** OAuth 1.0a user context refused: one of the four credentials is wrong. */
  | 'credentials'
  /** The app-only bearer token could not be obtained or was refused: API key / API secret key. */
  | 'app-credentials'
  /** The machine's clock is too far off for OAuth 1.0a. */
  | 'clock'
  /** 214 on a webhook call: CRC failed or too slow, not https, port given, too many webhooks. */
  | 'webhook-rejected'
  /** 200 (or an unknown label) on an environment-scoped call. */
  | 'unknown-environment'
  /** 355: not an error for us, callers treat it as success. */
  | 'already-subscribed'
  /** 348, 220, 261: the app or token may not do this for this account. */
  | 'not-permitted'
  /** 93: the app lacks "Read, Write and Direct Messages". */
  | 'dm-permission'
  /** 349 and friends: this recipient cannot receive our DMs. */
  | 'recipient-refused'
  | 'rate-limited'
  /** 34 / 404: the thing (webhook, subscription) does not exist. */
  | 'not-found'
  | 'network'
  | 'timeout'
  /** 5xx: Twitter is having trouble. */
  | 'unavailable'
  /** An answer we could not understand. */
  | 'bad-response'
  // ---- X API v2 / Activity API (2026) ----
  /** CrcValidationFailed: X's CRC GET to the webhook URL got no correct answer within 10 s. */
  | 'crc-failed'
  /** UrlValidationFailed: the webhook URL breaks X's rules (https, no port, ≤ 200 characters). */
  | 'url-invalid'
  /** DuplicateUrlFailed: the app already registered this URL. */
  | 'duplicate-url'
  /** WebhookLimitExceeded: the app already holds its one webhook (pay-per-use). */
  | 'webhook-limit'
  /** WebhookIdInvalid: no webhook with that id for this app. */
  | 'webhook-id-invalid'
  /** DuplicateSubscriptionFailed: callers treat it as success. */
  | 'duplicate-subscription'
  | 'subscription-limit'
  | 'subscription-not-found'
  /** 402: the pay-per-use credit balance is used up or negative. */
  | 'credits-depleted'
  /** client-not-enrolled: the app is not in the pay-per-use package / Production environment. */
  | 'client-not-enrolled'
  /** 403: the OAuth 2.0 user token lacks a scope the endpoint needs. */
  | 'missing-scope'
  /** 403: the endpoint does not take this kind of credential (app-only vs user context). */
  | 'unsupported-auth'
  /** The OAuth 2.0 refresh token was refused (or the user revoked the app): authorize again. */
  | 'authorization-lost'
  /** Any other refusal of X's OAuth 2.0 token endpoint ({error, error_description}). */
  | 'oauth'
  | 'other';

/** What was being attempted, so the message can name the call and the fix. */
export interface TwitterCall {
  method: string;
  /** Full request URL (no credentials are ever in it). */
  url: string;
  /** user: OAuth 1.0a with the access token; app: bearer token; token: POST /oauth2/token (Basic);
   *  user2: an OAuth 2.0 user access token; oauth2: X's OAuth 2.0 token endpoint (/2/oauth2/token). */
  auth: 'user' | 'app' | 'token' | 'user2' | 'oauth2';
  /** Human wording of the attempt: "register the webhook", "send a direct message". */
  what: string;
  /** The dev environment label, for environment-scoped calls. */
  env?: string;
  /** The webhook URL involved (registration, CRC), to print what Twitter tried. */
  webhookUrl?: string;
  /** How the user edits the credentials, e.g. "omni interaction edit 3". */
  editCommand?: string;
  /** How the user grants the OAuth 2.0 authorization again, e.g. "omni interaction authorize 3". */
  authorizeCommand?: string;
}

export interface TwitterApiErrorEntry {
  code: number;
  message: string;
}

export class TwitterError extends OmniError {
  readonly kind: TwitterErrorKind;
  readonly httpStatus: number | undefined;
  readonly twitterCode: number | undefined;
  /** Twitter's own message, verbatim. */
  readonly twitterMessage: string | undefined;
  readonly url: string;
  /** When a rate limit lifts (from x-rate-limit-reset). */
  readonly resetAt: Date | undefined;
  constructor(
    kind: TwitterErrorKind,
    message: string,
    opts: { hint?: string; httpStatus?: number; twitterCode?: number; twitterMessage?: string; url: string; resetAt?: Date; cause?: unknown },
  ) {
    super(message, { ...(opts.hint ? { hint: opts.hint } : {}), ...(opts.cause !== undefined ? { cause: opts.cause } : {}) });
    this.name = 'TwitterError';
    this.kind = kind;
    this.httpStatus = opts.httpStatus;
    this.twitterCode = opts.twitterCode;
    this.twitterMessage = opts.twitterMessage;
    this.url = opts.url;
    this.resetAt = opts.resetAt;
  }
}

/** The v1.1 error entries of a body, or [] when it has none (v2 problem bodies, text, empty). */
export function parseTwitterErrors(body: unknown): TwitterApiErrorEntry[] {
  let data = body;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return [];
    }
  }
  const errors = (data as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is { code: unknown; message: unknown } => typeof e === 'object' && e !== null && 'code' in e)
    .map((e) => ({ code: Number(e.code), message: typeof e.message === 'string' ? e.message : '' }));
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** "14:05:10 UTC (in 12 min)". */
function formatReset(at: Date, now: Date): string {
  const secs = Math.max(0, Math.round((at.getTime() - now.getTime()) / 1000));
  const rel = secs < 90 ? `${secs} s` : `${Math.round(secs / 60)} min`;
  return `${at.toISOString().slice(11, 19)} UTC (in ${rel})`;
}

function endpoint(call: TwitterCall): string {
  try {
    const u = new URL(call.url);
    return `${call.method} ${u.pathname}`;
  } catch {
    return `${call.method} ${call.url}`;
  }
}

const PORTAL = 'developer.twitter.com › Projects & Apps › your app';

/** Maps an HTTP error answer of Twitter to a TwitterError with one line and the fix. */
export function twitterErrorFromResponse(
  call: TwitterCall,
  status: number,
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
  now: Date = new Date(),
): TwitterError {
  const entries = parseTwitterErrors(body);
  const first = entries[0];
  const code = first?.code;
  const tmsg = first?.message || (typeof body === 'string' && body.trim() !== '' ? body.trim().slice(0, 200) : undefined);
  const said = tmsg ? `: ${tmsg}` : '';
  const ref = `(HTTP ${status}${code !== undefined ? `, Twitter code ${code}` : ''})`;
  const base = { httpStatus: status, url: call.url, ...(code !== undefined ? { twitterCode: code } : {}), ...(tmsg ? { twitterMessage: tmsg } : {}) };
  const edit = call.editCommand ?? 'omni interaction edit <interaction>';
  const has = (c: number) => entries.some((e) => e.code === c);

  if (has(355)) {
    return new TwitterError('already-subscribed', `the account is already subscribed ${ref}`, base);
  }
  if (has(88) || status === 429) {
    const reset = Number(header(headers, 'x-rate-limit-reset'));
    const resetAt = Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000) : undefined;
    return new TwitterError(
      'rate-limited',
      `Twitter's rate limit for ${endpoint(call)} is used up${resetAt ? ` until ${formatReset(resetAt, now)}` : ''} ${ref}`,
      { ...base, ...(resetAt ? { resetAt } : {}), hint: resetAt ? `wait until ${resetAt.toISOString()} and run it again` : 'wait 15 minutes (Twitter\'s rate-limit window) and run it again' },
    );
  }
  if (call.auth === 'token' || has(99)) {
    // POST /oauth2/token only looks at the API key and API secret key.
    if (status === 401 || status === 403 || has(99)) {
      return new TwitterError('app-credentials', `Twitter refused the API key and API secret key when asking for an app-only bearer token ${ref}${said}`, {
        ...base,
        hint: `re-check the API key and the API secret key (${PORTAL} › Keys and tokens), then: ${edit}`,
      });
    }
  }
  if (has(135)) {
    return new TwitterError('clock', `Twitter refused the request: this machine's clock is off ${ref}${said}`, {
      ...base,
      hint: 'OAuth 1.0a signatures carry a timestamp; synchronise the clock (NTP) and run it again',
    });
  }
  if (has(32)) {
    return new TwitterError('credentials', `Twitter could not authenticate the request: the OAuth signature does not match ${ref}${said}`, {
      ...base,
      hint: `re-check the API secret key and the access token secret (and that the API key is the app's), then: ${edit}`,
    });
  }
  if (has(89)) {
    return new TwitterError('credentials', `Twitter says the access token is invalid or expired ${ref}${said}`, {
      ...base,
      hint: `re-check the access token and its secret, or regenerate them (${PORTAL} › Keys and tokens), then: ${edit}`,
    });
  }
  if (has(215)) {
    return new TwitterError('credentials', `Twitter found no usable credentials in the request ${ref}${said}`, {
      ...base,
      hint: `re-check all four credentials (API key, API secret key, access token, access token secret): ${edit}`,
    });
  }
  if (has(93)) {
    return new TwitterError('dm-permission', `the app may not use Direct Messages: it lacks the "Read, Write and Direct Messages" permission ${ref}${said}`, {
      ...base,
      hint: `${PORTAL} › User authentication settings: choose "Read, Write and Direct Messages", then regenerate the access token and secret (old tokens keep the old permission) and: ${edit}`,
    });
  }
  if (has(348)) {
    return new TwitterError('not-permitted', `Twitter does not let this app manage the account's webhook subscriptions ${ref}${said}`, {
      ...base,
      hint: `the access token must belong to the support account and be generated after the app got "Read, Write and Direct Messages"; regenerate it, then: ${edit}`,
    });
  }
  if (has(220) || has(261)) {
    return new TwitterError('not-permitted', `Twitter refused to ${call.what}: these credentials may not do it ${ref}${said}`, {
      ...base,
      hint: `check the app's permissions (${PORTAL} › User authentication settings) and regenerate the access token and secret: ${edit}`,
    });
  }
  if (has(349) || has(150) || has(151)) {
    return new TwitterError('recipient-refused', `Twitter will not deliver this direct message ${ref}${said}`, {
      ...base,
      hint: 'the person does not accept DMs from this account (they must follow it or open their DMs); omni cannot change that',
    });
  }
  if (has(214) && call.env !== undefined) {
    return webhookRejected(call, tmsg ?? 'no reason given', base, ref);
  }
  if (has(200) && call.env !== undefined) {
    return new TwitterError('unknown-environment', `no dev environment named '${call.env}' for this app ${ref}`, {
      ...base,
      hint: `create it (${PORTAL.replace(' › your app', '')} › Dev environments, Account Activity API) or set the interaction's development environment to an existing label: ${edit}`,
    });
  }
  if (has(34) || (status === 404 && entries.length === 0)) {
    return new TwitterError('not-found', `Twitter has no such resource for ${endpoint(call)} ${ref}${said}`, base);
  }
  if (status === 401) {
    return new TwitterError(call.auth === 'app' ? 'app-credentials' : 'credentials', `Twitter refused the credentials ${ref}${said}`, {
      ...base,
      hint:
        call.auth === 'app'
          ? `re-check the API key and API secret key, then: ${edit}`
          : `re-check the four credentials (API key, API secret key, access token, access token secret): ${edit}`,
    });
  }
  if (status >= 500) {
    return new TwitterError('unavailable', `Twitter failed to ${call.what} ${ref}${said}`, {
      ...base,
      hint: 'Twitter is having trouble; try again in a few minutes (status: https://api.twitterstat.us)',
    });
  }
  return new TwitterError('other', `Twitter refused to ${call.what} ${ref}${said}`, {
    ...base,
    hint: `the request was ${endpoint(call)}; run again with --debug for details`,
  });
}

function webhookRejected(call: TwitterCall, tmsg: string, base: ConstructorParameters<typeof TwitterError>[2], ref: string): TwitterError {
  const url = call.webhookUrl;
  const lower = tmsg.toLowerCase();
  let hint: string;
  let what: string;
  if (lower.includes('too many resources')) {
    what = `the dev environment '${call.env}' already holds a webhook (Twitter allows one per environment)`;
    hint = 'see it with: omni webhook status <interaction>; replace it with: omni webhook register <interaction> --replace';
  } else if (lower.includes('https')) {
    what = `Twitter only accepts https webhook URLs, not ${url ?? 'this one'}`;
    hint = "give the interaction an https callback URL served by a reverse proxy in front of 'omni listen' (see README, Connect to Twitter)";
  } else if (lower.includes('port')) {
    what = `Twitter does not accept a port in the webhook URL ${url ?? ''}`.trimEnd();
    hint = "serve 'omni listen' behind a reverse proxy on 443 and give the interaction a callback URL without a port";
  } else {
    // CRC: Twitter sent GET <url>?crc_token=… and did not get a correct answer within 3 seconds.
    what = `Twitter's CRC check of ${url ?? 'the webhook URL'} failed`;
    hint = url
      ? `Twitter sent GET ${url}?crc_token=… and needs {"response_token":…} within 3 s: 'omni listen' must be running and reachable there from the internet (try: curl '${url}?crc_token=test')`
      : "'omni listen' must be running and reachable from the internet at the webhook URL";
  }
  return new TwitterError('webhook-rejected', `${what} ${ref}: ${tmsg}`, { ...base, hint });
}

/** A request that got no HTTP answer: connection refused, DNS, TLS, timeout. Names the URL. */
export function twitterNetworkError(call: TwitterCall, cause: unknown, baseUrl: string, timeoutMs?: number): TwitterError {
  const err = cause as (Error & { code?: string }) | undefined;
  // Node reports a refused dual-stack connect as an AggregateError with an empty message.
  const message = err?.message || (err instanceof AggregateError ? err.errors.map((e: Error) => e.message).join('; ') : '');
  const reason = (err?.code && !message.includes(err.code) ? `${err.code} ${message}` : message || String(cause)).trim();
  const timedOut = /timeout/i.test(reason) || err?.code === 'ETIMEDOUT';
  // The query (signed parameters like skip_status) is noise here; the endpoint is what to check.
  const where = `${call.method} ${call.url.split('?')[0]}`;
  if (timedOut) {
    return new TwitterError('timeout', `no answer from Twitter within ${timeoutMs ? `${Math.round(timeoutMs / 100) / 10} s` : 'the time limit'}: ${where}`, {
      url: call.url,
      cause,
      hint: `check the network and proxy settings; the API base URL is ${baseUrl} (OMNI_TWITTER_API_URL)`,
    });
  }
  return new TwitterError('network', `cannot reach Twitter: ${where}: ${reason}`, {
    url: call.url,
    cause,
    hint: `check the network, DNS and proxy; the API base URL is ${baseUrl} (OMNI_TWITTER_API_URL)`,
  });
}

/** An answer we cannot use (not JSON where JSON was due, missing fields). */
export function twitterBadResponse(call: TwitterCall, detail: string, cause?: unknown): TwitterError {
  return new TwitterError('bad-response', `unexpected answer from Twitter to ${call.method} ${call.url}: ${detail}`, {
    url: call.url,
    ...(cause !== undefined ? { cause } : {}),
    hint: 'if OMNI_TWITTER_API_URL points at a proxy or mock, check it; otherwise run again with --debug and report it',
  });
}

// ---- X API v2 and the Activity API (2026) ----
// v2 answers errors in three shapes, sometimes mixed: {"errors":[{"message","title","detail",...}]},
// RFC 7807 problem JSON {"title","detail","type":"https://api.x.com/2/problems/<kind>"}, and plain
// {"code","message"}. The reason names X documents (WebhookLimitExceeded, ...) have been seen in
// errors[].message behind a generic detail, so every text of the body is searched for them.

/** The reason names of X's webhook and subscription failures, in the order they are checked. */
export const X_REASONS = [
  'CrcValidationFailed',
  'UrlValidationFailed',
  'DuplicateUrlFailed',
  'WebhookLimitExceeded',
  'WebhookIdInvalid',
  'DuplicateSubscriptionFailed',
  'SubscriptionLimitExceeded',
  'SubscriptionNotFound',
] as const;
export type XReason = (typeof X_REASONS)[number];

export interface XErrorBody {
  /** Every human text of the body: errors[].message/title/detail, detail, title, message. */
  texts: string[];
  /** The problem types (type URLs) found. */
  types: string[];
  /** The first reason name found in any text or type, if any. */
  reason: XReason | undefined;
  /** The most specific text to quote: the reason's own message, else detail, else title. */
  quote: string | undefined;
}

function asObject(body: unknown): Record<string, unknown> | undefined {
  let data = body;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
}

/** Reads any of X's v2 error shapes. */
export function parseXErrorBody(body: unknown): XErrorBody {
  const obj = asObject(body);
  const texts: string[] = [];
  const types: string[] = [];
  const take = (o: Record<string, unknown> | undefined) => {
    if (!o) return;
    for (const k of ['message', 'detail', 'title', 'reason'] as const) {
      const v = o[k];
      if (typeof v === 'string' && v.trim() !== '') texts.push(v.trim());
    }
    if (typeof o.type === 'string') types.push(o.type);
  };
  if (obj) {
    if (Array.isArray(obj.errors)) for (const e of obj.errors) take(typeof e === 'object' && e !== null ? (e as Record<string, unknown>) : undefined);
    take(obj);
  } else if (typeof body === 'string' && body.trim() !== '') {
    texts.push(body.trim().slice(0, 200));
  }
  const all = [...texts, ...types];
  const reason = X_REASONS.find((r) => all.some((t) => t.includes(r)));
  const quote = (reason ? texts.find((t) => t.includes(reason)) : undefined) ?? texts.find((t) => !/^One or more parameters/i.test(t)) ?? texts[0];
  return { texts, types, reason, quote };
}

const X_CONSOLE = 'console.x.com › your app';
const OAUTH2_SCOPES = 'dm.read dm.write tweet.read users.read offline.access';

function resetFrom(headers: Record<string, string | string[] | undefined>): Date | undefined {
  const reset = Number(header(headers, 'x-rate-limit-reset'));
  return Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000) : undefined;
}

/** Maps an HTTP error answer of an X v2 endpoint to a TwitterError with one line and the fix. */
export function xErrorFromResponse(
  call: TwitterCall,
  status: number,
  body: unknown,
  headers: Record<string, string | string[] | undefined> = {},
  now: Date = new Date(),
): TwitterError {
  const parsed = parseXErrorBody(body);
  const { reason, quote } = parsed;
  const said = quote ? `: ${quote}` : '';
  const ref = `(HTTP ${status}${reason ? `, ${reason}` : ''})`;
  const base = { httpStatus: status, url: call.url, ...(quote ? { twitterMessage: quote } : {}) };
  const edit = call.editCommand ?? 'omni interaction edit <interaction>';
  const authorize = call.authorizeCommand ?? 'omni interaction authorize <interaction>';
  const text = [...parsed.texts, ...parsed.types].join(' \n ');
  const url = call.webhookUrl;

  if (status === 429) {
    const resetAt = resetFrom(headers);
    return new TwitterError('rate-limited', `X's rate limit for ${endpoint(call)} is used up${resetAt ? ` until ${formatReset(resetAt, now)}` : ''} ${ref}`, {
      ...base,
      ...(resetAt ? { resetAt } : {}),
      hint: resetAt ? `wait until ${resetAt.toISOString()} and run it again` : "wait 15 minutes (X's rate-limit window) and run it again",
    });
  }
  if (/client-not-enrolled/i.test(text)) {
    return new TwitterError('client-not-enrolled', `X refused to ${call.what}: the app is not enrolled for this API ${ref}${said}`, {
      ...base,
      hint: `move the app into a Project on the pay-per-use package and its Production environment (${X_CONSOLE}), then run it again`,
    });
  }
  if (status === 402 || /credits?[ -]?depleted|CreditsDepleted|insufficient credits|negative balance/i.test(text)) {
    return new TwitterError('credits-depleted', `X refused to ${call.what}: the app's pay-per-use credits are used up ${ref}${said}`, {
      ...base,
      hint: `add credits (${X_CONSOLE.replace(' › your app', '')} › Billing); X blocks every request while the balance is zero or negative`,
    });
  }
  switch (reason) {
    case 'CrcValidationFailed':
      return new TwitterError('crc-failed', `X's CRC check of ${url ?? 'the webhook URL'} failed ${ref}${said}`, {
        ...base,
        hint: url
          ? `X sent GET ${url}?crc_token=… and needs {"response_token":"sha256=…"} within 10 s: 'omni listen' must be running and reachable there from the internet (try: curl '${url}?crc_token=test')`
          : "'omni listen' must be running and reachable from the internet at the webhook URL",
      });
    case 'UrlValidationFailed':
      return new TwitterError('url-invalid', `X does not accept the webhook URL ${url ?? ''} ${ref}${said}`.replace('  ', ' '), {
        ...base,
        hint: "X needs an https URL without a port, at most 200 characters: serve 'omni listen' behind a reverse proxy on 443 and set that URL as the callback URL",
      });
    case 'DuplicateUrlFailed':
    case 'WebhookLimitExceeded':
      return new TwitterError(
        reason === 'DuplicateUrlFailed' ? 'duplicate-url' : 'webhook-limit',
        reason === 'DuplicateUrlFailed'
          ? `the app already registered the webhook URL ${url ?? ''} ${ref}${said}`.replace('  ', ' ')
          : `the app already holds its one webhook (X allows one per app on pay-per-use) ${ref}${said}`,
        { ...base, hint: 'list it (GET /2/webhooks: omni webhook status <interaction>) and reuse it, or delete it before registering another URL' },
      );
    case 'WebhookIdInvalid':
      return new TwitterError('webhook-id-invalid', `X knows no webhook with that id for this app ${ref}${said}`, {
        ...base,
        hint: 'the webhook was deleted or belongs to another app; register it again: omni webhook register <interaction>',
      });
    case 'DuplicateSubscriptionFailed':
      return new TwitterError('duplicate-subscription', `the subscription already exists ${ref}`, base);
    case 'SubscriptionLimitExceeded':
      return new TwitterError('subscription-limit', `the app holds as many subscriptions as its package allows ${ref}${said}`, {
        ...base,
        hint: 'delete subscriptions of accounts omni no longer serves (pay-per-use: 3 Account Activity subscriptions per app, 1,500 Activity API subscriptions), or upgrade the package',
      });
    case 'SubscriptionNotFound':
      return new TwitterError('subscription-not-found', `X has no such subscription ${ref}${said}`, base);
    default:
      break;
  }
  if (status === 403 || status === 401) {
    const scopes = [...new Set(text.match(/\b(?:dm|tweet|users|offline|media|follows|like|list|block|mute|space|bookmark)\.[a-z]+\b/g) ?? [])];
    if (/scope/i.test(text)) {
      return new TwitterError('missing-scope', `the OAuth 2.0 authorization lacks ${scopes.length ? `the scope${scopes.length > 1 ? 's' : ''} ${scopes.join(', ')}` : 'a scope this call needs'} ${ref}${said}`, {
        ...base,
        hint: `authorize again to grant ${OAUTH2_SCOPES}: ${authorize}`,
      });
    }
    if (/unsupported-authentication|Unsupported Authentication|authentication types/i.test(text)) {
      return new TwitterError('unsupported-auth', `X does not take this kind of credential to ${call.what} ${ref}${said}`, {
        ...base,
        hint: call.auth === 'app' ? `this call needs the account's authorization: ${authorize}` : 'this call needs the app-only bearer token; report it, omni chose the wrong one',
      });
    }
  }
  if (status === 401) {
    if (call.auth === 'user2') {
      return new TwitterError('credentials', `X refused the OAuth 2.0 access token ${ref}${said}`, { ...base, hint: `authorize the account again: ${authorize}` });
    }
    return new TwitterError(call.auth === 'app' || call.auth === 'token' ? 'app-credentials' : 'credentials', `X refused the credentials ${ref}${said}`, {
      ...base,
      hint: call.auth === 'user' ? `re-check the four OAuth 1.0a credentials: ${edit}` : `re-check the API key and API secret key (${X_CONSOLE} › Keys and tokens), then: ${edit}`,
    });
  }
  if (status === 403) {
    return new TwitterError('not-permitted', `X refused to ${call.what}: these credentials may not do it ${ref}${said}`, {
      ...base,
      hint: `check the app's permissions (${X_CONSOLE} › User authentication settings: Read, write and Direct Messages), then authorize again: ${authorize}`,
    });
  }
  if (status === 404) return new TwitterError('not-found', `X has no such resource for ${endpoint(call)} ${ref}${said}`, base);
  if (status >= 500) {
    return new TwitterError('unavailable', `X failed to ${call.what} ${ref}${said}`, { ...base, hint: 'X is having trouble; try again in a few minutes (status: https://docs.x.com/status)' });
  }
  return new TwitterError('other', `X refused to ${call.what} ${ref}${said}`, { ...base, hint: `the request was ${endpoint(call)}; run again with --debug for details` });
}

/**
 * A refusal of X's OAuth 2.0 token endpoint ({"error","error_description"}). A refused refresh token
 * means the authorization is gone (rotated away, revoked, expired): only a new authorization helps.
 */
export function oauthTokenError(call: TwitterCall, grant: 'authorization_code' | 'refresh_token', status: number, body: unknown): TwitterError {
  const obj = asObject(body) ?? {};
  const code = typeof obj.error === 'string' ? obj.error : undefined;
  const description = typeof obj.error_description === 'string' ? obj.error_description : parseXErrorBody(body).quote;
  const said = description ? `: ${description}` : '';
  const ref = `(HTTP ${status}${code ? `, ${code}` : ''})`;
  const base = { httpStatus: status, url: call.url, ...(description ? { twitterMessage: description } : {}) };
  const authorize = call.authorizeCommand ?? 'omni interaction authorize <interaction>';
  const edit = call.editCommand ?? 'omni interaction edit <interaction>';
  if (status >= 500) return new TwitterError('unavailable', `X's token endpoint failed ${ref}${said}`, { ...base, hint: 'X is having trouble; try again in a few minutes' });
  if (status === 429) return xErrorFromResponse(call, status, body);
  if (code === 'unauthorized_client' || code === 'invalid_client') {
    return new TwitterError('app-credentials', `X refused the OAuth 2.0 client credentials ${ref}${said}`, {
      ...base,
      hint: `check the OAuth 2.0 Client ID and Client Secret (${X_CONSOLE} › Keys and tokens; a public client has no secret), then: ${edit}`,
    });
  }
  if (grant === 'refresh_token') {
    return new TwitterError('authorization-lost', `X refused the refresh token: the authorization is lost ${ref}${said}`, {
      ...base,
      hint: `authorize the account again: ${authorize}`,
    });
  }
  return new TwitterError('oauth', `X refused the authorization code ${ref}${said}`, {
    ...base,
    hint: `a code is single-use and must be exchanged within 30 s with the same redirect URI and PKCE verifier; run it again: ${authorize}`,
  });
}
