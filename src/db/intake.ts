// The intake's hot path: synchronous better-sqlite3 prepared statements, prepared once per listener.
// The listener runs them inside one transaction per batch of deliveries (group commit), so a
// delivery costs a handful of index lookups and inserts, and the fsync is shared by the batch.
// Plain portable SQL (SQLite ≥ 3.35 and PostgreSQL both have ON CONFLICT … RETURNING).
import type BetterSqlite3 from 'better-sqlite3';

/** The columns of an interaction the listener needs: routing, secret, account, ticket defaults. */
export interface IntakeInteractionRow {
  id: number;
  name: string;
  api_secret_key_enc: string;
  account_user_id: string | null;
  unit_id: number | null;
  group_id: number | null;
  activity_id: number | null;
  contact_origin_id: number | null;
  helper_interception: number;
  revoked_at: string | null;
}

export interface StoredMessageRef {
  id: number;
  ticket_id: number;
  direction: 'inbound' | 'outbound';
}

export interface NewRequesterRow {
  twitterUserId: string;
  screenName: string | null;
  name: string | null;
  unitId: number | null;
  groupId: number | null;
  now: string;
}

export interface NewTicketRow {
  interactionId: number;
  requesterId: number;
  subject: string;
  unitId: number | null;
  groupId: number | null;
  activityId: number | null;
  contactOriginId: number | null;
  contractId: number | null;
  now: string;
}

export interface NewMessageRow {
  ticketId: number;
  interactionId: number;
  direction: 'inbound' | 'outbound';
  text: string;
  twitterEventId: string;
  senderTwitterId: string;
  sentAt: string;
  /** JSON array text. */
  attachments: string;
  now: string;
}

/** The parameters the intake falls back on when an interaction names no default. */
export const INTAKE_PARAMETERS = [118, 315, 317, 390] as const;

export interface IntakeStore {
  /** A live (not deleted) interaction, or undefined. One primary-key lookup. */
  interaction(id: number): IntakeInteractionRow | undefined;
  /** Live interactions (id and name), for the start-up banner. */
  liveInteractions(): Array<{ id: number; name: string; account_user_id: string | null }>;
  /** Values of INTAKE_PARAMETERS that are set. */
  intakeParameters(): Map<number, string>;
  /** The message already stored for this DM event on this interaction (the dedup key). */
  messageByEvent(interactionId: number, twitterEventId: string): StoredMessageRef | undefined;
  /** Creates the requester or refreshes its names (a missing name keeps the stored one; updated_at
   *  moves only when a name changed); returns its id. */
  upsertRequester(row: NewRequesterRow): number;
  requesterIdByTwitterId(twitterUserId: string): number | undefined;
  openTicketId(interactionId: number, requesterId: number): number | undefined;
  insertTicket(row: NewTicketRow): number;
  insertMessage(row: NewMessageRow): number;
  touchTicket(ticketId: number, now: string): void;
  /** Sets revoked_at unless already set; true when it changed. */
  markRevoked(interactionId: number, now: string): boolean;
  /** A cheap read that proves the database answers. */
  ping(): void;
}

export function createIntakeStore(sqlite: BetterSqlite3.Database): IntakeStore {
  const interaction = sqlite.prepare<[number], IntakeInteractionRow>(
    `SELECT id, name, api_secret_key_enc, account_user_id, unit_id, group_id, activity_id, contact_origin_id,
            helper_interception, revoked_at
       FROM interactions WHERE id = ? AND deleted_at IS NULL`,
  );
  const live = sqlite.prepare<[], { id: number; name: string; account_user_id: string | null }>(
    'SELECT id, name, account_user_id FROM interactions WHERE deleted_at IS NULL ORDER BY id',
  );
  const params = sqlite.prepare<[], { number: number; value: string }>(
    `SELECT number, value FROM parameters WHERE number IN (${INTAKE_PARAMETERS.join(', ')})`,
  );
  const messageByEvent = sqlite.prepare<[number, string], StoredMessageRef>(
    'SELECT id, ticket_id, direction FROM messages WHERE interaction_id = ? AND twitter_event_id = ?',
  );
  const upsertRequester = sqlite.prepare<[string, string | null, string | null, number | null, number | null, string, string], { id: number }>(
    `INSERT INTO requesters (twitter_user_id, screen_name, name, unit_id, group_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (twitter_user_id) DO UPDATE SET
       screen_name = COALESCE(excluded.screen_name, requesters.screen_name),
       name = COALESCE(excluded.name, requesters.name),
       updated_at = excluded.updated_at
     WHERE requesters.screen_name IS NOT COALESCE(excluded.screen_name, requesters.screen_name)
        OR requesters.name IS NOT COALESCE(excluded.name, requesters.name)
     RETURNING id`,
  );
  const requesterByTwitterId = sqlite.prepare<[string], { id: number }>('SELECT id FROM requesters WHERE twitter_user_id = ?');
  const openTicket = sqlite.prepare<[number, number], { id: number }>(
    "SELECT id FROM tickets WHERE interaction_id = ? AND requester_id = ? AND status = 'open'",
  );
  const insertTicket = sqlite.prepare<
    [number, number, string, number | null, number | null, number | null, number | null, number | null, string, string],
    { id: number }
  >(
    `INSERT INTO tickets (interaction_id, requester_id, status, subject, unit_id, group_id, activity_id, contact_origin_id,
                          contract_id, created_at, updated_at)
     VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  );
  const insertMessage = sqlite.prepare<[number, number, string, string, string, string, string, string, string], { id: number }>(
    `INSERT INTO messages (ticket_id, interaction_id, direction, text, twitter_event_id, sender_twitter_id, sent_at,
                           attachments, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  );
  const touchTicket = sqlite.prepare<[string, number]>('UPDATE tickets SET updated_at = ? WHERE id = ?');
  const markRevoked = sqlite.prepare<[string, string, number]>(
    'UPDATE interactions SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL',
  );
  const ping = sqlite.prepare('SELECT 1');

  return {
    interaction: (id) => interaction.get(id),
    liveInteractions: () => live.all(),
    intakeParameters: () => new Map(params.all().map((r) => [r.number, r.value])),
    messageByEvent: (interactionId, eventId) => messageByEvent.get(interactionId, eventId),
    // A returning sender whose names did not change is not rewritten (no RETURNING row then): most
    // DMs come from returning senders, and an unchanged row need not cost a page in every commit.
    upsertRequester: (r) =>
      upsertRequester.get(r.twitterUserId, r.screenName, r.name, r.unitId, r.groupId, r.now, r.now)?.id ?? requesterByTwitterId.get(r.twitterUserId)!.id,
    requesterIdByTwitterId: (twitterUserId) => requesterByTwitterId.get(twitterUserId)?.id,
    openTicketId: (interactionId, requesterId) => openTicket.get(interactionId, requesterId)?.id,
    insertTicket: (t) =>
      insertTicket.get(t.interactionId, t.requesterId, t.subject, t.unitId, t.groupId, t.activityId, t.contactOriginId, t.contractId, t.now, t.now)!.id,
    insertMessage: (m) =>
      insertMessage.get(m.ticketId, m.interactionId, m.direction, m.text, m.twitterEventId, m.senderTwitterId, m.sentAt, m.attachments, m.now)!.id,
    touchTicket: (ticketId, now) => {
      touchTicket.run(now, ticketId);
    },
    markRevoked: (interactionId, now) => markRevoked.run(now, now, interactionId).changes > 0,
    ping: () => {
      ping.get();
    },
  };
}

export type JobResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs every job in ONE write transaction (BEGIN IMMEDIATE … COMMIT), each job in its own SAVEPOINT
 * so that a failing job is rolled back alone. If BEGIN or COMMIT fails, every job fails with that
 * error: nothing of the batch is durable, and the caller must not answer any of them 200.
 */
export function createBatchCommitter(sqlite: BetterSqlite3.Database): <T>(jobs: Array<() => T>) => Array<JobResult<T>> {
  // A nested better-sqlite3 transaction function runs as SAVEPOINT / RELEASE / ROLLBACK TO.
  const one = sqlite.transaction((job: () => unknown) => job());
  // The common case first: every job of the batch in one transaction, no savepoints (two statements
  // less per delivery). If any job throws, nothing of this attempt is kept and the batch runs again
  // with a savepoint per job, so one bad delivery is rolled back alone.
  const optimistic = sqlite.transaction((jobs: Array<() => unknown>) => jobs.map((job): JobResult<unknown> => ({ ok: true, value: job() })));
  const isolated = sqlite.transaction((jobs: Array<() => unknown>) =>
    jobs.map((job): JobResult<unknown> => {
      try {
        return { ok: true, value: one(job) };
      } catch (error) {
        if (isDatabaseUnavailable(error) && !sqlite.inTransaction) throw error; // the transaction itself is gone
        return { ok: false, error };
      }
    }),
  );
  return <T>(jobs: Array<() => T>) => {
    try {
      // IMMEDIATE takes the write lock up front: reads inside see the latest data, so "find the
      // open ticket, else create one" cannot race with another process writing the same file.
      return optimistic.immediate(jobs) as Array<JobResult<T>>;
    } catch (error) {
      // A locked or unwritable database fails every job the same way: answer now (503, Twitter
      // retries) instead of waiting for the lock a second time.
      if (isDatabaseUnavailable(error)) return jobs.map(() => ({ ok: false as const, error }));
      try {
        return isolated.immediate(jobs) as Array<JobResult<T>>;
      } catch (error) {
        return jobs.map(() => ({ ok: false as const, error }));
      }
    }
  };
}

/** Errors that mean "the database cannot take writes now" (answer 503 so the sender retries). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // ERR_DB_WRITER_EXITED: the listener's writer thread died with the batch unanswered (it restarts).
  return /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|CORRUPT|NOTADB|PERM|AUTH)/.test(code) || code === 'ERR_DB_CLOSED' || code === 'ERR_DB_WRITER_EXITED';
}
