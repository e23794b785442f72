// The outbox and Helper workers and the sending commands on either engine (run twice: SQLite, and
// PostgreSQL in the `postgres` project). Two listeners' workers on one database (two handles: two
// pools on PostgreSQL) drain one queue through the fake Twitter and every DM is sent once; the
// Helper's jobs are answered once each; `omni ticket reply|close` and `omni outbox list|retry`
// through the built CLI give the same answers on both engines.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { findInteraction } from '../../src/db/interactions.js';
import { intakeInteractionOf } from '../../src/db/intake.js';
import { inlineWriter, postgresWriter, type IntakeWriter } from '../../src/listener/intake-writer.js';
import { loadSecretBox } from '../../src/secrets.js';
import { createTwitterGateway } from '../../src/twitter/gateway.js';
import { startOutboxWorker } from '../../src/outbox/worker.js';
import { startChatbotWorker } from '../../src/chatbot/worker.js';
import type { Poller } from '../../src/outbox/poller.js';
import net from 'node:net';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { seedInteraction } from '../support/seed.js';
import { runCli } from '../support/cli.js';
import { dmDeliveryBody, newEventId } from '../support/deliveries.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { startFakeHelper, type FakeHelper } from '../support/fake-helper.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { TEST_TOMBSTONE_KEY } from '../support/intake.js';
import { memoryLog, waitFor } from '../support/wait.js';
import { queueOutboxRow } from '../support/rows.js';

const DM_PATH = '/1.1/direct_messages/events/new.json';
const ENV = { OMNI_SECRET_KEY: TEST_SECRET_KEY };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function installation(opts: { helper?: boolean } = {}): Promise<{ where: string; id: number; tw: FakeTwitter; dbs: [Db, Db] }> {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
  cleanups.push(() => tw.close());
  const where = testDatabase();
  const { id } = await seedInteraction(where, { env: ENV, accountUserId: ACCOUNT_ID, ...(opts.helper ? { helper: true } : {}) });
  const a = await openDatabase(where);
  const b = await openDatabase(where);
  cleanups.push(() => a.close(), () => b.close());
  return { where, id, tw, dbs: [a, b] };
}

function outboxWorker(db: Db, where: string, tw: FakeTwitter): Poller {
  const worker = startOutboxWorker({
    db,
    box: async () => loadSecretBox(where, ENV),
    twitter: async (c, o) => createTwitterGateway(c, { baseUrl: tw.url, timeoutMs: 2_000, ...o }),
    log: memoryLog(),
    pollMs: 20,
    retryBaseMs: 50,
    leaseMs: 10_000,
  });
  cleanups.push(() => worker.stop());
  return worker;
}


/** The listener's writer for this engine: a DM arrives as a webhook delivery would bring it. */
async function writerFor(db: Db): Promise<IntakeWriter> {
  const settings = { idleMs: 30 * 60_000, tombstoneKey: TEST_TOMBSTONE_KEY };
  return db.engine === 'postgres' ? postgresWriter(db.pool, settings) : inlineWriter(db.sqlite, settings);
}

async function deliver(db: Db, interactionId: number, sender: string, text: string): Promise<void> {
  const interaction = intakeInteractionOf(await findInteraction(db.kysely, String(interactionId)));
  const body = dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: sender, recipientId: ACCOUNT_ID, text, eventId: newEventId() }], users: { [sender]: { name: 'Ann', screenName: 'ann' } } });
  const [r] = await (await writerFor(db)).write([{ interaction, body, at: new Date().toISOString() }]);
  if (!r!.ok) throw r!.error;
}

async function setParam(db: Db, number: number, value: string): Promise<void> {
  const now = new Date().toISOString();
  await db.kysely.insertInto('parameters').values({ number, value, updated_at: now }).onConflict((oc) => oc.column('number').doUpdateSet({ value })).execute();
}

const unsent = async (db: Db) => (await db.kysely.selectFrom('outbox').select('id').where('status', '<>', 'sent').execute()).length;

describe('the outbox and Helper workers of two listeners on one database', () => {
  it('sends every queued DM exactly once across both workers, in order per recipient', async () => {
    const { where, id, tw, dbs } = await installation();
    const rows: number[] = [];
    for (let n = 0; n < 3; n++) for (let r = 0; r < 8; r++) rows.push(await queueOutboxRow(dbs[0], id, String(500 + r), `reply ${n} to ${500 + r}`));
    outboxWorker(dbs[0], where, tw);
    outboxWorker(dbs[1], where, tw);
    await waitFor(async () => (await unsent(dbs[1])) === 0, 'every DM sent', 20_000);
    // The fake Twitter counts what it was asked to send: each text once.
    const texts = tw.state.sentDms.map((d) => d.text);
    expect(texts).toHaveLength(rows.length);
    expect(new Set(texts).size).toBe(rows.length);
    expect(tw.requestsTo('POST', DM_PATH)).toHaveLength(rows.length);
    for (let r = 0; r < 8; r++) {
      const to = tw.state.sentDms.filter((d) => d.recipientId === String(500 + r)).map((d) => d.text);
      expect(to).toEqual([0, 1, 2].map((n) => `reply ${n} to ${500 + r}`));
    }
    const sent = await dbs[0].kysely.selectFrom('outbox').select(['status', 'attempts', 'twitter_dm_id']).execute();
    expect(sent.every((s) => s.status === 'sent' && s.attempts === 1 && s.twitter_dm_id !== null)).toBe(true);
  });

  it('answers each Helper job once with two Helper workers, queues the answer in the same transaction, and sends it once', async () => {
    const { where, id, tw, dbs } = await installation({ helper: true });
    const helper: FakeHelper = await startFakeHelper();
    cleanups.push(() => helper.close());
    helper.respond((req) => ({ kind: 'answer', messages: [{ text: `Bot heard: ${req.message}` }] }));
    await setParam(dbs[0], 450, 'Y');
    await setParam(dbs[0], 441, helper.url);
    for (const [sender, text] of [['11', 'hi'], ['12', 'hello'], ['11', 'again']] as const) await deliver(dbs[0], id, sender, text);
    expect(await dbs[0].kysely.selectFrom('helper_jobs').select('id').execute()).toHaveLength(3);
    for (const db of dbs) {
      const worker = startChatbotWorker({ db, log: memoryLog(), timeoutMs: 2_000, pollMs: 20, concurrency: 4 });
      cleanups.push(() => worker.stop());
    }
    outboxWorker(dbs[0], where, tw);
    outboxWorker(dbs[1], where, tw);
    await waitFor(async () => tw.state.sentDms.length === 3 && (await unsent(dbs[0])) === 0, 'the three answers sent', 20_000);
    expect(helper.requests.map((r) => `${r.sender}:${r.message}`).sort()).toEqual(['11:again', '11:hi', '12:hello']);
    // One conversation's jobs in order: 11 heard "hi" before "again".
    expect(helper.requests.filter((r) => r.sender === '11').map((r) => r.message)).toEqual(['hi', 'again']);
    expect(tw.state.sentDms.map((d) => `${d.recipientId}:${d.text}`).sort()).toEqual(['11:Bot heard: again', '11:Bot heard: hi', '12:Bot heard: hello']);
    const jobs = await dbs[1].kysely.selectFrom('helper_jobs').select(['status', 'attempts', 'outcome']).execute();
    expect(jobs).toEqual([0, 1, 2].map(() => ({ status: 'done', attempts: 1, outcome: 'answered' })));
    // The transcript links each answer to its outbox row and its DM id.
    const out = await dbs[0].kysely.selectFrom('helper_messages').select(['outbox_id', 'twitter_event_id']).where('direction', '=', 'outbound').execute();
    expect(out).toHaveLength(3);
    expect(out.every((m) => m.outbox_id !== null && m.twitter_event_id !== null)).toBe(true);
  });
});

describe('the sending commands on this engine', () => {
  it('ticket reply and close --message send at once; outbox list shows them; outbox retry sends a failed one again; doctor and db status see the database', async () => {
    const { where, id, tw, dbs } = await installation();
    await deliver(dbs[0], id, '11', 'where is my order?');
    const home = (await import('../support/tmp.js')).tempDir();
    const omni = (...args: string[]) => runCli(['--db', where, ...args], { env: { ...ENV, HOME: home, OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_TIMEOUT_MS: '3000' } });

    const reply = await omni('ticket', 'reply', '1', 'It ships today.', '--json');
    expect(reply.code, reply.stderr).toBe(0);
    expect(reply.stderr).toMatch(/^✓ reply to ticket 1 \(@ann \(Ann\)\): delivered \(outbox #1, DM \d+\)\n$/);
    expect(JSON.parse(reply.stdout)).toMatchObject({ id: 1, status: 'sent', ticketId: 1, recipientTwitterId: '11', text: 'It ships today.', attempts: 1 });

    // X refuses the next one for good (the requester does not accept DMs): failed, with the fix.
    tw.failNext({ method: 'POST', path: DM_PATH, status: 403, errors: [{ code: 349, message: 'You cannot send messages to this user.' }] });
    const refused = await omni('ticket', 'reply', '1', 'Are you there?');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('omni outbox retry 2');
    const list = await omni('outbox', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((r: { id: number; status: string }) => [r.id, r.status])).toEqual([
      [2, 'failed'],
      [1, 'sent'],
    ]);
    const retried = await omni('outbox', 'retry', '2', '--json');
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id: 2, status: 'sent', attempts: 2 });

    const close = await omni('ticket', 'close', '1', '--message', 'Closing, thanks!', '--json');
    expect(close.code, close.stderr).toBe(0);
    expect(JSON.parse(close.stdout)).toMatchObject({ id: 1, status: 'closed', closingMessage: { id: 3, ticketId: 1, status: 'sending' } });
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['It ships today.', 'Are you there?', 'Closing, thanks!']);
    expect((await dbs[1].kysely.selectFrom('outbox').select(['id', 'status']).orderBy('id').execute()).map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);

    const status = await omni('db', 'status', '--json');
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s).toMatchObject({ engine: dbs[0].engine, serverVersion: expect.stringMatching(/^\d+\.\d+/) });
    expect(s.schema.version).toBe(s.schema.known);
    const doctor = await omni('doctor', '--offline', '--json');
    const database = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'database');
    expect(database, doctor.stderr).toMatchObject({ status: 'pass', detail: expect.stringMatching(/schema (\d+)\/\1, writable$/) });
    const failures = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'outbox-failures');
    if (failures) expect(failures).toMatchObject({ status: 'pass', detail: 'none' });
  });
});

/** A TCP proxy to the PostgreSQL server that can be cut (every connection dropped, nothing accepted) and restored on the same port. */
async function cuttableProxy(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server!.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe.skipIf(TEST_ENGINE !== 'postgres')('the outbox worker when PostgreSQL goes away', () => {
  it('logs the outage once, backs off, and sends what was queued once the server answers again', async () => {
    const { where, id, tw, dbs } = await installation();
    const url = new URL(where);
    const proxy = await cuttableProxy(url);
    const viaProxy = new URL(where);
    viaProxy.port = String(proxy.port);
    const db = await openDatabase(viaProxy.toString());
    cleanups.push(() => proxy.close(), () => db.close());
    const log = memoryLog();
    const worker = startOutboxWorker({
      db,
      box: async () => loadSecretBox(where, ENV),
      twitter: async (c, o) => createTwitterGateway(c, { baseUrl: tw.url, timeoutMs: 2_000, ...o }),
      log,
      pollMs: 20,
      leaseMs: 10_000,
    });
    cleanups.push(() => worker.stop());
    await queueOutboxRow(dbs[0], id, '700', 'before the outage');
    await waitFor(() => tw.state.sentDms.length === 1, 'the first DM');
    await proxy.cut();
    await queueOutboxRow(dbs[0], id, '700', 'during the outage');
    await new Promise((r) => setTimeout(r, 1_500));
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(tw.state.sentDms).toHaveLength(1);
    await proxy.restore();
    await waitFor(() => tw.state.sentDms.length === 2, 'the DM queued during the outage', 15_000);
    await waitFor(() => log.lines.some((l) => l.level === 'info' && l.message === 'outbox worker: the database answers again'), 'the recovery line');
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['before the outage', 'during the outage']);
    expect(log.lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });
});
