// A database that cannot take writes: locked by another process beyond the listener's busy timeout,
// or full (the listener's file size limit lowered under it, as a full disk would refuse the WAL's
// growth). Deliveries get 503 and never 200, so Twitter retries them; once the database is writable
// again the retries are stored, each once.
// (A read-only file cannot be shown with chmod: the listener holds it open already, and CI runs as
// root, whom permissions do not stop. A lock and a size limit are refusals the kernel enforces.)
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { WEBHOOK_EVENTS_KEPT } from '../../src/db/webhook-events.js';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { inboundDm, inParallel, newEventId, postDelivery } from '../support/deliveries.js';
import { storedEventIds } from './db.js';
import { scale } from './scale.js';

let listener: RunningListener | undefined;
afterEach(async () => {
  await listener?.kill9();
  listener = undefined;
});

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('an unwritable database', () => {
  it('answers 503 (never 200) while another process holds the write lock, and stores the retries after', async () => {
    const { db } = cliWithDb();
    const { id } = await seedInteraction(db);
    listener = await startListener({ db });
    const bodies = Array.from({ length: scale(1, 40) }, (_, i) => inboundDm({ senderId: String(300 + i), text: `m${i}` }));

    const holder = await openDatabase(db);
    holder.sqlite.exec('BEGIN EXCLUSIVE'); // held beyond the listener's 2 s busy timeout
    const refused = await inParallel(bodies, 8, (b) => postDelivery(listener!.url, id, b));
    holder.sqlite.exec('ROLLBACK');
    await holder.close();
    expect(refused.map((r) => r.status)).toEqual(bodies.map(() => 503));
    expect(refused[0]!.body).toEqual({ error: 'database unavailable, retry later' });
    expect(await storedEventIds(db)).toEqual([]);
    // The health check still answers (reads are not blocked in WAL mode).
    expect((await fetch(`${listener.url}/healthz`)).status).toBe(200);

    const retried = await inParallel(bodies, 8, (b) => postDelivery(listener!.url, id, b));
    expect(retried.map((r) => r.status)).toEqual(bodies.map(() => 200));
    expect((await storedEventIds(db)).length).toBe(bodies.length);
    expect(await listener.stop()).toEqual({ code: 0, signal: null });
  });

  it('keeps answering CRCs and health checks at once while another process holds the write lock, and records the CRCs after', async () => {
    const { db } = cliWithDb();
    const { id } = await seedInteraction(db);
    listener = await startListener({ db });
    const holder = await openDatabase(db);
    holder.sqlite.exec('BEGIN EXCLUSIVE');
    const slowest: number[] = [];
    let crcs = 0;
    try {
      // 3 s: longer than the listener's 2 s busy timeout, across several outbox and Helper polls and
      // CRC journal flushes. None of them may hold up the event loop waiting for the lock.
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        const t0 = performance.now();
        const [crc, health] = await Promise.all([fetch(`${listener.url}/webhooks/twitter/${id}?crc_token=token${crcs}`), fetch(`${listener.url}/healthz`)]);
        slowest.push(performance.now() - t0);
        expect([crc.status, health.status]).toEqual([200, 200]);
        crcs++;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      holder.sqlite.exec('ROLLBACK');
      await holder.close();
    }
    // Before the fix, an idle outbox poll waited the whole busy timeout (2 s) for the lock.
    expect(Math.max(...slowest)).toBeLessThan(1_000);
    // The journal kept the CRCs it could not write and writes them once the lock is free.
    const check = await openDatabase(db);
    try {
      const expected = Math.min(crcs, WEBHOOK_EVENTS_KEPT); // the journal keeps the newest rows per kind
      const count = () => (check.sqlite.prepare("SELECT count(*) AS n FROM webhook_events WHERE kind = 'crc_answered'").get() as { n: number }).n;
      for (let i = 0; i < 100 && count() < expected; i++) await new Promise((r) => setTimeout(r, 50));
      expect(count()).toBe(expected);
    } finally {
      await check.close();
    }
    expect(await listener.stop()).toEqual({ code: 0, signal: null });
  });

  it.skipIf(!hasPrlimit)('answers 503 (never 200) when the disk is full, and stores the retries once there is room', async () => {
    const { db } = cliWithDb();
    const { id } = await seedInteraction(db);
    listener = await startListener({ db });
    const pid = String(listener.child.pid);
    // Warm up: one delivery stored, so the WAL exists.
    expect((await postDelivery(listener.url, id, inboundDm({ senderId: '1', text: 'first' }))).status).toBe(200);

    // No file of the listener may grow past 64 KiB from now on (soft limit; the hard one stays):
    // big deliveries need the WAL to grow.
    execFileSync('prlimit', ['--pid', pid, '--fsize=65536:']);
    const big = Array.from({ length: scale(6, 60) }, (_, i) => inboundDm({ senderId: String(400 + i), text: `${i} ${'x'.repeat(40_000)}`, eventId: newEventId() }));
    let statuses: number[];
    try {
      statuses = (await inParallel(big, 4, (b) => postDelivery(listener!.url, id, b))).map((r) => r.status);
    } finally {
      execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:']);
    }
    expect(statuses.filter((s) => s !== 503)).toEqual([]);
    expect(listener.child.exitCode).toBeNull();
    expect((await storedEventIds(db)).length).toBe(1);
    const logged = listener.logs().find((l) => l.level === 'error' && /refused the write/.test(l.msg));
    expect(logged?.err?.code).toMatch(/^SQLITE_(FULL|IOERR)/);

    // Room again: Twitter's retries are all stored, once.
    const retried = await inParallel(big, 4, (b) => postDelivery(listener!.url, id, b));
    expect(retried.map((r) => r.status)).toEqual(big.map(() => 200));
    const stored = await storedEventIds(db);
    expect(stored.length).toBe(big.length + 1);
    expect(new Set(stored).size).toBe(stored.length);
    expect(await listener.stop()).toEqual({ code: 0, signal: null });
  });
});
