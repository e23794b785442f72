// The intake without HTTP, over a real temp database: a committed `intake(interaction, raw)` that
// runs the pipeline as the listener does (the outbox and the Helper chatbot given to it), and
// sample interaction values for tests that build write jobs by hand.
import path from 'node:path';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { createBatchCommitter } from '../../src/db/batch.js';
import { createIntakeStore, type IntakeInteraction, type IntakeStore } from '../../src/db/intake.js';
import { createOutboxStore, type OutboxStore } from '../../src/db/outbox.js';
import { createChatbotStore, type ChatbotStore } from '../../src/db/chatbot.js';
import { intakeRaw, type EventResult, type Messaging } from '../../src/intake/pipeline.js';
import { createPgStores } from '../../src/db/pg-stores.js';
import { runAsync, runSync, type Step } from '../../src/db/step.js';
import { inlineWriter, postgresWriter, type ResultsIntakeWriter } from '../../src/listener/intake-writer.js';
import { createChatbot, DEFAULT_IDLE_MS } from '../../src/chatbot/conversation.js';
import { separateTestDatabase } from './engine.js';
import { seedInteraction, type SeedOptions } from './seed.js';
import { tempDir } from './tmp.js';

/** The account of the interactions seeded by seed.ts unless told otherwise. */
export const SAMPLE_ACCOUNT = '123';

/** An interaction as the intake sees it: no defaults, no interception, account SAMPLE_ACCOUNT. */
export function sampleInteraction(id: number, overrides: Partial<IntakeInteraction> = {}): IntakeInteraction {
  return { id, account_user_id: SAMPLE_ACCOUNT, unit_id: null, group_id: null, activity_id: null, contact_origin_id: null, helper_interception: 0, ...overrides };
}

export interface IntakeHarness {
  db: Db;
  dbPath: string;
  store: IntakeStore;
  outbox: OutboxStore;
  chatbot: ChatbotStore;
  interactionId: number;
  /** Runs the pipeline on raw bytes in one committed transaction, as the listener does; `at`: the arrival time. */
  intake(raw: string | Buffer, interactionId?: number, at?: Date): EventResult[];
  count(table: 'requesters' | 'tickets' | 'messages' | 'outbox' | 'helper_messages' | 'helper_jobs' | 'helper_conversations'): number;
  setParam(number: number, value: string | null): void;
  close(): Promise<void>;
}

export async function intakeHarness(seed: SeedOptions = {}, opts: { idleMs?: number; eventHash?: (eventId: string) => string } = {}): Promise<IntakeHarness> {
  const dbPath = path.join(tempDir(), 'omni.db');
  const { id } = await seedInteraction(dbPath, seed);
  const db = await openDatabase(dbPath);
  const store = createIntakeStore(db.sqlite, opts.eventHash ? { eventHash: opts.eventHash } : {});
  const outbox = createOutboxStore(db.sqlite);
  const chatbot = createChatbotStore(db.sqlite);
  const commit = createBatchCommitter(db.sqlite);
  const messaging: Messaging = { outbox, chatbot: createChatbot({ intake: store, chatbot, outbox }, opts.idleMs ?? DEFAULT_IDLE_MS) };
  return {
    db,
    dbPath,
    store,
    outbox,
    chatbot,
    interactionId: id,
    intake(raw, interactionId = id, at = new Date()) {
      const interaction = store.interaction(interactionId);
      if (!interaction) throw new Error(`no live interaction ${interactionId}`);
      const [r] = commit([() => intakeRaw(store, interaction, raw, at.toISOString(), messaging)]);
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

/** The writer thread's tombstone key in tests (any 32 bytes, base64): settings of `inlineWriter`/`startWorkerWriter`. */
export const TEST_TOMBSTONE_KEY = Buffer.alloc(32, 1).toString('base64');

/** The listener's writer for this database's engine, as `omni listen` picks it (a SQLite thread's inline writer, or PostgreSQL's). */
export function writerFor(db: Db, settings: { idleMs: number; tombstoneKey: string } = { idleMs: DEFAULT_IDLE_MS, tombstoneKey: TEST_TOMBSTONE_KEY }): ResultsIntakeWriter {
  return db.engine === 'postgres' ? postgresWriter(db.pool, settings) : inlineWriter(db.sqlite, settings);
}

/**
 * Runs storage steps (src/db/step.ts) on this database's engine, each operation committed on its own:
 * `runSync` on the SQLite stores, `runAsync` on PostgreSQL's (the same SQL, awaited).
 */
export function stepRunner(db: Db): <T>(step: Step<T>) => Promise<T> {
  if (db.engine === 'postgres') {
    const stores = createPgStores(db.pool);
    return (step) => runAsync(step, stores);
  }
  const stores = { intake: createIntakeStore(db.sqlite), outbox: createOutboxStore(db.sqlite), chatbot: createChatbotStore(db.sqlite) };
  return async (step) => runSync(step, stores);
}

export interface EngineIntakeHarness {
  db: Db;
  dbPath: string;
  interactionId: number;
  /** Runs the pipeline on raw bytes in one committed transaction through the writer of the database's engine. */
  intake(raw: string | Buffer, interactionId?: number, at?: Date): Promise<EventResult[]>;
  count(table: 'requesters' | 'tickets' | 'messages' | 'outbox' | 'helper_messages' | 'helper_jobs' | 'helper_conversations'): Promise<number>;
  setParam(number: number, value: string | null): Promise<void>;
  close(): Promise<void>;
}

/**
 * intakeHarness on this run's engine (a database of its own, separateTestDatabase()), everything awaited: the jobs go through
 * `writerFor` as `omni listen` writes them, reads and parameters through Kysely.
 */
export async function engineIntakeHarness(seed: SeedOptions = {}, opts: { idleMs?: number; tombstoneKey?: string } = {}): Promise<EngineIntakeHarness> {
  const dbPath = await separateTestDatabase();
  const { id } = await seedInteraction(dbPath, seed);
  const db = await openDatabase(dbPath);
  const k = db.kysely;
  const writer = writerFor(db, { idleMs: opts.idleMs ?? DEFAULT_IDLE_MS, tombstoneKey: opts.tombstoneKey ?? TEST_TOMBSTONE_KEY });
  return {
    db,
    dbPath,
    interactionId: id,
    async intake(raw, interactionId = id, at = new Date()) {
      const interaction = await k
        .selectFrom('interactions')
        .select(['id', 'account_user_id', 'unit_id', 'group_id', 'activity_id', 'contact_origin_id', 'helper_interception'])
        .where('id', '=', interactionId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!interaction) throw new Error(`no live interaction ${interactionId}`);
      const [r] = await writer.write([{ interaction, body: typeof raw === 'string' ? raw : raw.toString('utf8'), at: at.toISOString() }]);
      if (!r!.ok) throw r!.error;
      return r!.value;
    },
    count: async (table) => Number((await k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
    async setParam(number, value) {
      if (value === null) await k.deleteFrom('parameters').where('number', '=', number).execute();
      else
        await k
          .insertInto('parameters')
          .values({ number, value, updated_at: new Date().toISOString() })
          .onConflict((oc) => oc.column('number').doUpdateSet({ value }))
          .execute();
    },
    close: () => db.close(),
  };
}
