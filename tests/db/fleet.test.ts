// Once per fleet (src/db/fleet.ts, migration 0017): of several listeners deciding at once whether
// to run a job, one runs it per interval. Two "listeners" here are two handles on one database (two
// pools on PostgreSQL, two connections on SQLite), each with several claimants racing.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { claimFleetRun, lastFleetRun } from '../../src/db/fleet.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';

const open: Db[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

describe(`once per fleet on ${TEST_ENGINE}`, () => {
  it('runs a job once per interval across two listeners racing, and again once the interval has passed', async () => {
    const where = testDatabase();
    const a = await openDatabase(where);
    const b = await openDatabase(where);
    open.push(a, b);
    const intervalMs = 60_000;
    const t0 = Date.parse('2026-03-01T10:00:00.000Z');
    const round = (at: number) =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) => claimFleetRun(i % 2 ? a : b, 'webhook-watchdog', { intervalMs, owner: `listener ${i % 2 ? 'a' : 'b'}`, now: new Date(at + i) })),
      );
    const winners = (r: boolean[]) => r.filter(Boolean).length;
    expect(winners(await round(t0))).toBe(1);
    // Within the interval: every listener skips.
    expect(winners(await round(t0 + 30_000))).toBe(0);
    expect(winners(await round(t0 + 50_000))).toBe(0);
    // The next interval: one of them runs it again.
    expect(winners(await round(t0 + intervalMs))).toBe(1);
    expect(await lastFleetRun(a.kysely, 'webhook-watchdog')).toMatchObject({ last_run_at: expect.stringMatching(/^2026-03-01T10:01:00/), owner: expect.stringMatching(/^listener [ab]$/) });
    // Jobs are independent.
    expect(await claimFleetRun(b, 'retention', { intervalMs, owner: 'listener b', now: new Date(t0 + intervalMs + 1) })).toBe(true);
  });
});
