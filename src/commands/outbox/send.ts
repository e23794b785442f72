// Sending from the CLI: `ticket reply`, `ticket close --message` and `outbox retry` queue the DM
// (claimed by this process when nothing older to the same person is waiting) and try it at once.
// A transient failure leaves it queued for `omni listen` (exit 0, said so); a permanent one is an
// error (exit 1) naming the reason and the fix.
import type { Context } from '../../cli/context.js';
import type { Db } from '../../db/connection.js';
import { unsentTo, type OutboxRecord } from '../../db/outbox.js';
import { op } from '../../db/step.js';
import { createStepRunner } from '../../db/step-runner.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { OmniError } from '../../errors.js';
import { deliverClaimed, type DeliveryResult } from '../../outbox/deliver.js';
import { createGatewaySource } from '../../outbox/gateways.js';
import { createXSenderFactory, type XSenderFactory } from '../../outbox/x-sender.js';
import { apiBaseUrl, apiTimeoutMs } from '../../twitter/gateway.js';
import { outboxSettings } from '../../outbox/settings.js';
import { success, warn } from '../../cli/output.js';

/** When a row queued now (in the transaction `trx`) should be claimed by this process (undefined: it must wait its turn). */
export async function claimUntil(ctx: Context, trx: Kysely<Database>, interactionId: number, recipient: string): Promise<string | undefined> {
  if ((await unsentTo(trx, interactionId, recipient)) > 0) return undefined;
  return new Date(ctx.clock().getTime() + outboxSettings(ctx.env).leaseMs).toISOString();
}

export async function tryNow(ctx: Context, db: Db, row: OutboxRecord): Promise<DeliveryResult> {
  const steps = createStepRunner(db);
  const gateway = createGatewaySource({ interactionForSending: (id) => steps.read(() => op('outbox', 'interactionForSending', id)) }, ctx.secrets, ctx.twitter, xSender(ctx));
  return deliverClaimed({ steps, gateway, clock: ctx.clock, retryBaseMs: outboxSettings(ctx.env).retryBaseMs }, row);
}

/** Sends for interactions on X's API of 2026 with the account's OAuth 2.0 token (stored in ctx's database). */
export function xSender(ctx: Context): XSenderFactory {
  return createXSenderFactory({ db: async () => (await ctx.db()).kysely, baseUrl: apiBaseUrl(ctx.env), timeoutMs: apiTimeoutMs(ctx.env) });
}

/** Says what happened to a DM the CLI tried to send; throws (exit 1) when Twitter refused it for good. */
export function reportSend(ctx: Context, what: string, r: DeliveryResult): void {
  const id = r.row.id;
  switch (r.status) {
    case 'sent':
    case 'already-sent':
      success(ctx, `${what}: delivered (outbox #${id}, DM ${r.dmId})`);
      return;
    case 'retry':
      warn(ctx, `${what}: not delivered yet — ${r.reason}`);
      warn(ctx, `it stays queued as outbox #${id}; omni listen retries it from ${r.at.toISOString()} (see: omni outbox list --status pending)`);
      return;
    case 'lost-claim':
      warn(ctx, `${what}: queued as outbox #${id}; omni listen took it over and delivers it`);
      return;
    case 'failed':
      throw new OmniError(`${what} failed for good: ${r.reason.split(' — ')[0]}`, {
        hint: `${r.hint ? `${r.hint}; then ` : ''}omni outbox retry ${id}`,
      });
  }
}

export function reportQueued(ctx: Context, what: string, row: OutboxRecord): void {
  warn(ctx, `${what}: queued as outbox #${row.id} behind older DMs to the same person; omni listen delivers them in order`);
}
