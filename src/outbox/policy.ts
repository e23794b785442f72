// What a failed send means for its outbox row: try again later (when, and why), or stop for good.
// Twitter has no idempotency key, so a retry is only safe when the failure says Twitter did not
// take the DM — or could not tell us (timeout, 5xx): then at-least-once is the price (see README).
import { TwitterError } from '../twitter/errors.js';

export const MAX_ATTEMPTS = 12;
export const DEFAULT_RETRY_BASE_MS = 10_000;
export const MAX_RETRY_DELAY_MS = 30 * 60_000;
/** Twitter's rate-limit window, when a 429 names no reset time. */
const RATE_WINDOW_MS = 15 * 60_000;
/**
 * How often a row whose account lost its X authorization looks again. The look costs no call to X
 * (the token source reads the lost state from the database first), so the row waits for
 * `omni interaction authorize` without giving up and without a tight loop.
 */
export const AUTHORIZATION_WAIT_MS = 60_000;

export type SendVerdict =
  /** rateLimited / authorizationLost: the whole interaction waits, not just this row. */
  | { action: 'retry'; at: Date; reason: string; kind: string; rateLimited: boolean; authorizationLost?: boolean }
  | { action: 'fail'; reason: string; kind: string; hint?: string };

/** Errors that will not heal by waiting: the fix is a person's (credentials, permissions, the recipient). */
const PERMANENT = new Set([
  'credentials',
  'app-credentials',
  'dm-permission',
  'recipient-refused',
  'not-permitted',
  'not-found',
  'other',
  'webhook-rejected',
  'unknown-environment',
  'missing-scope',
  'unsupported-auth',
]);

/** Exponential backoff with "equal jitter": half the delay fixed, half random, capped. */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** An error that says which fix applies (revoked interaction, unreadable secrets): never retried. */
export class UnsendableError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UnsendableError';
  }
}

export function reasonOf(err: unknown): string {
  const e = err as { message?: unknown; hint?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.hint === 'string' && e.hint ? `${message} — ${e.hint}` : message;
}

export function judgeSendError(err: unknown, attempts: number, now: Date, opts: { retryBaseMs?: number; random?: () => number } = {}): SendVerdict {
  const random = opts.random ?? Math.random;
  const base = opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
  const hint = (err as { hint?: unknown })?.hint;
  const fail = (kind: string): SendVerdict => ({ action: 'fail', kind, reason: reasonOf(err), ...(typeof hint === 'string' && hint ? { hint } : {}) });
  if ((err instanceof UnsendableError || err instanceof TwitterError) && err.kind === 'authorization-lost') {
    // Nothing is lost: the row stays queued until the account is authorized again, however long.
    return { action: 'retry', at: new Date(now.getTime() + AUTHORIZATION_WAIT_MS), kind: err.kind, reason: reasonOf(err), rateLimited: false, authorizationLost: true };
  }
  if (err instanceof UnsendableError) return fail(err.kind);
  if (err instanceof TwitterError) {
    if (err.kind === 'rate-limited') {
      // The reset Twitter announced, plus up to a second so that many rows do not all fire at once.
      const at = err.resetAt && err.resetAt.getTime() > now.getTime() ? err.resetAt.getTime() + Math.round(1000 * random()) : now.getTime() + Math.max(RATE_WINDOW_MS / 15, backoffMs(attempts, base, random));
      return { action: 'retry', at: new Date(at), kind: err.kind, reason: reasonOf(err), rateLimited: true };
    }
    if (PERMANENT.has(err.kind)) return fail(err.kind);
  } else if (typeof (err as { exitCode?: unknown })?.exitCode === 'number') {
    // A user-facing error that is not Twitter's (configuration): a person must act first.
    return fail('configuration');
  }
  const kind = err instanceof TwitterError ? err.kind : 'error';
  if (attempts >= MAX_ATTEMPTS) {
    return { action: 'fail', kind, reason: `gave up after ${attempts} attempts: ${reasonOf(err)}` };
  }
  return { action: 'retry', at: new Date(now.getTime() + backoffMs(attempts, base, random)), kind, reason: reasonOf(err), rateLimited: false };
}
