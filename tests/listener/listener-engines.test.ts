// The listener on both engines, in-process over real HTTP: the reads of src/db/listener-reads.ts and
// their interaction cache (migration 0017's counter), the event journal, /healthz and /metrics. The
// cache must never serve a row another process changed: the changes here are made on a second
// connection (a second Db handle: on SQLite another better-sqlite3 connection, on PostgreSQL another
// pool), exactly what an `omni interaction delete` on another host does. What only a server can do
// (go away and come back) runs on PostgreSQL.
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../../src/db/connection.js';
import { loadSecretBox } from '../../src/secrets.js';
import { startListener, type Listener } from '../../src/listener/server.js';
import { createSqliteListenerReads } from '../../src/db/listener-reads.js';
import { inlineWriter, isInteractionChanged } from '../../src/listener/intake-writer.js';
import { intakeInteractionOf } from '../../src/db/intake.js';
import { tombstoneKey } from '../../src/privacy/tombstone.js';
import { createJsonLog } from '../../src/listener/log.js';
import { encryptSecrets } from '../../src/interactions/model.js';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { getJson, inboundDm, newEventId, postDelivery } from '../support/deliveries.js';

const ENV = { OMNI_SECRET_KEY: TEST_SECRET_KEY };
const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup() {
  const where = testDatabase();
  const { id } = await seedInteraction(where, { env: ENV });
  const db = await openDatabase(where);
  const other = await openDatabase(where); // "another process"
  open.push(db, other);
  const lines: string[] = [];
  const listener: Listener = await startListener({ db, box: loadSecretBox(where, ENV), log: createJsonLog({ write: (s: string) => lines.push(s) }), host: '127.0.0.1', port: 0, dbPath: db.path });
  open.push({ close: () => listener.close(1000) });
  const count = async (table: 'messages' | 'tickets' | 'webhook_events') => Number((await other.kysely.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const version = async () => Number((await other.kysely.selectFrom('listener_cache_version').select('version').executeTakeFirstOrThrow()).version);
  const dm = (text: string) => postDelivery(listener.url, id, inboundDm({ senderId: '4242', text, eventId: newEventId() }));
  return { where, id, db, other, listener, count, version, dm, logs: () => lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe(`omni listen's reads on ${TEST_ENGINE}`, () => {
  it('serves from the cache while nothing changes, and never serves an interaction deleted by another connection', async () => {
    const s = await setup();
    expect((await s.dm('first')).status).toBe(200);
    const before = await s.version();
    // Deliveries and CRCs change no cached column: the counter stays, the row is served from the cache.
    for (let i = 0; i < 5; i++) expect((await s.dm(`again ${i}`)).status).toBe(200);
    expect((await getJson(`${s.listener.url}/webhooks/twitter/${s.id}?crc_token=some_random`)).status).toBe(200);
    expect(await s.version()).toBe(before);
    expect(await s.count('messages')).toBe(6);

    // Another process deletes it (omni interaction delete sets deleted_at): the very next request is refused.
    await s.other.kysely.updateTable('interactions').set({ deleted_at: new Date().toISOString() }).where('id', '=', s.id).execute();
    expect(await s.version()).toBe(before + 1);
    const refused = await s.dm('to a deleted interaction');
    expect(refused).toMatchObject({ status: 404, body: { error: 'unknown or deleted interaction' } });
    expect((await getJson(`${s.listener.url}/webhooks/twitter/${s.id}?crc_token=some_random`)).status).toBe(404);
    expect(await s.count('messages')).toBe(6);
  });

  it('checks signatures against the secret another connection just stored, not the cached one', async () => {
    const s = await setup();
    expect((await s.dm('signed with DDD')).status).toBe(200);
    const box = loadSecretBox(s.where, ENV);
    const { api_secret_key_enc } = encryptSecrets({ ...TEST_SECRETS, apiSecretKey: 'NEW-SECRET' }, box) as { api_secret_key_enc: string };
    await s.other.kysely.updateTable('interactions').set({ api_secret_key_enc }).where('id', '=', s.id).execute();
    expect((await s.dm('still signed with DDD')).status).toBe(401);
    const body = inboundDm({ senderId: '4242', text: 'signed with the new secret', eventId: newEventId() });
    expect((await postDelivery(s.listener.url, s.id, body, { secret: 'NEW-SECRET' })).status).toBe(200);
  });

  it('records CRCs in webhook_events, says healthy, and shows the outbox on /metrics', async () => {
    const s = await setup();
    expect((await getJson(`${s.listener.url}/webhooks/twitter/${s.id}?crc_token=some_random`)).status).toBe(200);
    s.listener.events.flush();
    await expect.poll(() => s.count('webhook_events')).toBe(1);
    expect(await getJson(`${s.listener.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    const metrics = await fetch(`${s.listener.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain('omni_outbox_messages{status="pending"} 0');
  });
});

describe.runIf(TEST_ENGINE === 'sqlite')('the interaction cache on SQLite, checked every few ms: the writer is the final guard', () => {
  it('writes nothing of a job whose interaction was read under a counter that has moved since, and writes it under the current one', async () => {
    const s = await setup();
    const reads = createSqliteListenerReads(s.db.sqlite!);
    const row = (await reads.interaction(s.id, true))!;
    const under = reads.validatedUnder()!;
    expect(under).toBe(await s.version());
    const writer = inlineWriter(s.db.sqlite!, { idleMs: 60_000, tombstoneKey: tombstoneKey(loadSecretBox(s.where, ENV)) });
    const job = (text: string, validatedUnder: number) => ({ interaction: intakeInteractionOf(row), body: inboundDm({ senderId: '4242', text, eventId: newEventId() }), at: new Date().toISOString(), validatedUnder });

    // Another process edits the interaction (its name: any cached column moves the counter).
    await s.other.kysely.updateTable('interactions').set({ name: 'renamed elsewhere' }).where('id', '=', s.id).execute();
    const [stale, current] = writer.write([job('read before the edit', under), job('read after it', under + 1)]);
    expect(stale!.ok).toBe(false);
    expect(isInteractionChanged((stale as { error: unknown }).error)).toBe(true);
    expect(current!.ok).toBe(true);
    expect(await s.count('messages')).toBe(1);
    // A fresh read sees the edit (the counter is read again, the cache dropped).
    expect((await reads.interaction(s.id))!.name).toBe('renamed elsewhere');
    expect(reads.validatedUnder()).toBe(under + 1);
  });

  it('a delivery on a cached row of an interaction deleted meanwhile is refused 404 and stores nothing, however recent the cache check', async () => {
    const s = await setup();
    // Many deliveries in a row: most are served from a counter checked within the last few ms.
    for (let i = 0; i < 3; i++) expect((await s.dm(`warm ${i}`)).status).toBe(200);
    await s.other.kysely.updateTable('interactions').set({ deleted_at: new Date().toISOString() }).where('id', '=', s.id).execute();
    expect(await s.dm('right after the delete')).toMatchObject({ status: 404, body: { error: 'unknown or deleted interaction' } });
    expect(await s.count('messages')).toBe(3);
  });
});

describe.runIf(TEST_ENGINE === 'postgres')('omni listen when PostgreSQL goes away', () => {
  it('answers 503 (never 200) and /healthz says the database is unavailable while the server refuses connections; recovers by itself', async () => {
    const s = await setup();
    expect((await s.dm('before')).status).toBe(200);
    const name = (await sql<{ d: string }>`select current_database() as d`.execute(s.other.kysely)).rows[0]!.d;
    // An administrator's connection outside the test database: it can refuse and terminate connections to it.
    const admin = new pg.Client({ connectionString: process.env.OMNI_TEST_POSTGRES_URL });
    await admin.connect();
    open.push({ close: () => admin.end() });
    const refuse = async (off: boolean) => {
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS ${off ? 'false' : 'true'}`);
      if (off) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    };
    await refuse(true);
    try {
      const during = await s.dm('while the server refuses');
      expect(during.status).toBe(503);
      const health = await getJson(`${s.listener.url}/healthz`);
      expect(health).toMatchObject({ status: 503, body: { status: 'database unavailable' } });
    } finally {
      await refuse(false);
    }
    // Recovered without a restart: the pool opens new connections.
    await expect.poll(async () => (await getJson(`${s.listener.url}/healthz`)).status, { timeout: 10_000 }).toBe(200);
    expect((await s.dm('after')).status).toBe(200);
    // The refused delivery was not stored; X retries it.
    const texts = (await s.other.kysely.selectFrom('messages').select('text').orderBy('id').execute()).map((r) => r.text);
    expect(texts).toEqual(['before', 'after']);
  });
});
