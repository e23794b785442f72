// Sending one claimed outbox row: the gateway call, then what it means for the row, recorded as one
// step (src/db/step.ts) in one short transaction on either engine. Used by the listener's worker
// and by `omni ticket reply|close` and `omni outbox retry` (which claim their own row and try at once).
import type { OutboxRecord } from '../db/outbox.js';
import { isDatabaseUnavailable } from '../db/batch.js';
import { op, type Step } from '../db/step.js';
import type { StepRunner } from '../db/step-runner.js';
import type { GatewaySource } from './gateways.js';
import { decodeOptions } from './options.js';
import { judgeSendError, type SendVerdict } from './policy.js';

export interface SendDeps {
  /** Runs the bookkeeping after the send: SQLite at once on the handle, PostgreSQL in one transaction. */
  steps: Pick<StepRunner, 'transaction'>;
  gateway: GatewaySource;
  clock: () => Date;
  retryBaseMs?: number;
  random?: () => number;
}

export type DeliveryResult =
  | { status: 'sent'; row: OutboxRecord; dmId: string }
  /** Twitter took it, but the row was already recorded as sent (its echo got there first, or another claimant sent it too). */
  | { status: 'already-sent'; row: OutboxRecord; dmId: string }
  | { status: 'retry'; row: OutboxRecord; at: Date; reason: string; kind: string }
  | { status: 'failed'; row: OutboxRecord; reason: string; kind: string; hint?: string }
  /** Our lease ended and someone else holds the row now: nothing recorded, they decide. */
  | { status: 'lost-claim'; row: OutboxRecord; reason: string };

export async function deliverClaimed(deps: SendDeps, row: OutboxRecord): Promise<DeliveryResult> {
  let dm: { id: string; createdAt: string | null };
  try {
    const gateway = await deps.gateway(row.interaction_id);
    const options = decodeOptions(row.options);
    dm = await gateway.sendDirectMessage(row.recipient_twitter_id, row.text, options.length ? options : undefined);
  } catch (err) {
    const failedAt = deps.clock();
    const verdict = judgeSendError(err, row.attempts, failedAt, {
      ...(deps.retryBaseMs !== undefined ? { retryBaseMs: deps.retryBaseMs } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
    return record(deps, row, () => recordRefusal(row, verdict, failedAt.toISOString()));
  }
  const at = deps.clock().toISOString();
  return record(deps, row, () => recordSent(row, dm, at));
}

/**
 * Records X's answer. A database that cannot take it right now (SQLite busy past its timeout,
 * PostgreSQL unreachable) is asked again while the claim's lease lasts: once the lease ends another
 * worker may send the DM again, so giving up early would risk a second DM where waiting costs none.
 */
async function record(deps: SendDeps, row: OutboxRecord, make: () => Step<DeliveryResult>): Promise<DeliveryResult> {
  // Measured on the process's own clock from now: the lease as the row says, less a margin.
  const deadline = performance.now() + Date.parse(row.next_attempt_at) - deps.clock().getTime() - LEASE_MARGIN_MS;
  for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
    try {
      return await deps.steps.transaction(make);
    } catch (err) {
      if (!isDatabaseUnavailable(err) || performance.now() + pause >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** Stop retrying the record this long before the lease ends (another worker could claim the row then). */
const LEASE_MARGIN_MS = 1_000;

/** What X's refusal means for the row: failed for good, or pending again later; nothing when our claim was lost. */
function* recordRefusal(row: OutboxRecord, verdict: SendVerdict, at: string): Step<DeliveryResult> {
  if (verdict.action === 'fail') {
    if (!(yield* op('outbox', 'markFailed', row.id, row.attempts, verdict.reason, verdict.kind, at))) return { status: 'lost-claim', row, reason: verdict.reason };
    return { status: 'failed', row: (yield* op('outbox', 'get', row.id))!, reason: verdict.reason, kind: verdict.kind, ...(verdict.hint ? { hint: verdict.hint } : {}) };
  }
  if (!(yield* op('outbox', 'markRetry', row.id, row.attempts, verdict.reason, verdict.kind, verdict.at.toISOString(), at))) {
    return { status: 'lost-claim', row, reason: verdict.reason };
  }
  // Twitter's limit is per account and endpoint: the interaction's other rows would only hit it too.
  // So does a lost authorization: every row of the account waits for `omni interaction authorize`.
  if (verdict.rateLimited || verdict.authorizationLost) yield* op('outbox', 'deferInteraction', row.interaction_id, verdict.at.toISOString(), at);
  return { status: 'retry', row: (yield* op('outbox', 'get', row.id))!, at: verdict.at, reason: verdict.reason, kind: verdict.kind };
}

/** X took the DM: the row is sent and its message linked to the DM id (so the echo matches it). */
function* recordSent(row: OutboxRecord, dm: { id: string; createdAt: string | null }, at: string): Step<DeliveryResult> {
  const marked = yield* op('outbox', 'markSent', row.id, dm.id, dm.createdAt ?? at, at);
  if (marked.result === 'missing') return { status: 'lost-claim', row, reason: 'the row was deleted while it was being sent' };
  if (marked.result === 'already') return { status: 'already-sent', row: marked.row, dmId: dm.id };
  return { status: 'sent', row: marked.row, dmId: dm.id };
}
