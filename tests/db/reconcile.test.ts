// Reconcile state on both engines (migration 0015): the fleet lease (one holder at a time, taken over
// once expired), the cursor that only moves forward, history reads counted once per UTC day, and the
// usage rows (delivered = inbound DMs stored minus the ones reconciliation imported).
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { reconcileState, recordHistoryReads, recordReconcileRun, releaseReconcileLease, takeReconcileLease, usageRows } from '../../src/db/reconcile.js';
import { TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { seedInteraction } from '../support/seed.js';

describe('reconcile state', () => {
  it('leases an account to one process at a time, moves the cursor forward only, and counts reads once per UTC day', async () => {
    const url = testDatabase();
    const { id } = await seedInteraction(url, { env: { OMNI_SECRET_KEY: TEST_SECRET_KEY } });
    const db = await openDatabase(url);
    try {
      const k = db.kysely;
      const t0 = new Date('2026-12-01T08:00:00Z');
      expect(await takeReconcileLease(k, id, 'listener A', t0, 60_000)).toBe(true);
      expect(await takeReconcileLease(k, id, 'listener B', new Date(t0.getTime() + 30_000), 60_000)).toBe(false);
      // Its holder may renew it; once expired anyone takes it.
      expect(await takeReconcileLease(k, id, 'listener A', new Date(t0.getTime() + 30_000), 60_000)).toBe(true);
      expect(await takeReconcileLease(k, id, 'listener B', new Date(t0.getTime() + 91_000), 60_000)).toBe(true);
      await releaseReconcileLease(k, id, 'listener A'); // not the holder: nothing
      expect(await reconcileState(k, id)).toMatchObject({ lease_owner: 'listener B' });
      await releaseReconcileLease(k, id, 'listener B');
      expect(await takeReconcileLease(k, id, 'listener A', new Date(t0.getTime() + 92_000), 60_000)).toBe(true);

      await recordReconcileRun(k, id, { at: t0.toISOString(), read: 3, found: 1, error: null, cursor: { eventId: '9000000000000000002', at: null }, limitedUntil: null });
      await recordReconcileRun(k, id, { at: t0.toISOString(), read: 1, found: 0, error: null, cursor: { eventId: '9000000000000000001', at: null }, limitedUntil: null });
      expect(await reconcileState(k, id)).toMatchObject({ cursor_event_id: '9000000000000000002', last_read: 1, last_found: 0 });

      await recordHistoryReads(k, id, t0, ['e1', 'e2'], new Set(['e2']));
      await recordHistoryReads(k, id, new Date('2026-12-01T23:00:00Z'), ['e1', 'e2', 'e3'], new Set());
      await recordHistoryReads(k, id, new Date('2026-12-02T00:10:00Z'), ['e1'], new Set());
      const rows = await usageRows(k, '2026-11-30T00:00:00.000Z');
      expect(rows.map((r) => [r.day, r.read])).toEqual([
        ['2026-12-01', 3],
        ['2026-12-02', 1],
      ]);
    } finally {
      await db.close();
    }
  });
});
