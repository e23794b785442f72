// Nothing lost while down, end to end: the built `omni listen` records its heartbeat; stopped, it
// misses the DMs a customer sends meanwhile (the fake X tries them, fails, and keeps them for replay);
// started again after more than a minute, it asks X to replay its webhook from the last heartbeat, and
// every DM, the one delivered before the stop included, is stored exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { loadSecretBox } from '../../src/secrets.js';
import { createXGateway, replayDate } from '../../src/twitter/gateway-v2.js';
import { createUserTokenSource } from '../../src/twitter/user-token.js';
import { replayStart, REPLAY_MARGIN_MS } from '../../src/listener/replay-on-start.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { TEST_ENGINE, testDatabase, testSecretEnv } from '../support/engine.js';
import { queryRows } from '../support/rows.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';
import { authorizeSeededActivity } from '../support/activity-account.js';

const CUSTOMER = '4242424242424242424';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup() {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], retryDelaysMs: [50, 50], deliveryTimeoutMs: 1_000, x: { clients: [{ clientId: 'cid', redirectUris: [] }] } });
  closers.push(() => tw.close());
  const dbPath = testDatabase();
  const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT_ID });
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  await authorizeSeededActivity(db, box, tw, id);
  const listen = async (args: string[] = []) => {
    const l = await startListener({ db: dbPath, env: { OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_TIMEOUT_MS: '3000' }, args });
    closers.push(() => l.stop());
    return l;
  };
  return { tw, db, box, id, dbPath, listen };
}

/** The webhook on the fake X pointing at the listener, and the account's dm.received subscription to it. */
async function connect(tw: FakeTwitter, db: Db, box: ReturnType<typeof loadSecretBox>, id: number, l: RunningListener) {
  const hook = tw.x.addWebhook(TEST_SECRETS.apiKey, `${l.url}/webhooks/twitter/${id}`);
  await db.kysely.updateTable('interactions').set({ webhook_id: hook.id }).where('id', '=', id).execute();
  const gw = createXGateway({
    baseUrl: tw.url,
    timeoutMs: 3_000,
    app: TEST_SECRETS,
    userToken: createUserTokenSource({ db: db.kysely, box, interactionId: id, client: { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 3_000 } }),
  });
  await gw.createActivitySubscription({ eventType: 'dm.received', userId: ACCOUNT_ID, webhookId: hook.id, tag: `omni:${id}` });
  gw.close();
  return hook;
}

const inbound = (db: Db): Promise<Array<{ text: string; twitter_event_id: string }>> => queryRows(db, "SELECT text, twitter_event_id FROM messages WHERE direction = 'inbound' ORDER BY id");
const heartbeats = (db: Db): Promise<Array<{ listener: string; pid: number; last_alive_at: string; stopped_at: string | null }>> => queryRows(db, 'SELECT * FROM listener_heartbeats');
/** The downtime a test cannot wait for: the last heartbeat moved back, as if the listener had been down that long. */
const downFor = (db: Db, ms: number) => queryRows(db, 'UPDATE listener_heartbeats SET last_alive_at = ?', new Date(Date.now() - ms).toISOString());

describe(`omni listen: replay on start, on ${TEST_ENGINE}`, () => {
  it('stopped, DMs sent meanwhile, started again: X replays the webhook and each DM is stored once', async () => {
    const { tw, db, box, id, listen } = await setup();
    const first = await listen();
    const hook = await connect(tw, db, box, id, first);
    tw.x.customerSendsDm({ from: { id: CUSTOMER, username: 'ann' }, toUserId: ACCOUNT_ID, text: 'before the stop' });
    await waitFor(async () => (await inbound(db)).length === 1, 'the first DM to be stored');
    // Written just after "listening on …".
    await waitFor(async () => (await heartbeats(db)).length === 1, 'the first heartbeat');
    expect(await heartbeats(db)).toEqual([expect.objectContaining({ listener: expect.stringMatching(new RegExp(`:${first.port}$`)), pid: first.child.pid, stopped_at: null })]);
    // The first start on a database asks for nothing.
    expect(tw.requestsTo('POST', '/2/webhooks/replay')).toEqual([]);

    await first.stop();
    expect((await heartbeats(db))[0]!.stopped_at).not.toBeNull();
    const missed = ['while down 1', 'while down 2'].map((text) => tw.x.customerSendsDm({ from: { id: CUSTOMER, username: 'ann' }, toUserId: ACCOUNT_ID, text }));
    // X tried each one, got no answer, and gave up.
    await waitFor(() => missed.every((m) => m.deliveries.every((d) => d.attempts.length === 3 && !d.delivered)), 'X to give up on the missed DMs');
    expect(await inbound(db)).toHaveLength(1);

    await downFor(db, 5 * 60_000);
    const lastAlive = (await heartbeats(db))[0]!.last_alive_at;
    const second = await listen(['--port', String(first.port)]);
    const line = await second.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('replay requested'));
    const [job] = tw.x.replays;
    expect(job).toMatchObject({ webhookId: hook.id });
    expect(line).toMatchObject({ jobId: job!.jobId, webhookId: hook.id, interactions: [id], lastAliveAt: lastAlive });
    const [req] = tw.requestsTo('POST', '/2/webhooks/replay');
    expect(req!.auth?.type).toBe('bearer');
    expect(JSON.parse(req!.body)).toMatchObject({ webhook_id: hook.id, from_date: replayDate(new Date(Math.floor((Date.parse(lastAlive) - REPLAY_MARGIN_MS) / 60_000) * 60_000)) });
    await waitFor(() => job!.state !== 'running', 'the replay job to finish', 10_000);
    expect(job!.state).toBe('Complete');
    // The DM delivered before the stop was replayed too, and deduplicated.
    expect(job!.resent).toHaveLength(3);
    await waitFor(async () => (await inbound(db)).length === 3, 'the missed DMs to be stored');
    await new Promise((r) => setTimeout(r, 200));
    const stored = await inbound(db);
    expect(stored.map((m) => m.text).sort()).toEqual(['before the stop', 'while down 1', 'while down 2']);
    expect(new Set(stored.map((m) => m.twitter_event_id)).size).toBe(3);
    await second.stop();

    // Restarted within a minute: nothing to replay.
    const third = await listen(['--port', String(first.port)]);
    await new Promise((r) => setTimeout(r, 300));
    await third.stop();
    expect(tw.requestsTo('POST', '/2/webhooks/replay')).toHaveLength(1);

    // --no-replay after a long gap: nothing asked of X, and the log says how to do it by hand.
    await downFor(db, 10 * 60_000);
    const fourth = await listen(['--port', String(first.port), '--no-replay']);
    const warned = await fourth.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('replay: off (--no-replay)'));
    expect(warned.msg).toContain('omni webhook replay <interaction> --since ');
    expect(tw.requestsTo('POST', '/2/webhooks/replay')).toHaveLength(1);
  });
});

describe('replayStart', () => {
  const now = new Date('2026-12-01T08:00:00Z');
  it('no replay on a first start or after a gap of a minute or less; otherwise from the last heartbeat minus the margin, capped at 24 h', () => {
    expect(replayStart(undefined, now)).toEqual({ skip: 'no listener ran on this database before' });
    expect(replayStart('2026-12-01T07:59:00Z', now)).toEqual({ skip: 'a listener was alive 60 s ago' });
    expect(replayStart('2026-12-01T07:50:00Z', now)).toEqual({ since: new Date('2026-12-01T07:48:00Z'), capped: false });
    expect(replayStart('2026-11-29T07:50:00Z', now)).toEqual({ since: new Date('2026-11-30T08:00:00Z'), capped: true });
  });
});
