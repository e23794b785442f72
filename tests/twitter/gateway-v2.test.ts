// The v2 gateway against the fake X, in process: every method, the credential each call carries on
// the wire (app bearer, OAuth 2.0 user, OAuth 1.0a fallback), and X's refusals mapped to named errors.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { loadSecretBox } from '../../src/secrets.js';
import { TwitterError } from '../../src/twitter/errors.js';
import { createXGateway, replayDate } from '../../src/twitter/gateway-v2.js';
import { createUserTokenSource, storeAuthorization } from '../../src/twitter/user-token.js';
import { startFakeTwitter, type FakeTwitter, type FakeTwitterOptions } from '../support/fake-twitter.js';
import { startWebhookReceiver } from '../support/fake-x/receiver.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { testDatabase, testSecretEnv } from '../support/engine.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const CUSTOMER = '9876543210987654321';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(opts: { x?: FakeTwitterOptions['x']; scopes?: string[]; oauth1?: boolean; noUserToken?: boolean } = {}) {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], retryDelaysMs: [30], deliveryTimeoutMs: 1000, x: { clients: [{ clientId: 'cid', redirectUris: [] }], ...opts.x } });
  closers.push(() => tw.close());
  const r = await startWebhookReceiver(TEST_SECRETS.apiSecretKey);
  closers.push(() => r.close());
  const dbPath = testDatabase();
  const { id } = await seedInteraction(dbPath);
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  const issued = tw.x.issueTokens(ACCOUNT_ID, opts.scopes ? { scopes: opts.scopes } : {});
  await storeAuthorization(db.kysely, box, id, { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + 7200_000).toISOString(), scopes: issued.scope }, { userId: ACCOUNT_ID, username: 'acme_support', name: null });
  const client = { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 5000 };
  const gw = createXGateway({
    baseUrl: tw.url,
    timeoutMs: 5000,
    app: TEST_SECRETS,
    ...(opts.noUserToken ? {} : { userToken: createUserTokenSource({ db: db.kysely, box, interactionId: id, client }) }),
    ...(opts.oauth1 ? { oauth1: TEST_SECRETS } : {}),
    authorizeCommand: `omni interaction authorize ${id}`,
  });
  closers.push(async () => gw.close());
  return { tw, r, gw, id };
}

async function failure(p: Promise<unknown>): Promise<TwitterError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TwitterError);
  return err as TwitterError;
}

const authTypes = (tw: FakeTwitter, method: string, p: string | RegExp) => tw.requestsTo(method, p).map((r) => r.auth?.type);

describe('v2 gateway: webhooks', () => {
  it('creates (after the CRC), lists, re-validates and deletes the webhook with one cached app bearer', async () => {
    const { tw, r, gw } = await setup();
    expect(await gw.listWebhooks()).toEqual([]);
    const hook = await gw.createWebhook(r.url);
    expect(hook).toMatchObject({ url: r.url, valid: true });
    expect(hook.id).toMatch(/^\d+$/);
    expect(await gw.listWebhooks()).toEqual([hook]);
    await gw.revalidateWebhook(hook.id, r.url);
    r.setDown(true);
    const crc = await failure(gw.revalidateWebhook(hook.id, r.url));
    expect(crc.kind).toBe('crc-failed');
    expect(crc.hint).toContain(`curl '${r.url}?crc_token=test'`);
    r.setDown(false);
    const limit = await failure(gw.createWebhook(`${r.url}/other`));
    expect(limit.kind).toBe('webhook-limit');
    expect(limit.message).toContain('WebhookLimitExceeded');
    expect(await gw.deleteWebhook(hook.id)).toBe('deleted');
    expect(await gw.deleteWebhook(hook.id)).toBe('not-found');
    expect(tw.requestsTo('POST', '/oauth2/token')).toHaveLength(1);
    expect(new Set(authTypes(tw, 'GET', '/2/webhooks').concat(authTypes(tw, 'POST', '/2/webhooks')))).toEqual(new Set(['bearer']));
  });

  it('refuses a URL X will not take, with the fix', async () => {
    const { gw } = await setup();
    const err = await failure(gw.createWebhook(`https://help.example.com/${'x'.repeat(200)}`));
    expect(err.kind).toBe('url-invalid');
    expect(err.hint).toContain('https URL without a port');
  });
});

describe('v2 gateway: subscriptions', () => {
  it('XAA: creates dm.received/dm.sent with the user token, treats a duplicate as done, lists and deletes with the bearer', async () => {
    const { tw, r, gw, id } = await setup();
    const hook = await gw.createWebhook(r.url);
    const created = await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: hook.id, tag: `omni:${id}` });
    expect(created.status).toBe('created');
    expect(created.subscription).toMatchObject({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: hook.id, tag: `omni:${id}` });
    expect((await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: hook.id, tag: `omni:${id}` })).status).toBe('already-exists');
    await gw.createActivitySubscription({ eventType: 'dm.sent', userId: ACCOUNT_ID, webhookId: hook.id });
    expect(authTypes(tw, 'POST', '/2/activity/subscriptions')).toEqual(['oauth2', 'oauth2', 'oauth2']);
    const list = await gw.listActivitySubscriptions();
    expect(list.map((s) => s.eventType).sort()).toEqual(['dm.received', 'dm.sent']);
    expect(authTypes(tw, 'GET', '/2/activity/subscriptions')).toEqual(['bearer']);
    expect(await gw.deleteActivitySubscription(created.subscription!.id)).toBe('deleted');
    expect(await gw.deleteActivitySubscription(created.subscription!.id)).toBe('not-found');
  });

  it('XAA: reads the flat response shape of the quickstart too', async () => {
    const { gw } = await setup({ x: { xaaResponseShape: 'flat' } });
    const created = await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID });
    expect(created.subscription).toMatchObject({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: null });
  });

  it('XAA: when X refuses the OAuth 2.0 token, retries once with OAuth 1.0a user context', async () => {
    const { tw, gw } = await setup({ scopes: ['tweet.read', 'users.read', 'offline.access'], oauth1: true });
    const created = await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID });
    expect(created.status).toBe('created');
    expect(tw.requestsTo('POST', '/2/activity/subscriptions').map((r) => [r.auth?.type, r.status])).toEqual([
      ['oauth2', 403],
      ['oauth1', 200],
    ]);
  });

  it('XAA without OAuth 1.0a: the missing scope is named with the authorize command', async () => {
    const { gw, id } = await setup({ scopes: ['tweet.read', 'users.read', 'offline.access'] });
    const err = await failure(gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID }));
    expect(err.kind).toBe('missing-scope');
    expect(err.message).toContain('dm.read');
    expect(err.hint).toContain(`omni interaction authorize ${id}`);
  });

  it('AAA v2: subscribes with the user token, "already" is success, checks, lists, counts and unsubscribes with the bearer', async () => {
    const { tw, r, gw } = await setup();
    const hook = await gw.createWebhook(r.url);
    expect(await gw.aaaSubscribe(hook.id)).toBe('subscribed');
    expect(await gw.aaaSubscribe(hook.id)).toBe('already-subscribed');
    expect(await gw.aaaIsSubscribed(hook.id)).toBe(true);
    expect(await gw.aaaListSubscriptions(hook.id)).toEqual([ACCOUNT_ID]);
    expect(await gw.aaaSubscriptionCount()).toEqual({ count: 1, provisioned: 3 });
    expect(await gw.aaaUnsubscribe(hook.id, ACCOUNT_ID)).toBe('unsubscribed');
    expect(await gw.aaaUnsubscribe(hook.id, ACCOUNT_ID)).toBe('not-subscribed');
    expect(await gw.aaaIsSubscribed(hook.id)).toBe(false);
    expect(authTypes(tw, 'POST', /subscriptions\/all$/)).toEqual(['oauth2', 'oauth2']);
    expect(authTypes(tw, 'DELETE', /\/all$/)).toEqual(['bearer', 'bearer']);
  });

  it('a user-context call without any authorization says how to authorize', async () => {
    const { gw, id } = await setup({ noUserToken: true });
    await expect(gw.sendDm(CUSTOMER, 'hi')).rejects.toThrow("send a direct message needs the account's X OAuth 2.0 authorization, and there is none");
    await expect(gw.sendDm(CUSTOMER, 'hi')).rejects.toMatchObject({ hint: `authorize the account: omni interaction authorize ${id}` });
  });
});

describe('v2 gateway: DMs and replay', () => {
  it('sends a DM (dm_event_id, rate-limit state) and maps the 429 to the reset time', async () => {
    const { tw, gw } = await setup({ x: { dmSendLimit: { limit: 2, windowMs: 60_000 } } });
    const sent = await gw.sendDm(CUSTOMER, 'hello');
    expect(sent.dmEventId).toBe(tw.x.dmEvents[0]!.id);
    expect(sent.dmConversationId).toBe(`${ACCOUNT_ID}-${CUSTOMER}`);
    expect(sent.rateLimit).toMatchObject({ limit: 2, remaining: 1 });
    await gw.sendDm(CUSTOMER, 'again');
    const err = await failure(gw.sendDm(CUSTOMER, 'too many'));
    expect(err.kind).toBe('rate-limited');
    expect(err.resetAt!.getTime()).toBeGreaterThan(Date.now());
    expect(err.resetAt!.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
  });

  it('pages the DM history newest first', async () => {
    const { tw, gw } = await setup();
    for (const text of ['one', 'two', 'three']) tw.x.customerSendsDm({ from: { id: CUSTOMER }, toUserId: ACCOUNT_ID, text });
    const first = await gw.dmEventsPage({ maxResults: 2 });
    expect(first.events.map((e) => e.text)).toEqual(['three', 'two']);
    expect(first.events[0]).toMatchObject({ eventType: 'MessageCreate', senderId: CUSTOMER, conversationId: `${ACCOUNT_ID}-${CUSTOMER}` });
    expect(first.rateLimit?.remaining).toBe(14);
    const second = await gw.dmEventsPage({ maxResults: 2, paginationToken: first.nextToken! });
    expect(second.events.map((e) => e.text)).toEqual(['one']);
    expect(second.nextToken).toBeNull();
  });

  it('starts a replay of the failed deliveries and X reports the job; a date outside 24 h is refused with X’s reason', async () => {
    const { tw, r, gw } = await setup();
    const hook = await gw.createWebhook(r.url);
    await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: hook.id });
    r.setDown(true);
    const missed = tw.x.customerSendsDm({ from: { id: CUSTOMER }, toUserId: ACCOUNT_ID, text: 'while down' });
    await waitFor(() => missed.deliveries[0]!.attempts.length === 2, 'the attempts to fail');
    r.setDown(false);
    const now = new Date();
    expect(replayDate(new Date('2026-03-05T07:09:59Z'))).toBe('202603050709');
    const job = await gw.replay(hook.id, new Date(now.getTime() - 5 * 60_000), now);
    expect(job.jobId).toMatch(/^\d+$/);
    const status = await waitFor(() => r.received.map((d) => d.json as any).find((j) => j.replay_job_status), 'replay_job_status');
    expect(status.replay_job_status).toMatchObject({ job_id: job.jobId, job_state: 'Complete' });
    expect(r.received.some((d) => (d.json as any).data?.payload?.direct_message_events?.[0]?.message_create?.message_data?.text === 'while down')).toBe(true);
    const old = await failure(gw.replay(hook.id, new Date(now.getTime() - 25 * 3600_000), now));
    expect(old.message).toContain('from_date must be within the last 24 hours');
  });
});
