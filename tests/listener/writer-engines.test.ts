// The listener's writer on both engines, from the one pipeline (src/db/step.ts): SQLite's inline
// writer on a file, PostgreSQL's pooled writer (src/db/pg-batch.ts) on the test server. The same
// expectations hold on both; what only a fleet has (two listeners on one database racing, the
// server going away) runs on PostgreSQL.
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { isDatabaseUnavailable } from '../../src/db/batch.js';
import { inlineWriter, isPoison, postgresWriter, type ResultsIntakeWriter, type WriteJob } from '../../src/listener/intake-writer.js';
import { refusalOf } from '../../src/listener/refusal.js';
import { createPgBatchCommitter } from '../../src/db/pg-batch.js';
import { createPgStores, type PgQueryable } from '../../src/db/pg-stores.js';
import { runAsync } from '../../src/db/step.js';
import { openOrJoinTicketStep } from '../../src/tickets/open.js';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { seedInteraction } from '../support/seed.js';
import { inboundDm, newEventId } from '../support/deliveries.js';
import { sampleInteraction, TEST_TOMBSTONE_KEY } from '../support/intake.js';

const NO_DEFAULTS = { unitId: null, groupId: null, activityId: null, contactOriginId: null, contractId: null };
const SETTINGS = { idleMs: 30 * 60_000, tombstoneKey: TEST_TOMBSTONE_KEY };
const open: Db[] = [];

afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

/** A seeded database of this run's engine, and a writer on it as `omni listen` builds it. */
async function setup(seed: { helper?: boolean } = {}): Promise<{ where: string; id: number; db: Db; writer: ResultsIntakeWriter }> {
  const where = testDatabase();
  const { id } = await seedInteraction(where, { ...seed, env: { OMNI_SECRET_KEY: TEST_SECRET_KEY } });
  const db = await listenerDb(where);
  return { where, id, db, writer: writerOn(db) };
}

async function listenerDb(where: string): Promise<Db> {
  const db = await openDatabase(where);
  open.push(db);
  return db;
}

function writerOn(db: Db): ResultsIntakeWriter {
  return db.engine === 'postgres' ? postgresWriter(db.pool, SETTINGS) : inlineWriter(db.sqlite, SETTINGS);
}

async function count(db: Db, table: 'messages' | 'tickets' | 'requesters' | 'outbox' | 'helper_messages' | 'helper_conversations'): Promise<number> {
  const r = await db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

async function maxOpenTicketsPerRequester(db: Db): Promise<number> {
  const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM tickets WHERE status = 'open' GROUP BY interaction_id, requester_id`.execute(db.kysely);
  return Math.max(0, ...rows.rows.map((r) => Number(r.n)));
}

describe(`the listener's writer on ${TEST_ENGINE}`, () => {
  it('stores a batch in one transaction: one result per job, a bad job alone refused, a redelivery a duplicate', async () => {
    const { id, db, writer } = await setup();
    const at = new Date().toISOString();
    const e1 = newEventId();
    const results = await writer.write([
      { interaction: sampleInteraction(id), body: inboundDm({ senderId: '42', text: 'hello', eventId: e1 }), at },
      { interaction: sampleInteraction(999), body: inboundDm({ senderId: '43', text: 'no such interaction' }), at }, // foreign key fails
      { interaction: sampleInteraction(id), body: inboundDm({ senderId: '42', text: 'again', eventId: e1 }), at },
      { interaction: sampleInteraction(id), body: inboundDm({ senderId: '42', text: 'more' }), at },
    ]);
    expect(results[0]).toMatchObject({ ok: true, value: [{ outcome: 'new_ticket', id: e1 }] });
    expect(results[1]).toMatchObject({ ok: false, error: { code: db.engine === 'postgres' ? '23503' : 'SQLITE_CONSTRAINT_FOREIGNKEY' } });
    expect(isPoison((results[1] as { error: unknown }).error)).toBe(false);
    expect(results[2]).toMatchObject({ ok: true, value: [{ outcome: 'duplicate' }] });
    expect(results[3]).toMatchObject({ ok: true, value: [{ outcome: 'appended' }] });
    expect(await count(db, 'messages')).toBe(2);
    expect(await count(db, 'tickets')).toBe(1);
    expect(await count(db, 'requesters')).toBe(1);
  });

  it('refuses a delivery its own content breaks (here: no JSON, 400), leaving the rest of the batch alone', async () => {
    const { id, db, writer } = await setup();
    const at = new Date().toISOString();
    const results = await writer.write([
      { interaction: sampleInteraction(id), body: '{"direct_message_events": [', at },
      { interaction: sampleInteraction(id), body: inboundDm({ senderId: '42', text: 'fine' }), at },
    ]);
    expect(results[0]!.ok).toBe(false);
    expect(refusalOf((results[0] as { error: unknown }).error).status).toBe(400);
    expect(isPoison((results[0] as { error: unknown }).error)).toBe(true);
    expect(results[1]).toMatchObject({ ok: true, value: [{ outcome: 'new_ticket' }] });
    expect(await count(db, 'messages')).toBe(1);
  });

  it('runs the Helper chatbot in the same transaction: a first DM gets the menu queued in the outbox, no ticket', async () => {
    const { id, db, writer } = await setup({ helper: true });
    await db.kysely.insertInto('parameters').values({ number: 450, value: 'Y', updated_at: new Date().toISOString() }).onConflict((oc) => oc.column('number').doUpdateSet({ value: 'Y' })).execute();
    const at = new Date().toISOString();
    const [r] = await writer.write([{ interaction: sampleInteraction(id, { helper_interception: 1 }), body: inboundDm({ senderId: '42', text: 'hi' }), at }]);
    expect(r).toMatchObject({ ok: true, value: [{ outcome: 'helper', detail: 'menu sent' }] });
    expect(await count(db, 'tickets')).toBe(0);
    expect(await count(db, 'helper_conversations')).toBe(1);
    expect(await count(db, 'outbox')).toBe(1);
    expect(await count(db, 'helper_messages')).toBe(2); // the DM and the menu
    // "Talk to an attendant" (option 1 of the menu): the Helper hands off to a ticket holding the transcript.
    const menu = await db.kysely.selectFrom('outbox').select('options').executeTakeFirstOrThrow();
    const talk = (JSON.parse(menu.options!) as Array<{ label: string; metadata: string }>).find((o) => o.metadata === 'omni:talk')!;
    const [handoff] = await writer.write([
      { interaction: sampleInteraction(id, { helper_interception: 1 }), body: dmWithPayload('42', talk.label, talk.metadata), at: new Date().toISOString() },
    ]);
    expect(handoff).toMatchObject({ ok: true, value: [{ outcome: 'new_ticket' }] });
    expect(await count(db, 'tickets')).toBe(1);
    expect(await count(db, 'messages')).toBeGreaterThanOrEqual(3); // the transcript so far and the "ticket opened" DM
  });
});

/** A DM that taps a quick-reply option (v1.1 shape). */
function dmWithPayload(senderId: string, text: string, payload: string): string {
  return JSON.stringify({
    for_user_id: '123',
    direct_message_events: [
      {
        type: 'message_create',
        id: newEventId(),
        created_timestamp: String(Date.now()),
        message_create: { target: { recipient_id: '123' }, sender_id: senderId, message_data: { text, quick_reply_response: { type: 'options', metadata: payload } } },
      },
    ],
    users: { [senderId]: { id: senderId, name: 'Ann', screen_name: 'ann' } },
  });
}

describe.skipIf(TEST_ENGINE !== 'postgres')('two listeners on one PostgreSQL', () => {
  it('store every DM once and open one ticket per requester when first DMs and redeliveries race across them', async () => {
    const { where, id, db: a, writer: wa } = await setup();
    const b = await listenerDb(where);
    const wb = writerOn(b);
    const at = new Date().toISOString();
    const jobs: WriteJob[] = [];
    // 40 requesters, each sending two different first DMs at once, each DM delivered twice.
    for (let r = 0; r < 40; r++) {
      for (const text of ['first', 'second']) {
        const eventId = newEventId();
        const body = inboundDm({ senderId: String(1000 + r), text: `${text} from ${r}`, eventId });
        jobs.push({ interaction: sampleInteraction(id), body, at }, { interaction: sampleInteraction(id), body, at });
      }
    }
    // Interleave: each listener gets one of every pair, in batches, all at once.
    const toA = jobs.filter((_, i) => i % 2 === 0);
    const toB = jobs.filter((_, i) => i % 2 === 1).reverse();
    const batches = (js: WriteJob[], w: ResultsIntakeWriter) => Array.from({ length: Math.ceil(js.length / 8) }, (_, i) => w.write(js.slice(i * 8, i * 8 + 8)));
    const results = (await Promise.all([...batches(toA, wa), ...batches(toB, wb)])).flat();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const outcomes = results.flatMap((r) => (r.ok ? r.value.map((v) => v.outcome) : []));
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(80);
    expect(outcomes.filter((o) => o === 'new_ticket')).toHaveLength(40);
    expect(await count(a, 'messages')).toBe(80);
    expect(await count(a, 'requesters')).toBe(40);
    expect(await count(a, 'tickets')).toBe(40);
    expect(await maxOpenTicketsPerRequester(a)).toBe(1);
  });

  it('rerun the job that loses the race for the one open ticket (23505) from its savepoint: it joins the winner\'s ticket', async () => {
    const { where, id, db: a } = await setup();
    const b = await listenerDb(where);
    const requester = await a.kysely
      .insertInto('requesters')
      .values({ twitter_user_id: '77', screen_name: 'r', name: 'R', unit_id: null, group_id: null, created_at: 'x', updated_at: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    // Both jobs look for the open ticket before either inserts one: the check-then-insert race.
    let looked = 0;
    let bothLooked!: () => void;
    const barrier = new Promise<void>((r) => (bothLooked = r));
    const runs: string[] = [];
    const job = (who: string) => async (client: PgQueryable) => {
      runs.push(who);
      const stores = createPgStores(client);
      const t = { interactionId: id, requesterId: requester.id, subject: who, defaults: NO_DEFAULTS, at: new Date().toISOString() };
      if ((await stores.intake.openTicketId(id, requester.id)) === undefined && ++looked <= 2) {
        if (looked === 2) bothLooked();
        await barrier;
      }
      return runAsync(openOrJoinTicketStep(t), stores);
    };
    const [ra, rb] = await Promise.all([createPgBatchCommitter(a.pool)([job('a')]), createPgBatchCommitter(b.pool)([job('b')])]);
    expect([ra![0]!.ok, rb![0]!.ok]).toEqual([true, true]);
    const values = [ra![0], rb![0]].map((r) => (r as { value: { ticketId: number; opened: boolean } }).value);
    expect(values[0]!.ticketId).toBe(values[1]!.ticketId);
    expect(values.map((v) => v.opened).sort()).toEqual([false, true]);
    expect(runs).toHaveLength(3); // the loser ran twice
    expect(await count(a, 'tickets')).toBe(1);
  });

  it('start one Helper conversation per requester when first DMs race across them', async () => {
    const { where, id, db: a, writer: wa } = await setup({ helper: true });
    await a.kysely.insertInto('parameters').values({ number: 450, value: 'Y', updated_at: new Date().toISOString() }).onConflict((oc) => oc.column('number').doUpdateSet({ value: 'Y' })).execute();
    const wb = writerOn(await listenerDb(where));
    const at = new Date().toISOString();
    const i = sampleInteraction(id, { helper_interception: 1 });
    const pairs = Array.from({ length: 20 }, (_, r) => [inboundDm({ senderId: String(2000 + r), text: 'hello' }), inboundDm({ senderId: String(2000 + r), text: 'anyone?' })]);
    const results = (await Promise.all([wa.write(pairs.map(([x]) => ({ interaction: i, body: x!, at }))), wb.write(pairs.map(([, y]) => ({ interaction: i, body: y!, at })))])).flat();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const active = await sql<{ n: number }>`SELECT count(*) AS n FROM helper_conversations WHERE status = 'active' GROUP BY requester_id`.execute(a.kysely);
    expect(active.rows).toHaveLength(20);
    expect(active.rows.every((r) => Number(r.n) === 1)).toBe(true);
    expect(await count(a, 'helper_messages')).toBeGreaterThanOrEqual(40 + 20);
  });

  it('answer 503 (never 200) when the server drops the connection, and recover by themselves on the next batch', async () => {
    const { where, id, db, writer } = await setup();
    const at = new Date().toISOString();
    expect((await writer.write([{ interaction: sampleInteraction(id), body: inboundDm({ senderId: '42', text: 'one' }), at }]))[0]!.ok).toBe(true);
    expect(await count(db, 'messages')).toBe(1);
    // The server ends the writer's connection in the middle of a batch (a restart, a failover, an
    // operator): the batch is held on a lock first, so that it is surely under way.
    const pg = (await import('pg')).default;
    const holder = new pg.Client({ connectionString: where });
    await holder.connect();
    let failed;
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE requesters IN EXCLUSIVE MODE');
      const pending = writer.write([
        { interaction: sampleInteraction(id), body: inboundDm({ senderId: '43', text: 'two' }), at },
        { interaction: sampleInteraction(id), body: inboundDm({ senderId: '44', text: 'three' }), at },
      ]);
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const r = await holder.query("SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        killed = r.rowCount ?? 0;
      }
      expect(killed).toBe(1);
      failed = await pending;
    } finally {
      await holder.end();
    }
    expect(failed).toHaveLength(2);
    for (const r of failed) {
      expect(r.ok).toBe(false);
      expect(isDatabaseUnavailable((r as { error: unknown }).error)).toBe(true);
      expect(refusalOf((r as { error: unknown }).error).status).toBe(503);
    }
    const again = await writer.write([{ interaction: sampleInteraction(id), body: inboundDm({ senderId: '43', text: 'two' }), at }]);
    expect(again[0]).toMatchObject({ ok: true, value: [{ outcome: 'new_ticket' }] });
    expect(await count(db, 'messages')).toBe(2);
  });

  it('answer 503 while the server cannot be reached at all', async () => {
    const url = new URL(testDatabase());
    url.port = '1'; // nothing listens there
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: url.href, connectionTimeoutMillis: 2000 });
    try {
      const [r] = await postgresWriter(pool, SETTINGS).write([{ interaction: sampleInteraction(1), body: inboundDm({ senderId: '42', text: 'x' }), at: new Date().toISOString() }]);
      expect(r!.ok).toBe(false);
      expect(refusalOf((r as { error: unknown }).error).status).toBe(503);
    } finally {
      await pool.end();
    }
  });
});
