// The outbox: every DM omni sends is a row here first. Synchronous better-sqlite3 statements, like
// src/db/intake.ts, because rows are queued inside the listener's group commit and claimed by its
// workers on the same connection: a Kysely transaction spanning awaits there could interleave with
// a group commit. Plain portable SQL (UPDATE … RETURNING exists in SQLite ≥ 3.35 and PostgreSQL).
//
// Claiming is one UPDATE … WHERE id = (SELECT … due …) RETURNING: atomic under SQLite's write lock,
// so two listeners and a CLI on one file never hold the same row. A claim sets status 'sending',
// bumps `attempts` (the fencing token) and sets next_attempt_at to the end of its lease: a process
// that dies between claim and send leaves a row that becomes due again when the lease ends.
import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Database, OutboxRow, OutboxStatus } from './schema.js';
import { createTicketWrites, type TicketWrites } from './tickets.js';

export type { OutboxStatus };

/** One row of the outbox, as the synchronous statements below read it. */
export type OutboxRecord = OutboxRow;

export interface NewOutboxRow {
  interactionId: number;
  ticketId: number | null;
  messageId: number | null;
  conversationId: number | null;
  recipientTwitterId: string;
  text: string;
  /** JSON array text of quick-reply options, or null. */
  options: string | null;
  now: string;
  /** Insert it already claimed by the caller (status 'sending', attempt 1) with this lease end. */
  claimedUntil?: string;
}

/** What sending needs of an interaction: its credentials (encrypted) and whether it may still send. */
export interface SendingInteraction {
  id: number;
  api_key_enc: string;
  api_secret_key_enc: string;
  access_token_enc: string;
  access_token_secret_enc: string;
  account_user_id: string | null;
  revoked_at: string | null;
  deleted_at: string | null;
  /** The X API generation: 'v1.1' sends with OAuth 1.0a, 'v2'/'activity' with the OAuth 2.0 user token. */
  api: string;
  client_id_enc: string | null;
  client_secret_enc: string | null;
}

/** Rows that need attention; `sent` is not counted (it grows forever: count it from logs or a counter). */
export interface OutboxCounts {
  pending: number;
  sending: number;
  failed: number;
  /** created_at of the oldest row not yet sent (pending or sending), or null. */
  oldestUnsentAt: string | null;
}

export type MarkSentResult =
  /** Recorded now. */
  | { result: 'sent'; row: OutboxRecord }
  /** It was already recorded as sent (by the echo, or by another claimant): nothing changed. */
  | { result: 'already'; row: OutboxRecord }
  | { result: 'missing' };

export interface OutboxStore {
  interactionForSending(id: number): SendingInteraction | undefined;
  /** The shared statement of src/db/tickets.ts: undefined when its DM event id is already stored. */
  insertTicketMessage: TicketWrites['insertMessage'];
  enqueue(row: NewOutboxRow): OutboxRecord;
  get(id: number): OutboxRecord | undefined;
  /** Older rows to the same recipient that are not sent yet (a new row is delivered after them). */
  unsentBefore(interactionId: number, recipientTwitterId: string, id: number): number;
  /** Claims the oldest due row whose recipient has no older unsent row. */
  claimNext(now: string, leaseUntil: string): OutboxRecord | undefined;
  /** Claims this row if it is pending (due or not); undefined when someone else has it or it is done. */
  claimById(id: number, now: string, leaseUntil: string): OutboxRecord | undefined;
  /** Records the DM id Twitter returned and links it to the outbound message (so its echo matches). */
  markSent(id: number, dmId: string, sentAt: string, now: string): MarkSentResult;
  /** Back to pending until nextAt, if `attempt` still holds the claim. */
  markRetry(id: number, attempt: number, error: string, kind: string, nextAt: string, now: string): boolean;
  /** Failed for good (until `outbox retry`), if `attempt` still holds the claim. */
  markFailed(id: number, attempt: number, error: string, kind: string, now: string): boolean;
  /** Rate limit: every pending row of the interaction waits until `until`. */
  deferInteraction(interactionId: number, until: string, now: string): number;
  /** failed → pending, due now. */
  retry(id: number, now: string): 'retried' | 'not-failed' | 'missing';
  /** Rows that may have reached Twitter without us knowing the DM id (a send is or was under way). */
  inFlight(interactionId: number, recipientTwitterId: string): OutboxRecord[];
  list(filter: { status?: OutboxStatus; limit: number; beforeId?: number; ticketId?: number }): OutboxRecord[];
  /** For `omni doctor` and /metrics: what waits, what is in flight, what failed, and the oldest unsent. */
  counts(): OutboxCounts;
  /** Failed rows of one interaction, for `omni doctor`. */
  failedCount(interactionId: number): number;
  /** When the next row becomes due (pending or an expiring lease), or undefined when none. */
  nextDueAt(): string | undefined;
}

const COLUMNS = `id, interaction_id, ticket_id, message_id, conversation_id, recipient_twitter_id, text, options, status, attempts,
  next_attempt_at, last_error, last_error_kind, twitter_dm_id, created_at, updated_at, sent_at`;

/** Due: pending rows past their time, and claims whose lease ended. Older unsent rows to the same recipient go first. */
const DUE = `o.status IN ('pending', 'sending') AND o.next_attempt_at <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.interaction_id = o.interaction_id AND p.recipient_twitter_id = o.recipient_twitter_id
                  AND p.status IN ('pending', 'sending') AND p.id < o.id)`;

export function createOutboxStore(sqlite: BetterSqlite3.Database): OutboxStore {
  const insert = sqlite.prepare<[number, number | null, number | null, number | null, string, string, string | null, string, number, string, string, string], OutboxRecord>(
    `INSERT INTO outbox (interaction_id, ticket_id, message_id, conversation_id, recipient_twitter_id, text, options, status, attempts,
                         next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
  );
  const interaction = sqlite.prepare<[number], SendingInteraction>(
    `SELECT id, api_key_enc, api_secret_key_enc, access_token_enc, access_token_secret_enc, account_user_id, revoked_at, deleted_at,
            api, client_id_enc, client_secret_enc
       FROM interactions WHERE id = ?`,
  );
  const get = sqlite.prepare<[number], OutboxRecord>(`SELECT ${COLUMNS} FROM outbox WHERE id = ?`);
  const unsentBefore = sqlite.prepare<[number, string, number], { n: number }>(
    `SELECT count(*) AS n FROM outbox WHERE interaction_id = ? AND recipient_twitter_id = ? AND status IN ('pending', 'sending') AND id < ?`,
  );
  // A read first: an UPDATE takes the write lock even when nothing matches, so an idle poll would
  // wait for every group commit and for any other process's write transaction (up to busy_timeout,
  // on the listener's event loop, every poll). Reads never wait in WAL mode.
  const anyDue = sqlite.prepare<[string], { one: number }>(`SELECT 1 AS one FROM outbox o WHERE ${DUE} LIMIT 1`);
  const claimNext = sqlite.prepare<[string, string, string], OutboxRecord>(
    `UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
      WHERE id = (SELECT o.id FROM outbox o WHERE ${DUE} ORDER BY o.next_attempt_at, o.id LIMIT 1)
      RETURNING ${COLUMNS}`,
  );
  const claimById = sqlite.prepare<[string, string, number], OutboxRecord>(
    `UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
      WHERE id = ? AND status = 'pending' RETURNING ${COLUMNS}`,
  );
  const setSent = sqlite.prepare<[string, string, string, number]>(
    `UPDATE outbox SET status = 'sent', twitter_dm_id = ?, sent_at = ?, updated_at = ? WHERE id = ? AND status <> 'sent'`,
  );
  const otherMessageWithEvent = sqlite.prepare<[number, string, number], { id: number }>(
    'SELECT id FROM messages WHERE interaction_id = ? AND twitter_event_id = ? AND id <> ?',
  );
  const deleteMessage = sqlite.prepare<[number]>('DELETE FROM messages WHERE id = ?');
  const linkMessage = sqlite.prepare<[string, string, number]>('UPDATE messages SET twitter_event_id = ?, sent_at = ? WHERE id = ?');
  const linkHelperMessage = sqlite.prepare<[string, string, number]>('UPDATE helper_messages SET twitter_event_id = ?, sent_at = ? WHERE outbox_id = ?');
  const setRetry = sqlite.prepare<[string, string, string, string, number, number]>(
    `UPDATE outbox SET status = 'pending', last_error = ?, last_error_kind = ?, next_attempt_at = ?, updated_at = ?
      WHERE id = ? AND status = 'sending' AND attempts = ?`,
  );
  const setFailed = sqlite.prepare<[string, string, string, number, number]>(
    `UPDATE outbox SET status = 'failed', last_error = ?, last_error_kind = ?, updated_at = ? WHERE id = ? AND status = 'sending' AND attempts = ?`,
  );
  const defer = sqlite.prepare<[string, string, number, string]>(
    `UPDATE outbox SET next_attempt_at = ?, updated_at = ? WHERE interaction_id = ? AND status = 'pending' AND next_attempt_at < ?`,
  );
  const retry = sqlite.prepare<[string, string, number]>(
    `UPDATE outbox SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'failed'`,
  );
  const inFlight = sqlite.prepare<[number, string], OutboxRecord>(
    `SELECT ${COLUMNS} FROM outbox WHERE interaction_id = ? AND recipient_twitter_id = ? AND status IN ('pending', 'sending') AND attempts > 0 ORDER BY id`,
  );
  // Index ranges of outbox_due only: cheap enough for a /metrics scrape however many rows were sent.
  const counts = sqlite.prepare<[], { status: OutboxStatus; n: number }>(
    "SELECT status, count(*) AS n FROM outbox WHERE status IN ('pending', 'sending', 'failed') GROUP BY status",
  );
  const failedOf = sqlite.prepare<[number], { n: number }>("SELECT count(*) AS n FROM outbox WHERE interaction_id = ? AND status = 'failed'");
  const oldest = sqlite.prepare<[], { at: string | null }>(
    "SELECT min(created_at) AS at FROM outbox WHERE status IN ('pending', 'sending')",
  );
  const nextDue = sqlite.prepare<[], { at: string | null }>("SELECT min(next_attempt_at) AS at FROM outbox WHERE status IN ('pending', 'sending')");

  const markSent = sqlite.transaction((id: number, dmId: string, sentAt: string, now: string): MarkSentResult => {
    const before = get.get(id);
    if (!before) return { result: 'missing' };
    if (before.status === 'sent') return { result: 'already', row: before };
    setSent.run(dmId, sentAt, now, id);
    if (before.message_id !== null) {
      // The echo can win the race against this commit and be stored as a message "sent from
      // outside omni" (when it could not be matched to this row): it is the same DM, keep ours.
      const dup = otherMessageWithEvent.get(before.interaction_id, dmId, before.message_id);
      if (dup) deleteMessage.run(dup.id);
      linkMessage.run(dmId, sentAt, before.message_id);
    }
    linkHelperMessage.run(dmId, sentAt, id);
    return { result: 'sent', row: get.get(id)! };
  });

  return {
    interactionForSending: (id) => interaction.get(id),
    insertTicketMessage: createTicketWrites(sqlite).insertMessage,
    enqueue: (r) =>
      insert.get(
        r.interactionId,
        r.ticketId,
        r.messageId,
        r.conversationId,
        r.recipientTwitterId,
        r.text,
        r.options,
        r.claimedUntil ? 'sending' : 'pending',
        r.claimedUntil ? 1 : 0,
        r.claimedUntil ?? r.now,
        r.now,
        r.now,
      )!,
    get: (id) => get.get(id),
    unsentBefore: (interactionId, recipient, id) => unsentBefore.get(interactionId, recipient, id)!.n,
    claimNext: (now, leaseUntil) => (anyDue.get(now) ? claimNext.get(leaseUntil, now, now) : undefined),
    claimById: (id, now, leaseUntil) => claimById.get(leaseUntil, now, id),
    markSent: (id, dmId, sentAt, now) => (sqlite.inTransaction ? markSent(id, dmId, sentAt, now) : markSent.immediate(id, dmId, sentAt, now)),
    markRetry: (id, attempt, error, kind, nextAt, now) => setRetry.run(error, kind, nextAt, now, id, attempt).changes > 0,
    markFailed: (id, attempt, error, kind, now) => setFailed.run(error, kind, now, id, attempt).changes > 0,
    deferInteraction: (interactionId, until, now) => defer.run(until, now, interactionId, until).changes,
    retry: (id, now) => {
      if (retry.run(now, now, id).changes > 0) return 'retried';
      return get.get(id) ? 'not-failed' : 'missing';
    },
    inFlight: (interactionId, recipient) => inFlight.all(interactionId, recipient),
    list: (f) => {
      const where: string[] = [];
      const args: Array<string | number> = [];
      if (f.status) {
        where.push('status = ?');
        args.push(f.status);
      }
      if (f.ticketId !== undefined) {
        where.push('ticket_id = ?');
        args.push(f.ticketId);
      }
      if (f.beforeId !== undefined) {
        where.push('id < ?');
        args.push(f.beforeId);
      }
      const sql = `SELECT ${COLUMNS} FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return sqlite.prepare<Array<string | number>, OutboxRecord>(sql).all(...args, f.limit);
    },
    counts: () => outboxCounts(counts.all(), oldest.get()?.at ?? null),
    failedCount: (interactionId) => failedOf.get(interactionId)!.n,
    nextDueAt: () => nextDue.get()?.at ?? undefined,
  };
}

function outboxCounts(rows: Array<{ status: OutboxStatus; n: number }>, oldestUnsentAt: string | null): OutboxCounts {
  const c: OutboxCounts = { pending: 0, sending: 0, failed: 0, oldestUnsentAt };
  for (const r of rows) if (r.status !== 'sent') c[r.status] = r.n;
  return c;
}

// The CLI's outbox statements (`omni outbox list|retry`, `ticket reply|close`, `omni doctor`): the
// same rules as the store above, through Kysely, so they run on either engine.

export function outboxRow(db: Kysely<Database>, id: number): Promise<OutboxRecord | undefined> {
  return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listOutbox(db: Kysely<Database>, f: { status?: OutboxStatus; limit: number; beforeId?: number; ticketId?: number }): Promise<OutboxRecord[]> {
  let q = db.selectFrom('outbox').selectAll();
  if (f.status) q = q.where('status', '=', f.status);
  if (f.ticketId !== undefined) q = q.where('ticket_id', '=', f.ticketId);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

/** failed → pending, due now. */
export async function retryOutbox(db: Kysely<Database>, id: number, now: string): Promise<'retried' | 'not-failed' | 'missing'> {
  const r = await db.updateTable('outbox').set({ status: 'pending', next_attempt_at: now, updated_at: now }).where('id', '=', id).where('status', '=', 'failed').executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) return 'retried';
  return (await outboxRow(db, id)) ? 'not-failed' : 'missing';
}

/** Claims this row if it is pending (due or not); undefined when someone else has it or it is done. */
export function claimOutboxById(db: Kysely<Database>, id: number, now: string, leaseUntil: string): Promise<OutboxRecord | undefined> {
  return db
    .updateTable('outbox')
    .set({ status: 'sending', attempts: sql<number>`attempts + 1`, next_attempt_at: leaseUntil, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/** Rows to this recipient not sent yet (a new row is delivered after them). */
export async function unsentTo(db: Kysely<Database>, interactionId: number, recipientTwitterId: string): Promise<number> {
  const r = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('interaction_id', '=', interactionId)
    .where('recipient_twitter_id', '=', recipientTwitterId)
    .where('status', 'in', ['pending', 'sending'])
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Failed rows of one interaction, for `omni doctor`. */
export async function failedOutboxCount(db: Kysely<Database>, interactionId: number): Promise<number> {
  const r = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('interaction_id', '=', interactionId)
    .where('status', '=', 'failed')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
