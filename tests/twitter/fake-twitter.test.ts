// The fake Twitter itself: it must refuse what Twitter refuses, or the other tests prove nothing.
// Raw HTTP here (no twitter-api-v2), signed by hand from the RFC 5849 primitives.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTwitterGateway } from '../../src/twitter/gateway.js';
import { verifySignature } from '../../src/twitter/signature.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { baseStringUri, formPairs, hmacSha1Signature, parseAuthorizationHeader, percentEncode, signatureBaseString } from '../support/oauth1.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function fake(opts: Parameters<typeof startFakeTwitter>[0] = { apps: [testApp()], users: [testUser()] }): Promise<FakeTwitter> {
  const tw = await startFakeTwitter(opts);
  closers.push(() => tw.close());
  return tw;
}

interface SignOpts {
  consumerSecret?: string;
  tokenSecret?: string;
  token?: string | null;
  timestamp?: number;
  nonce?: string;
  tamper?: (params: Map<string, string>) => void;
  /** Sent instead of the signed form body. */
  sendForm?: Record<string, string>;
}

/** A hand-signed OAuth 1.0a request (query + form body in the signature, per §3.4.1.3). */
async function signed(base: string, method: string, pathAndQuery: string, form?: Record<string, string>, o: SignOpts = {}) {
  const u = new URL(base + pathAndQuery);
  const oauth = new Map<string, string>([
    ['oauth_consumer_key', TEST_SECRETS.apiKey],
    ['oauth_nonce', o.nonce ?? crypto.randomBytes(16).toString('hex')],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', String(o.timestamp ?? Math.floor(Date.now() / 1000))],
    ['oauth_version', '1.0'],
  ]);
  if (o.token !== null) oauth.set('oauth_token', o.token ?? TEST_SECRETS.accessToken);
  const formBody = form ? new URLSearchParams(form).toString() : '';
  const params: Array<[string, string]> = [...formPairs(u.search.slice(1)), ...formPairs(formBody), ...oauth.entries()];
  const bs = signatureBaseString(method, baseStringUri('http', u.host, u.pathname), params);
  oauth.set('oauth_signature', hmacSha1Signature(bs, o.consumerSecret ?? TEST_SECRETS.apiSecretKey, o.tokenSecret ?? TEST_SECRETS.accessTokenSecret));
  o.tamper?.(oauth);
  const header = 'OAuth ' + [...oauth].map(([k, v]) => `${percentEncode(k)}="${percentEncode(v)}"`).join(', ');
  const res = await fetch(u, {
    method,
    headers: { authorization: header, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form ? { body: o.sendForm ? new URLSearchParams(o.sendForm).toString() : formBody } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('OAuth 1.0a signature primitives (RFC 5849)', () => {
  it("reproduces Twitter's documented signature example", () => {
    // developer.twitter.com, "Creating a signature".
    const params: Array<[string, string]> = [
      ...formPairs('include_entities=true'),
      ...formPairs('status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21'),
      ['oauth_consumer_key', 'xvz1evFS4wEEPTGEFPHBog'],
      ['oauth_nonce', 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg'],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '1318622958'],
      ['oauth_token', '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb'],
      ['oauth_version', '1.0'],
    ];
    const base = signatureBaseString('POST', baseStringUri('https', 'api.twitter.com', '/1.1/statuses/update.json'), params);
    expect(base).toBe(
      'POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521',
    );
    expect(hmacSha1Signature(base, 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE')).toBe('hCtSmYh+iHYCEqBWrE7C7hYmtUk=');
  });

  it('reproduces the RFC 5849 §1.2 example and drops default ports', () => {
    const params: Array<[string, string]> = [
      ...formPairs('file=vacation.jpg&size=original'),
      ['oauth_consumer_key', 'dpf43f3p2l4k3l03'],
      ['oauth_token', 'nnch734d00sl2jdk'],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '137131202'],
      ['oauth_nonce', 'chapoH'],
    ];
    const base = signatureBaseString('GET', baseStringUri('HTTP', 'Photos.Example.net:80', '/photos'), params);
    expect(hmacSha1Signature(base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00')).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  });

  it('encodes per RFC 3986 and parses the Authorization header', () => {
    expect(percentEncode("Ladies + Gentlemen, a!*'()~ é")).toBe('Ladies%20%2B%20Gentlemen%2C%20a%21%2A%27%28%29~%20%C3%A9');
    expect(parseAuthorizationHeader('OAuth realm="Photos", oauth_token="a%2Fb", oauth_nonce="x"')).toEqual(
      new Map([
        ['oauth_token', 'a/b'],
        ['oauth_nonce', 'x'],
      ]),
    );
    expect(parseAuthorizationHeader('Bearer abc')).toBeUndefined();
  });
});

describe('fake Twitter: authentication', () => {
  it('accepts a correctly signed request, query and form body included', async () => {
    const tw = await fake();
    const ok = await signed(tw.url, 'GET', '/1.1/account/verify_credentials.json?skip_status=true');
    expect(ok).toMatchObject({ status: 200, body: { id_str: ACCOUNT_ID } });
    // A form parameter is part of the signature: changing it after signing must fail.
    const tampered = await signed(tw.url, 'POST', '/1.1/account_activity/all/dev/subscriptions.json', { note: 'a b+c' }, { sendForm: { note: 'a b c' } });
    expect(tampered.status).toBe(401);
    const form = await signed(tw.url, 'POST', '/1.1/account_activity/all/dev/subscriptions.json', { note: 'a b+c' });
    expect(form.status).toBe(204);
  });

  it('refuses wrong secrets (32), unknown tokens (89), replayed nonces and far-off clocks', async () => {
    const tw = await fake();
    const path = '/1.1/account/verify_credentials.json';
    const e32 = { errors: [{ code: 32, message: 'Could not authenticate you.' }] };
    expect(await signed(tw.url, 'GET', path, undefined, { consumerSecret: 'wrong' })).toEqual({ status: 401, body: e32 });
    expect(await signed(tw.url, 'GET', path, undefined, { tokenSecret: 'wrong' })).toEqual({ status: 401, body: e32 });
    expect(await signed(tw.url, 'GET', path, undefined, { tamper: (p) => p.set('oauth_nonce', 'changed') })).toEqual({ status: 401, body: e32 });
    expect(await signed(tw.url, 'GET', path, undefined, { token: '1-unknown' })).toEqual({ status: 401, body: { errors: [{ code: 89, message: 'Invalid or expired token.' }] } });
    const replay = { nonce: 'same-nonce', timestamp: Math.floor(Date.now() / 1000) };
    expect((await signed(tw.url, 'GET', path, undefined, replay)).status).toBe(200);
    expect(await signed(tw.url, 'GET', path, undefined, replay)).toEqual({ status: 401, body: e32 });
    expect((await signed(tw.url, 'GET', path, undefined, { timestamp: 1_000_000_000 })).body).toEqual({ errors: [{ code: 135, message: 'Timestamp out of bounds.' }] });
    expect((await fetch(tw.url + path)).status).toBe(400);
  });

  it('issues bearer tokens for Basic key:secret only, and keeps the two kinds of auth apart', async () => {
    const tw = await fake();
    const basic = (key: string, secret: string) => 'Basic ' + Buffer.from(`${encodeURIComponent(key)}:${encodeURIComponent(secret)}`).toString('base64');
    const token = async (auth: string, body = 'grant_type=client_credentials') => {
      const res = await fetch(`${tw.url}/oauth2/token`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body });
      return { status: res.status, body: (await res.json()) as { token_type?: string; access_token?: string; errors?: unknown } };
    };
    expect(await token(basic(TEST_SECRETS.apiKey, 'wrong'))).toEqual({ status: 403, body: { errors: [{ code: 99, message: 'Unable to verify your credentials' }] } });
    expect((await token(basic(TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey), 'grant_type=password')).status).toBe(403);
    const ok = await token(basic(TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey));
    expect(ok.body.token_type).toBe('bearer');
    const bearer = { authorization: `Bearer ${ok.body.access_token}` };
    expect((await fetch(`${tw.url}/1.1/account_activity/all/dev/webhooks.json`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`${tw.url}/1.1/account_activity/all/dev/webhooks.json`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    // A bearer token cannot act for a user; user context cannot use app-only endpoints.
    const asUser = await fetch(`${tw.url}/1.1/account/verify_credentials.json`, { headers: bearer });
    expect([asUser.status, await asUser.json()]).toEqual([403, { errors: [{ code: 220, message: 'Your credentials do not allow access to this resource.' }] }]);
    expect((await signed(tw.url, 'GET', '/1.1/account_activity/all/dev/webhooks.json')).body.errors[0].code).toBe(220);
  });
});

describe('fake Twitter: deliveries', () => {
  async function receiver(statuses: number[]) {
    const got: Array<{ body: string; signature: string | undefined }> = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-twitter-webhooks-signature'] as string | undefined });
        res.writeHead(statuses.shift() ?? 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
  }

  it('signs the raw bytes with the consumer secret and retries until answered 200', async () => {
    const tw = await fake({ apps: [testApp()], users: [testUser()], retryDelaysMs: [10, 10, 10] });
    const r = await receiver([500, 503]);
    tw.addWebhook('dev', r.url);
    const raw = '{"for_user_id":"1","direct_message_events":[], "spacing" : "kept"}';
    const record = await tw.deliver('dev', raw);
    expect(record.delivered).toBe(true);
    expect(record.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(r.got).toHaveLength(3);
    for (const g of r.got) {
      expect(g.body).toBe(raw);
      expect(verifySignature(TEST_SECRETS.apiSecretKey, Buffer.from(g.body), g.signature)).toBe(true);
    }
    const gaveUp = await tw.deliver('dev', { x: 1 });
    expect(gaveUp.delivered).toBe(true);
    const failing = await receiver([500, 500, 500, 500, 500]);
    tw.addWebhook('dev', failing.url);
    const lost = await tw.deliver('dev', { x: 2 });
    expect(lost.delivered).toBe(false);
    expect(lost.attempts).toHaveLength(4);
  });

  it("delivers a user's DM to the subscribed account's webhook, and echoes DMs the account sends", async () => {
    const tw = await fake({ apps: [testApp()], users: [testUser()], retryDelaysMs: [] });
    const r = await receiver([]);
    tw.addWebhook('dev', r.url);
    tw.subscribe('dev', ACCOUNT_ID);
    const [inbound] = await tw.userSendsDm({ from: { id: '9007199254740993', screenName: 'alice' }, toUserId: ACCOUNT_ID, text: 'hello' });
    const payload = JSON.parse(inbound!.body);
    expect(payload.for_user_id).toBe(ACCOUNT_ID);
    expect(payload.direct_message_events[0].message_create).toMatchObject({ sender_id: '9007199254740993', target: { recipient_id: ACCOUNT_ID }, message_data: { text: 'hello' } });
    expect(payload.users['9007199254740993'].screen_name).toBe('alice');

    // The account answers through the API: Twitter echoes that DM to the webhook too, same event id.
    const dm = await createTwitterGateway(TEST_SECRETS, { baseUrl: tw.url }).sendDirectMessage('9007199254740993', 'hi alice');
    await vi.waitFor(() => expect(tw.state.deliveries.filter((d) => d.delivered)).toHaveLength(2));
    const echo = JSON.parse(tw.state.deliveries[1]!.body);
    expect(echo.for_user_id).toBe(ACCOUNT_ID);
    expect(echo.direct_message_events[0]).toMatchObject({ id: dm.id, message_create: { sender_id: ACCOUNT_ID, source_app_id: expect.any(String) } });
    expect(r.got).toHaveLength(2);
  });
});
