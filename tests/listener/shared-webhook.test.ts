// Two accounts on one app share its one X webhook: X posts every account's events to the one URL,
// which names the first interaction's path. The real listener (in process, HTTP on 127.0.0.1) gets
// the fake X's signed deliveries (XAA and Account Activity v2) and puts each on the interaction of its
// account; a delivery for an account no interaction owns is answered 200, recorded as rejected and
// stored nowhere. v1.1 keeps refusing another account's delivery (403).
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { softDeleteInteraction, updateInteraction } from '../../src/db/interactions.js';
import { createJsonLog } from '../../src/listener/log.js';
import { startListener, type Listener } from '../../src/listener/server.js';
import { loadSecretBox } from '../../src/secrets.js';
import { signBody, SIGNATURE_HEADER } from '../../src/twitter/signature.js';
import { storeAuthorization } from '../../src/twitter/user-token.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { appBearer, raw } from '../support/fake-x/client.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../support/engine.js';
import { queryRows } from '../support/rows.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const SALES_ID = '2234567890123456789';
const STRANGER_ID = '3234567890123456789';
const CUSTOMER = { id: '9876543210987654321', username: 'jane', name: 'Jane Doe' };

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

interface Setup {
  tw: FakeTwitter;
  /** The database's file or URL (Db.path masks a URL's password). */
  where: string;
  db: Db;
  listener: Listener;
  logs: () => Array<Record<string, any>>;
  support: number;
  sales: number;
  hookId: string;
  bearer: string;
  rows: (sql: string, ...p: unknown[]) => Promise<any[]>;
}

/**
 * Interaction "Support" (activity, account in its row) and "Sales" (api v2, account known only from
 * its OAuth 2.0 authorization) on one app; the app's webhook names Support's path.
 */
async function setup(): Promise<Setup> {
  const tw = await startFakeTwitter({
    apps: [testApp()],
    users: [testUser(), testUser({ userId: SALES_ID, screenName: 'acme_sales', accessToken: '2-sales', accessTokenSecret: 'sales-secret' }), testUser({ userId: STRANGER_ID, screenName: 'someone', accessToken: '3-x', accessTokenSecret: 'x' })],
    retryDelaysMs: [50],
    deliveryTimeoutMs: 2000,
    x: { clients: [{ clientId: 'cid', redirectUris: [] }] },
  });
  closers.push(() => tw.close());
  const dbPath = testDatabase();
  const support = (await seedInteraction(dbPath, { name: 'Support', accountUserId: ACCOUNT_ID })).id;
  const sales = (await seedInteraction(dbPath, { name: 'Sales', accountUserId: null })).id;
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  await storeAuthorization(db.kysely, box, sales, { accessToken: 'a', refreshToken: 'r', expiresAt: new Date(Date.now() + 7_200_000).toISOString(), scopes: 'dm.read dm.write tweet.read users.read offline.access' }, { userId: SALES_ID, username: 'acme_sales', name: null });
  const lines: string[] = [];
  const listener = await startListener({ db, box, log: createJsonLog({ write: (s: string) => lines.push(s) }), host: '127.0.0.1', port: 0, dbPath: db.path });
  closers.push(async () => void (await listener.close(1000)));

  const bearer = await appBearer(tw.url, TEST_SECRETS.apiKey, TEST_SECRETS.apiSecretKey);
  // X runs a real CRC against the listener, answered with Support's secret (the app's).
  const created = await raw(tw.url, 'POST', '/2/webhooks', { token: bearer, json: { url: `${listener.url}/webhooks/twitter/${support}` } });
  expect(created.status).toBe(200);
  const hookId = created.body.data.id as string;
  await updateInteraction(db.kysely, support, { api: 'activity', dev_environment: '', webhook_id: hookId });
  await updateInteraction(db.kysely, sales, { api: 'v2', dev_environment: '', webhook_id: hookId });
  // Support: XAA dm.received; Sales: Account Activity v2 (the v1.1 body shape with for_user_id).
  const supportToken = tw.x.issueTokens(ACCOUNT_ID).access_token;
  expect((await raw(tw.url, 'POST', '/2/activity/subscriptions', { token: supportToken, json: { event_type: 'dm.received', filter: { user_id: ACCOUNT_ID }, webhook_id: hookId, tag: `omni:${support}` } })).status).toBe(200);
  const salesToken = tw.x.issueTokens(SALES_ID).access_token;
  expect((await raw(tw.url, 'POST', `/2/account_activity/webhooks/${hookId}/subscriptions/all`, { token: salesToken, json: {} })).status).toBe(200);
  return {
    tw,
    where: dbPath,
    db,
    listener,
    support,
    sales,
    hookId,
    bearer,
    logs: () => lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    rows: (sql, ...p) => queryRows(db, sql, ...p),
  };
}

const delivered = (d: { delivered: boolean }) => d.delivered;

describe(`one X webhook shared by the interactions of one app, on ${TEST_ENGINE}`, () => {
  it("puts each account's DMs on its own interaction, whichever interaction's path the URL names", async () => {
    const s = await setup();
    const toSupport = s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'for support' });
    const toSales = s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: SALES_ID, text: 'for sales' });
    expect(toSupport.deliveries.map((d) => d.kind)).toEqual(['xaa']);
    expect(toSales.deliveries.map((d) => d.kind)).toEqual(['aaa']);
    await waitFor(() => [...toSupport.deliveries, ...toSales.deliveries].every(delivered), 'both deliveries answered 200');
    expect(await s.rows('SELECT t.interaction_id, m.text FROM messages m JOIN tickets t ON t.id = m.ticket_id ORDER BY m.id')).toEqual([
      { interaction_id: s.support, text: 'for support' },
      { interaction_id: s.sales, text: 'for sales' },
    ]);
    const salesLine = s.logs().find((l) => l.msg === 'delivery' && l.interaction === s.sales)!;
    expect(salesLine).toMatchObject({ via: s.support, results: [expect.objectContaining({ outcome: 'new_ticket' })] });

    // A redelivery routed the same way is the same DM: stored once.
    const again = await fetch(`${s.listener.url}/webhooks/twitter/${s.support}`, { method: 'POST', headers: { [SIGNATURE_HEADER]: toSales.deliveries[0]!.signature, 'content-type': 'application/json' }, body: toSales.deliveries[0]!.body });
    expect(((await again.json()) as any).results[0]).toMatchObject({ outcome: 'duplicate' });
    expect((await s.rows('SELECT count(*) AS n FROM messages'))[0].n).toBe(2);
  });

  it('answers 200 to a delivery for an account no interaction owns, records it as rejected, and stores it nowhere', async () => {
    const s = await setup();
    const stranger = s.tw.x.issueTokens(STRANGER_ID).access_token;
    expect((await raw(s.tw.url, 'POST', '/2/activity/subscriptions', { token: stranger, json: { event_type: 'dm.received', filter: { user_id: STRANGER_ID }, webhook_id: s.hookId } })).status).toBe(200);
    const sent = s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: STRANGER_ID, text: 'to nobody here' });
    await waitFor(() => sent.deliveries.every(delivered), 'the delivery answered 200');
    expect(sent.deliveries[0]!.attempts).toEqual([expect.objectContaining({ status: 200 })]);
    expect((await s.rows('SELECT count(*) AS n FROM messages'))[0].n + (await s.rows('SELECT count(*) AS n FROM requesters'))[0].n).toBe(0);
    const reason = `no interaction on webhook ${s.hookId} owns account ${STRANGER_ID} (delivered to interaction #${s.support}'s URL): not stored; authorize that account on an interaction of this app (omni interaction authorize <id>)`;
    const line = await waitFor(() => s.logs().find((l) => l.msg === 'delivery' && l.results?.[0]?.outcome === 'rejected'), 'the log line');
    expect(line).toMatchObject({ interaction: s.support, status: 200, results: [{ event: 'message_create', outcome: 'rejected', id: sent.event.id, sender: CUSTOMER.id, screenName: 'jane', detail: reason }] });
    s.listener.events.flush();
    expect(await s.rows("SELECT interaction_id, kind, result, detail FROM webhook_events WHERE kind = 'delivery_unrouted'")).toEqual([{ interaction_id: s.support, kind: 'delivery_unrouted', result: 'no_owner', detail: reason }]);
    expect(s.listener.metrics.render()).toMatch(/omni_delivery_events_total\{outcome="rejected"\} 1/);
  });

  it('follows interactions as they change: a deleted owner stops receiving at once, a newly authorized one within a second', async () => {
    const s = await setup();
    await softDeleteInteraction(s.db.kysely, s.sales, new Date().toISOString());
    const lost = s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: SALES_ID, text: 'sales is gone' });
    await waitFor(() => lost.deliveries.every(delivered), 'the delivery answered');
    expect((await s.rows('SELECT count(*) AS n FROM messages'))[0].n).toBe(0);

    // A third interaction of the same app takes the Sales account over.
    const third = (await seedInteraction(s.where, { name: 'Sales 2', accountUserId: SALES_ID })).id;
    await updateInteraction(s.db.kysely, third, { api: 'v2', dev_environment: '', webhook_id: s.hookId });
    await new Promise((r) => setTimeout(r, 1100));
    const found = s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: SALES_ID, text: 'sales is back' });
    await waitFor(() => found.deliveries.every(delivered), 'the delivery answered');
    expect(await s.rows('SELECT t.interaction_id, m.text FROM messages m JOIN tickets t ON t.id = m.ticket_id')).toEqual([{ interaction_id: third, text: 'sales is back' }]);
  });

  it('refuses to route to one of two owners of an account, or to an owner that holds another API secret', async () => {
    const s = await setup();
    const body = JSON.stringify({ for_user_id: SALES_ID, direct_message_events: [{ type: 'message_create', id: '1900000000000000001', created_timestamp: String(Date.now()), message_create: { target: { recipient_id: SALES_ID }, sender_id: CUSTOMER.id, message_data: { text: 'hi' } } }] });
    const post = async () => {
      const res = await fetch(`${s.listener.url}/webhooks/twitter/${s.support}`, { method: 'POST', headers: { [SIGNATURE_HEADER]: signBody(TEST_SECRETS.apiSecretKey, body) }, body });
      expect(res.status).toBe(200);
      return ((await res.json()) as any).results[0];
    };
    const twin = (await seedInteraction(s.where, { name: 'Twin', accountUserId: SALES_ID })).id;
    await updateInteraction(s.db.kysely, twin, { api: 'activity', dev_environment: '', webhook_id: s.hookId });
    expect(await post()).toMatchObject({ outcome: 'rejected', detail: `interactions #${s.sales} and #${twin} on webhook ${s.hookId} all own account ${SALES_ID}: not stored; delete or re-authorize all but one` });

    // Fixed by deleting the twin: noticed within a second.
    await softDeleteInteraction(s.db.kysely, twin, new Date().toISOString());
    const box = loadSecretBox(s.where, testSecretEnv(s.where));
    const { encryptSecrets } = await import('../../src/interactions/model.js');
    const other = encryptSecrets({ ...TEST_SECRETS, apiSecretKey: 'another-app-secret' }, box) as Record<string, string>;
    await s.db.kysely.updateTable('interactions').set({ api_secret_key_enc: other.api_secret_key_enc! }).where('id', '=', s.sales).execute();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await post()).toMatchObject({ outcome: 'rejected', detail: `interaction #${s.sales} owns account ${SALES_ID} but holds another API secret than #${s.support}, whose secret signed this delivery: not stored; give both the same app's keys (omni interaction edit ${s.sales})` });
    expect((await s.rows('SELECT count(*) AS n FROM messages'))[0].n).toBe(0);
  });

  it('keeps v1.1 as it was: a delivery for another account is refused 403', async () => {
    const s = await setup();
    await updateInteraction(s.db.kysely, s.support, { api: 'v1.1', dev_environment: 'dev' });
    const sent = s.tw.x.customerSendsDm({ from: CUSTOMER, toUserId: SALES_ID, text: 'for sales' });
    await waitFor(() => sent.deliveries[0]!.attempts.length >= 1, 'an attempt');
    expect(sent.deliveries[0]!.attempts[0]).toMatchObject({ status: 403 });
    expect((await s.rows('SELECT count(*) AS n FROM messages'))[0].n).toBe(0);
  });
});

describe('the pretty log of a shared webhook', () => {
  it("names the interaction that took the delivery and, dimmed, the one whose URL X called", async () => {
    const { createPrettyLog } = await import('../../src/listener/log.js');
    const lines: string[] = [];
    const log = createPrettyLog((l) => lines.push(l), false, () => new Date('2026-01-01T00:00:00Z'));
    log.delivery({ interaction: { id: 2, name: 'Sales' }, via: { id: 1, name: 'Support' }, status: 200, results: [{ event: 'message_create', outcome: 'new_ticket', sender: '5', screenName: 'jane', ticket: 7 }], ms: 1, remote: undefined });
    log.delivery({ interaction: { id: 1, name: 'Support' }, status: 200, results: [{ event: 'replay_job_status', outcome: 'recorded', detail: 'replay job 9 of webhook 8: Complete' }], ms: 1, remote: undefined });
    expect(lines[0]).toMatch(/#2 Sales .* @jane .* #7 .* new ticket \(via #1's URL\)$/);
    expect(lines[1]).toMatch(/replay_job_status .* recorded: replay job 9 of webhook 8: Complete$/);
  });
});
