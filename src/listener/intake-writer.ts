// Where the listener's write transactions run. `inlineWriter` runs them on the caller's connection
// (in-process tests, `omni simulate`-sized loads). `startWorkerWriter` runs them on a worker thread
// with its own connection to the same file, so that COMMIT's fsync (synchronous=FULL) and the
// inserts no longer block the event loop: the main thread keeps reading, verifying and parsing the
// next deliveries meanwhile. Either way a job's promise resolves only after its batch committed,
// and each job runs in its own SAVEPOINT (createBatchCommitter).
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { createBatchCommitter, type JobResult } from '../db/batch.js';
import { createIntakeStore, type IntakeInteraction, type IntakeStore } from '../db/intake.js';
import { createOutboxStore } from '../db/outbox.js';
import { createCacheVersionReader } from '../db/listener-reads.js';
import { createChatbotStore } from '../db/chatbot.js';
import { chatbotSteps } from '../chatbot/conversation.js';
import { runAsync, runSync } from '../db/step.js';
import { isDatabaseError } from '../db/batch.js';
import { createPgBatchCommitter } from '../db/pg-batch.js';
import { createPgStores } from '../db/pg-stores.js';
import type { Pool } from 'pg';
import { addressKey, DELIVERY_PARSE_CODE, parseDelivery, type Delivery } from '../intake/parse.js';
import { chatDelivery, type ChatWriteItem } from '../intake/chat.js';
import { eventHasher } from '../privacy/tombstone.js';
import { deliveryStep, type EventResult } from '../intake/pipeline.js';
import { renderResults, type RenderedResults, type StoredResults } from './delivery-results.js';

/**
 * One verified delivery to store: plain data, so it can cross to a worker thread. The body travels
 * as its bytes (a webhook's, as read) or text (a stream line, a rebuilt history event) and its events
 * are parsed by the writer only. The main thread reads only whose delivery it is (deliveryAddress), to
 * refuse bad or misaddressed deliveries before queueing them.
 */
export interface WriteJob {
  interaction: IntakeInteraction;
  body: string | Uint8Array;
  /**
   * The address the main thread read without parsing the events (addressKey): the writer refuses the
   * delivery (PoisonDelivery) if its whole parse reads another, so a delivery is never stored under
   * an account it was not checked against.
   */
  address?: string;
  /** ISO-8601 time of arrival. */
  at: string;
  /** An X Chat message decrypted and verified on the main thread: stored instead of parsing `body`. */
  chat?: ChatWriteItem;
  /**
   * SQLite: the interaction cache counter the delivery's interaction was read under
   * (src/db/listener-reads.ts). The writer reads the counter in the batch's transaction and writes
   * nothing of the job if it moved (InteractionChanged), so a deleted or re-keyed interaction is
   * never served from a cache the listener checks only every few ms.
   */
  validatedUnder?: number;
  /**
   * The caller reads every result back (stream, reconcile): the writer thread renders them all,
   * not only the first few an answer shows (delivery-results.ts).
   */
  allResults?: true;
}

export interface IntakeWriter {
  /** Batches the group committer may hand over before the first is answered (default 1). */
  readonly maxInFlight?: number;
  write(jobs: WriteJob[]): Array<JobResult<StoredResults>> | Promise<Array<JobResult<StoredResults>>>;
  close(): Promise<void>;
}

/** What a job carries, as the pipeline reads it: a verified X Chat message, or the delivery body. */
function deliveryOf(j: WriteJob): Delivery {
  if (j.chat) return chatDelivery(j.chat);
  const delivery = parseDelivery(j.body);
  if (j.address !== undefined && addressKey(delivery) !== j.address) {
    throw new PoisonDelivery(`its address reads ${addressKey(delivery)} in full but was checked as ${j.address}`);
  }
  return delivery;
}

/** A writer whose jobs resolve with the results themselves, not their text (in-process, PostgreSQL). */
export interface ResultsIntakeWriter extends IntakeWriter {
  write(jobs: WriteJob[]): Array<JobResult<EventResult[]>> | Promise<Array<JobResult<EventResult[]>>>;
}

/** A writer that answers synchronously (the in-process one). */
export interface SyncIntakeWriter extends ResultsIntakeWriter {
  write(jobs: WriteJob[]): Array<JobResult<EventResult[]>>;
}

export interface WriterSettings {
  /** A Helper chatbot conversation idle this long starts over. */
  idleMs: number;
  /** Base64 of the tombstone subkey (src/privacy/tombstone.ts): DMs of erased requesters are dropped. */
  tombstoneKey: string;
  /** A DM reaching omni later than this after it was sent gets no Helper answer (default 15 min; 0: off). */
  answerWindowMs?: number;
}

export function inlineWriter(sqlite: BetterSqlite3.Database, settings: WriterSettings): SyncIntakeWriter {
  const store = createIntakeStore(sqlite, { eventHash: eventHasher(Buffer.from(settings.tombstoneKey, 'base64')) });
  const cacheVersion = createCacheVersionReader(sqlite);
  const commit = createBatchCommitter(sqlite);
  // The chatbot and the outbox write in the same transaction as the DM that caused them.
  const outbox = createOutboxStore(sqlite);
  const chatbot = createChatbotStore(sqlite);
  const steps = chatbotSteps(settings.idleMs, settings.answerWindowMs);
  return {
    write: (jobs) => {
      // The intake parameters are read once per batch (inside its transaction), not once per delivery.
      let params: Map<number, string> | undefined;
      // Whether any requester was ever erased, read once per attempt under the write lock (an
      // erasure is a write, so none can commit meanwhile): until the first erasure, a DM costs
      // neither the tombstone's HMAC nor its lookup.
      let anyErased: boolean | undefined;
      const intake: IntakeStore = {
        ...store,
        intakeParameters: () => (params ??= store.intakeParameters()),
        erasedEvent: (eventId) => ((anyErased ??= store.hasErasedEvents()) ? store.erasedEvent(eventId) : undefined),
      };
      const stores = { intake, outbox, chatbot };
      // The cache counter, read once per attempt of the batch (the first job runs first in each), under the write lock.
      let counter: number | undefined;
      const changed: number[] = [];
      const results = commit(
        jobs.map((j, k) => () => {
          if (k === 0) counter = anyErased = undefined;
          if (j.validatedUnder !== undefined && j.validatedUnder !== (counter ??= cacheVersion())) {
            changed.push(k);
            return [];
          }
          return poisonUnlessDatabase(() => runSync(deliveryStep(j.interaction, deliveryOf(j), j.at, steps), stores));
        }),
      );
      for (const k of changed) if (results[k]!.ok) results[k] = { ok: false, error: new InteractionChanged() };
      return results;
    },
    close: async () => undefined,
  };
}

/**
 * The PostgreSQL writer: the same pipeline (deliveryStep) awaited on one pooled client per batch,
 * BEGIN, a SAVEPOINT per job, COMMIT (src/db/pg-batch.ts). No thread: the event loop is free while
 * the server works. Up to `maxInFlight` batches commit at once on their own clients (the pool is
 * shared with the rest of the listener, so keep it well above that).
 */
export function postgresWriter(pool: Pick<Pool, 'connect'>, settings: WriterSettings, options: { maxInFlight?: number } = {}): ResultsIntakeWriter {
  const commit = createPgBatchCommitter(pool);
  const eventHash = eventHasher(Buffer.from(settings.tombstoneKey, 'base64'));
  const steps = chatbotSteps(settings.idleMs, settings.answerWindowMs);
  return {
    maxInFlight: options.maxInFlight ?? 4,
    write: async (jobs) => {
      let params: Promise<Map<number, string>> | undefined;
      const parsed = jobs.map((j) => {
        try {
          return { job: j, delivery: deliveryOf(j) };
        } catch (err) {
          return { job: j, error: isPoison(err) ? err : new PoisonDelivery(err) };
        }
      });
      // Jobs run in the order of the requesters they lock, the same order in every listener: two
      // batches then wait for each other instead of deadlocking (src/db/pg-batch.ts reruns a batch
      // that still does).
      const order = parsed.map((_, i) => i).sort((x, y) => compareKeys(lockKey(parsed[x]!), lockKey(parsed[y]!)) || x - y);
      const results = await commit(
        order.map((i) => async (client) => {
          const p = parsed[i]!;
          if (!p.delivery) throw p.error;
          const stores = createPgStores(client, { eventHash });
          // Read once per batch, in its transaction; a retried job reuses it.
          const read = stores.intake.intakeParameters;
          stores.intake.intakeParameters = () =>
            (params ??= read().catch((err: unknown) => {
              params = undefined;
              throw err;
            }));
          try {
            return await runAsync(deliveryStep(p.job.interaction, p.delivery, p.job.at, steps), stores);
          } catch (err) {
            if (isDatabaseError(err)) throw err;
            throw new PoisonDelivery(err);
          }
        }),
      );
      const answered = new Array<JobResult<EventResult[]>>(jobs.length);
      order.forEach((i, k) => (answered[i] = results[k]!));
      return answered;
    },
    close: async () => undefined, // the pool belongs to the database handle
  };
}

/** The requester a delivery's first DM locks (its sender, or the recipient of the account's own DM), as the sort key of its job. */
function lockKey(p: { job: WriteJob; delivery?: Delivery }): string {
  for (const item of p.delivery?.items ?? []) {
    if (item.kind !== 'dm') continue;
    const account = p.delivery!.forUserId ?? p.job.interaction.account_user_id;
    return `${p.job.interaction.id}:${item.event.senderId === account ? (item.event.recipientId ?? '') : item.event.senderId}`;
  }
  return '';
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A delivery that cannot be processed whatever the database does: its own content makes the intake
 * throw (or, on the writer thread, run out of memory). Answered 422 and not retried by omni; every
 * other delivery of its batch is unaffected. Known across the thread boundary by its code.
 */
export const POISON_CODE = 'ERR_POISON_DELIVERY';

export class PoisonDelivery extends Error {
  readonly code = POISON_CODE;
  constructor(cause: unknown) {
    super(`the delivery cannot be processed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'PoisonDelivery';
  }
}

export const INTERACTION_CHANGED_CODE = 'ERR_INTERACTION_CHANGED';

/** An interaction changed after the listener read the delivery's row from its cache: nothing of the delivery was written. */
export class InteractionChanged extends Error {
  readonly code = INTERACTION_CHANGED_CODE;
  constructor() {
    super('an interaction changed while the delivery was being stored; retry');
    this.name = 'InteractionChanged';
  }
}

/** True for InteractionChanged, on either side of the thread boundary. */
export function isInteractionChanged(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === INTERACTION_CHANGED_CODE;
}

/** True for a PoisonDelivery or a body that is no delivery (DeliveryParseError), on either side of the thread boundary. */
export function isPoison(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === POISON_CODE || code === DELIVERY_PARSE_CODE;
}

/** Runs one delivery's intake; anything it throws that is not SQLite's is that delivery's fault. */
function poisonUnlessDatabase<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_') || code === 'ERR_DB_CLOSED')) throw err;
    // Already named: a body that is no delivery crosses back as itself (answered 400, as on the main thread).
    if (isPoison(err)) throw err;
    throw new PoisonDelivery(err);
  }
}

/**
 * A batch as it crosses to the writer thread: the interactions once each (a batch is mostly one
 * interaction's deliveries), every body's bytes in ONE buffer that is moved, not copied, to the
 * thread (cloning strings cost the main thread ~5 % of its time), then per job its interaction's
 * index, the end of its body, its time and address; the few X Chat jobs apart.
 */
export interface WireBatch {
  interactions: IntakeInteraction[];
  which: number[];
  /** The UTF-8 bodies one after the other; job k's ends at ends[k]. Transferred with the message. */
  bytes: ArrayBuffer;
  ends: number[];
  ats: string[];
  /** The address each job was checked against (addressKey); '' when none was. */
  addresses: string[];
  /** validatedUnder per job; -1 when absent. */
  under: number[];
  chats: Array<[number, ChatWriteItem]>;
  /** The jobs with allResults. */
  all: number[];
}

export function batchToWire(jobs: WriteJob[]): WireBatch {
  const interactions: IntakeInteraction[] = [];
  const index = new Map<number, number>();
  let total = 0;
  for (const j of jobs) total += typeof j.body === 'string' ? Buffer.byteLength(j.body) : j.body.byteLength;
  // Its own ArrayBuffer (never a slice of Node's shared pool), so that it can be transferred.
  const bytes = Buffer.allocUnsafeSlow(total);
  const batch: WireBatch = { interactions, which: [], bytes: bytes.buffer as ArrayBuffer, ends: [], ats: [], addresses: [], under: [], chats: [], all: [] };
  let at = 0;
  jobs.forEach((j, k) => {
    let i = index.get(j.interaction.id);
    if (i === undefined || interactions[i] !== j.interaction) {
      i = interactions.push(j.interaction) - 1;
      index.set(j.interaction.id, i);
    }
    batch.which.push(i);
    if (typeof j.body === 'string') at += bytes.write(j.body, at);
    else {
      bytes.set(j.body, at);
      at += j.body.byteLength;
    }
    batch.ends.push(at);
    batch.ats.push(j.at);
    batch.addresses.push(j.address ?? '');
    batch.under.push(j.validatedUnder ?? -1);
    if (j.chat) batch.chats.push([k, j.chat]);
    if (j.allResults) batch.all.push(k);
  });
  return batch;
}

export function batchFromWire(w: WireBatch): WriteJob[] {
  const bytes = Buffer.from(w.bytes);
  const jobs: WriteJob[] = w.ends.map((end, k) => {
    const job: WriteJob = { interaction: w.interactions[w.which[k]!]!, body: bytes.subarray(k === 0 ? 0 : w.ends[k - 1]!, end), at: w.ats[k]! };
    if (w.addresses[k] !== '') job.address = w.addresses[k]!;
    if (w.under[k]! >= 0) job.validatedUnder = w.under[k]!;
    return job;
  });
  for (const [k, chat] of w.chats) jobs[k]!.chat = chat;
  for (const k of w.all) jobs[k]!.allResults = true;
  return jobs;
}

// Errors cross the thread boundary as plain data; `code` (SQLITE_BUSY, ...) decides 503 vs 500.
export interface WireError {
  name: string;
  message: string;
  code?: string;
}
/**
 * A batch's results as they cross back: per job the text of its answer (RenderedResults), all of
 * them in one string (one string clones far cheaper than arrays of them: measured, three arrays of
 * strings per batch cost the writer thread 6 % of its time in postMessage), and the failed jobs
 * apart. The fields are separated by a newline, which JSON.stringify never leaves raw in its output
 * and no outcome contains: shown, more and outcomes of job 0, then of job 1, and so on.
 */
export interface WireResults {
  count: number;
  text: string;
  errors: Array<[number, WireError]>;
}

export function resultsToWire(results: Array<JobResult<EventResult[]>>, jobs: WriteJob[]): WireResults {
  let text = '';
  const errors: Array<[number, WireError]> = [];
  for (let k = 0; k < results.length; k++) {
    const r = results[k]!;
    if (k > 0) text += '\n';
    if (r.ok) {
      const rendered = renderResults(r.value, jobs[k]!.allResults);
      text += rendered.shown + '\n' + rendered.more + '\n' + rendered.outcomes;
    } else {
      text += '\n\n';
      errors.push([k, errorToWire(r.error)]);
    }
  }
  return { count: results.length, text, errors };
}

export function resultsFromWire(w: WireResults): Array<JobResult<RenderedResults>> {
  const fields = w.count === 0 ? [] : w.text.split('\n');
  const results: Array<JobResult<RenderedResults>> = new Array(w.count);
  for (let k = 0; k < results.length; k++) results[k] = { ok: true, value: { shown: fields[3 * k]!, more: fields[3 * k + 1]!, outcomes: fields[3 * k + 2]! } };
  for (const [k, error] of w.errors) results[k] = { ok: false, error: errorFromWire(error) };
  return results;
}

export function errorToWire(err: unknown): WireError {
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

export function errorFromWire(w: WireError): Error {
  return Object.assign(new Error(w.message), { name: w.name, ...(w.code ? { code: w.code } : {}) });
}

/**
 * The writer thread died with batches unanswered (it is started again for the next batch). Nothing
 * of those batches is acknowledged: the listener answers 503 and Twitter retries.
 */
export class WriterExited extends Error {
  readonly code = 'ERR_DB_WRITER_EXITED';
  constructor(exitCode: number, cause: unknown) {
    super(`the intake writer thread stopped (exit code ${exitCode})${cause ? `: ${(cause as Error).message}` : ''}`, cause === undefined ? undefined : { cause });
    this.name = 'WriterExited';
  }
}

export interface WorkerWriterOptions {
  /** The bundled worker entry (dist/intake-worker.js). */
  workerUrl: URL;
  dbPath: string;
  busyTimeoutMs: number;
  settings: WriterSettings;
  /** Told when the thread dies unexpectedly; it is started again for the next batch. */
  onExit?: (err: Error) => void;
  /** The thread's heap (old generation) in MB; past it the thread dies and its batch is retried delivery by delivery (default 128). */
  maxHeapMb?: number;
}

type FromWorker = { type: 'ready' } | { type: 'failed'; error: WireError } | { type: 'results'; seq: number; results: WireResults };

/** Starts the writer thread and waits until its connection is open (a bad path fails here, at start). */
export async function startWorkerWriter(opts: WorkerWriterOptions): Promise<IntakeWriter> {
  const inFlight = new Map<number, { resolve: (r: Array<JobResult<RenderedResults>>) => void; reject: (e: unknown) => void }>();
  let seq = 0;
  let closing = false;

  let current: Promise<Worker> | undefined;

  const spawn = (): Promise<Worker> => {
    // The thread holds a few batches of small objects at a time: a small young generation keeps
    // its memory (and the listener's peak RSS) low.
    const worker = new Worker(opts.workerUrl, {
      workerData: { dbPath: opts.dbPath, busyTimeoutMs: opts.busyTimeoutMs, settings: opts.settings },
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: opts.maxHeapMb ?? 128 },
    });
    const started = new Promise<Worker>((resolve, reject) => {
      let ready = false;
      let lastError: unknown;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          resolve(worker);
        } else if (m.type === 'failed') {
          reject(errorFromWire(m.error));
        } else {
          const p = inFlight.get(m.seq);
          inFlight.delete(m.seq);
          p?.resolve(resultsFromWire(m.results));
        }
      });
      worker.on('error', (err) => (lastError = err));
      worker.on('exit', (code) => {
        if (current === started) current = undefined; // the next batch starts a new thread
        const err = new WriterExited(code, lastError);
        // Nothing of a batch whose answer never came is acknowledged: its deliveries get a 503 and
        // Twitter retries them; the dedup key makes a retry of a batch that did commit harmless.
        for (const p of inFlight.values()) p.reject(err);
        inFlight.clear();
        if (!ready) reject(err);
        else if (!closing) opts.onExit?.(err);
      });
    });
    return started;
  };

  current = spawn();
  await current;

  const writeOnce = async (jobs: WriteJob[]): Promise<Array<JobResult<RenderedResults>>> => {
    current ??= spawn();
    const worker = await current;
    const id = ++seq;
    return new Promise((resolve, reject) => {
      inFlight.set(id, { resolve, reject });
      const batch = batchToWire(jobs);
      worker.postMessage({ type: 'write', seq: id, batch }, [batch.bytes]);
    });
  };

  return {
    // A second batch waits in the thread's queue while the first commits, so the thread never idles
    // waiting for the main thread to form and send the next one.
    maxInFlight: 2,
    async write(jobs) {
      try {
        return await writeOnce(jobs);
      } catch (err) {
        if (!(err instanceof WriterExited) || closing) throw err;
        // The thread died in the middle of this batch (out of memory, most likely on one delivery):
        // each delivery is tried again alone on a fresh thread, so that the one that kills it is
        // refused (PoisonDelivery) and the others are written as if nothing had happened.
        if (jobs.length === 1) throw new PoisonDelivery(err);
        const results: Array<JobResult<RenderedResults>> = [];
        for (const job of jobs) {
          try {
            results.push(...(await writeOnce([job])));
          } catch (error) {
            if (!(error instanceof WriterExited) || closing) throw error;
            results.push({ ok: false, error: new PoisonDelivery(error) });
          }
        }
        return results;
      }
    },
    async close() {
      closing = true;
      const running = current;
      current = undefined;
      const worker = await running?.catch(() => undefined);
      if (!worker) return;
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage({ type: 'close' });
      await exited;
    },
  };
}
