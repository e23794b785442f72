// Reconciliation state and history reads (migration 0015), through Kysely on both engines.
// - The lease: one listener of a fleet (or one `omni reconcile`) reads an account's history at a time;
//   taken with one atomic UPDATE that succeeds only when the lease is free, expired or already ours.
// - The cursor: the newest DM event read from X's history; the next run stops there.
// - History reads: one row per event per UTC day (X's billing dedup), marked when the run imported it.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, ReconcileStateTable } from './schema.js';

export type ReconcileState = Selectable<ReconcileStateTable>;

export async function reconcileState(db: Kysely<Database>, interactionId: number): Promise<ReconcileState | undefined> {
  return db.selectFrom('reconcile_state').selectAll().where('interaction_id', '=', interactionId).executeTakeFirst();
}

/** Takes the interaction's reconcile lease until `now + ms` when it is free, expired or ours; false when another holds it. */
export async function takeReconcileLease(db: Kysely<Database>, interactionId: number, owner: string, now: Date, ms: number): Promise<boolean> {
  await db.insertInto('reconcile_state').values({ interaction_id: interactionId }).onConflict((oc) => oc.column('interaction_id').doNothing()).execute();
  const nowIso = now.toISOString();
  const r = await db
    .updateTable('reconcile_state')
    .set({ lease_owner: owner, lease_until: new Date(now.getTime() + ms).toISOString() })
    .where('interaction_id', '=', interactionId)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', nowIso), eb('lease_owner', '=', owner)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function releaseReconcileLease(db: Kysely<Database>, interactionId: number, owner: string): Promise<void> {
  await db.updateTable('reconcile_state').set({ lease_owner: null, lease_until: null }).where('interaction_id', '=', interactionId).where('lease_owner', '=', owner).execute();
}

export interface ReconcileRunRecord {
  at: string;
  read: number;
  found: number;
  error: string | null;
  /** The next run's stopping point (an event id, or the snowflake of a time), when this run read back to its own. */
  cursor?: { eventId: string; at: string | null };
  limitedUntil: string | null;
}

/** What a run did; the cursor only moves forward (a newer event id). */
export async function recordReconcileRun(db: Kysely<Database>, interactionId: number, r: ReconcileRunRecord): Promise<void> {
  await db.insertInto('reconcile_state').values({ interaction_id: interactionId }).onConflict((oc) => oc.column('interaction_id').doNothing()).execute();
  const current = await reconcileState(db, interactionId);
  const moves = r.cursor !== undefined && (current?.cursor_event_id == null || BigInt(r.cursor.eventId) > BigInt(current.cursor_event_id));
  await db
    .updateTable('reconcile_state')
    .set({
      last_run_at: r.at,
      last_read: r.read,
      last_found: r.found,
      last_error: r.error,
      limited_until: r.limitedUntil,
      ...(moves && r.cursor ? { cursor_event_id: r.cursor.eventId, cursor_at: r.cursor.at } : {}),
    })
    .where('interaction_id', '=', interactionId)
    .execute();
}

/** Which of these DM event ids omni already holds for the interaction: a ticket message, a Helper transcript line, or an outbox row X confirmed. */
export async function storedEventIds(db: Kysely<Database>, interactionId: number, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const [m, h, o] = await Promise.all([
    db.selectFrom('messages').select('twitter_event_id as id').where('interaction_id', '=', interactionId).where('twitter_event_id', 'in', ids).execute(),
    db.selectFrom('helper_messages').select('twitter_event_id as id').where('interaction_id', '=', interactionId).where('twitter_event_id', 'in', ids).execute(),
    db.selectFrom('outbox').select('twitter_dm_id as id').where('interaction_id', '=', interactionId).where('twitter_dm_id', 'in', ids).execute(),
  ]);
  return new Set([...m, ...h, ...o].flatMap((r) => (r.id ? [r.id] : [])));
}

/** The UTC day of an instant, as X bills it. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Records DM events read from X's history at `at` (once per UTC day each); `imported` marks the ones the run brought in. */
export async function recordHistoryReads(db: Kysely<Database>, interactionId: number, at: Date, ids: string[], imported: Set<string>): Promise<void> {
  if (ids.length === 0) return;
  const day = utcDay(at);
  const iso = at.toISOString();
  await db
    .insertInto('x_history_reads')
    .values(ids.map((id) => ({ day, interaction_id: interactionId, event_id: id, imported: imported.has(id) ? 1 : 0, at: iso })))
    .onConflict((oc) => oc.columns(['day', 'interaction_id', 'event_id']).doNothing())
    .execute();
  if (imported.size > 0) {
    await db.updateTable('x_history_reads').set({ imported: 1 }).where('day', '=', day).where('interaction_id', '=', interactionId).where('event_id', 'in', [...imported]).execute();
  }
}

/** One row of usage: a UTC day and an interaction. */
export interface UsageRow {
  day: string;
  interaction_id: number;
  /** dm.received / chat.received events X delivered (webhook or stream) that omni stored. */
  delivered: number;
  /** DM events read from X's history, each once per UTC day. */
  read: number;
  /** DMs omni sent (outbox rows X accepted). */
  sent: number;
}

/**
 * What X billed, counted from what omni recorded since `since` (ISO): inbound DMs stored (ticket
 * messages and Helper transcript lines with a DM event id) minus those reconciliation imported
 * (never delivered), history reads, and DMs sent.
 */
export async function usageRows(db: Kysely<Database>, since: string): Promise<UsageRow[]> {
  const sinceDay = since.slice(0, 10);
  const imported = db.selectFrom('x_history_reads').select('event_id').where('imported', '=', 1);
  const day = (col: string) => `substr(${col}, 1, 10)`;
  const [msgs, helper, reads, sent] = await Promise.all([
    db
      .selectFrom('messages')
      .select([sql<string>`${sql.raw(day('created_at'))}`.as('day'), 'interaction_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('direction', '=', 'inbound')
      .where('twitter_event_id', 'is not', null)
      .where('created_at', '>=', since)
      .where('twitter_event_id', 'not in', imported)
      .groupBy([sql`${sql.raw(day('created_at'))}`, 'interaction_id'])
      .execute(),
    // Transcript lines not (yet) copied onto a ticket: a DM the Helper kept.
    db
      .selectFrom('helper_messages as h')
      .select([sql<string>`${sql.raw(day('h.created_at'))}`.as('day'), 'h.interaction_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('h.direction', '=', 'inbound')
      .where('h.twitter_event_id', 'is not', null)
      .where('h.created_at', '>=', since)
      .where('h.twitter_event_id', 'not in', imported)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('messages as m').select('m.id').whereRef('m.interaction_id', '=', 'h.interaction_id').whereRef('m.twitter_event_id', '=', 'h.twitter_event_id'))))
      .groupBy([sql`${sql.raw(day('h.created_at'))}`, 'h.interaction_id'])
      .execute(),
    db
      .selectFrom('x_history_reads')
      .select(['day', 'interaction_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('day', '>=', sinceDay)
      .groupBy(['day', 'interaction_id'])
      .execute(),
    db
      .selectFrom('outbox')
      .select([sql<string>`${sql.raw(day('sent_at'))}`.as('day'), 'interaction_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('status', '=', 'sent')
      .where('sent_at', '>=', since)
      .groupBy([sql`${sql.raw(day('sent_at'))}`, 'interaction_id'])
      .execute(),
  ]);
  const rows = new Map<string, UsageRow>();
  const at = (d: string, i: number) => {
    const key = `${d}\n${i}`;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { day: d, interaction_id: i, delivered: 0, read: 0, sent: 0 }));
    return r;
  };
  for (const r of msgs) at(r.day, r.interaction_id).delivered += Number(r.n);
  for (const r of helper) at(r.day, r.interaction_id).delivered += Number(r.n);
  for (const r of reads) at(r.day, r.interaction_id).read += Number(r.n);
  for (const r of sent) at(r.day, r.interaction_id).sent += Number(r.n);
  return [...rows.values()].sort((a, b) => a.day.localeCompare(b.day) || a.interaction_id - b.interaction_id);
}
