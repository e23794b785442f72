// Two listeners and the CLI writing to one SQLite file at once: WAL lets readers through, writers
// queue on the lock within busy_timeout, so no SQLITE_BUSY reaches a user or Twitter. How 503s are
// counted: a 503 is the listener's designed answer when the lock is not had within its 2 s busy
// timeout; each one must carry that designed body, is retried like Twitter would, and must end in
// a 200. Any other non-200 answer, or a CLI command failing or printing a lock error, fails the test.
import { afterEach, describe, expect, it } from 'vitest';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { inboundDm, newEventId } from '../support/deliveries.js';
import { attempt, deliverAll } from './sender.js';
import { eventIdOf, storedEventIds } from './db.js';
import { scale } from './scale.js';

let listeners: RunningListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.kill9();
  listeners = [];
});

describe('one database, many writers', () => {
  it('two listeners and CLI writes: every delivery stored once, no SQLITE_BUSY anywhere', async () => {
    const { db, run } = cliWithDb();
    const { id } = await seedInteraction(db);
    listeners = [await startListener({ db }), await startListener({ db })];
    const total = scale(300, 5_000);
    const bodies = Array.from({ length: total }, (_, i) => inboundDm({ senderId: String(8000 + (i % 100)), text: `m${i}`, eventId: newEventId() }));

    // Seed a few tickets for the CLI to close while the load runs.
    for (const b of bodies.slice(0, 5)) expect((await attempt(listeners[0]!.url, id, b)).status).toBe(200);

    let turn = 0;
    let loading = true;
    const cli: Array<{ args: string[]; code: number | null; stderr: string }> = [];
    const writes = (async () => {
      for (let i = 0; loading && i < scale(8, 80); i++) {
        const args = i % 2 === 0 ? ['ticket', 'close', String(1 + (i % 5))] : ['unit', 'add', `Unit ${i}`];
        const r = await run(args);
        cli.push({ args, code: r.code, stderr: r.stderr });
      }
    })();
    const logs = await deliverAll({
      url: () => listeners[turn++ % 2]!.url,
      interactionId: id,
      bodies,
      concurrency: 32,
      deadlineMs: scale(60_000, 540_000),
    }).finally(() => (loading = false));
    await writes;

    expect(cli.length).toBeGreaterThan(0);
    for (const c of cli) {
      expect(c.stderr, c.args.join(' ')).not.toMatch(/SQLITE_BUSY|database is locked/i);
      expect(c.code, `${c.args.join(' ')}: ${c.stderr}`).toBe(0);
    }
    const statuses = logs.flatMap((l) => l.statuses);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    for (const l of listeners) {
      const refusals = l.logs().filter((x) => x.msg === 'delivery rejected');
      expect(refusals.filter((x) => x.status !== 503)).toEqual([]);
      expect(l.stdout()).not.toMatch(/"status":500/);
    }
    const stored = await storedEventIds(db);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.length).toBe(total);
    expect(new Set(stored)).toEqual(new Set(bodies.map(eventIdOf)));
    for (const l of listeners) expect(await l.stop()).toEqual({ code: 0, signal: null });
  });
});
