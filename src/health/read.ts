// Reads what the listeners recorded and judges each live interaction (src/health/model.ts).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { listInteractions } from '../db/interactions.js';
import { listOAuthTokenStates } from '../db/oauth-tokens.js';
import { inboundActivity, listHealthRows, outboxBacklog, rejectedEvents } from '../db/health.js';
import { lastWebhookEvent } from '../db/webhook-events.js';
import { assessHealth, type InteractionHealth } from './model.js';

/** The health of every live interaction (or of `only`), in id order. */
export async function readHealth(db: Kysely<Database>, now: Date, only?: number[]): Promise<InteractionHealth[]> {
  const rows = (await listInteractions(db)).filter((r) => r.deleted_at === null && (only === undefined || only.includes(r.id)));
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const dayStart = `${now.toISOString().slice(0, 10)}T00:00:00.000Z`;
  const [tokens, health, inbound, outbox, rejected] = await Promise.all([
    listOAuthTokenStates(db, ids),
    listHealthRows(db),
    inboundActivity(db, dayStart),
    outboxBacklog(db),
    rejectedEvents(db, new Date(now.getTime() - 86_400_000).toISOString()),
  ]);
  const out: InteractionHealth[] = [];
  for (const r of rows) {
    const crc = r.webhook_id === null ? undefined : await lastWebhookEvent(db, r.id, 'crc_answered');
    out.push(
      assessHealth(
        {
          interaction: { ...r, silence_alert_seconds: r.silence_alert_seconds ?? null },
          token: tokens.find((t) => t.interaction_id === r.id),
          health: health.find((h) => h.interaction_id === r.id),
          lastCrcAt: crc?.at ?? null,
          inbound: inbound.get(r.id),
          outbox: outbox.get(r.id),
          rejected: rejected.get(r.id),
        },
        now,
      ),
    );
  }
  return out;
}
