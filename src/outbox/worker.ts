// The outbox worker inside `omni listen`: delivers due rows through the gateway, in order per
// recipient, retrying with backoff and honouring rate limits (see policy.ts).
import type { Db } from '../db/connection.js';
import { op } from '../db/step.js';
import { createStepRunner, outboxClaim } from '../db/step-runner.js';
import type { SecretBox } from '../secrets.js';
import { deliverClaimed, type DeliveryResult } from './deliver.js';
import { createGatewaySource, type TwitterFactory } from './gateways.js';
import type { XSenderFactory } from './x-sender.js';
import { startPoller, type Poller } from './poller.js';

export interface WorkerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, err?: unknown, fields?: Record<string, unknown>): void;
}

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_POLL_MS = 500;

export interface OutboxWorkerOptions {
  /** SQLite (claims under the write lock) or PostgreSQL (claims with FOR UPDATE SKIP LOCKED over the pool). */
  db: Db;
  box: () => Promise<SecretBox>;
  twitter: TwitterFactory;
  /** Sends for interactions on X's API of 2026 (v2, activity); without it their rows wait. */
  x?: XSenderFactory;
  log: WorkerLog;
  clock?: () => Date;
  /** How long a claim lasts; must exceed the Twitter request timeout. */
  leaseMs?: number;
  pollMs?: number;
  retryBaseMs?: number;
  concurrency?: number;
}

export function startOutboxWorker(opts: OutboxWorkerOptions): Poller {
  const steps = createStepRunner(opts.db);
  const claimNext = outboxClaim(opts.db);
  const clock = opts.clock ?? (() => new Date());
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const lost = new Set<number>();
  const deps = {
    steps,
    gateway: createGatewaySource({ interactionForSending: (id) => steps.read(() => op('outbox', 'interactionForSending', id)) }, opts.box, opts.twitter, opts.x),
    clock,
    ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
  };
  return startPoller({
    intervalMs: opts.pollMs ?? DEFAULT_POLL_MS,
    concurrency: opts.concurrency ?? 4,
    claim: () => {
      const t = clock();
      return claimNext(t.toISOString(), new Date(t.getTime() + leaseMs).toISOString());
    },
    work: async (row) => {
      const r = await deliverClaimed(deps, row);
      if (r.status === 'retry' && r.kind === 'authorization-lost') {
        // One loud line per loss, not one a minute per waiting row.
        if (!lost.has(row.interaction_id)) {
          lost.add(row.interaction_id);
          reportAuthorizationLost(opts.log, r);
        }
        return;
      }
      if (r.status === 'sent') lost.delete(row.interaction_id);
      report(opts.log, r);
    },
    onError: (err) => opts.log.error('outbox worker', err),
    onRecovered: () => opts.log.info('outbox worker: the database answers again'),
  });
}

export function report(log: WorkerLog, r: DeliveryResult): void {
  const fields = { outbox: r.row.id, interaction: r.row.interaction_id, ticket: r.row.ticket_id, recipient: r.row.recipient_twitter_id, attempts: r.row.attempts };
  switch (r.status) {
    case 'sent':
      log.info(`outbox #${r.row.id}: DM sent`, { ...fields, dmId: r.dmId });
      return;
    case 'already-sent':
      if (r.row.twitter_dm_id === r.dmId) log.info(`outbox #${r.row.id}: DM sent (its echo was linked first)`, { ...fields, dmId: r.dmId });
      else log.warn(`outbox #${r.row.id}: Twitter took the DM again after it was recorded as sent (${r.row.twitter_dm_id}): the requester got it twice`, { ...fields, dmId: r.dmId });
      return;
    case 'retry':
      log.warn(`outbox #${r.row.id}: not sent, retrying at ${r.at.toISOString()}: ${r.reason}`, { ...fields, kind: r.kind, nextAttemptAt: r.at.toISOString() });
      return;
    case 'failed':
      log.error(`outbox #${r.row.id}: failed for good: ${r.reason}`, undefined, { ...fields, kind: r.kind, hint: `after fixing it: omni outbox retry ${r.row.id}` });
      return;
    case 'lost-claim':
      log.warn(`outbox #${r.row.id}: the claim expired before the answer came back; another attempt owns the row now`, { ...fields, reason: r.reason });
      return;
  }
}


/** The account's X authorization is lost: its DMs wait in the outbox until it is authorized again. */
export function reportAuthorizationLost(log: WorkerLog, r: Extract<DeliveryResult, { status: 'retry' }>): void {
  const id = r.row.interaction_id;
  log.error(
    `interaction ${id}: X authorization lost, its DMs wait in the outbox (nothing is lost): ${r.reason.split(' — ')[0]} — fix: omni interaction authorize ${id}`,
    undefined,
    { outbox: r.row.id, interaction: id, kind: r.kind, hint: `authorize the support account again: omni interaction authorize ${id}` },
  );
}
