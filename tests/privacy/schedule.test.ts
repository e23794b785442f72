// The listener's retention run: its own connection each time, nothing while the window is off,
// redaction and one log line once it is set.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { writeRetention } from '../../src/privacy/retention.js';
import { startRetentionSchedule, type RetentionSchedule } from '../../src/privacy/schedule.js';
import { engineIntakeHarness } from '../support/intake.js';
import { TEST_ENGINE } from '../support/engine.js';
import { inboundDm, newEventId } from '../support/deliveries.js';

let schedule: RetentionSchedule | undefined;
afterEach(async () => {
  await schedule?.stop();
  schedule = undefined;
});

describe(`retention in omni listen on ${TEST_ENGINE}`, () => {
  it('does nothing while off, then redacts closed tickets past the window and logs it', async () => {
    const h = await engineIntakeHarness();
    await h.intake(inboundDm({ senderId: '7001', text: 'old words', eventId: newEventId() }), undefined, new Date('2026-01-01T00:00:00Z'));
    await h.db.kysely.updateTable('tickets').set({ status: 'closed', closed_at: '2026-01-02T00:00:00.000Z' }).execute();
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    let opened = 0;
    schedule = startRetentionSchedule({
      open: () => (opened++, openDatabase(h.dbPath, { migrate: false })),
      log: { info: (m, f) => lines.push([m, f]), error: (m) => lines.push([m, undefined]) },
      now: () => new Date('2026-06-01T00:00:00Z'),
      actor: 'test',
      firstRunAfterMs: 3_600_000,
    });
    expect(await schedule.runOnce()).toBeUndefined();
    expect(lines).toEqual([]);
    await writeRetention(h.db.kysely, '90d', { now: new Date().toISOString(), actor: 'test' });
    expect(await schedule.runOnce()).toMatchObject({ messages: 1, tickets: [{ messages: 1 }] });
    expect(lines).toEqual([[expect.stringContaining('retention: redacted 1 messages of 1 tickets'), expect.objectContaining({ window: '90d' })]]);
    expect(await h.db.kysely.selectFrom('messages').select('text').execute()).toEqual([{ text: '' }]);
    expect(opened).toBe(2);
    await h.close();
  });
});
