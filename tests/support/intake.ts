// An intake store and a committed `intake(interaction, raw)` over a real temp database, for tests of
// the pipeline without HTTP. Like the listener, it passes the outbox and the Helper to the pipeline.
import path from 'node:path';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { createBatchCommitter, createIntakeStore, type IntakeStore } from '../../src/db/intake.js';
import { createOutboxStore, type OutboxStore } from '../../src/db/outbox.js';
import { createHelperStore, type HelperStore } from '../../src/db/helper.js';
import { intakeRaw, type EventResult } from '../../src/intake/pipeline.js';
import { DEFAULT_IDLE_MS } from '../../src/helper/conversation.js';
import { seedInteraction, type SeedOptions } from './seed.js';
import { tempDir } from './tmp.js';

export interface IntakeHarness {
  db: Db;
  dbPath: string;
  store: IntakeStore;
  outbox: OutboxStore;
  helper: HelperStore;
  interactionId: number;
  /** Runs the pipeline on raw bytes in one committed transaction, as the listener does. */
  intake(raw: string | Buffer, interactionId?: number, now?: Date): EventResult[];
  count(table: 'requesters' | 'tickets' | 'messages' | 'outbox' | 'helper_messages' | 'helper_jobs' | 'helper_conversations'): number;
  setParam(number: number, value: string | null): void;
  close(): Promise<void>;
}

export async function intakeHarness(seed: SeedOptions = {}, opts: { idleMs?: number } = {}): Promise<IntakeHarness> {
  const dbPath = path.join(tempDir(), 'omni.db');
  const { id } = await seedInteraction(dbPath, seed);
  const db = await openDatabase(dbPath);
  const store = createIntakeStore(db.sqlite);
  const outbox = createOutboxStore(db.sqlite);
  const helper = createHelperStore(db.sqlite);
  const commit = createBatchCommitter(db.sqlite);
  const messaging = { outbox, helper, idleMs: opts.idleMs ?? DEFAULT_IDLE_MS };
  return {
    db,
    dbPath,
    store,
    outbox,
    helper,
    interactionId: id,
    intake(raw, interactionId = id, now = new Date()) {
      const interaction = store.interaction(interactionId);
      if (!interaction) throw new Error(`no live interaction ${interactionId}`);
      const [r] = commit([() => intakeRaw(store, interaction, raw, now.toISOString(), messaging)]);
      if (!r!.ok) throw r!.error;
      return r!.value;
    },
    count: (table) => (db.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    setParam(number, value) {
      if (value === null) db.sqlite.prepare('DELETE FROM parameters WHERE number = ?').run(number);
      else
        db.sqlite
          .prepare('INSERT INTO parameters (number, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (number) DO UPDATE SET value = excluded.value')
          .run(number, value, new Date().toISOString());
    },
    close: () => db.close(),
  };
}
