// Account health (migration 0016): what the listeners saw of each interaction, and the transitions
// into and out of unhealthy states with their notifications. Kysely, both engines.
import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { Database, HealthTransitionTable, InteractionHealthTable } from './schema.js';
import { isUniqueViolation } from './errors.js';

export type HealthRow = InteractionHealthTable;
export type HealthPatch = Omit<Updateable<InteractionHealthTable>, 'interaction_id' | 'updated_at'>;

/** Writes `patch` on the interaction's row, creating it when it is the first word about it. */
export async function patchHealth(db: Kysely<Database>, interactionIds: number[], patch: HealthPatch, now: string): Promise<void> {
  for (const interactionId of interactionIds) {
    await db
      .insertInto('interaction_health')
      .values({ interaction_id: interactionId, ...patch, updated_at: now } as InteractionHealthTable)
      .onConflict((oc) => oc.column('interaction_id').doUpdateSet({ ...patch, updated_at: now }))
      .execute();
  }
}

/** Clears the last X error of these interactions (a later call succeeded); true when one was cleared. */
export async function clearXError(db: Kysely<Database>, interactionIds: number[], now: string): Promise<boolean> {
  if (interactionIds.length === 0) return false;
  // Read first: the usual answer is "nothing to clear", and on SQLite even an UPDATE matching no row
  // takes the write lock the intake's writer thread wants.
  const held = await db
    .selectFrom('interaction_health')
    .select('interaction_id')
    .where('interaction_id', 'in', interactionIds)
    .where('x_error_kind', 'is not', null)
    .where('x_error_kind', '!=', 'rate-limited')
    .executeTakeFirst();
  if (!held) return false;
  const r = await db
    .updateTable('interaction_health')
    .set({ x_error_kind: null, x_error_status: null, x_error_message: null, x_error_at: null, updated_at: now })
    .where('interaction_id', 'in', interactionIds)
    .where('x_error_kind', 'is not', null)
    .where('x_error_kind', '!=', 'rate-limited')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * What reconciliation found (`omni reconcile`, the listener's reconcile): when it ran and how many
 * DMs were missing. Shown by `omni status` and /healthz?verbose.
 */
export async function recordReconcile(db: Kysely<Database>, interactionId: number, r: { at: string; found: number }): Promise<void> {
  await patchHealth(db, [interactionId], { last_reconcile_at: r.at, last_reconcile_found: r.found }, r.at);
}

export async function listHealthRows(db: Kysely<Database>): Promise<HealthRow[]> {
  return db.selectFrom('interaction_health').selectAll().execute();
}

/** Per interaction: the last inbound DM, the inbound DMs since `dayStart`. */
export async function inboundActivity(db: Kysely<Database>, dayStart: string): Promise<Map<number, { last: string | null; today: number }>> {
  const rows = await db
    .selectFrom('messages')
    .select(['interaction_id', sql<string | null>`max(created_at)`.as('last'), sql<number>`sum(case when created_at >= ${dayStart} then 1 else 0 end)`.as('today')])
    .where('direction', '=', 'inbound')
    .groupBy('interaction_id')
    .execute();
  return new Map(rows.map((r) => [r.interaction_id, { last: r.last, today: Number(r.today ?? 0) }]));
}

/** Per interaction: DMs waiting to be sent (pending, sending) and the oldest one's creation time. */
export async function outboxBacklog(db: Kysely<Database>): Promise<Map<number, { backlog: number; oldest: string | null; failed: number }>> {
  const rows = await db
    .selectFrom('outbox')
    .select([
      'interaction_id',
      sql<number>`sum(case when status in ('pending', 'sending') then 1 else 0 end)`.as('backlog'),
      sql<string | null>`min(case when status in ('pending', 'sending') then created_at end)`.as('oldest'),
      sql<number>`sum(case when status = 'failed' then 1 else 0 end)`.as('failed'),
    ])
    .where('status', '!=', 'sent')
    .groupBy('interaction_id')
    .execute();
  return new Map(rows.map((r) => [r.interaction_id, { backlog: Number(r.backlog ?? 0), oldest: r.oldest, failed: Number(r.failed ?? 0) }]));
}

/** Per interaction: deliveries on a shared webhook the intake could not route or that were refused, from the journal. */
export async function rejectedEvents(db: Kysely<Database>, sinceIso: string): Promise<Map<number, { count: number; last: string | null }>> {
  const rows = await db
    .selectFrom('webhook_events')
    .select(['interaction_id', sql<number>`count(*)`.as('n'), sql<string | null>`max(at)`.as('last')])
    .where('kind', 'in', ['crc_refused', 'delivery_unrouted'])
    .where('at', '>=', sinceIso)
    .groupBy('interaction_id')
    .execute();
  return new Map(rows.map((r) => [r.interaction_id, { count: Number(r.n), last: r.last }]));
}

export type Transition = Selectable<HealthTransitionTable>;

/** The latest transition of each (interaction, state). */
export async function latestTransitions(db: Kysely<Database>): Promise<Transition[]> {
  return db
    .selectFrom('health_transitions as t')
    .selectAll('t')
    .where(({ eb, selectFrom }) =>
      eb(
        't.id',
        '=',
        selectFrom('health_transitions as u').select(sql<number>`max(u.id)`.as('m')).whereRef('u.interaction_id', '=', 't.interaction_id').whereRef('u.state', '=', 't.state'),
      ),
    )
    .execute() as Promise<Transition[]>;
}

/** Records a transition; false when another listener recorded the same one first (the unique key). */
export async function insertTransition(
  db: Kysely<Database>,
  t: { interactionId: number; state: string; episode: number; edge: 'enter' | 'leave'; since: string; text: string; now: string },
): Promise<boolean> {
  try {
    await db
      .insertInto('health_transitions')
      .values({ interaction_id: t.interactionId, state: t.state, episode: t.episode, edge: t.edge, since: t.since, text: t.text, recorded_at: t.now, next_attempt_at: t.now, sent_at: null, claimed_until: null, last_error: null })
      .execute();
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/** Unsent transitions due now, oldest first. */
export async function dueTransitions(db: Kysely<Database>, now: string, limit = 20): Promise<Transition[]> {
  return db
    .selectFrom('health_transitions')
    .selectAll()
    .where('sent_at', 'is', null)
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .orderBy('id')
    .limit(limit)
    .execute() as Promise<Transition[]>;
}

/** One atomic UPDATE: true when this sender now holds the row until `until`. */
export async function claimTransition(db: Kysely<Database>, id: number, now: string, until: string): Promise<boolean> {
  const r = await db
    .updateTable('health_transitions')
    .set({ claimed_until: until })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function markTransitionSent(db: Kysely<Database>, id: number, now: string): Promise<void> {
  await db.updateTable('health_transitions').set((eb) => ({ sent_at: now, claimed_until: null, last_error: null, attempts: eb('attempts', '+', 1) })).where('id', '=', id).execute();
}

export async function markTransitionFailed(db: Kysely<Database>, id: number, error: string, nextAttemptAt: string | null): Promise<void> {
  await db
    .updateTable('health_transitions')
    // No next attempt: given up, recorded as sent-never (sent_at stays null, next attempt far away).
    .set((eb) => ({ claimed_until: null, last_error: error, attempts: eb('attempts', '+', 1), next_attempt_at: nextAttemptAt ?? '9999-12-31T00:00:00.000Z' }))
    .where('id', '=', id)
    .execute();
}

export async function listTransitions(db: Kysely<Database>, interactionId?: number): Promise<Transition[]> {
  let q = db.selectFrom('health_transitions').selectAll().orderBy('id');
  if (interactionId !== undefined) q = q.where('interaction_id', '=', interactionId);
  return q.execute() as Promise<Transition[]>;
}
