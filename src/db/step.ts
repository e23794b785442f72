// The listener's storage seam. The decisions of the hot path (the intake pipeline, the Helper
// chatbot, queueing ticket DMs) are written ONCE, as generators that yield storage operations
// (`yield* op('intake', 'messageByEvent', id, eventId)`) and receive their results. Each engine
// drives them:
//   - SQLite (runSync): every operation is a synchronous better-sqlite3 prepared statement, run at
//     once on the writer thread; no promise anywhere on the hot path.
//   - PostgreSQL (runAsync): every operation is awaited on the one pooled client that holds the
//     batch's transaction.
// The operations are the methods of the stores below; an engine implements them synchronously
// (SQLite: src/db/intake.ts, outbox.ts, chatbot.ts) or as promises (PostgreSQL: src/db/pg-stores.ts).
import type { ChatbotStore } from './chatbot.js';
import type { IntakeStore } from './intake.js';
import type { OutboxStore } from './outbox.js';

/** The operations the step code may yield, per store: what every engine implements. */
export type StepIntake = Pick<
  IntakeStore,
  | 'interaction'
  | 'intakeParameters'
  | 'messageByEvent'
  | 'upsertRequester'
  | 'requesterIdByTwitterId'
  | 'knownRequester'
  | 'markRevoked'
  | 'erasedEvent'
  | 'recordReplayJobStatus'
  | 'openTicketId'
  | 'insertTicket'
  | 'insertMessage'
  | 'touchTicket'
>;
export type StepOutbox = Pick<
  OutboxStore,
  'interactionForSending' | 'insertTicketMessage' | 'enqueue' | 'get' | 'markSent' | 'markRetry' | 'markFailed' | 'deferInteraction' | 'inFlight'
>;
export type StepChatbot = Pick<
  ChatbotStore,
  | 'parameters'
  | 'activeConversation'
  | 'conversation'
  | 'startConversation'
  | 'endConversation'
  | 'setState'
  | 'messageByEvent'
  | 'insertMessage'
  | 'transcript'
  | 'attachOutbox'
  | 'enqueueJob'
  | 'finishJob'
  | 'skipPendingJobs'
  | 'requesterTickets'
>;

/** The synchronous stores (SQLite). A step that needs a store the caller did not give fails loudly. */
export interface SyncStores {
  intake: StepIntake;
  outbox: StepOutbox;
  chatbot: StepChatbot;
}

type Fn = (...args: never[]) => unknown;
/** The same operations returning promises (PostgreSQL). */
export type Promised<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never };
export interface AsyncStores {
  intake: Promised<StepIntake>;
  outbox: Promised<StepOutbox>;
  chatbot: Promised<StepChatbot>;
}

export type StoreName = keyof SyncStores;

/** One storage operation a step asks for. */
export interface StoreCall {
  store: StoreName;
  method: string;
  args: unknown[];
}

/** Decision code that yields storage operations and returns T. */
export type Step<T> = Generator<StoreCall, T, unknown>;

/** Asks the engine to run one operation and gives back its result. */
export function* op<S extends StoreName, K extends keyof SyncStores[S]>(
  store: S,
  method: K,
  ...args: SyncStores[S][K] extends Fn ? Parameters<SyncStores[S][K]> : never
): Step<SyncStores[S][K] extends Fn ? ReturnType<SyncStores[S][K]> : never> {
  return (yield { store, method: method as string, args }) as SyncStores[S][K] extends Fn ? ReturnType<SyncStores[S][K]> : never;
}

/** A value as a step (for code that must return a Step but needs no storage). */
// eslint-disable-next-line require-yield
export function* done<T>(value: T): Step<T> {
  return value;
}

function method(stores: Partial<Record<StoreName, object>>, call: StoreCall): (...args: unknown[]) => unknown {
  const store = stores[call.store] as Record<string, unknown> | undefined;
  const f = store?.[call.method];
  if (typeof f !== 'function') throw new Error(`the ${call.store} store given to this step has no operation ${call.method}`);
  return (f as (...args: unknown[]) => unknown).bind(store);
}

/** SQLite: runs a step to completion, synchronously, each operation at once. */
export function runSync<T>(step: Step<T>, stores: Partial<SyncStores>): T {
  let r = step.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = method(stores, r.value)(...r.value.args);
    } catch (err) {
      r = step.throw(err);
      continue;
    }
    r = step.next(value);
  }
  return r.value;
}

/** PostgreSQL: runs a step, awaiting each operation (on the client the stores are bound to). */
export async function runAsync<T>(step: Step<T>, stores: Partial<AsyncStores>): Promise<T> {
  let r = step.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = await method(stores, r.value)(...r.value.args);
    } catch (err) {
      r = step.throw(err);
      continue;
    }
    r = step.next(value);
  }
  return r.value;
}
