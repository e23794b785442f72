// The webhook journal: CRCs received by the listener and the watchdog's checks (migration 0004).
// Written in batches by the listener (synchronous better-sqlite3, one transaction per flush), read
// through Kysely by `webhook status` and `doctor`. Bounded: each flush prunes the interactions and
// kinds it touched to the newest WEBHOOK_EVENTS_KEPT rows, so a flood of refused CRCs can neither
// grow the file nor push out the record of the last CRC that was answered (kinds are pruned apart).
import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Database, WebhookEvent, WebhookEventKind } from './schema.js';

/** Per interaction and kind: ~3 weeks of hourly CRCs, ~3 days of 10-minute watchdog checks. */
export const WEBHOOK_EVENTS_KEPT = 500;

export interface NewWebhookEvent {
  interactionId: number;
  at: string;
  kind: WebhookEventKind;
  result: string;
  detail?: string | null;
  remote?: string | null;
}

/** Inserts the events and prunes what they touched, in one transaction. Throws what SQLite throws. */
export function createWebhookEventWriter(sqlite: BetterSqlite3.Database, keep = WEBHOOK_EVENTS_KEPT): (events: NewWebhookEvent[]) => void {
  const insert = sqlite.prepare<[number, string, string, string, string | null, string | null]>(
    'INSERT INTO webhook_events (interaction_id, at, kind, result, detail, remote) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // The id of the newest row that falls out of the window; everything at or below it goes.
  const prune = sqlite.prepare<[number, string, number, string, number]>(
    `DELETE FROM webhook_events WHERE interaction_id = ? AND kind = ? AND id <= (
       SELECT id FROM webhook_events WHERE interaction_id = ? AND kind = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
  );
  const write = sqlite.transaction((events: NewWebhookEvent[]) => {
    const touched = new Map<string, [number, string]>();
    for (const e of events) {
      insert.run(e.interactionId, e.at, e.kind, e.result, e.detail ?? null, e.remote ?? null);
      touched.set(`${e.interactionId}/${e.kind}`, [e.interactionId, e.kind]);
    }
    for (const [id, kind] of touched.values()) prune.run(id, kind, id, kind, keep);
  });
  return (events) => {
    if (events.length > 0) write.immediate(events);
  };
}

/** The newest event of a kind for an interaction. */
export async function lastWebhookEvent(db: Kysely<Database>, interactionId: number, kind: WebhookEventKind): Promise<WebhookEvent | undefined> {
  return db
    .selectFrom('webhook_events')
    .selectAll()
    .where('interaction_id', '=', interactionId)
    .where('kind', '=', kind)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}


/** createWebhookEventWriter through Kysely, for either engine (a CLI command, not the listener's hot path): one transaction. */
export async function writeWebhookEvents(db: Kysely<Database>, events: NewWebhookEvent[], keep = WEBHOOK_EVENTS_KEPT): Promise<void> {
  if (events.length === 0) return;
  await db.transaction().execute(async (trx) => {
    const touched = new Map<string, [number, string]>();
    for (const e of events) {
      await trx.insertInto('webhook_events').values({ interaction_id: e.interactionId, at: e.at, kind: e.kind, result: e.result, detail: e.detail ?? null, remote: e.remote ?? null }).execute();
      touched.set(`${e.interactionId}/${e.kind}`, [e.interactionId, e.kind]);
    }
    for (const [id, kind] of touched.values()) {
      await sql`DELETE FROM webhook_events WHERE interaction_id = ${id} AND kind = ${kind} AND id <= (
                  SELECT id FROM webhook_events WHERE interaction_id = ${id} AND kind = ${kind} ORDER BY id DESC LIMIT 1 OFFSET ${keep})`.execute(trx);
    }
  });
}
