// Why a request is not answered 200, and the one mapping from an error to that answer. Routes
// return a Refusal for what they decide (unknown interaction, bad signature, ...); whatever a step
// throws goes through refusalOf, so no route repeats try/catch blocks.
import { isDatabaseUnavailable } from '../db/batch.js';
import { DELIVERY_PARSE_CODE, DeliveryParseError } from '../intake/parse.js';
import { BodyTimeout, BodyTooLarge, ClientAborted, UnverifiedBudgetSpent } from './body.js';
import { isInteractionChanged, isPoison, WriterExited } from './intake-writer.js';
import type { CrcRefusal, DeliveryRejection } from './metrics.js';

export type RefusalCode = DeliveryRejection | CrcRefusal;

export class Refusal {
  constructor(
    readonly status: number,
    readonly code: RefusalCode,
    /** The `error` of the response body. */
    readonly message: string,
    /** Logged as an error (with the cause) when set: the refusal is our problem, not the client's. */
    readonly logAs?: string,
    readonly cause?: unknown,
  ) {}
}

/** The interaction could not be read (the database did not answer). */
export class InteractionUnreadable extends Error {
  constructor(cause: unknown) {
    super('cannot read the interaction', { cause });
    this.name = 'InteractionUnreadable';
  }
}

/** The interaction's API secret could not be decrypted (wrong key, damaged value). */
export class SecretUnreadable extends Error {
  constructor(readonly interactionId: number, cause: unknown) {
    super(`cannot decrypt the API secret of interaction ${interactionId}`, { cause });
    this.name = 'SecretUnreadable';
  }
}

/** What a request gets for an error thrown while handling it. `interactionId`: the one it was for, when known. */
export function refusalOf(err: unknown, interactionId?: number): Refusal {
  if (err instanceof Refusal) return err;
  if (err instanceof InteractionUnreadable) return new Refusal(503, 'db_unavailable', 'database unavailable', err.message, err.cause);
  if (err instanceof SecretUnreadable) return new Refusal(503, 'secret_unreadable', 'the interaction secret cannot be read', err.message, err.cause);
  if (err instanceof BodyTooLarge) return new Refusal(413, 'too_large', `body over ${err.limit} bytes`);
  if (err instanceof UnverifiedBudgetSpent) return new Refusal(503, 'unverified_budget', 'too many unverified bodies in flight, retry later');
  if (err instanceof BodyTimeout) return new Refusal(408, 'body_timeout', `body not complete within ${err.ms / 1000} s`);
  if (err instanceof ClientAborted) return new Refusal(400, 'client_aborted', err.message);
  // Thrown here, or by the writer thread, which parses the events (then it crosses as its code).
  if (err instanceof DeliveryParseError || (err as { code?: unknown } | null)?.code === DELIVERY_PARSE_CODE) return new Refusal(400, 'bad_json', (err as Error).message);
  // 422, not 5xx: the same bytes fail the same way every time, so a retry (Twitter retries any
  // non-2xx a few times, then drops the delivery) gains nothing and must not cost the writer again.
  if (isPoison(err)) return new Refusal(422, 'poison', 'this delivery cannot be processed and will be refused again', 'refused a poison delivery', err);
  // Changed twice while one delivery was being stored (the route decides again once): nothing written, retry.
  if (isInteractionChanged(err)) return new Refusal(503, 'interaction_changed', 'the interaction changed while this delivery was stored, retry later');
  if (err instanceof WriterExited || isDatabaseUnavailable(err)) {
    return new Refusal(503, 'db_unavailable', 'database unavailable, retry later', 'the database refused the write; answering 503 so that Twitter retries', err);
  }
  const what = interactionId === undefined ? 'a request' : `interaction #${interactionId}`;
  return new Refusal(500, 'internal_error', 'internal error', `delivery to ${what} failed`, err);
}

/** Runs f; what it throws is rethrown as wrap(cause), a typed error refusalOf knows. */
export function rethrowAs<T>(f: () => T, wrap: (cause: unknown) => Error): T {
  try {
    return f();
  } catch (cause) {
    throw wrap(cause);
  }
}
