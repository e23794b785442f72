// An intake store and a committed `intake(interaction, raw)` over a real temp database, for tests of
// the pipeline without HTTP.
import path from 'node:path';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { createBatchCommitter, createIntakeStore, type IntakeStore } from '../../src/db/intake.js';
import { intakeRaw, type EventResult } from '../../src/intake/pipeline.js';
import { seedInteraction, type SeedOptions } from './seed.js';
import { tempDir } from './tmp.js';

export interface IntakeHarness {
  db: Db;
  dbPath: string;
  store: IntakeStore;
  interactionId: number;
  /** Runs the pipeline on raw bytes in one committed transaction, as the listener does. */
  intake(raw: string | Buffer, interactionId?: number): EventResult[];
  count(table: 'requesters' | 'tickets' | 'messages'): number;
  close(): Promise<void>;
}

export async function intakeHarness(seed: SeedOptions = {}): Promise<IntakeHarness> {
  const dbPath = path.join(tempDir(), 'omni.db');
  const { id } = await seedInteraction(dbPath, seed);
  const db = await openDatabase(dbPath);
  const store = createIntakeStore(db.sqlite);
  const commit = createBatchCommitter(db.sqlite);
  return {
    db,
    dbPath,
    store,
    interactionId: id,
    intake(raw, interactionId = id) {
      const interaction = store.interaction(interactionId);
      if (!interaction) throw new Error(`no live interaction ${interactionId}`);
      const [r] = commit([() => intakeRaw(store, interaction, raw, new Date().toISOString())]);
      if (!r!.ok) throw r!.error;
      return r!.value;
    },
    count: (table) => (db.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    close: () => db.close(),
  };
}
