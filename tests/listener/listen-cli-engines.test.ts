// The built `omni listen` on this run's engine (PostgreSQL in the postgres project): it starts,
// takes a signed DM delivery to a ticket, answers /healthz, records its heartbeat, and two of them on
// one database serve the same interaction side by side. Against the fake X (its watchdog and replay
// talk to it, never to the real one).
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { startFakeTwitter } from '../support/fake-twitter.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { seedInteraction } from '../support/seed.js';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { tempDir } from '../support/tmp.js';
import { getJson, inboundDm, newEventId, postDelivery } from '../support/deliveries.js';
import { testApp, testUser } from '../support/twitter-fixtures.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe(`the built omni listen on ${TEST_ENGINE}`, () => {
  it('starts with --db, turns a signed DM into a ticket, and a second listener on the same database serves it too', async () => {
    const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
    closers.push(() => tw.close());
    const where = testDatabase();
    const env = { OMNI_SECRET_KEY: TEST_SECRET_KEY, OMNI_TWITTER_API_URL: tw.url, HOME: tempDir() };
    const { id } = await seedInteraction(where, { env });
    const db = await openDatabase(where);
    closers.push(() => db.close());
    const listen = async () => {
      const l: RunningListener = await startListener({ db: where, env, timeoutMs: 30_000 });
      closers.push(() => l.kill9());
      return l;
    };
    const a = await listen();
    const first = await postDelivery(a.url, id, inboundDm({ senderId: '4242', text: 'my order is late', eventId: newEventId() }));
    expect(first.status, first.text).toBe(200);
    expect(first.body.results).toEqual([expect.objectContaining({ outcome: 'new_ticket', ticket: 1 })]);
    expect(await getJson(`${a.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });

    const b = await listen();
    const second = await postDelivery(b.url, id, inboundDm({ senderId: '4242', text: 'any news?', eventId: newEventId() }));
    expect(second.status, second.text).toBe(200);
    expect(second.body.results).toEqual([expect.objectContaining({ outcome: 'appended', ticket: 1 })]);

    const tickets = await db.kysely.selectFrom('tickets').select(['id', 'status']).execute();
    expect(tickets).toEqual([{ id: 1, status: 'open' }]);
    const messages = await db.kysely.selectFrom('messages').select('text').orderBy('id').execute();
    expect(messages.map((m) => m.text)).toEqual(['my order is late', 'any news?']);

    // A clean stop is its last heartbeat; the other keeps serving.
    const heartbeats = () => db.kysely.selectFrom('listener_heartbeats').selectAll().execute();
    await expect.poll(async () => (await heartbeats()).length, { timeout: 10_000 }).toBe(2);
    expect(await a.stop()).toEqual({ code: 0, signal: null });
    const beats = await heartbeats();
    expect(beats.find((h) => h.listener.endsWith(`:${a.port}`))?.stopped_at).not.toBeNull();
    expect(beats.find((h) => h.listener.endsWith(`:${b.port}`))?.stopped_at).toBeNull();
    expect((await postDelivery(b.url, id, inboundDm({ senderId: '4242', text: 'hello?', eventId: newEventId() }))).status).toBe(200);
    expect(b.logs().filter((l) => l.level === 'error')).toEqual([]);
  });
});
