// The OAuth 2.0 client against the fake X: PKCE pair, authorize URL, the loopback receiver (state,
// refusal, timeout, cancel), the code exchange (public and confidential clients), refresh, /2/users/me.
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { TwitterError } from '../../src/twitter/errors.js';
import { authorizeBaseUrl, authorizeUrl, createPkce, createState, exchangeCode, fetchMe, refreshTokens, startRedirectReceiver, type RedirectReceiver } from '../../src/twitter/oauth2.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { browse } from '../support/authorize.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function receiver(state: string, timeoutMs = 5000, signal?: AbortSignal): Promise<RedirectReceiver> {
  const r = await startRedirectReceiver({ port: 0, state, timeoutMs, retryCommand: 'omni interaction authorize 2', ...(signal ? { signal } : {}) });
  closers.push(() => r.close());
  return r;
}

async function fake(redirectUri: string, clientSecret?: string): Promise<FakeTwitter> {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: 'cid', ...(clientSecret ? { clientSecret } : {}), redirectUris: [redirectUri] }] } });
  closers.push(() => tw.close());
  return tw;
}


describe('OAuth 2.0 client', () => {
  it('makes an S256 PKCE pair, an unguessable state and the authorize URL X documents', () => {
    const p = createPkce();
    expect(p.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.challenge).toBe(crypto.createHash('sha256').update(p.verifier).digest('base64url'));
    expect(createState()).not.toBe(createState());
    const u = new URL(authorizeUrl({ base: authorizeBaseUrl({}), clientId: 'cid', redirectUri: 'http://127.0.0.1:8765/callback', state: 's', challenge: p.challenge }));
    expect(u.origin + u.pathname).toBe('https://x.com/i/oauth2/authorize');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'cid',
      redirect_uri: 'http://127.0.0.1:8765/callback',
      scope: 'dm.read dm.write tweet.read users.read offline.access',
      state: 's',
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
    });
    expect(authorizeBaseUrl({ OMNI_TWITTER_AUTHORIZE_URL: 'http://127.0.0.1:1/i/oauth2/authorize' })).toBe('http://127.0.0.1:1/i/oauth2/authorize');
    expect(() => authorizeBaseUrl({ OMNI_TWITTER_AUTHORIZE_URL: 'nope' })).toThrow(/OMNI_TWITTER_AUTHORIZE_URL is not a URL/);
  });

  it('authorizes end to end: browser redirect to the receiver, code exchange, /2/users/me; the refresh rotates', async () => {
    const state = createState();
    const r = await receiver(state);
    const tw = await fake(r.redirectUri);
    const pkce = createPkce();
    const url = authorizeUrl({ base: `${tw.url}/i/oauth2/authorize`, clientId: 'cid', redirectUri: r.redirectUri, state, challenge: pkce.challenge });
    const visit = await browse(url);
    expect(visit.status).toBe(200);
    expect(visit.page).toContain('omni is authorized');
    const code = await r.code;
    const client = { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 5000, authorizeCommand: 'omni interaction authorize 2' };
    const tokens = await exchangeCode(client, { code, redirectUri: r.redirectUri, verifier: pkce.verifier });
    expect(tokens.scopes).toBe('dm.read dm.write tweet.read users.read offline.access');
    expect(Date.parse(tokens.expiresAt) - Date.now()).toBeGreaterThan(7100_000);
    expect(tw.requestsTo('POST', '/2/oauth2/token')[0]!.body).toContain('client_id=cid');
    expect(await fetchMe(client, tokens.accessToken)).toEqual({ userId: ACCOUNT_ID, username: 'acme_support', name: 'ACME Support' });

    const next = await refreshTokens(client, tokens.refreshToken!);
    expect(next.refreshToken).not.toBe(tokens.refreshToken);
    const err = await refreshTokens(client, tokens.refreshToken!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TwitterError);
    expect(err).toMatchObject({ kind: 'authorization-lost', hint: 'authorize the account again: omni interaction authorize 2' });
    // The code is spent.
    await expect(exchangeCode(client, { code, redirectUri: r.redirectUri, verifier: pkce.verifier })).rejects.toMatchObject({ kind: 'oauth' });
  });

  it('a confidential client authenticates with Basic and leaves client_id out of the form', async () => {
    const state = createState();
    const r = await receiver(state);
    const tw = await fake(r.redirectUri, 'the-secret');
    const pkce = createPkce();
    await browse(authorizeUrl({ base: `${tw.url}/i/oauth2/authorize`, clientId: 'cid', redirectUri: r.redirectUri, state, challenge: pkce.challenge }));
    const tokens = await exchangeCode({ apiBaseUrl: tw.url, clientId: 'cid', clientSecret: 'the-secret', timeoutMs: 5000 }, { code: await r.code, redirectUri: r.redirectUri, verifier: pkce.verifier });
    expect(tokens.refreshToken).not.toBeNull();
    const req = tw.requestsTo('POST', '/2/oauth2/token')[0]!;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('cid:the-secret').toString('base64')}`);
    expect(req.body).not.toContain('client_id');
  });

  it('ignores a redirect with the wrong state and keeps waiting; a refusal by the user rejects with the fix', async () => {
    const r = await receiver('right-state');
    const wrong = await fetch(`${r.redirectUri}?code=stolen&state=other`);
    expect(wrong.status).toBe(400);
    const denied = await fetch(`${r.redirectUri}?error=access_denied&state=right-state`);
    expect(denied.status).toBe(400);
    await expect(r.code).rejects.toThrow('X did not authorize the app: access_denied');
  });

  it('times out, can be cancelled, and names a busy port', async () => {
    const slow = await receiver('s', 50);
    await expect(slow.code).rejects.toThrow(/no authorization arrived within 50 ms/);
    const ctl = new AbortController();
    const cancelled = await receiver('s', 5000, ctl.signal);
    ctl.abort();
    await expect(cancelled.code).rejects.toThrow('the authorization was cancelled');
    const busy = await receiver('s');
    await expect(startRedirectReceiver({ port: busy.port, state: 's', timeoutMs: 1000 })).rejects.toThrow(`port ${busy.port} on 127.0.0.1 is in use`);
  });
});
