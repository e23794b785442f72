// The outbox across a fleet on PostgreSQL (src/db/pg-stores.ts, createPgOutboxQueue): workers of
// two listeners claim with FOR UPDATE SKIP LOCKED, so every row is sent once, in order per
// recipient; a killed worker's claim is taken over once its lease has ended, and its late answer
// can no longer change the row (attempts is the fencing token).
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { claimPgHelperJob, createPgOutboxQueue, createPgStores, type PgOutboxQueue, type PgQueryable } from '../../src/db/pg-stores.js';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { seedInteraction } from '../support/seed.js';
import { queueOutboxRow } from '../support/rows.js';

const open: Db[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

async function fleet(listeners: number): Promise<{ id: number; dbs: Db[]; queues: PgOutboxQueue[] }> {
  const where = testDatabase();
  const { id } = await seedInteraction(where, { env: { OMNI_SECRET_KEY: TEST_SECRET_KEY } });
  const dbs: Db[] = [];
  for (let i = 0; i < listeners; i++) {
    const db = await openDatabase(where);
    open.push(db);
    dbs.push(db);
  }
  return { id, dbs, queues: dbs.map((db) => createPgOutboxQueue(db.pool as never)) };
}


describe.skipIf(TEST_ENGINE !== 'postgres')('the outbox of two listeners on one PostgreSQL', () => {
  it('sends every queued row exactly once across both workers, in order per recipient', async () => {
    const { id, dbs, queues } = await fleet(2);
    const t0 = new Date(Date.now() - 1000).toISOString();
    const ids: number[] = [];
    for (let n = 0; n < 3; n++) for (let r = 0; r < 15; r++) ids.push(await queueOutboxRow(dbs[0]!, id, String(500 + r), `reply ${n} to ${r}`, t0));
    const sent = new Map<number, number>(); // what the fake X received: row id → times
    const order = new Map<string, number[]>();
    const worker = async (q: PgOutboxQueue, w: number) => {
      for (let idle = 0; idle < 5; ) {
        const now = new Date();
        const row = await q.claimNext(now.toISOString(), new Date(now.getTime() + 60_000).toISOString());
        if (!row) {
          idle++;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        idle = 0;
        sent.set(row.id, (sent.get(row.id) ?? 0) + 1);
        order.set(row.recipient_twitter_id, [...(order.get(row.recipient_twitter_id) ?? []), row.id]);
        await new Promise((r) => setTimeout(r, 2 + w)); // the X call
        const marked = await q.markSent(row.id, `dm-${row.id}`, now.toISOString(), new Date().toISOString());
        expect(marked.result).toBe('sent');
      }
    };
    await Promise.all([worker(queues[0]!, 0), worker(queues[1]!, 1), worker(queues[1]!, 2), worker(queues[0]!, 3)]);
    expect([...sent.keys()].sort((a, b) => a - b)).toEqual(ids.sort((a, b) => a - b));
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
    for (const rows of order.values()) expect(rows).toEqual([...rows].sort((a, b) => a - b));
    const left = await dbs[1]!.kysely.selectFrom('outbox').select('id').where('status', '<>', 'sent').execute();
    expect(left).toEqual([]);
  });

  it("takes over a killed worker's claim once its lease has ended, and fences off its late answer", async () => {
    const { id, dbs, queues } = await fleet(2);
    const [a, b] = queues as [PgOutboxQueue, PgOutboxQueue];
    const t0 = Date.parse('2026-06-01T10:00:00.000Z');
    const iso = (ms: number) => new Date(t0 + ms).toISOString();
    const row = await queueOutboxRow(dbs[0]!, id, '900', 'hello', iso(0));
    const claimed = await a.claimNext(iso(0), iso(60_000));
    expect(claimed).toMatchObject({ id: row, status: 'sending', attempts: 1 });
    // Listener A is killed mid-send. Within its lease nobody else takes the row.
    expect(await b.claimNext(iso(30_000), iso(90_000))).toBeUndefined();
    const taken = await b.claimNext(iso(60_001), iso(120_000));
    expect(taken).toMatchObject({ id: row, status: 'sending', attempts: 2 });
    // A's answer, if it ever comes, holds an old attempt: it changes nothing.
    expect(await a.markRetry(row, 1, 'timeout', 'network', iso(70_000), iso(61_000))).toBe(false);
    expect(await a.markFailed(row, 1, 'boom', 'unknown', iso(61_000))).toBe(false);
    expect(await b.markSent(row, 'dm-1', iso(62_000), iso(62_000))).toMatchObject({ result: 'sent', row: { status: 'sent', twitter_dm_id: 'dm-1', attempts: 2 } });
    expect(await a.markSent(row, 'dm-1', iso(63_000), iso(63_000))).toMatchObject({ result: 'already' });
  });
});

describe.skipIf(TEST_ENGINE !== 'postgres')('the Helper jobs of two listeners on one PostgreSQL', () => {
  it('are each claimed once, one job of a conversation at a time, in order', async () => {
    const { id, dbs } = await fleet(2);
    const t0 = new Date(Date.now() - 1000).toISOString();
    const k = dbs[0]!.kysely;
    const jobIds: number[] = [];
    for (let c = 0; c < 6; c++) {
      const r = await k.insertInto('requesters').values({ twitter_user_id: String(700 + c), screen_name: null, name: null, unit_id: null, group_id: null, created_at: t0, updated_at: t0 }).returning('id').executeTakeFirstOrThrow();
      const conv = await k
        .insertInto('helper_conversations')
        .values({ interaction_id: id, requester_id: r.id, status: 'active', state: 'menu', last_activity_at: t0, created_at: t0, updated_at: t0 })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (let n = 0; n < 3; n++) {
        const m = await k
          .insertInto('helper_messages')
          .values({ conversation_id: conv.id, interaction_id: id, direction: 'inbound', text: `m${n}`, payload: null, twitter_event_id: `e-${c}-${n}`, attachments: '[]', outbox_id: null, sent_at: t0, created_at: t0 })
          .returning('id')
          .executeTakeFirstOrThrow();
        const j = await k
          .insertInto('helper_jobs')
          .values({ conversation_id: conv.id, helper_message_id: m.id, status: 'pending', attempts: 0, next_attempt_at: t0, created_at: t0, updated_at: t0 })
          .returning('id')
          .executeTakeFirstOrThrow();
        jobIds.push(j.id);
      }
    }
    const claimedTimes = new Map<number, number>();
    const busy = new Set<number>(); // conversations with a job being worked on
    const order = new Map<number, number[]>();
    const worker = async (pool: PgQueryable) => {
      for (let idle = 0; idle < 5; ) {
        const now = new Date();
        const job = await claimPgHelperJob(pool, now.toISOString(), new Date(now.getTime() + 60_000).toISOString());
        if (!job) {
          idle++;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        idle = 0;
        expect(busy.has(job.conversation_id)).toBe(false);
        busy.add(job.conversation_id);
        claimedTimes.set(job.id, (claimedTimes.get(job.id) ?? 0) + 1);
        order.set(job.conversation_id, [...(order.get(job.conversation_id) ?? []), job.id]);
        expect(job).toMatchObject({ interaction_id: id, conversation_status: 'active', attempts: 1 });
        await new Promise((r) => setTimeout(r, 5)); // the Helper's answer
        busy.delete(job.conversation_id);
        expect(await createPgStores(pool).chatbot.finishJob(job.id, job.attempts, 'done', 'answered', new Date().toISOString())).toBe(true);
      }
    };
    const pools = dbs.map((db) => db.pool as unknown as PgQueryable);
    await Promise.all([worker(pools[0]!), worker(pools[1]!), worker(pools[0]!), worker(pools[1]!)]);
    expect([...claimedTimes.keys()].sort((a, b) => a - b)).toEqual(jobIds);
    expect([...claimedTimes.values()].every((n) => n === 1)).toBe(true);
    for (const jobs of order.values()) expect(jobs).toEqual([...jobs].sort((a, b) => a - b));
  });
});
