// Shared pieces of the fake X of 2026 (API v2, Activity API, OAuth 2.0), mounted by
// tests/support/fake-twitter.ts so one server on 127.0.0.1 answers v1.1 and 2026 endpoints.
import crypto from 'node:crypto';
import type http from 'node:http';

/** What the v1.1 fake lends the 2026 parts: its apps, users, bearer tokens, OAuth 1.0a check and outbound HTTP. */
export interface XHost {
  apps: Map<string, { consumerKey: string; consumerSecret: string; appId: string; name: string; dmPermission: boolean }>;
  /** The v1.1 users (also the accounts that can approve OAuth 2.0 authorizations). */
  users(): Array<{ userId: string; screenName: string; name?: string; consumerKey?: string; accessToken: string }>;
  /** consumer key of an app-only bearer token from POST /oauth2/token, if it is one. */
  bearerApp(token: string): string | undefined;
  /** Verifies an OAuth 1.0a Authorization header; throws when it does not verify. */
  oauth1(req: http.IncomingMessage, path: string, rawQuery: string, body: string): { consumerKey: string; userId?: string };
  outbound(method: 'GET' | 'POST', target: string, body: string | undefined, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string; ms: number }>;
  track<T>(p: Promise<T>): Promise<T>;
  sleep(ms: number): Promise<void>;
  closing(): boolean;
  strictUrls: boolean;
  crcTimeoutMs: number;
  retryDelaysMs: number[];
  deliveryTimeoutMs: number;
  closedDms: Set<string>;
}

export interface XReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface XCtx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  rawQuery: string;
  body: string;
  /** Set by the auth step, recorded with the request. */
  auth?: XAuth;
}

export type XAuth =
  | { type: 'bearer'; consumerKey: string }
  | { type: 'oauth2'; consumerKey: string; clientId: string; userId: string; scopes: string[]; token: string }
  | { type: 'oauth1'; consumerKey: string; userId?: string };

export type XRoute = [method: string, re: RegExp, fn: (c: XCtx, m: RegExpExecArray) => XReply | Promise<XReply> | 'streaming' | Promise<'streaming'>];

/** An answer in one of X's error shapes. */
export class XHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(JSON.stringify(body));
  }
}

const PROBLEMS = 'https://api.twitter.com/2/problems';

/** RFC 7807 problem JSON as X sends it. */
export function problem(status: number, title: string, detail: string, kind?: string, extra: Record<string, unknown> = {}): XHttpError {
  return new XHttpError(status, { title, detail, type: kind ? `${PROBLEMS}/${kind}` : 'about:blank', status, ...extra }, { 'content-type': 'application/problem+json' });
}

/** X's webhook/subscription failures: a generic detail with the reason inside errors[0].message. */
export function invalidRequest(reason: string, message: string, status = 400): XHttpError {
  return new XHttpError(status, {
    errors: [{ message: `${reason}: ${message}` }],
    title: 'Invalid Request',
    detail: 'One or more parameters to your request was invalid.',
    type: `${PROBLEMS}/invalid-request`,
  });
}

export const unauthorized = () => problem(401, 'Unauthorized', 'Unauthorized');

export function unsupportedAuth(given: string, supported: string[]): XHttpError {
  return problem(
    403,
    'Unsupported Authentication',
    `Authenticating with ${given} is forbidden for this endpoint.  Supported authentication types are [${supported.join(', ')}].`,
    'unsupported-authentication',
  );
}

/** X's snowflake layout (ms since 2010-11-04 << 22 | sequence): time-ordered, above 2^53, like DM event ids. */
let lastMs = 0n;
let seq = 0n;
export function timeSnowflake(): string {
  const ms = BigInt(Date.now()) - 1288834974657n;
  if (ms === lastMs) seq++;
  else {
    lastMs = ms;
    seq = 0n;
  }
  return ((ms << 22n) | (1n << 12n) | (seq & 0xfffn)).toString();
}

/** Snowflake-like string ids above 2^53. */
export function snowflake(): string {
  return ((1n << 60n) | BigInt.asUintN(59, BigInt('0x' + crypto.randomBytes(8).toString('hex')))).toString();
}

export function json(body: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw problem(400, 'Invalid Request', 'The request body is not a JSON object.', 'invalid-request');
}

/** Fixed-window rate limit per key with X's headers. */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; used: number }>();
  constructor(
    public limit: number,
    public windowMs: number,
  ) {}
  /** Counts one request; throws 429 when over; returns the headers to send. */
  take(key: string, now = Date.now()): Record<string, string> {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, used: 0 };
      this.windows.set(key, w);
    }
    const reset = String(Math.ceil((w.start + this.windowMs) / 1000));
    if (w.used >= this.limit) {
      const headers = { 'x-rate-limit-limit': String(this.limit), 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': reset };
      const err = problem(429, 'Too Many Requests', 'Too Many Requests');
      throw new XHttpError(429, err.body, { ...err.headers, ...headers });
    }
    w.used++;
    return { 'x-rate-limit-limit': String(this.limit), 'x-rate-limit-remaining': String(this.limit - w.used), 'x-rate-limit-reset': reset };
  }
}
