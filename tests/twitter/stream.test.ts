// The activity stream consumer against the fake X: envelopes and keep-alives, reconnect with backoff
// and backfill (no envelope yielded twice), stall detection, the connection limit, fatal refusals.
import { afterEach, describe, expect, it } from 'vitest';
import { TwitterError } from '../../src/twitter/errors.js';
import { createXGateway } from '../../src/twitter/gateway-v2.js';
import { activityStream, parseEnvelope, type ActivityEnvelope, type StreamEvent } from '../../src/twitter/stream.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const CUSTOMER = { id: '9876543210987654321', username: 'jane' };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(keepAliveMs = 50) {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { streamKeepAliveMs: keepAliveMs, clients: [{ clientId: 'cid', redirectUris: [] }] } });
  closers.push(() => tw.close());
  const gw = createXGateway({ baseUrl: tw.url, timeoutMs: 5000, app: TEST_SECRETS });
  closers.push(async () => gw.close());
  // The subscription X streams: dm.received of the support account.
  const user = tw.x.issueTokens(ACCOUNT_ID).access_token;
  const res = await fetch(`${tw.url}/2/activity/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_type: 'dm.received', filter: { user_id: ACCOUNT_ID } }),
  });
  expect(res.status).toBe(200);
  return { tw, gw };
}

/** Runs the consumer in the background, collecting envelopes and state events. */
function consume(tw: FakeTwitter, gw: ReturnType<typeof createXGateway>, opts: { stallMs?: number; bearer?: () => Promise<string> } = {}) {
  const ctl = new AbortController();
  const got: ActivityEnvelope[] = [];
  const events: StreamEvent[] = [];
  const done = (async () => {
    for await (const env of activityStream({
      baseUrl: tw.url,
      bearer: opts.bearer ?? (() => gw.appBearer()),
      signal: ctl.signal,
      stallMs: opts.stallMs ?? 5000,
      backoff: { initialMs: 20, maxMs: 100 },
      onEvent: (e) => events.push(e),
    })) {
      got.push(env);
    }
  })();
  closers.push(async () => {
    ctl.abort();
    await done.catch(() => undefined);
  });
  return { got, events, done, stop: () => ctl.abort() };
}

const text = (e: ActivityEnvelope) => (e.payload as any).direct_message_events[0].message_create.message_data.text as string;

describe('activity stream consumer', () => {
  it('parses envelopes', () => {
    const env = parseEnvelope('{"data":{"event_type":"dm.received","event_uuid":"u1","filter":{"user_id":"5"},"tag":"omni:1","payload":{"x":1}}}');
    expect(env).toMatchObject({ eventType: 'dm.received', eventUuid: 'u1', userId: '5', tag: 'omni:1', payload: { x: 1 } });
    expect(parseEnvelope('not json')).toBeUndefined();
    expect(parseEnvelope('{"data":{}}')).toBeUndefined();
  });

  it('yields envelopes as X streams them, sees keep-alives, and stops quietly when aborted', async () => {
    const { tw, gw } = await setup();
    const c = consume(tw, gw);
    await waitFor(() => c.events.some((e) => e.type === 'connected'), 'the connection');
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'hello' });
    await waitFor(() => c.got.length === 1, 'the envelope');
    expect(c.got[0]).toMatchObject({ eventType: 'dm.received', userId: ACCOUNT_ID });
    expect(text(c.got[0]!)).toBe('hello');
    await waitFor(() => c.events.filter((e) => e.type === 'keep-alive').length >= 2, 'keep-alives');
    c.stop();
    await c.done;
    await waitFor(() => tw.x.streamConnections() === 0, 'the connection to close');
  });

  it('reconnects after X drops the stream, asks for a backfill, and yields nothing twice', async () => {
    const { tw, gw } = await setup();
    const c = consume(tw, gw);
    await waitFor(() => c.events.some((e) => e.type === 'connected'), 'the connection');
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'first' });
    await waitFor(() => c.got.length === 1, 'the first envelope');
    tw.x.dropStreams();
    await waitFor(() => c.events.some((e) => e.type === 'disconnected'), 'the disconnect');
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'while away' });
    await waitFor(() => c.got.length === 2, 'the backfilled envelope');
    const reconnects = tw.requestsTo('GET', '/2/activity/stream');
    expect(reconnects.length).toBeGreaterThanOrEqual(2);
    expect(reconnects.at(-1)!.query.backfill_minutes).toBe('1');
    expect(c.got.map(text)).toEqual(['first', 'while away']);
    expect(c.events.find((e) => e.type === 'reconnecting')).toMatchObject({ attempt: 1 });
  });

  it('cuts a stalled connection (no keep-alive) and reconnects', async () => {
    const { tw, gw } = await setup(30);
    const c = consume(tw, gw, { stallMs: 250 });
    await waitFor(() => c.events.some((e) => e.type === 'connected'), 'the connection');
    tw.x.stallStreams();
    await waitFor(() => c.events.some((e) => e.type === 'stalled'), 'the stall', 3000);
    await waitFor(() => c.events.filter((e) => e.type === 'connected').length >= 2, 'a new connection', 3000);
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'after the stall' });
    await waitFor(() => c.got.some((e) => text(e) === 'after the stall'), 'the envelope on the new connection');
  });

  it('waits with backoff while X refuses a third connection, and connects once one closes', async () => {
    const { tw, gw } = await setup();
    const bearer = await gw.appBearer();
    const others = [new AbortController(), new AbortController()];
    for (const o of others) {
      closers.push(async () => o.abort());
      await fetch(`${tw.url}/2/activity/stream`, { headers: { authorization: `Bearer ${bearer}` }, signal: o.signal });
    }
    const c = consume(tw, gw);
    await waitFor(() => c.events.filter((e) => e.type === 'reconnecting').length >= 2, 'retries');
    expect(c.events.find((e) => e.type === 'disconnected')).toMatchObject({ reason: expect.stringContaining('HTTP 429') });
    others[0]!.abort();
    await waitFor(() => c.events.some((e) => e.type === 'connected'), 'the connection', 3000);
  });

  it('throws a refusal that waiting cannot fix (a user token where the bearer belongs)', async () => {
    const { tw, gw } = await setup();
    const user = tw.x.issueTokens(ACCOUNT_ID).access_token;
    const c = consume(tw, gw, { bearer: async () => user });
    const err = await c.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TwitterError);
    expect((err as TwitterError).kind).toBe('unsupported-auth');
  });
});
