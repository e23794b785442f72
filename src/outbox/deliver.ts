// Sending one claimed outbox row: the gateway call, then what it means for the row, committed in
// one short transaction. Used by the listener's worker and by `omni ticket reply|close` (which
// claims its own row when queueing it and tries at once).
import type { OutboxRecord, OutboxStore } from '../db/outbox.js';
import type { GatewaySource } from './gateways.js';
import { decodeOptions } from './options.js';
import { judgeSendError } from './policy.js';

export interface SendDeps {
  outbox: OutboxStore;
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
    const at = failedAt.toISOString();
    if (verdict.action === 'fail') {
      if (!deps.outbox.markFailed(row.id, row.attempts, verdict.reason, verdict.kind, at)) return { status: 'lost-claim', row, reason: verdict.reason };
      return { status: 'failed', row: deps.outbox.get(row.id)!, reason: verdict.reason, kind: verdict.kind, ...(verdict.hint ? { hint: verdict.hint } : {}) };
    }
    if (!deps.outbox.markRetry(row.id, row.attempts, verdict.reason, verdict.kind, verdict.at.toISOString(), at)) {
      return { status: 'lost-claim', row, reason: verdict.reason };
    }
    // Twitter's limit is per account and endpoint: the interaction's other rows would only hit it too.
    // So does a lost authorization: every row of the account waits for `omni interaction authorize`.
    if (verdict.rateLimited || verdict.authorizationLost) deps.outbox.deferInteraction(row.interaction_id, verdict.at.toISOString(), at);
    return { status: 'retry', row: deps.outbox.get(row.id)!, at: verdict.at, reason: verdict.reason, kind: verdict.kind };
  }
  const at = deps.clock().toISOString();
  const marked = deps.outbox.markSent(row.id, dm.id, dm.createdAt ?? at, at);
  if (marked.result === 'missing') return { status: 'lost-claim', row, reason: 'the row was deleted while it was being sent' };
  if (marked.result === 'already') return { status: 'already-sent', row: marked.row, dmId: dm.id };
  return { status: 'sent', row: marked.row, dmId: dm.id };
}
