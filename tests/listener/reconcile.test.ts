// The listener reconciles from X's DM history, end to end (built `omni listen`, fake X): a DM X drops
// appears as a ticket within one reconcile interval, once; a DM delivered normally is never doubled;
// the DM omni sent is never imported as a customer message; down for hours with the replay refused,
// the listener brings every DM in on start; `omni usage` agrees with what the fake X bills.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { loadSecretBox } from '../../src/secrets.js';
import { createXGateway } from '../../src/twitter/gateway-v2.js';
import { createUserTokenSource } from '../../src/twitter/user-token.js';
import { runCli } from '../support/cli.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../support/engine.js';
import { queryRows } from '../support/rows.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';
import { authorizeSeededActivity } from '../support/activity-account.js';

const ANN = '4242424242424242424';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup() {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], retryDelaysMs: [50, 50], deliveryTimeoutMs: 1_000, x: { clients: [{ clientId: 'cid', redirectUris: [] }] } });
  closers.push(() => tw.close());
  const dir = tempDir();
  const dbPath = testDatabase(dir);
  const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT_ID });
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  await authorizeSeededActivity(db, box, tw, id);
  const env = { HOME: dir, ...testSecretEnv(dbPath), OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_TIMEOUT_MS: '3000' };
  const listen = async (args: string[] = []) => {
    const l = await startListener({ db: dbPath, env, args });
    closers.push(() => l.stop());
    return l;
  };
  const omni = (...args: string[]) => runCli(['--db', dbPath, ...args], { env });
  return { tw, db, box, id, listen, omni };
}

/** The webhook on the fake X pointing at the listener, and the account's dm.received subscription to it. */
async function connect(tw: FakeTwitter, db: Db, box: ReturnType<typeof loadSecretBox>, id: number, l: RunningListener) {
  const hook = tw.x.addWebhook(TEST_SECRETS.apiKey, `${l.url}/webhooks/twitter/${id}`);
  await db.kysely.updateTable('interactions').set({ webhook_id: hook.id }).where('id', '=', id).execute();
  const gw = createXGateway({ baseUrl: tw.url, timeoutMs: 3_000, app: TEST_SECRETS, userToken: createUserTokenSource({ db: db.kysely, box, interactionId: id, client: { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 3_000 } }) });
  await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: hook.id, tag: `omni:${id}` });
  gw.close();
  return hook;
}

const messages = (db: Db): Promise<Array<{ direction: string; text: string; twitter_event_id: string }>> => queryRows(db, 'SELECT direction, text, twitter_event_id FROM messages ORDER BY id');
const inbound = async (db: Db) => (await messages(db)).filter((m) => m.direction === 'inbound');
const downFor = (db: Db, ms: number) => queryRows(db, 'UPDATE listener_heartbeats SET last_alive_at = ?', new Date(Date.now() - ms).toISOString());
const reconcileLines = (l: RunningListener) => l.logs().filter((x) => typeof x.msg === 'string' && x.msg.startsWith('reconcile #'));

describe(`omni listen: reconciliation from X's DM history, on ${TEST_ENGINE}`, () => {
  it('a DM X drops arrives within one interval, once; delivered DMs and omni\'s own reply are never doubled; usage agrees with X', async () => {
    const { tw, db, box, id, listen, omni } = await setup();
    const l = await listen(['--reconcile-every', '2s']);
    await connect(tw, db, box, id, l);
    await l.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('reconcile #') && x.reconcile === 'start');

    tw.x.customerSendsDm({ from: { id: ANN, username: 'ann' }, toUserId: ACCOUNT_ID, text: 'delivered normally' });
    await waitFor(async () => (await inbound(db)).length === 1, 'the delivered DM');
    tw.x.dropNextDeliveries(1);
    const lost = tw.x.customerSendsDm({ from: { id: ANN, username: 'ann' }, toUserId: ACCOUNT_ID, text: 'X lost this one' });
    expect(lost.deliveries[0]!.dropped).toBe(true);
    const since = Date.now();
    await waitFor(async () => (await inbound(db)).length === 2, 'the dropped DM, from the DM history', 8_000);
    expect(Date.now() - since).toBeLessThan(2_000 + 3_000);
    const found = await l.waitForLog((x) => x.source === 'reconcile' && x.interaction === id);
    expect(found).toMatchObject({ status: 200 });
    const summary = await l.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('reconcile #') && x.new === 1);
    expect(summary).toMatchObject({ level: 'warn', interaction: id, alreadyStored: 1 });
    expect(summary.msg).toContain('X had not delivered this DM');

    // omni answers: the reply is in X's history as the account's DM; it is the outbox row's echo.
    const ticket = (await db.kysely.selectFrom('tickets').select('id').executeTakeFirstOrThrow()).id;
    const reply = await omni('ticket', 'reply', String(ticket), 'we are on it');
    expect(reply.code, reply.stderr).toBe(0);
    // Two more intervals.
    const runs = reconcileLines(l).length;
    await waitFor(() => reconcileLines(l).length >= runs + 2, 'two more reconcile runs', 10_000);
    expect((await inbound(db)).map((m) => m.text)).toEqual(['delivered normally', 'X lost this one']);
    expect((await messages(db)).filter((m) => m.direction === 'outbound').map((m) => m.text)).toEqual(['we are on it']);
    expect(new Set((await messages(db)).map((m) => m.twitter_event_id)).size).toBe(3);
    // Each later run read one small page and found nothing.
    const later = reconcileLines(l).slice(-2);
    for (const x of later) expect(x).toMatchObject({ new: 0, pages: 1 });

    await l.stop();
    const usage = await omni('usage', '--json');
    const u = JSON.parse(usage.stdout);
    const billed = tw.x.billable();
    expect(u.total).toMatchObject({ delivered: billed.delivered, read: billed.read, sent: billed.sent });
    expect(u.total).toMatchObject({ delivered: 1, sent: 1 });
    expect(u.total.read).toBeGreaterThanOrEqual(2);
  }, 40_000);

  it('down for hours with the replay refused: on start, reconciliation brings every DM in', async () => {
    const { tw, db, box, id, listen } = await setup();
    const first = await listen(['--reconcile-every', '0']);
    await connect(tw, db, box, id, first);
    tw.x.customerSendsDm({ from: { id: ANN, username: 'ann' }, toUserId: ACCOUNT_ID, text: 'before the stop' });
    await waitFor(async () => (await inbound(db)).length === 1, 'the first DM');
    await waitFor(async () => (await queryRows(db, 'SELECT count(*) AS n FROM listener_heartbeats'))[0].n === 1, 'the heartbeat');
    await first.stop();
    const missed = ['while down 1', 'while down 2', 'while down 3'].map((text) => tw.x.customerSendsDm({ from: { id: ANN, username: 'ann' }, toUserId: ACCOUNT_ID, text }));
    await waitFor(() => missed.every((m) => m.deliveries.every((d) => d.attempts.length === 3 && !d.delivered)), 'X to give up on the missed DMs');
    tw.x.refuseReplays('Replay is not available for this webhook.');
    await downFor(db, 5 * 3_600_000);

    const second = await listen(['--port', String(first.port), '--reconcile-every', '0']);
    // X refused the replay (its reason in the log); reconciliation does not depend on it.
    await second.waitForLog((x) => typeof x.msg === 'string' && x.msg.includes('replay') && JSON.stringify(x).includes('Replay is not available'));
    await waitFor(async () => (await inbound(db)).length === 4, 'every missed DM, from the DM history', 8_000);
    expect((await inbound(db)).map((m) => m.text)).toEqual(['before the stop', 'while down 1', 'while down 2', 'while down 3']);
    const line = await second.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('reconcile #'));
    expect(line).toMatchObject({ reconcile: 'start', new: 3, alreadyStored: 1 });
  }, 40_000);

  it('--stream: after a reconnect the listener reconciles that app\'s accounts at once', async () => {
    const { tw, db, id, listen } = await setup();
    const l = await listen(['--stream', '--no-watchdog', '--reconcile-every', '0']);
    await l.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('stream connected'));
    await l.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('reconcile #') && x.reconcile === 'start');
    tw.x.customerSendsDm({ from: { id: ANN, username: 'ann' }, toUserId: ACCOUNT_ID, text: 'streamed' });
    await waitFor(async () => (await inbound(db)).length === 1, 'the streamed DM');
    tw.x.dropStreams();
    const line = await l.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('reconcile #') && x.reconcile === 'stream reconnected', 10_000);
    expect(line).toMatchObject({ interaction: id, new: 0, alreadyStored: 1 });
    expect(await inbound(db)).toHaveLength(1);
  }, 30_000);
});
