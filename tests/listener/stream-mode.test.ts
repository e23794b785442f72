// `omni listen --stream`, the built CLI spawned against the fake X: no webhook, no public URL. The
// missing DM subscription is created, a customer's DM becomes a ticket, a dropped stream reconnects
// and X's backfill brings what was sent meanwhile (stored once), a restart re-reading the last
// minutes stores nothing twice, SIGTERM stops it cleanly; and with nothing to stream it refuses.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { updateInteraction } from '../../src/db/interactions.js';
import { loadSecretBox } from '../../src/secrets.js';
import { storeAuthorization } from '../../src/twitter/user-token.js';
import { runCli } from '../support/cli.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { raw } from '../support/fake-x/client.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { seedInteraction } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../support/engine.js';
import { readRowsAt } from '../support/rows.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const CUSTOMER = { id: '9876543210987654321', username: 'jane', name: 'Jane Doe' };
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** A v1.1 interaction and an authorized activity one (whose dm.received subscription exists already). */
async function setup() {
  const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: 'cid', redirectUris: [] }] } });
  closers.push(() => tw.close());
  const dbPath = testDatabase();
  const legacy = (await seedInteraction(dbPath, { name: 'Legacy' })).id;
  const id = (await seedInteraction(dbPath, { name: 'Support', accountUserId: null })).id;
  const db = await openDatabase(dbPath);
  try {
    const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
    await updateInteraction(db.kysely, id, { api: 'activity', dev_environment: '', client_id_enc: box.encrypt('cid', 'client_id_enc') });
    const t = tw.x.issueTokens(ACCOUNT_ID);
    await storeAuthorization(db.kysely, box, id, { accessToken: t.access_token, refreshToken: t.refresh_token!, expiresAt: new Date(Date.now() + t.expires_in * 1000).toISOString(), scopes: t.scope }, { userId: ACCOUNT_ID, username: 'acme_support', name: 'ACME Support' });
    // Made by hand earlier, without a tag: present, so only dm.sent is missing.
    expect((await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: t.access_token, json: { event_type: 'dm.received', filter: { user_id: ACCOUNT_ID } } })).status).toBe(200);
  } finally {
    await db.close();
  }
  const count = (sql: string) => readRowsAt(dbPath, sql);
  const listen = async (args: string[] = []) => {
    const l = await startListener({ db: dbPath, env: { OMNI_TWITTER_API_URL: tw.url }, args: ['--stream', '--no-watchdog', ...args] });
    closers.push(() => l.kill9());
    return l;
  };
  return { tw, dbPath, id, legacy, rows: count, listen };
}

const dmLines = (l: RunningListener) => l.logs().filter((x) => x.msg === 'delivery' && x.source === 'stream');
const connects = (l: RunningListener) => l.logs().filter((x) => typeof x.msg === 'string' && x.msg.startsWith('stream connected')).length;

describe(`omni listen --stream on ${TEST_ENGINE}`, () => {
  it('creates the missing subscription, turns a DM into a ticket, survives a dropped stream without losing or doubling a DM, and stops cleanly', async () => {
    const s = await setup();
    const l = await s.listen();
    await l.waitForLog((x) => x.msg?.startsWith('stream connected'));
    expect(l.logs().find((x) => x.interaction === s.legacy && x.stream === false)?.msg).toBe(
      `interaction #${s.legacy} Legacy is not on the stream: api v1.1: the activity stream carries only X Activity API events; it is served by its webhook (omni listen without --stream, or omni interaction edit ${s.legacy} --api activity)`,
    );
    expect(l.logs().find((x) => x.subscription)).toMatchObject({ interaction: s.id, subscription: 'dm.sent', account: ACCOUNT_ID });
    const subs = s.tw.x.activitySubscriptions().filter((x) => x.filter.user_id === ACCOUNT_ID);
    expect(subs.map((x) => [x.eventType, x.tag ?? null, x.webhookId ?? null]).sort()).toEqual([
      ['dm.received', null, null],
      ['dm.sent', `omni:${s.id}`, null],
    ]);
    const stream = s.tw.requestsTo('GET', '/2/activity/stream');
    expect(stream[0]!.auth).toMatchObject({ type: 'bearer' });

    s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'my order is late' });
    const first = await l.waitForLog((x) => x.msg === 'delivery' && x.source === 'stream');
    expect(first).toMatchObject({ interaction: s.id, interactionName: 'Support', status: 200, results: [expect.objectContaining({ outcome: 'new_ticket', sender: CUSTOMER.id, screenName: 'jane' })] });
    expect(await s.rows('SELECT t.interaction_id, m.text FROM messages m JOIN tickets t ON t.id = m.ticket_id')).toEqual([{ interaction_id: s.id, text: 'my order is late' }]);

    // X drops the connection; a DM sent meanwhile comes with the backfill of the reconnect.
    s.tw.x.dropStreams();
    s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'while the stream was down' });
    await l.waitForLog((x) => x.msg?.startsWith('stream disconnected'));
    await waitFor(() => connects(l) >= 2, 'the reconnect', 10_000);
    await waitFor(() => dmLines(l).length >= 2, 'the backfilled DM', 10_000);
    expect(s.tw.requestsTo('GET', '/2/activity/stream').at(-1)!.query.backfill_minutes).toBe('1');
    // The reconnect also has the listener reconcile from X's DM history: whichever of the two comes
    // first stores the DM, the other finds it stored (a reconcile may also re-read the first DM).
    const missedId = dmLines(l)[1]!.results[0].id as string;
    const outcomes = l.logs().filter((x) => x.msg === 'delivery' && (x.source === 'reconcile' || x.source === 'stream')).flatMap((x) => x.results.filter((r: any) => r.id === missedId).map((r: any) => r.outcome));
    expect(outcomes.filter((o: string) => o === 'appended')).toHaveLength(1);
    expect(outcomes.every((o: string) => o === 'appended' || o === 'duplicate')).toBe(true);
    expect((await s.rows('SELECT text FROM messages ORDER BY id')).map((r) => r.text)).toEqual(['my order is late', 'while the stream was down']);
    expect(await (await fetch(`${l.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${l.url}/metrics`)).text();
    expect(metrics).toMatch(/omni_stream_connections_total 2/);
    expect(metrics).toMatch(/omni_stream_connected 1/);

    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(l.logs().at(-1)).toMatchObject({ msg: 'stopped' });
    await waitFor(() => s.tw.x.streamConnections() === 0, 'the stream connection closed');
    expect(l.stderr()).toBe('');

    // Started again asking X for the last 5 minutes: both DMs come again and are recognised.
    const again = await s.listen(['--stream-backfill', '5']);
    await waitFor(() => dmLines(again).length >= 2, 'the re-sent DMs', 10_000);
    expect(s.tw.requestsTo('GET', '/2/activity/stream').at(-1)!.query.backfill_minutes).toBe('5');
    expect(dmLines(again).flatMap((x) => x.results.map((r: any) => r.outcome))).toEqual(['duplicate', 'duplicate']);
    expect((await s.rows('SELECT count(*) AS n FROM messages'))[0].n).toBe(2);
    expect(await again.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('says in one line when a subscription cannot be made, streams all the same, and stops at once even while X does not answer', async () => {
    const s = await setup();
    s.tw.failNext({ method: 'POST', path: '/2/activity/subscriptions', status: 403, times: 2, body: { title: 'Client Forbidden', detail: 'This request must be made using an approved developer account that is enrolled in the requested endpoint.', type: 'https://api.twitter.com/2/problems/client-forbidden', reason: 'client-not-enrolled' } });
    const l = await s.listen();
    const line = await l.waitForLog((x) => x.level === 'error');
    expect(line).toMatchObject({ msg: `interaction #${s.id} Support: cannot make sure of its DM subscriptions; its DMs may not reach the stream`, interaction: s.id });
    await l.waitForLog((x) => x.msg?.startsWith('stream connected'));
    expect(await l.stop()).toEqual({ code: 0, signal: null });

    // X never answers the subscription list: SIGTERM does not wait for the call's time limit.
    s.tw.failNext({ method: 'GET', path: '/2/activity/subscriptions', stall: true });
    const stuck = await startListener({ db: s.dbPath, env: { OMNI_TWITTER_API_URL: s.tw.url, OMNI_TWITTER_TIMEOUT_MS: '60000' }, args: ['--stream', '--no-watchdog'] });
    closers.push(() => stuck.kill9());
    await waitFor(() => s.tw.requestsTo('GET', '/2/activity/subscriptions').length > 1, 'the stalled call');
    const started = Date.now();
    expect(await stuck.stop()).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('serves the accounts of one app over one connection, each DM on the interaction of its account', async () => {
    const SALES_ID = '2234567890123456789';
    const tw = await startFakeTwitter({
      apps: [testApp()],
      users: [testUser(), testUser({ userId: SALES_ID, screenName: 'acme_sales', accessToken: '2-sales', accessTokenSecret: 'x' })],
      x: { clients: [{ clientId: 'cid', redirectUris: [] }] },
    });
    closers.push(() => tw.close());
    const dbPath = testDatabase();
    const ids: number[] = [];
    const db = await openDatabase(dbPath);
    try {
      for (const [name, account] of [['Support', ACCOUNT_ID], ['Sales', SALES_ID]] as const) {
        const id = (await seedInteraction(dbPath, { name, accountUserId: null })).id;
        const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
        await updateInteraction(db.kysely, id, { api: 'activity', dev_environment: '', client_id_enc: box.encrypt('cid', 'client_id_enc') });
        const t = tw.x.issueTokens(account);
        await storeAuthorization(db.kysely, box, id, { accessToken: t.access_token, refreshToken: t.refresh_token!, expiresAt: new Date(Date.now() + 7_200_000).toISOString(), scopes: t.scope }, { userId: account, username: name, name: null });
        ids.push(id);
      }
    } finally {
      await db.close();
    }
    const l = await startListener({ db: dbPath, env: { OMNI_TWITTER_API_URL: tw.url }, args: ['--stream', '--no-watchdog'] });
    closers.push(() => l.kill9());
    await l.waitForLog((x) => x.msg?.startsWith('stream connected'));
    expect(tw.x.streamConnections()).toBe(1);
    expect(tw.x.activitySubscriptions().map((x) => `${x.filter.user_id} ${x.eventType} ${x.tag}`).sort()).toEqual([
      `${ACCOUNT_ID} dm.received omni:${ids[0]}`,
      `${ACCOUNT_ID} dm.sent omni:${ids[0]}`,
      `${SALES_ID} dm.received omni:${ids[1]}`,
      `${SALES_ID} dm.sent omni:${ids[1]}`,
    ]);
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: SALES_ID, text: 'for sales' });
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'for support' });
    await waitFor(() => dmLines(l).length >= 2, 'both DMs');
    expect(await readRowsAt(dbPath, 'SELECT t.interaction_id, m.text FROM messages m JOIN tickets t ON t.id = m.ticket_id ORDER BY m.text')).toEqual([
      { interaction_id: ids[1], text: 'for sales' },
      { interaction_id: ids[0], text: 'for support' },
    ]);
    expect(await l.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses to start when no interaction can be streamed, saying why for each', async () => {
    const dbPath = testDatabase();
    const legacy = (await seedInteraction(dbPath, { name: 'Legacy' })).id;
    const env = { HOME: tempDir(), ...testSecretEnv(dbPath) };
    const r = await runCli(['--db', dbPath, 'listen', '--stream', '--port', '0'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`omni listen --stream: no interaction can be read from X's activity stream (#${legacy} Legacy: api v1.1:`);
    expect(r.stderr).toContain('omni interaction new --api activity');
    const bad = await runCli(['--db', dbPath, 'listen', '--stream', '--stream-backfill', '9', '--port', '0'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--stream-backfill must be 0 to 5 minutes (X re-sends at most 5), not '9'");
  });
});
