// The fake X of 2026 on its own, over raw HTTP: what X documents is what the fake does, so omni's
// client tests (oauth2, gateway-v2, stream) rest on a fake that refuses what X refuses.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTwitter, type FakeTwitter, type FakeTwitterOptions } from '../support/fake-twitter.js';
import { appBearer, approve, pkcePair, raw } from '../support/fake-x/client.js';
import { startWebhookReceiver } from '../support/fake-x/receiver.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const CUSTOMER = { id: '9876543210987654321', username: 'jane', name: 'Jane Doe' };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function fake(x: FakeTwitterOptions['x'] = {}, opts: Partial<FakeTwitterOptions> = {}): Promise<FakeTwitter> {
  const tw = await startFakeTwitter({
    apps: [testApp()],
    users: [testUser()],
    retryDelaysMs: [30, 30],
    deliveryTimeoutMs: 1000,
    x: { clients: [{ clientId: 'public-client', redirectUris: [REDIRECT] }, { clientId: 'secret-client', clientSecret: 'sssh', redirectUris: [REDIRECT] }], ...x },
    ...opts,
  });
  closers.push(() => tw.close());
  return tw;
}

async function receiver() {
  const r = await startWebhookReceiver(TEST_SECRETS.apiSecretKey);
  closers.push(() => r.close());
  return r;
}

async function authorize(tw: FakeTwitter, clientId = 'public-client', scope?: string) {
  const { verifier, challenge } = pkcePair();
  const a = await approve(tw.url, { clientId, redirectUri: REDIRECT, challenge, ...(scope ? { scope } : {}) });
  const code = a.params!.get('code')!;
  const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: clientId };
  return { code, verifier, form, token: () => raw(tw.url, 'POST', '/2/oauth2/token', { form }) };
}

describe('fake X: OAuth 2.0', () => {
  it('redirects the approved authorization to the registered URI with code and state, and exchanges the code once with the PKCE verifier', async () => {
    const tw = await fake();
    const { challenge, verifier } = pkcePair();
    const a = await approve(tw.url, { clientId: 'public-client', redirectUri: REDIRECT, challenge, state: 'abc' });
    expect(a.status).toBe(302);
    expect(a.location!.startsWith(`${REDIRECT}?`)).toBe(true);
    expect(a.params!.get('state')).toBe('abc');
    const form = { grant_type: 'authorization_code', code: a.params!.get('code')!, redirect_uri: REDIRECT, client_id: 'public-client' };
    const wrong = await raw(tw.url, 'POST', '/2/oauth2/token', { form: { ...form, code_verifier: pkcePair().verifier } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_request');
    // A code is single-use: even the failed attempt spent it.
    const again = await raw(tw.url, 'POST', '/2/oauth2/token', { form: { ...form, code_verifier: verifier } });
    expect(again.status).toBe(400);

    const ok = await (await authorize(tw)).token();
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'bearer', expires_in: 7200, scope: 'dm.read dm.write tweet.read users.read offline.access' });
    expect(typeof ok.body.refresh_token).toBe('string');
    const me = await raw(tw.url, 'GET', '/2/users/me', { token: ok.body.access_token });
    expect(me.body).toEqual({ data: { id: ACCOUNT_ID, name: 'ACME Support', username: 'acme_support' } });
  });

  it('shows an error page, never a redirect, for an unregistered redirect URI (localhost is not 127.0.0.1)', async () => {
    const tw = await fake();
    const a = await approve(tw.url, { clientId: 'public-client', redirectUri: 'http://localhost:8765/callback', challenge: pkcePair().challenge });
    expect(a.status).toBe(400);
    expect(a.location).toBeNull();
    tw.x.denyNextAuthorization();
    const denied = await approve(tw.url, { clientId: 'public-client', redirectUri: REDIRECT, challenge: pkcePair().challenge, state: 's1' });
    expect(Object.fromEntries(denied.params!)).toEqual({ error: 'access_denied', state: 's1' });
  });

  it('refuses a code older than its lifetime and a redirect_uri that differs from the authorization', async () => {
    const tw = await fake({ codeTtlMs: 40 });
    const late = await authorize(tw);
    await new Promise((r) => setTimeout(r, 80));
    expect((await late.token()).status).toBe(400);
    const other = await authorize(tw);
    const r = await raw(tw.url, 'POST', '/2/oauth2/token', { form: { ...other.form, redirect_uri: 'http://127.0.0.1:9999/callback' } });
    expect(r.status).toBe(400);
  });

  it('rotates refresh tokens: the new pair works, the old refresh token is refused with invalid_request', async () => {
    const tw = await fake();
    const first = (await (await authorize(tw)).token()).body;
    const refresh = (t: string) => raw(tw.url, 'POST', '/2/oauth2/token', { form: { grant_type: 'refresh_token', refresh_token: t, client_id: 'public-client' } });
    const second = await refresh(first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    const reused = await refresh(first.refresh_token);
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({ error: 'invalid_request', error_description: 'Value passed for the token was invalid.' });
    expect((await refresh(second.body.refresh_token)).status).toBe(200);
    expect(tw.x.liveRefreshTokens(ACCOUNT_ID)).toBe(1);
  });

  it('wants Basic auth from a confidential client, and expires access tokens on demand', async () => {
    const tw = await fake();
    const a = await authorize(tw, 'secret-client');
    const noBasic = await a.token();
    expect(noBasic.status).toBe(401);
    expect(noBasic.body.error).toBe('unauthorized_client');
    const b = await authorize(tw, 'secret-client');
    const { client_id: _drop, ...form } = b.form;
    const ok = await raw(tw.url, 'POST', '/2/oauth2/token', { form, headers: { authorization: `Basic ${Buffer.from('secret-client:sssh').toString('base64')}` } });
    expect(ok.status).toBe(200);
    expect((await raw(tw.url, 'GET', '/2/users/me', { token: ok.body.access_token })).status).toBe(200);
    tw.x.expireAccessTokens();
    const expired = await raw(tw.url, 'GET', '/2/users/me', { token: ok.body.access_token });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ title: 'Unauthorized', status: 401 });
  });

  it('checks the credential kind and the scopes per endpoint', async () => {
    const tw = await fake();
    const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
    const appOnMe = await raw(tw.url, 'GET', '/2/users/me', { token: bearer });
    expect(appOnMe.status).toBe(403);
    expect(appOnMe.body.type).toMatch(/unsupported-authentication$/);
    const user = tw.x.issueTokens(ACCOUNT_ID, { scopes: ['dm.read', 'tweet.read', 'users.read'] });
    const userOnWebhooks = await raw(tw.url, 'GET', '/2/webhooks', { token: user.access_token });
    expect(userOnWebhooks.status).toBe(403);
    const noWrite = await raw(tw.url, 'POST', `/2/dm_conversations/with/${CUSTOMER.id}/messages`, { token: user.access_token, json: { text: 'hi' } });
    expect(noWrite.status).toBe(403);
    expect(noWrite.body.detail).toContain('dm.write');
  });
});

describe('fake X: webhooks, subscriptions, deliveries', () => {
  it('registers one webhook per app after a real CRC, and answers the second with WebhookLimitExceeded inside errors[]', async () => {
    const tw = await fake();
    const r = await receiver();
    const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
    const created = await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url: r.url } });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ url: r.url, valid: true });
    expect(r.crcs).toHaveLength(1);
    const again = await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url: r.url } });
    expect(again.status).toBe(400);
    expect(again.body.detail).toBe('One or more parameters to your request was invalid.');
    expect(again.body.errors[0].message).toMatch(/^WebhookLimitExceeded: /);
    const list = await raw(tw.url, 'GET', '/2/webhooks', { token: bearer });
    expect(list.body).toMatchObject({ data: [{ id: created.body.data.id }], meta: { result_count: 1 } });
    r.setDown(true);
    const put = await raw(tw.url, 'PUT', `/2/webhooks/${created.body.data.id}`, { token: bearer });
    expect(put.body.errors[0].message).toMatch(/^CrcValidationFailed: /);
    expect(tw.x.webhooks()[0]!.valid).toBe(false);
    r.setDown(false);
    expect((await raw(tw.url, 'PUT', `/2/webhooks/${created.body.data.id}`, { token: bearer })).body).toEqual({ data: { valid: true } });
    expect((await raw(tw.url, 'DELETE', `/2/webhooks/${created.body.data.id}`, { token: bearer })).body).toEqual({ data: { deleted: true } });
    expect((await raw(tw.url, 'GET', '/2/webhooks', { token: bearer })).body).toEqual({ meta: { result_count: 0 } });
  });

  it("applies X's URL rules when strict: https, no port, at most 200 characters", async () => {
    const tw = await fake({}, { strictUrls: true });
    const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
    for (const url of ['http://example.com/hook', 'https://example.com:8443/hook', `https://example.com/${'a'.repeat(200)}`]) {
      const r = await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url } });
      expect(r.status).toBe(400);
      expect(r.body.errors[0].message).toMatch(/^UrlValidationFailed: /);
    }
  });

  it('delivers a customer DM as a signed XAA dm.received envelope and an AAA v2 body, and echoes a sent DM as dm.sent', async () => {
    const tw = await fake();
    const r = await receiver();
    const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
    const hook = (await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url: r.url } })).body.data;
    const user = tw.x.issueTokens(ACCOUNT_ID).access_token;

    const byApp = await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: bearer, json: { event_type: 'dm.received', filter: { user_id: ACCOUNT_ID }, webhook_id: hook.id } });
    expect(byApp.status).toBe(403);
    for (const event_type of ['dm.received', 'dm.sent']) {
      const sub = await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: user, json: { event_type, filter: { user_id: ACCOUNT_ID }, webhook_id: hook.id, tag: 'omni:1' } });
      expect(sub.status).toBe(200);
      expect(sub.body.data.subscription).toMatchObject({ event_type, filter: { user_id: ACCOUNT_ID }, webhook_id: hook.id, tag: 'omni:1' });
    }
    const dup = await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: user, json: { event_type: 'dm.sent', filter: { user_id: ACCOUNT_ID }, webhook_id: hook.id, tag: 'omni:1' } });
    expect(dup.status).toBe(409);
    expect(dup.body.errors[0].message).toMatch(/^DuplicateSubscriptionFailed/);
    expect((await raw(tw.url, 'POST', `/2/account_activity/webhooks/${hook.id}/subscriptions/all`, { token: user, json: {} })).body).toEqual({ data: { subscribed: true } });

    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'my order is late' });
    await waitFor(() => r.received.length >= 2, 'two deliveries');
    expect(r.received.every((d) => d.signatureOk)).toBe(true);
    const xaa = r.received.map((d) => d.json as any).find((j) => j.data?.event_type === 'dm.received');
    expect(xaa.data).toMatchObject({ filter: { user_id: ACCOUNT_ID }, tag: 'omni:1' });
    expect(xaa.data.payload.direct_message_events[0].message_create).toMatchObject({ sender_id: CUSTOMER.id, message_data: { text: 'my order is late' } });
    expect(xaa.data.payload.users[CUSTOMER.id].data).toMatchObject({ id: CUSTOMER.id, username: 'jane' });
    expect(xaa.data.payload.for_user_id).toBeUndefined();
    const aaa = r.received.map((d) => d.json as any).find((j) => j.for_user_id !== undefined);
    expect(aaa).toMatchObject({ for_user_id: ACCOUNT_ID, users: { [CUSTOMER.id]: { screen_name: 'jane' } } });

    const sent = await raw(tw.url, 'POST', `/2/dm_conversations/with/${CUSTOMER.id}/messages`, { token: user, json: { text: 'on its way' } });
    expect(sent.status).toBe(201);
    expect(sent.body.data.dm_conversation_id).toBe(`${ACCOUNT_ID}-${CUSTOMER.id}`);
    expect(sent.headers.get('x-rate-limit-remaining')).toBe('14');
    await waitFor(() => r.received.length >= 4, 'the dm.sent and AAA echoes');
    const echo = r.received.map((d) => d.json as any).find((j) => j.data?.event_type === 'dm.sent');
    expect(echo.data.payload.direct_message_events[0].id).toBe(sent.body.data.dm_event_id);

    const list = await raw(tw.url, 'GET', '/2/activity/subscriptions', { token: bearer });
    expect(list.body.meta.result_count).toBe(2);
    const del = await raw(tw.url, 'DELETE', `/2/activity/subscriptions/${list.body.data[0].subscription_id}`, { token: bearer });
    expect(del.body).toEqual({ data: { deleted: true } });
    const gone = await raw(tw.url, 'DELETE', `/2/activity/subscriptions/${list.body.data[0].subscription_id}`, { token: bearer });
    expect(gone.body.errors[0].message).toMatch(/^SubscriptionNotFound/);
    const aaaList = await raw(tw.url, 'GET', `/2/account_activity/webhooks/${hook.id}/subscriptions/all/list`, { token: bearer });
    expect(aaaList.body.data.subscriptions).toEqual([{ user_id: ACCOUNT_ID }]);
    expect((await raw(tw.url, 'GET', '/2/account_activity/subscriptions/count', { token: bearer })).body.data.subscriptions_count_all).toBe('1');

    const before = r.received.length;
    tw.x.userRevokesApp(ACCOUNT_ID);
    await waitFor(() => r.received.length > before, 'the revoke event');
    expect(r.received.at(-1)!.json).toMatchObject({ user_event: { revoke: { source: { user_id: ACCOUNT_ID } } } });
    expect((await raw(tw.url, 'GET', '/2/users/me', { token: user })).status).toBe(401);
    expect((await raw(tw.url, 'DELETE', `/2/account_activity/webhooks/${hook.id}/subscriptions/${ACCOUNT_ID}/all`, { token: bearer })).status).toBe(200);
  });

  it('rate-limits DMs per user with X headers, and pages the DM history newest first', async () => {
    const tw = await fake({ dmSendLimit: { limit: 3, windowMs: 60_000 }, dmEventsLimit: { limit: 2, windowMs: 60_000 } });
    const user = tw.x.issueTokens(ACCOUNT_ID).access_token;
    for (let i = 0; i < 3; i++) expect((await raw(tw.url, 'POST', `/2/dm_conversations/with/${CUSTOMER.id}/messages`, { token: user, json: { text: `m${i}` } })).status).toBe(201);
    const limited = await raw(tw.url, 'POST', `/2/dm_conversations/with/${CUSTOMER.id}/messages`, { token: user, json: { text: 'one too many' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-rate-limit-reset'))).toBeGreaterThan(Date.now() / 1000);
    const first = await raw(tw.url, 'GET', '/2/dm_events?max_results=2&dm_event.fields=sender_id', { token: user });
    expect(first.body.data.map((e: any) => e.text)).toEqual(['m2', 'm1']);
    expect(first.body.data[0]).toEqual({ id: expect.any(String), event_type: 'MessageCreate', text: 'm2', sender_id: ACCOUNT_ID });
    const second = await raw(tw.url, 'GET', `/2/dm_events?max_results=2&pagination_token=${first.body.meta.next_token}`, { token: user });
    expect(second.body).toMatchObject({ data: [{ text: 'm0' }], meta: { result_count: 1 } });
    expect((await raw(tw.url, 'GET', '/2/dm_events', { token: user })).status).toBe(429);
  });

  it('replays what it attempted while the listener was down, not what it lost, then sends replay_job_status', async () => {
    const tw = await fake();
    const r = await receiver();
    const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
    const hook = (await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url: r.url } })).body.data;
    const user = tw.x.issueTokens(ACCOUNT_ID).access_token;
    await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: user, json: { event_type: 'dm.received', filter: { user_id: ACCOUNT_ID }, webhook_id: hook.id } });
    r.setDown(true);
    const missed = tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'while you were down' });
    tw.x.dropNextDeliveries(1);
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'lost by X' });
    await waitFor(() => missed.deliveries[0]!.attempts.length === 3, 'the retries to fail');
    r.setDown(false);
    const now = new Date();
    const ymd = (d: Date) => d.toISOString().slice(0, 16).replace(/[-T:]/g, '');
    const bad = await raw(tw.url, 'POST', '/2/webhooks/replay', { token: bearer, json: { webhook_id: hook.id, from_date: '2020-01-01T00:00', to_date: ymd(now) } });
    expect(bad.status).toBe(400);
    const job = await raw(tw.url, 'POST', '/2/webhooks/replay', { token: bearer, json: { webhook_id: hook.id, from_date: ymd(new Date(now.getTime() - 600_000)), to_date: ymd(now) } });
    expect(job.status).toBe(200);
    const status = await waitFor(() => r.received.map((d) => d.json as any).find((j) => j.replay_job_status), 'replay_job_status');
    expect(status.replay_job_status).toMatchObject({ webhook_id: hook.id, job_id: job.body.data.job_id, job_state: 'Complete' });
    const texts = r.received.flatMap((d: any) => (d.json.data ? [d.json.data.payload.direct_message_events[0].message_create.message_data.text] : []));
    expect(texts).toEqual(['while you were down']);
    // X lost it, but it is in the account's history: reconciliation finds it there.
    expect(tw.x.dmEvents.map((e) => e.text)).toContain('lost by X');
  });
});

describe('fake X: the activity stream', () => {
  it('streams envelopes as lines with \\r\\n keep-alives, backfills up to 5 minutes, and allows 2 connections', async () => {
    const tw = await fake({ streamKeepAliveMs: 30 });
    const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
    const user = tw.x.issueTokens(ACCOUNT_ID).access_token;
    await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: user, json: { event_type: 'dm.received', filter: { user_id: ACCOUNT_ID } } });
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'before' });
    expect((await raw(tw.url, 'GET', '/2/activity/stream?backfill_minutes=6', { token: bearer })).status).toBe(400);
    expect((await raw(tw.url, 'GET', '/2/activity/stream', { token: user })).status).toBe(403);

    const ctl = new AbortController();
    closers.push(async () => ctl.abort());
    const res = await fetch(`${tw.url}/2/activity/stream?backfill_minutes=1`, { headers: { authorization: `Bearer ${bearer}` }, signal: ctl.signal });
    expect(res.status).toBe(200);
    const second = new AbortController();
    closers.push(async () => second.abort());
    await fetch(`${tw.url}/2/activity/stream`, { headers: { authorization: `Bearer ${bearer}` }, signal: second.signal });
    const third = await raw(tw.url, 'GET', '/2/activity/stream', { token: bearer });
    expect(third.status).toBe(429);
    expect(third.body.connection_issue).toBe('TooManyConnections');

    const reader = res.body!.getReader();
    let text = '';
    setTimeout(() => tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'live' }), 100);
    while (!text.includes('live')) text += new TextDecoder().decode((await reader.read()).value);
    const lines = text.split('\r\n');
    expect(lines.filter((l) => l === '').length).toBeGreaterThan(1);
    const events = lines.filter(Boolean).map((l) => JSON.parse(l));
    expect(events.map((e) => e.data.payload.direct_message_events[0].message_create.message_data.text)).toEqual(['before', 'live']);
    expect(events[0].data).toMatchObject({ event_type: 'dm.received', filter: { user_id: ACCOUNT_ID } });
  });
});
