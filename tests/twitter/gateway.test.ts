// The real gateway (twitter-api-v2 underneath) against the fake Twitter, in process: every method,
// both kinds of auth on the wire, and each refusal mapped to the error a person can act on.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { apiBaseUrl, apiTimeoutMs, createTwitterGateway, type TwitterCredentials } from '../../src/twitter/gateway.js';
import { TwitterError } from '../../src/twitter/errors.js';
import { startCrcResponder, startFakeTwitter, type FakeTwitter, type FakeTwitterOptions } from '../support/fake-twitter.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, ACCOUNT_SCREEN_NAME, testApp, testUser } from '../support/twitter-fixtures.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function fake(opts: Partial<FakeTwitterOptions> = {}): Promise<FakeTwitter> {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], ...opts });
  closers.push(() => tw.close());
  return tw;
}

async function crc(mode?: 'ok' | 'wrong' | 'status500' | 'slow', secret = TEST_SECRETS.apiSecretKey) {
  const r = await startCrcResponder(secret, mode ? { mode, slowMs: 1000 } : {});
  closers.push(() => r.close());
  return r;
}

function gateway(tw: { url: string }, creds: Partial<TwitterCredentials> = {}, timeoutMs = 5000) {
  return createTwitterGateway({ ...TEST_SECRETS, ...creds }, { baseUrl: tw.url, timeoutMs, editCommand: 'omni interaction edit 1' });
}

async function failure(p: Promise<unknown>): Promise<TwitterError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TwitterError);
  return err as TwitterError;
}

describe('Twitter gateway against the fake Twitter', () => {
  it('verifies credentials with OAuth 1.0a and keeps the 64-bit id a string', async () => {
    const tw = await fake();
    expect(await gateway(tw).verifyCredentials()).toEqual({ userId: ACCOUNT_ID, screenName: ACCOUNT_SCREEN_NAME, name: 'ACME Support', accessLevel: 'read-write-directmessages' });
    const [req] = tw.requestsTo('GET', '/1.1/account/verify_credentials.json');
    expect(req?.auth).toEqual({ type: 'oauth1', consumerKey: TEST_SECRETS.apiKey, userId: ACCOUNT_ID });
  });

  it('reports the access level Twitter states in x-access-level (how the DM permission is known)', async () => {
    const tw = await fake({ apps: [testApp({ dmPermission: false })] });
    expect((await gateway(tw).verifyCredentials()).accessLevel).toBe('read-write');
  });

  it('names the secrets to re-check when the signature does not match (code 32)', async () => {
    const tw = await fake();
    for (const wrong of [{ accessTokenSecret: 'nope' }, { apiSecretKey: 'nope' }]) {
      const err = await failure(gateway(tw, wrong).verifyCredentials());
      expect(err.kind).toBe('credentials');
      expect(err.twitterCode).toBe(32);
      expect(err.httpStatus).toBe(401);
      expect(err.hint).toContain('API secret key and the access token secret');
      expect(err.hint).toContain('omni interaction edit 1');
    }
  });

  it('says the access token is invalid for an unknown token (code 89)', async () => {
    const tw = await fake();
    const err = await failure(gateway(tw, { accessToken: '999-unknown' }).verifyCredentials());
    expect(err.twitterCode).toBe(89);
    expect(err.message).toContain('access token is invalid or expired');
  });

  it('gets an app-only bearer token once and uses it for the app-only endpoints', async () => {
    const tw = await fake();
    const gw = gateway(tw);
    expect(await gw.listWebhooks('dev')).toEqual([]);
    expect(await gw.listEnvironments()).toEqual([
      { name: 'dev', webhooks: [] },
      { name: 'prod', webhooks: [] },
    ]);
    expect(tw.requestsTo('POST', '/oauth2/token')).toHaveLength(1);
    expect(tw.requestsTo('POST', '/oauth2/token')[0]?.auth).toEqual({ type: 'basic', consumerKey: TEST_SECRETS.apiKey });
    expect(tw.requestsTo('GET', '/1.1/account_activity/all/dev/webhooks.json')[0]?.auth).toEqual({ type: 'bearer', consumerKey: TEST_SECRETS.apiKey });
  });

  it('blames the API key and secret when the bearer token is refused (code 99)', async () => {
    const tw = await fake();
    const err = await failure(gateway(tw, { apiSecretKey: 'wrong' }).listWebhooks('dev'));
    expect(err.kind).toBe('app-credentials');
    expect(err.twitterCode).toBe(99);
    expect(err.hint).toContain('API key and the API secret key');
  });

  it('registers a webhook after a real CRC, lists it, re-triggers the CRC and deletes it', async () => {
    const tw = await fake();
    const listener = await crc();
    const gw = gateway(tw);
    const url = `${listener.url}/webhooks/twitter/1`;
    const hook = await gw.registerWebhook('dev', url);
    expect(hook).toMatchObject({ url, valid: true });
    expect(hook.id).toMatch(/^\d{19}$/);
    expect(hook.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    expect(tw.state.crcChecks).toEqual([expect.objectContaining({ env: 'dev', url, ok: true, trigger: 'register' })]);
    expect(listener.seen).toEqual(['/webhooks/twitter/1']);
    expect(await gw.listWebhooks('dev')).toEqual([hook]);
    // The URL travels as a signed query parameter with user context.
    expect(tw.requestsTo('POST', '/1.1/account_activity/all/dev/webhooks.json')[0]?.query).toEqual({ url });

    listener.setMode('wrong');
    const bad = await failure(gw.triggerCrc('dev', hook.id, url));
    expect(bad.kind).toBe('webhook-rejected');
    expect(bad.message).toContain(`CRC check of ${url} failed`);
    expect(bad.hint).toContain('omni listen');
    expect(tw.webhook('dev')?.valid).toBe(false);

    listener.setMode('ok');
    await gw.triggerCrc('dev', hook.id);
    expect(tw.webhook('dev')?.valid).toBe(true);

    expect(await gw.deleteWebhook('dev', hook.id)).toBe('deleted');
    expect(await gw.deleteWebhook('dev', hook.id)).toBe('not-found');
    expect(tw.webhook('dev')).toBeUndefined();
  });

  it('refuses a registration whose CRC fails and registers nothing', async () => {
    const tw = await fake({ crcTimeoutMs: 300 });
    for (const [mode, said] of [
      ['wrong', 'Invalid CRC token'],
      ['status500', 'Non-200 response code'],
      ['slow', 'High latency'],
    ] as const) {
      const listener = await crc(mode);
      const err = await failure(gateway(tw).registerWebhook('dev', `${listener.url}/hook`));
      expect(err.kind).toBe('webhook-rejected');
      expect(err.twitterCode).toBe(214);
      expect(err.message).toContain(said);
      expect(tw.webhook('dev')).toBeUndefined();
    }
  });

  it('allows one webhook per environment (214 Too many resources)', async () => {
    const tw = await fake();
    tw.addWebhook('dev', 'https://other.example.com/hook');
    const listener = await crc();
    const err = await failure(gateway(tw).registerWebhook('dev', `${listener.url}/hook`));
    expect(err.message).toContain("'dev' already holds a webhook");
    expect(err.hint).toContain('--replace');
  });

  it('rejects http and ports like Twitter when the fake is strict', async () => {
    const tw = await fake({ strictUrls: true });
    expect((await failure(gateway(tw).registerWebhook('dev', 'http://example.com/hook'))).message).toContain('only accepts https');
    expect((await failure(gateway(tw).registerWebhook('dev', 'https://example.com:8443/hook'))).message).toContain('port');
  });

  it('lists the existing environments when the label is unknown', async () => {
    const tw = await fake();
    const err = await failure(gateway(tw).listWebhooks('staging'));
    expect(err.kind).toBe('unknown-environment');
    expect(err.message).toBe("no dev environment named 'staging'; existing: dev, prod");
    const viaUser = await failure(gateway(tw).subscribe('staging'));
    expect(viaUser.message).toBe("no dev environment named 'staging'; existing: dev, prod");
  });

  it('subscribes, treats "already subscribed" as success, checks, lists and unsubscribes', async () => {
    const tw = await fake();
    const gw = gateway(tw);
    expect(await gw.isSubscribed('dev')).toBe(false);
    expect(await gw.subscribe('dev')).toBe('subscribed');
    expect(await gw.subscribe('dev')).toBe('already-subscribed');
    expect(tw.requestsTo('POST', '/1.1/account_activity/all/dev/subscriptions.json').map((r) => [r.status, r.errorCode])).toEqual([
      [204, undefined],
      [409, 355],
    ]);
    expect(await gw.isSubscribed('dev')).toBe(true);
    expect(await gw.listSubscriptions('dev')).toEqual([ACCOUNT_ID]);
    expect(await gw.unsubscribe('dev', ACCOUNT_ID)).toBe('unsubscribed');
    expect(await gw.unsubscribe('dev', ACCOUNT_ID)).toBe('not-subscribed');
    expect(tw.requestsTo('DELETE', `/1.1/account_activity/all/dev/subscriptions/${ACCOUNT_ID}.json`)[0]?.auth?.type).toBe('bearer');
    expect(await gw.isSubscribed('dev')).toBe(false);
  });

  it('maps 348 (account not allowed) and 93 (no DM permission)', async () => {
    const notAllowed = await fake({ users: [testUser({ allowSubscriptions: false })] });
    const e348 = await failure(gateway(notAllowed).subscribe('dev'));
    expect(e348.kind).toBe('not-permitted');
    expect(e348.twitterCode).toBe(348);

    const noDm = await fake({ apps: [testApp({ dmPermission: false })] });
    const e93 = await failure(gateway(noDm).sendDirectMessage('42', 'hi'));
    expect(e93.kind).toBe('dm-permission');
    expect(e93.message).toContain('Read, Write and Direct Messages');
  });

  it('sends a DM with quick replies and returns the event id Twitter recorded', async () => {
    const tw = await fake();
    const sent = await gateway(tw).sendDirectMessage('42', 'Pick one', [{ label: 'Open a new request', metadata: 'open' }, { label: 'Talk to an attendant', description: 'a person answers', metadata: 'talk' }]);
    expect(tw.state.sentDms).toHaveLength(1);
    const dm = tw.state.sentDms[0]!;
    expect(sent.id).toBe(dm.id);
    expect(sent.createdAt).toMatch(/Z$/);
    expect(dm).toMatchObject({ senderId: ACCOUNT_ID, recipientId: '42', text: 'Pick one' });
    expect(dm.quickReply).toEqual({
      type: 'options',
      options: [
        { label: 'Open a new request', metadata: 'open' },
        { label: 'Talk to an attendant', description: 'a person answers', metadata: 'talk' },
      ],
    });
    // JSON body: not part of the OAuth signature, and the fake verified the signature anyway.
    expect(tw.requestsTo('POST', '/1.1/direct_messages/events/new.json')[0]?.headers['content-type']).toContain('application/json');
  });

  it('maps DM refusals: 349 recipient, 429 rate limit with its reset time', async () => {
    const tw = await fake({ closedDms: ['77'] });
    const e349 = await failure(gateway(tw).sendDirectMessage('77', 'hi'));
    expect(e349.kind).toBe('recipient-refused');
    const reset = Math.floor(Date.now() / 1000) + 600;
    tw.failNext({ method: 'POST', path: '/1.1/direct_messages/events/new.json', status: 429, errors: [{ code: 88, message: 'Rate limit exceeded' }], headers: { 'x-rate-limit-reset': String(reset) } });
    const e429 = await failure(gateway(tw).sendDirectMessage('42', 'hi'));
    expect(e429.kind).toBe('rate-limited');
    expect(e429.resetAt?.getTime()).toBe(reset * 1000);
    expect(e429.message).toMatch(/until \d{2}:\d{2}:\d{2} UTC \(in (9|10) min\)/);
  });

  it('names the URL when Twitter cannot be reached or does not answer in time', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const refused = await failure(gateway({ url: `http://127.0.0.1:${port}` }).verifyCredentials());
    expect(refused.kind).toBe('network');
    expect(refused.message).toContain(`GET http://127.0.0.1:${port}/1.1/account/verify_credentials.json`);
    expect(refused.message).toContain('ECONNREFUSED');

    const tw = await fake();
    tw.failNext({ path: '/1.1/account/verify_credentials.json', stall: true });
    const started = Date.now();
    const slow = await failure(gateway(tw, {}, 300).verifyCredentials());
    expect(slow.kind).toBe('timeout');
    expect(slow.message).toContain(`${tw.url}/1.1/account/verify_credentials.json`);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reads the base URL and timeout from the environment', () => {
    expect(apiBaseUrl({})).toBe('https://api.twitter.com');
    expect(apiBaseUrl({ OMNI_TWITTER_API_URL: 'http://127.0.0.1:9/' })).toBe('http://127.0.0.1:9');
    expect(() => apiBaseUrl({ OMNI_TWITTER_API_URL: 'ftp://x' })).toThrow(/plain http\(s\) URL/);
    expect(() => apiBaseUrl({ OMNI_TWITTER_API_URL: 'not a url' })).toThrow(/not a URL/);
    expect(apiTimeoutMs({})).toBe(15_000);
    expect(apiTimeoutMs({ OMNI_TWITTER_TIMEOUT_MS: '250' })).toBe(250);
    expect(() => apiTimeoutMs({ OMNI_TWITTER_TIMEOUT_MS: '-1' })).toThrow(/positive/);
  });
});
