// OAuth 2.0 Authorization Code with PKCE against X: the S256 pair and `state`, the authorize URL,
// the code exchange and the refresh at {api base}/2/oauth2/token, GET /2/users/me, and the loopback
// receiver on http://127.0.0.1:<port>/callback that the browser is redirected to.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OmniError } from '../errors.js';
import { oauthTokenError, twitterBadResponse, xErrorFromResponse, type TwitterCall } from './errors.js';
import { dataOf, str, xFetch } from './http.js';

export const DEFAULT_AUTHORIZE_URL = 'https://x.com/i/oauth2/authorize';
/** What a helpdesk needs: read and write DMs, read the account, refresh without the user. */
export const OAUTH2_SCOPES = ['dm.read', 'dm.write', 'tweet.read', 'users.read', 'offline.access'] as const;
export const DEFAULT_REDIRECT_PORT = 8765;

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A code verifier of 43 characters (32 random bytes, base64url) and its S256 challenge (RFC 7636). */
export function createPkce(): Pkce {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** An unguessable `state` bound to this attempt. */
export function createState(): string {
  return crypto.randomBytes(24).toString('base64url');
}

export function redirectUriFor(port: number): string {
  return `http://127.0.0.1:${port}/callback`;
}

/** The authorize page base from OMNI_TWITTER_AUTHORIZE_URL, default https://x.com/i/oauth2/authorize. */
export function authorizeBaseUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.OMNI_TWITTER_AUTHORIZE_URL?.trim() || DEFAULT_AUTHORIZE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OmniError(`OMNI_TWITTER_AUTHORIZE_URL is not a URL: '${raw}'`, { exitCode: 2, hint: `unset it to use ${DEFAULT_AUTHORIZE_URL}` });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    throw new OmniError(`OMNI_TWITTER_AUTHORIZE_URL must be a plain http(s) URL, not '${raw}'`, { exitCode: 2, hint: `unset it to use ${DEFAULT_AUTHORIZE_URL}` });
  }
  return url.toString();
}

export function authorizeUrl(p: { base: string; clientId: string; redirectUri: string; state: string; challenge: string; scopes?: readonly string[] }): string {
  const u = new URL(p.base);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', p.clientId);
  u.searchParams.set('redirect_uri', p.redirectUri);
  u.searchParams.set('scope', (p.scopes ?? OAUTH2_SCOPES).join(' '));
  u.searchParams.set('state', p.state);
  u.searchParams.set('code_challenge', p.challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  return u.toString();
}

export interface OAuth2Client {
  /** API base, e.g. https://api.x.com (OMNI_TWITTER_API_URL). */
  apiBaseUrl: string;
  clientId: string;
  /** Set for a confidential client: the token endpoint then gets Basic auth. */
  clientSecret?: string | null;
  timeoutMs: number;
  /** Quoted in fixes, e.g. "omni interaction authorize 3". */
  authorizeCommand?: string;
  editCommand?: string;
  signal?: AbortSignal;
}

export interface TokenSet {
  accessToken: string;
  /** Absent when offline.access was not granted. */
  refreshToken: string | null;
  /** ISO-8601 UTC. */
  expiresAt: string;
  scopes: string;
}

function tokenCall(c: OAuth2Client, what: string): TwitterCall {
  return {
    method: 'POST',
    url: `${c.apiBaseUrl}/2/oauth2/token`,
    auth: 'oauth2',
    what,
    ...(c.authorizeCommand ? { authorizeCommand: c.authorizeCommand } : {}),
    ...(c.editCommand ? { editCommand: c.editCommand } : {}),
  };
}

async function tokenRequest(c: OAuth2Client, grant: 'authorization_code' | 'refresh_token', form: Record<string, string>, now: () => Date): Promise<TokenSet> {
  const call = tokenCall(c, grant === 'refresh_token' ? 'refresh the OAuth 2.0 access token' : 'exchange the authorization code');
  const headers: Record<string, string> = {};
  const body: Record<string, string> = { grant_type: grant, ...form };
  if (c.clientSecret) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;
  } else {
    body.client_id = c.clientId;
  }
  const res = await xFetch(call, { method: 'POST', url: call.url, headers, form: body }, { timeoutMs: c.timeoutMs, baseUrl: c.apiBaseUrl, ...(c.signal ? { signal: c.signal } : {}) });
  if (res.status !== 200) throw oauthTokenError(call, grant, res.status, res.body);
  const t = (res.body ?? {}) as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown; token_type?: unknown };
  if (typeof t.access_token !== 'string' || t.access_token === '') throw twitterBadResponse(call, 'no access_token');
  if (String(t.token_type).toLowerCase() !== 'bearer') throw twitterBadResponse(call, `token_type is '${String(t.token_type)}', not bearer`);
  const expiresIn = Number(t.expires_in);
  const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 7200;
  return {
    accessToken: t.access_token,
    refreshToken: typeof t.refresh_token === 'string' && t.refresh_token !== '' ? t.refresh_token : null,
    expiresAt: new Date(now().getTime() + lifetime * 1000).toISOString(),
    scopes: typeof t.scope === 'string' ? t.scope : '',
  };
}

/** POST /2/oauth2/token grant_type=authorization_code. X gives a code 30 s: call this at once. */
export function exchangeCode(c: OAuth2Client, p: { code: string; redirectUri: string; verifier: string }, now: () => Date = () => new Date()): Promise<TokenSet> {
  return tokenRequest(c, 'authorization_code', { code: p.code, redirect_uri: p.redirectUri, code_verifier: p.verifier }, now);
}

/** POST /2/oauth2/token grant_type=refresh_token. X invalidates `refreshToken` once it answers. */
export function refreshTokens(c: OAuth2Client, refreshToken: string, now: () => Date = () => new Date()): Promise<TokenSet> {
  return tokenRequest(c, 'refresh_token', { refresh_token: refreshToken }, now);
}

export interface XAccount {
  userId: string;
  username: string;
  name: string | null;
}

/** GET /2/users/me with a user access token. */
export async function fetchMe(c: Pick<OAuth2Client, 'apiBaseUrl' | 'timeoutMs' | 'signal' | 'authorizeCommand'>, accessToken: string): Promise<XAccount> {
  const call: TwitterCall = { method: 'GET', url: `${c.apiBaseUrl}/2/users/me`, auth: 'user2', what: 'read the authorized account', ...(c.authorizeCommand ? { authorizeCommand: c.authorizeCommand } : {}) };
  const res = await xFetch(call, { method: 'GET', url: call.url, headers: { authorization: `Bearer ${accessToken}` } }, { timeoutMs: c.timeoutMs, baseUrl: c.apiBaseUrl, ...(c.signal ? { signal: c.signal } : {}) });
  if (res.status !== 200) throw xErrorFromResponse(call, res.status, res.body, res.headers);
  const d = dataOf(call, res);
  const userId = str(d.id);
  const username = str(d.username);
  if (!userId || !username) throw twitterBadResponse(call, 'no data.id/data.username');
  return { userId, username, name: typeof d.name === 'string' ? d.name : null };
}

// ---- the loopback redirect receiver ----

export interface RedirectReceiver {
  /** http://127.0.0.1:<port>/callback, the redirect URI registered with the app. */
  redirectUri: string;
  port: number;
  /** Resolves with the code once the browser arrives with the right `state`. */
  code: Promise<string>;
  close(): Promise<void>;
}

const PAGE = (title: string, line: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${line}</p></body>`;

export class AuthorizationError extends OmniError {
  constructor(message: string, hint: string) {
    super(message, { hint });
    this.name = 'AuthorizationError';
  }
}

/**
 * Listens on 127.0.0.1:<port> for X's redirect to /callback. A wrong or missing `state` is answered
 * 400 and ignored (it is not our attempt: another tab, a stale page), so only the right browser
 * visit settles `code`; `error=access_denied` rejects it. Times out, and stops on `signal`.
 */
export async function startRedirectReceiver(opts: { port: number; state: string; timeoutMs: number; signal?: AbortSignal; retryCommand?: string }): Promise<RedirectReceiver> {
  const retry = opts.retryCommand ?? 'omni interaction authorize <interaction>';
  let settle!: { resolve: (code: string) => void; reject: (err: Error) => void };
  const code = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  code.catch(() => undefined);
  let done = false;
  const finish = (err: Error | undefined, value?: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (err) settle.reject(err);
    else settle.resolve(value!);
  };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, title: string, line: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
      res.end(PAGE(title, line));
    };
    if (req.method !== 'GET' || u.pathname !== '/callback') return reply(404, 'Not found', 'This address only receives the authorization redirect at /callback.');
    if (u.searchParams.get('state') !== opts.state) return reply(400, 'Wrong state', 'This redirect does not belong to the authorization omni is waiting for. Use the newest link omni printed.');
    if (done) return reply(409, 'Already done', 'omni already received this authorization. You can close this tab.');
    const error = u.searchParams.get('error');
    if (error) {
      reply(400, 'Authorization refused', 'X did not authorize omni. You can close this tab.');
      return finish(new AuthorizationError(`X did not authorize the app: ${error}${u.searchParams.get('error_description') ? ` (${u.searchParams.get('error_description')})` : ''}`, `run it again and choose "Authorize app": ${retry}`));
    }
    const c = u.searchParams.get('code');
    if (!c) return reply(400, 'No code', 'The redirect carries no authorization code.');
    reply(200, 'omni is authorized', 'You can close this tab and return to the terminal.');
    finish(undefined, c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new OmniError(`port ${opts.port} on 127.0.0.1 is in use, so the authorization redirect cannot be received`, { hint: `choose another with --redirect-port (and register http://127.0.0.1:<port>/callback with the app)`, exitCode: 1 })
          : err,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const timer = setTimeout(
    () => finish(new AuthorizationError(`no authorization arrived within ${opts.timeoutMs < 1000 ? `${opts.timeoutMs} ms` : `${Math.round(opts.timeoutMs / 1000)} s`}`, `open the printed link in a browser logged in as the support account, then: ${retry}`)),
    opts.timeoutMs,
  );
  const onAbort = () => finish(new AuthorizationError('the authorization was cancelled', `run it again: ${retry}`));
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    redirectUri: redirectUriFor(port),
    port,
    code,
    async close() {
      finish(new AuthorizationError('the authorization receiver was closed', `run it again: ${retry}`));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
