// OAuth 2.0 of the fake X: the authorize page (a test user approves at once: 302 to the registered
// redirect URI with code and state), the token endpoint (PKCE S256/plain verified, codes single-use
// and valid 30 s, public clients by client_id, confidential ones by Basic, rotating refresh tokens,
// access tokens expiring after 2 h or on demand), token revocation, GET /2/users/me, and the
// credential check every 2026 endpoint runs (app bearer, OAuth 2.0 user token, OAuth 1.0a user).
import crypto from 'node:crypto';
import { problem, unauthorized, unsupportedAuth, XHttpError, type XAuth, type XCtx, type XHost, type XRoute } from './common.js';

export interface FakeOAuthClient {
  clientId: string;
  /** Confidential client: the token endpoint wants Basic client_id:client_secret. */
  clientSecret?: string;
  /** The app (consumer key) the client belongs to; default the first app. */
  consumerKey?: string;
  /** Registered callback URLs; X compares them exactly (≤ 10). */
  redirectUris: string[];
}

export interface OAuth2Options {
  clients?: FakeOAuthClient[];
  /** Access token lifetime (X: 7200 s). */
  accessTokenTtlSec?: number;
  /** Authorization code lifetime (X: 30 s). */
  codeTtlMs?: number;
}

interface Grant {
  clientId: string;
  consumerKey: string;
  userId: string;
  scopes: string[];
}
interface AccessToken extends Grant {
  expiresAt: number;
}
interface RefreshToken extends Grant {
  valid: boolean;
}

export const KNOWN_SCOPES = new Set(['tweet.read', 'tweet.write', 'users.read', 'follows.read', 'offline.access', 'dm.read', 'dm.write', 'media.write', 'like.read', 'list.read', 'bookmark.read']);

const tokenError = (status: number, error: string, description: string) => new XHttpError(status, { error, error_description: description });
const token = (prefix: string) => prefix + crypto.randomBytes(32).toString('base64url');

export function createOAuth2(host: XHost, opts: OAuth2Options) {
  const firstApp = [...host.apps.keys()][0]!;
  const clients = new Map((opts.clients ?? []).map((c) => [c.clientId, { ...c, consumerKey: c.consumerKey ?? firstApp }]));
  const ttlSec = opts.accessTokenTtlSec ?? 7200;
  const codeTtlMs = opts.codeTtlMs ?? 30_000;
  const codes = new Map<string, Grant & { redirectUri: string; challenge: string; method: string; issuedAt: number; used: boolean }>();
  const access = new Map<string, AccessToken>();
  const refresh = new Map<string, RefreshToken>();
  let approver: string | undefined;
  let denyNext = false;

  const approvingUser = () => {
    const users = host.users();
    const u = approver ? users.find((x) => x.userId === approver) : users[0];
    if (!u) throw new Error('fake X: no user to approve the authorization (give the fake a user)');
    return u;
  };

  function issue(g: Grant) {
    const a = token('oa2-access-');
    access.set(a, { ...g, expiresAt: Date.now() + ttlSec * 1000 });
    const body: Record<string, unknown> = { token_type: 'bearer', expires_in: ttlSec, access_token: a, scope: g.scopes.join(' ') };
    if (g.scopes.includes('offline.access')) {
      const r = token('oa2-refresh-');
      refresh.set(r, { ...g, valid: true });
      body.refresh_token = r;
    }
    return body;
  }

  /** The client of a token request: Basic for confidential clients, client_id in the form for public ones. */
  function tokenClient(c: XCtx, form: URLSearchParams) {
    const basic = /^Basic\s+(.+)$/i.exec(c.req.headers.authorization ?? '');
    if (basic) {
      const [rawId = '', rawSecret = ''] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      const id = decodeURIComponent(rawId);
      const client = clients.get(id);
      if (!client || client.clientSecret === undefined || client.clientSecret !== decodeURIComponent(rawSecret)) {
        throw tokenError(401, 'unauthorized_client', 'Missing valid authorization header');
      }
      return client;
    }
    const client = clients.get(form.get('client_id') ?? '');
    if (!client) throw tokenError(400, 'invalid_request', 'Missing required parameter [client_id].');
    if (client.clientSecret !== undefined) throw tokenError(401, 'unauthorized_client', 'Missing valid authorization header');
    return client;
  }

  function authorizePage(c: XCtx) {
    const q = c.query;
    const client = clients.get(q.get('client_id') ?? '');
    const redirectUri = q.get('redirect_uri') ?? '';
    // Like X: a bad client or redirect URI is an error page, never a redirect to an unregistered URL.
    if (!client) return { status: 400, body: { error: 'invalid_request', error_description: 'unknown client_id' } };
    if (!client.redirectUris.includes(redirectUri)) return { status: 400, body: { error: 'invalid_request', error_description: 'redirect_uri does not match a registered callback URL' } };
    const back = (params: Record<string, string>) => {
      const u = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
      return { status: 302, headers: { location: u.toString() } };
    };
    const state = q.get('state') ?? '';
    const scopes = (q.get('scope') ?? '').split(/[ +]/).filter(Boolean);
    const challenge = q.get('code_challenge') ?? '';
    const method = q.get('code_challenge_method') ?? 'plain';
    if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type', state });
    if (!state || !challenge || (method !== 'S256' && method !== 'plain')) return back({ error: 'invalid_request', state });
    if (scopes.length === 0 || scopes.some((s) => !KNOWN_SCOPES.has(s))) return back({ error: 'invalid_scope', state });
    if (denyNext) {
      denyNext = false;
      return back({ error: 'access_denied', state });
    }
    const code = token('code-');
    codes.set(code, { clientId: client.clientId, consumerKey: client.consumerKey, userId: approvingUser().userId, scopes, redirectUri, challenge, method, issuedAt: Date.now(), used: false });
    return back({ state, code });
  }

  const routes: XRoute[] = [
    ['GET', /^\/i\/oauth2\/authorize$/, authorizePage],
    ['GET', /^\/2\/oauth2\/authorize$/, authorizePage],
    [
      'POST',
      /^\/2\/oauth2\/token$/,
      (c) => {
        const form = new URLSearchParams(c.body);
        const client = tokenClient(c, form);
        const grant = form.get('grant_type');
        if (grant === 'authorization_code') {
          const code = codes.get(form.get('code') ?? '');
          const invalid = () => tokenError(400, 'invalid_request', 'Value passed for the authorization code was invalid.');
          if (!code || code.clientId !== client.clientId) throw invalid();
          const wasUsed = code.used;
          code.used = true;
          if (wasUsed || Date.now() - code.issuedAt > codeTtlMs) throw invalid();
          if (form.get('redirect_uri') !== code.redirectUri) throw tokenError(400, 'invalid_request', 'Value passed for the redirect uri did not match the uri of the authorization code.');
          const verifier = form.get('code_verifier') ?? '';
          const derived = code.method === 'S256' ? crypto.createHash('sha256').update(verifier).digest('base64url') : verifier;
          if (!verifier || derived !== code.challenge) throw tokenError(400, 'invalid_request', 'Value passed for the code verifier did not match the code challenge.');
          return { status: 200, body: issue(code) };
        }
        if (grant === 'refresh_token') {
          const r = refresh.get(form.get('refresh_token') ?? '');
          if (!r || !r.valid || r.clientId !== client.clientId) throw tokenError(400, 'invalid_request', 'Value passed for the token was invalid.');
          r.valid = false; // rotation: the old refresh token never works again
          return { status: 200, body: issue(r) };
        }
        throw tokenError(400, 'invalid_request', 'Missing required parameter [grant_type].');
      },
    ],
    [
      'POST',
      /^\/2\/oauth2\/revoke$/,
      (c) => {
        const form = new URLSearchParams(c.body);
        const client = tokenClient(c, form);
        const t = form.get('token') ?? '';
        const a = access.get(t);
        if (a && a.clientId === client.clientId) access.delete(t);
        const r = refresh.get(t);
        if (r && r.clientId === client.clientId) r.valid = false;
        return { status: 200, body: { revoked: true } };
      },
    ],
    [
      'GET',
      /^\/2\/users\/me$/,
      (c) => {
        const who = requireAuth(c, { user: ['users.read', 'tweet.read'] });
        const u = host.users().find((x) => x.userId === who.userId);
        return { status: 200, body: { data: { id: who.userId, name: u?.name ?? u?.screenName ?? `user ${who.userId}`, username: u?.screenName ?? `user${who.userId}` } } };
      },
    ],
  ];

  /** Who the request is, from its Authorization header; undefined when it has none. */
  function authenticate(c: XCtx): XAuth | undefined {
    const header = c.req.headers.authorization;
    if (!header) return undefined;
    const bearer = /^Bearer\s+(.+)$/i.exec(header);
    if (bearer) {
      const t = bearer[1]!.trim();
      const app = host.bearerApp(t);
      if (app) return { type: 'bearer', consumerKey: app };
      const a = access.get(t);
      if (!a || a.expiresAt <= Date.now()) throw unauthorized();
      return { type: 'oauth2', consumerKey: a.consumerKey, clientId: a.clientId, userId: a.userId, scopes: a.scopes, token: t };
    }
    if (/^OAuth\s/i.test(header)) {
      try {
        return { type: 'oauth1', ...host.oauth1(c.req, c.path, c.rawQuery, c.body) };
      } catch {
        throw unauthorized();
      }
    }
    throw unauthorized();
  }

  /**
   * The credential rule of an endpoint: `app` allows the app-only bearer, `user` allows an OAuth 2.0
   * user token holding these scopes, `oauth1` allows OAuth 1.0a user context.
   */
  function requireAuth(c: XCtx, rule: { app?: boolean; user?: string[]; oauth1?: boolean }): { consumerKey: string; userId?: string; kind: XAuth['type'] } & Partial<{ userId: string }> {
    c.auth ??= authenticate(c);
    const a = c.auth;
    if (!a) throw unauthorized();
    const supported = [...(rule.oauth1 ? ['OAuth 1.0a User Context'] : []), ...(rule.user ? ['OAuth 2.0 User Context'] : []), ...(rule.app ? ['OAuth 2.0 Application-Only'] : [])];
    if (a.type === 'bearer') {
      if (!rule.app) throw unsupportedAuth('OAuth 2.0 Application-Only', supported);
      return { consumerKey: a.consumerKey, kind: 'bearer' };
    }
    if (a.type === 'oauth2') {
      if (!rule.user) throw unsupportedAuth('OAuth 2.0 User Context', supported);
      const missing = rule.user.filter((s) => !a.scopes.includes(s));
      if (missing.length) throw problem(403, 'Forbidden', `Missing required OAuth 2.0 scope(s): ${missing.join(', ')}`, 'client-forbidden', { reason: 'missing-scope' });
      return { consumerKey: a.consumerKey, userId: a.userId, kind: 'oauth2' };
    }
    if (!rule.oauth1 || a.userId === undefined) throw unsupportedAuth(a.userId === undefined ? 'OAuth 1.0a' : 'OAuth 1.0a User Context', supported);
    return { consumerKey: a.consumerKey, userId: a.userId, kind: 'oauth1' };
  }

  return {
    routes,
    authenticate,
    requireAuth,
    /** Tests: the account that approves the next authorizations (default the first user). */
    setApprover(userId: string | undefined) {
      approver = userId;
    },
    /** Tests: the next visit to the authorize page is refused (error=access_denied). */
    denyNextAuthorization() {
      denyNext = true;
    },
    /** Tests: every access token (of one user) stops working now, as after 2 h. */
    expireAccessTokens(userId?: string) {
      for (const a of access.values()) if (userId === undefined || a.userId === userId) a.expiresAt = Date.now() - 1;
    },
    /** Tests: the user revokes the app: every token of theirs stops working. */
    revokeUser(userId: string) {
      for (const a of access.values()) if (a.userId === userId) a.expiresAt = 0;
      for (const r of refresh.values()) if (r.userId === userId) r.valid = false;
    },
    /** Tests: how many refresh tokens of a user X still accepts (rotation leaves exactly one). */
    liveRefreshTokens(userId: string): number {
      return [...refresh.values()].filter((r) => r.userId === userId && r.valid).length;
    },
    isRefreshTokenValid(t: string): boolean {
      return refresh.get(t)?.valid === true;
    },
    /** Tests: a token pair without going through the browser (scopes default to a helpdesk's). */
    issueTokens(userId: string, opts: { clientId?: string; scopes?: string[] } = {}) {
      const client = opts.clientId ? clients.get(opts.clientId) : [...clients.values()][0];
      if (!client) throw new Error('fake X: no OAuth 2.0 client configured');
      return issue({ clientId: client.clientId, consumerKey: client.consumerKey, userId, scopes: opts.scopes ?? ['dm.read', 'dm.write', 'tweet.read', 'users.read', 'offline.access'] }) as {
        access_token: string;
        refresh_token?: string;
        expires_in: number;
        scope: string;
      };
    },
  };
}

export type FakeOAuth2 = ReturnType<typeof createOAuth2>;
