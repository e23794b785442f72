// The writer thread of `omni listen` (dist/intake-worker.js, built by `npm test`): deliveries
// committed by its own connection, errors carried back with their SQLite code, a clean close.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { isDatabaseUnavailable } from '../../src/db/batch.js';
import { startWorkerWriter, type IntakeWriter } from '../../src/listener/intake-writer.js';
import { allResults, type StoredResults } from '../../src/listener/delivery-results.js';
import { ROOT } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { inboundDm, newEventId } from '../support/deliveries.js';
import { addressKey, deliveryAddress } from '../../src/intake/parse.js';

import { TEST_TOMBSTONE_KEY as TOMBSTONE_KEY } from '../support/intake.js';
const workerUrl = pathToFileURL(path.join(ROOT, 'dist', 'intake-worker.js'));
let writer: IntakeWriter | undefined;
afterEach(async () => {
  await writer?.close();
  writer = undefined;
});

import { sampleInteraction as interaction } from '../support/intake.js';

describe('the intake writer thread', () => {
  it('stores a batch on its own connection, one result per job, a bad job alone refused', async () => {
    const dbPath = path.join(tempDir(), 'omni.db');
    const { id } = await seedInteraction(dbPath);
    writer = await startWorkerWriter({ workerUrl, dbPath, busyTimeoutMs: 500, settings: { idleMs: 30 * 60_000, tombstoneKey: TOMBSTONE_KEY } });
    const at = new Date().toISOString();
    const e1 = newEventId();
    const results = await writer.write([
      { interaction: interaction(id), body: inboundDm({ senderId: '42', text: 'hello', eventId: e1 }), at },
      { interaction: interaction(999), body: inboundDm({ senderId: '43', text: 'no such interaction' }), at }, // foreign key fails
      { interaction: interaction(id), body: inboundDm({ senderId: '42', text: 'again', eventId: e1 }), at },
    ]);
    // The thread sends each job's results as the text of its answer (delivery-results.ts).
    expect(results[0]).toMatchObject({ ok: true, value: { more: '', outcomes: 'new_ticket' } });
    expect(allResults((results[0] as { value: StoredResults }).value)).toMatchObject([{ outcome: 'new_ticket', id: e1 }]);
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' } });
    expect(results[2]).toMatchObject({ ok: true, value: { outcomes: 'duplicate' } });
    expect(allResults((results[2] as { value: StoredResults }).value)).toMatchObject([{ outcome: 'duplicate', id: e1 }]);
    const db = await openDatabase(dbPath);
    expect(db.sqlite.prepare('SELECT count(*) FROM messages').pluck().get()).toBe(1);
    await db.close();
  });

  it('takes bodies as bytes or text in one moved buffer, and refuses one whose address reads differently in full', async () => {
    const dbPath = path.join(tempDir(), 'omni.db');
    const { id } = await seedInteraction(dbPath);
    writer = await startWorkerWriter({ workerUrl, dbPath, busyTimeoutMs: 500, settings: { idleMs: 30 * 60_000, tombstoneKey: TOMBSTONE_KEY } });
    const at = new Date().toISOString();
    const bytes = Buffer.from(inboundDm({ senderId: '42', text: 'héllo 👍 as bytes' }));
    const text = String(inboundDm({ senderId: '43', text: 'ünïcode as text ✓' }));
    const checked = addressKey(deliveryAddress(bytes));
    const results = await writer.write([
      { interaction: interaction(id), body: bytes, address: checked, at },
      { interaction: interaction(id), body: text, at },
      // Checked on the main thread as another account's delivery: never stored under this one.
      { interaction: interaction(id), body: Buffer.from(inboundDm({ senderId: '44', text: 'x' })), address: addressKey({ forUserId: '999' }), at },
      // Its address reads fine; its events do not parse: the same refusal as a body that is no JSON.
      { interaction: interaction(id), body: Buffer.from('{"for_user_id":"123","direct_message_events":[,]}'), address: addressKey({ forUserId: '123' }), at },
    ]);
    expect(results.map((r) => (r.ok ? (r.value as { outcomes: string }).outcomes : (r.error as { code?: string }).code))).toEqual(['new_ticket', 'new_ticket', 'ERR_POISON_DELIVERY', 'ERR_DELIVERY_PARSE']);
    const db = await openDatabase(dbPath);
    expect(db.sqlite.prepare('SELECT text FROM messages ORDER BY id').pluck().all()).toEqual(['héllo 👍 as bytes', 'ünïcode as text ✓']);
    await db.close();
  });

  it('reports a locked database with its SQLite code, so the listener answers 503', async () => {
    const dbPath = path.join(tempDir(), 'omni.db');
    const { id } = await seedInteraction(dbPath);
    writer = await startWorkerWriter({ workerUrl, dbPath, busyTimeoutMs: 50, settings: { idleMs: 30 * 60_000, tombstoneKey: TOMBSTONE_KEY } });
    const holder = await openDatabase(dbPath);
    holder.sqlite.exec('BEGIN IMMEDIATE');
    const [r] = await writer.write([{ interaction: interaction(id), body: inboundDm({ senderId: '42', text: 'x' }), at: new Date().toISOString() }]);
    holder.sqlite.exec('ROLLBACK');
    await holder.close();
    expect(r).toMatchObject({ ok: false, error: { code: 'SQLITE_BUSY' } });
    expect(isDatabaseUnavailable((r as { error: unknown }).error)).toBe(true);
  });

  it('fails to start, with the reason, when the database file does not exist', async () => {
    await expect(startWorkerWriter({ workerUrl, dbPath: path.join(tempDir(), 'missing.db'), busyTimeoutMs: 50, settings: { idleMs: 30 * 60_000, tombstoneKey: TOMBSTONE_KEY } })).rejects.toMatchObject({ code: 'SQLITE_CANTOPEN' });
  });
});
