// The PostgreSQL implementation of the listener's storage operations (src/db/step.ts): the same
// operations as the synchronous SQLite stores (src/db/intake.ts, tickets.ts, outbox.ts,
// chatbot.ts), each a promise on ONE client, the one holding the caller's transaction (the batch
// committer of src/db/pg-batch.ts). The SQL is the SQLite stores' with `$n` parameters; where the
// engines differ it says so. Cross-process rules are the database's: unique and partial unique
// indexes (a racing insert gets 23505 and its job runs again) and row locks.
import type { ChatbotJob, ConversationRow, TicketSummary, TranscriptRow } from './chatbot.js';
import { INTAKE_PARAMETERS, KNOWN_REQUESTER_SQL, type IntakeInteractionRow, type KnownRequester, type StoredMessageRef } from './intake.js';
import { CHATBOT_PARAMETERS } from './chatbot.js';
import type { MarkSentResult, OutboxRecord, SendingInteraction } from './outbox.js';
import type { AsyncStores } from './step.js';

/** What the stores need of a pg client (pg.PoolClient has it). */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

export interface PgStoreOptions {
  /** The keyed hash of a DM event id (src/privacy/tombstone.ts); without it erasedEvent always says undefined. */
  eventHash?: (twitterEventId: string) => string;
}

const OUTBOX_COLUMNS = `id, interaction_id, ticket_id, message_id, conversation_id, recipient_twitter_id, text, options, status, attempts,
  next_attempt_at, last_error, last_error_kind, twitter_dm_id, created_at, updated_at, sent_at`;
const CONVERSATION = 'id, interaction_id, requester_id, status, state, ticket_id, last_activity_at, created_at';
/** The SQLite statement with numbered placeholders. */
const KNOWN_REQUESTER_PG = KNOWN_REQUESTER_SQL.replace('?', '$1').replace('?', '$2');

export function createPgStores(c: PgQueryable, opts: PgStoreOptions = {}): AsyncStores {
  const one = async <T>(text: string, values: unknown[]): Promise<T | undefined> => (await c.query(text, values)).rows[0] as T | undefined;
  const all = async <T>(text: string, values: unknown[]): Promise<T[]> => (await c.query(text, values)).rows as T[];
  const run = async (text: string, values: unknown[]): Promise<number> => (await c.query(text, values)).rowCount ?? 0;
  const params = async (numbers: readonly number[]) =>
    new Map((await all<{ number: number; value: string }>(`SELECT number, value FROM parameters WHERE number = ANY($1::int[])`, [numbers])).map((r) => [r.number, r.value]));

  const insertMessage = async (m: { ticketId: number; interactionId: number; direction: string; text: string; twitterEventId: string | null; senderTwitterId: string | null; sentAt: string; attachments: string; at: string }) =>
    (
      await one<{ id: number }>(
        `INSERT INTO messages (ticket_id, interaction_id, direction, text, twitter_event_id, sender_twitter_id, sent_at, attachments, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (interaction_id, twitter_event_id) DO NOTHING RETURNING id`,
        [m.ticketId, m.interactionId, m.direction, m.text, m.twitterEventId, m.senderTwitterId, m.sentAt, m.attachments, m.at],
      )
    )?.id;
  const outboxRow = (id: number) => one<OutboxRecord>(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = $1`, [id]);

  const intake: AsyncStores['intake'] = {
    interaction: (id) =>
      one<IntakeInteractionRow>(
        `SELECT i.id, i.name, i.api_secret_key_enc, COALESCE(i.account_user_id, t.account_user_id) AS account_user_id, i.unit_id, i.group_id,
                i.activity_id, i.contact_origin_id, i.helper_interception, i.revoked_at, i.api, i.webhook_id
           FROM interactions i LEFT JOIN oauth_tokens t ON t.interaction_id = i.id
          WHERE i.id = $1 AND i.deleted_at IS NULL`,
        [id],
      ),
    intakeParameters: () => params(INTAKE_PARAMETERS),
    messageByEvent: (interactionId, eventId) =>
      one<StoredMessageRef>('SELECT id, ticket_id, direction FROM messages WHERE interaction_id = $1 AND twitter_event_id = $2', [interactionId, eventId]),
    // SQLite's `IS NOT` between nullable values is `IS DISTINCT FROM` here. ON CONFLICT waits for a
    // concurrent insert of the same user to commit, then updates (or not) the row it committed.
    upsertRequester: async (r) => {
      const changed = await one<{ id: number }>(
        `INSERT INTO requesters (twitter_user_id, screen_name, name, unit_id, group_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (twitter_user_id) DO UPDATE SET
           screen_name = COALESCE(excluded.screen_name, requesters.screen_name),
           name = COALESCE(excluded.name, requesters.name),
           updated_at = excluded.updated_at
         WHERE requesters.screen_name IS DISTINCT FROM COALESCE(excluded.screen_name, requesters.screen_name)
            OR requesters.name IS DISTINCT FROM COALESCE(excluded.name, requesters.name)
         RETURNING id`,
        [r.twitterUserId, r.screenName, r.name, r.unitId, r.groupId, r.at],
      );
      if (changed) return changed.id;
      return (await one<{ id: number }>('SELECT id FROM requesters WHERE twitter_user_id = $1', [r.twitterUserId]))!.id;
    },
    knownRequester: (interactionId, twitterUserId) => one<KnownRequester>(KNOWN_REQUESTER_PG, [interactionId, twitterUserId]),
    requesterIdByTwitterId: async (twitterUserId) => (await one<{ id: number }>('SELECT id FROM requesters WHERE twitter_user_id = $1', [twitterUserId]))?.id,
    markRevoked: async (interactionId, at) => (await run('UPDATE interactions SET revoked_at = $1, updated_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, interactionId])) > 0,
    erasedEvent: async (eventId) => {
      if (!opts.eventHash) return undefined;
      const hash = opts.eventHash(eventId);
      return (await one('SELECT 1 AS n FROM erased_events WHERE event_hash = $1', [hash])) ? hash : undefined;
    },
    recordReplayJobStatus: async (s) => {
      await run(
        `INSERT INTO replay_jobs (job_id, webhook_id, interaction_id, state, description, reported_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (job_id) DO UPDATE SET
           webhook_id = excluded.webhook_id,
           interaction_id = COALESCE(replay_jobs.interaction_id, excluded.interaction_id),
           state = excluded.state,
           description = excluded.description,
           reported_at = excluded.reported_at`,
        [s.jobId, s.webhookId, s.interactionId, s.state, s.description, s.at],
      );
    },
    openTicketId: async (interactionId, requesterId) =>
      (await one<{ id: number }>("SELECT id FROM tickets WHERE interaction_id = $1 AND requester_id = $2 AND status = 'open'", [interactionId, requesterId]))?.id,
    // Two listeners opening the requester's first ticket at once: the partial unique index
    // tickets_one_open makes the second wait for the first's COMMIT, then fail with 23505; the
    // batch committer rolls that job back to its savepoint and runs it again: it finds the ticket.
    insertTicket: async (t) =>
      (await one<{ id: number }>(
        `INSERT INTO tickets (interaction_id, requester_id, status, subject, unit_id, group_id, activity_id, contact_origin_id,
                              contract_id, created_at, updated_at)
         VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
        [t.interactionId, t.requesterId, t.subject, t.unitId, t.groupId, t.activityId, t.contactOriginId, t.contractId, t.at],
      ))!.id,
    insertMessage,
    touchTicket: async (ticketId, at) => {
      await run('UPDATE tickets SET updated_at = $1 WHERE id = $2', [at, ticketId]);
    },
  };

  const outbox: AsyncStores['outbox'] = {
    interactionForSending: (id) =>
      one<SendingInteraction>(
        `SELECT id, api_key_enc, api_secret_key_enc, access_token_enc, access_token_secret_enc, account_user_id, revoked_at, deleted_at,
                api, client_id_enc, client_secret_enc
           FROM interactions WHERE id = $1`,
        [id],
      ),
    insertTicketMessage: insertMessage,
    enqueue: async (r) =>
      (await one<OutboxRecord>(
        `INSERT INTO outbox (interaction_id, ticket_id, message_id, conversation_id, recipient_twitter_id, text, options, status, attempts,
                             next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ${OUTBOX_COLUMNS}`,
        [r.interactionId, r.ticketId, r.messageId, r.conversationId, r.recipientTwitterId, r.text, r.options, r.claimedUntil ? 'sending' : 'pending', r.claimedUntil ? 1 : 0, r.claimedUntil ?? r.now, r.now],
      ))!,
    // The row is locked (FOR UPDATE) for the rest of the transaction: a worker recording Twitter's
    // answer for the same row at the same moment waits, then sees it sent.
    markSent: async (id, dmId, sentAt, now): Promise<MarkSentResult> => {
      const before = await one<OutboxRecord>(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = $1 FOR UPDATE`, [id]);
      if (!before) return { result: 'missing' };
      if (before.status === 'sent') return { result: 'already', row: before };
      await run(`UPDATE outbox SET status = 'sent', twitter_dm_id = $1, sent_at = $2, updated_at = $3 WHERE id = $4 AND status <> 'sent'`, [dmId, sentAt, now, id]);
      if (before.message_id !== null) {
        // The echo may have been stored as a message "sent from outside omni": the same DM, keep ours.
        await run('DELETE FROM messages WHERE interaction_id = $1 AND twitter_event_id = $2 AND id <> $3', [before.interaction_id, dmId, before.message_id]);
        await run('UPDATE messages SET twitter_event_id = $1, sent_at = $2 WHERE id = $3', [dmId, sentAt, before.message_id]);
      }
      await run('UPDATE helper_messages SET twitter_event_id = $1, sent_at = $2 WHERE outbox_id = $3', [dmId, sentAt, id]);
      return { result: 'sent', row: (await outboxRow(id))! };
    },
    get: outboxRow,
    // The claim's `attempts` is the fencing token: a worker whose lease ended records nothing.
    markRetry: async (id, attempt, error, kind, nextAt, now) =>
      (await run(
        `UPDATE outbox SET status = 'pending', last_error = $1, last_error_kind = $2, next_attempt_at = $3, updated_at = $4
          WHERE id = $5 AND status = 'sending' AND attempts = $6`,
        [error, kind, nextAt, now, id, attempt],
      )) > 0,
    markFailed: async (id, attempt, error, kind, now) =>
      (await run(`UPDATE outbox SET status = 'failed', last_error = $1, last_error_kind = $2, updated_at = $3 WHERE id = $4 AND status = 'sending' AND attempts = $5`, [
        error,
        kind,
        now,
        id,
        attempt,
      ])) > 0,
    deferInteraction: (interactionId, until, now) =>
      run(`UPDATE outbox SET next_attempt_at = $1, updated_at = $2 WHERE interaction_id = $3 AND status = 'pending' AND next_attempt_at < $1`, [until, now, interactionId]),
    inFlight: (interactionId, recipient) =>
      all<OutboxRecord>(
        `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE interaction_id = $1 AND recipient_twitter_id = $2 AND status IN ('pending', 'sending') AND attempts > 0 ORDER BY id`,
        [interactionId, recipient],
      ),
  };

  const chatbot: AsyncStores['chatbot'] = {
    parameters: () => params(CHATBOT_PARAMETERS),
    activeConversation: (interactionId, requesterId) =>
      one<ConversationRow>(`SELECT ${CONVERSATION} FROM helper_conversations WHERE interaction_id = $1 AND requester_id = $2 AND status = 'active'`, [interactionId, requesterId]),
    // Read by the Helper worker before it records an external answer: locked for the rest of its
    // transaction, so an intake job handing the conversation off at the same moment waits for it,
    // or it sees the hand-off (FOR UPDATE reads the latest committed version).
    conversation: (id) => one<ConversationRow>(`SELECT ${CONVERSATION} FROM helper_conversations WHERE id = $1 FOR UPDATE`, [id]),
    // helper_conversations_one_active: a second listener starting the same requester's conversation
    // gets 23505 and its job runs again (src/db/pg-batch.ts).
    startConversation: async (interactionId, requesterId, now) =>
      (await one<ConversationRow>(
        `INSERT INTO helper_conversations (interaction_id, requester_id, status, state, last_activity_at, created_at, updated_at)
         VALUES ($1, $2, 'active', 'start', $3, $3, $3) RETURNING ${CONVERSATION}`,
        [interactionId, requesterId, now],
      ))!,
    endConversation: async (id, status, ticketId, now) => {
      await run(`UPDATE helper_conversations SET status = $1, ticket_id = $2, ended_at = $3, updated_at = $3 WHERE id = $4 AND status = 'active'`, [status, ticketId, now, id]);
    },
    setState: async (id, state, now) => {
      await run('UPDATE helper_conversations SET state = $1, last_activity_at = $2, updated_at = $2 WHERE id = $3', [state, now, id]);
    },
    messageByEvent: (interactionId, eventId) =>
      one<{ id: number; conversation_id: number }>('SELECT id, conversation_id FROM helper_messages WHERE interaction_id = $1 AND twitter_event_id = $2', [interactionId, eventId]),
    insertMessage: async (m) =>
      (await one<{ id: number }>(
        `INSERT INTO helper_messages (conversation_id, interaction_id, direction, text, payload, twitter_event_id, attachments, outbox_id, sent_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
        [m.conversationId, m.interactionId, m.direction, m.text, m.payload, m.twitterEventId, m.attachments, m.outboxId, m.sentAt, m.at],
      ))!.id,
    transcript: (conversationId) =>
      all<TranscriptRow>(
        `SELECT id, conversation_id, direction, text, payload, twitter_event_id, attachments, outbox_id, sent_at, created_at
           FROM helper_messages WHERE conversation_id = $1 ORDER BY id`,
        [conversationId],
      ),
    attachOutbox: async (outboxId, ticketId, messageId, now) => {
      await run('UPDATE outbox SET ticket_id = $1, message_id = $2, updated_at = $3 WHERE id = $4', [ticketId, messageId, now, outboxId]);
    },
    enqueueJob: async (conversationId, helperMessageId, now) =>
      (await one<{ id: number }>(
        `INSERT INTO helper_jobs (conversation_id, helper_message_id, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, 'pending', 0, $3, $3, $3) RETURNING id`,
        [conversationId, helperMessageId, now],
      ))!.id,
    finishJob: async (id, attempt, status, outcome, now) =>
      (await run(`UPDATE helper_jobs SET status = $1, outcome = $2, updated_at = $3 WHERE id = $4 AND status = 'working' AND attempts = $5`, [status, outcome, now, id, attempt])) > 0,
    skipPendingJobs: (conversationId, outcome, now) =>
      run(`UPDATE helper_jobs SET status = 'skipped', outcome = $1, updated_at = $2 WHERE conversation_id = $3 AND status IN ('pending', 'working')`, [outcome, now, conversationId]),
    requesterTickets: (interactionId, requesterId, limit) =>
      all<TicketSummary>('SELECT id, status, subject FROM tickets WHERE interaction_id = $1 AND requester_id = $2 ORDER BY id DESC LIMIT $3', [interactionId, requesterId, limit]),
  };

  return { intake, outbox, chatbot };
}

/** Due rows, as src/db/outbox.ts says: pending past their time and claims whose lease ended, older unsent rows to the same recipient first. */
const DUE = `o.status IN ('pending', 'sending') AND o.next_attempt_at <= $2
  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.interaction_id = o.interaction_id AND p.recipient_twitter_id = o.recipient_twitter_id
                  AND p.status IN ('pending', 'sending') AND p.id < o.id)`;

/** What of the outbox a sending worker needs, on PostgreSQL: each call one statement (autocommit) or one short transaction. */
export interface PgOutboxQueue {
  /**
   * Claims the oldest due row across the fleet: `FOR UPDATE SKIP LOCKED`, so two workers never
   * wait for, nor take, the same row; the claim sets status 'sending', bumps `attempts` (the
   * fencing token of markRetry/markFailed) and leases the row until `leaseUntil`: a worker killed
   * mid-send leaves a row that any worker claims again once the lease has ended.
   */
  claimNext(now: string, leaseUntil: string): Promise<OutboxRecord | undefined>;
  get(id: number): Promise<OutboxRecord | undefined>;
  markSent(id: number, dmId: string, sentAt: string, now: string): Promise<MarkSentResult>;
  markRetry(id: number, attempt: number, error: string, kind: string, nextAt: string, now: string): Promise<boolean>;
  markFailed(id: number, attempt: number, error: string, kind: string, now: string): Promise<boolean>;
  deferInteraction(interactionId: number, until: string, now: string): Promise<number>;
}

export function createPgOutboxQueue(pool: { query: PgQueryable['query']; connect(): Promise<PgQueryable & { release(err?: Error): void }> }): PgOutboxQueue {
  const one = async <T>(text: string, values: unknown[]) => (await pool.query(text, values)).rows[0] as T | undefined;
  // Each statement on its own (autocommit): the pool stands in for a client.
  const single = createPgStores(pool).outbox;
  return {
    claimNext: (now, leaseUntil) =>
      one<OutboxRecord>(
        `UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1, updated_at = $2
          WHERE id = (SELECT o.id FROM outbox o WHERE ${DUE} ORDER BY o.next_attempt_at, o.id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING ${OUTBOX_COLUMNS}`,
        [leaseUntil, now],
      ),
    get: single.get,
    markSent: async (id, dmId, sentAt, now) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await createPgStores(client).outbox.markSent(id, dmId, sentAt, now);
        await client.query('COMMIT');
        client.release();
        return r;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(err as Error);
        throw err;
      }
    },
    markRetry: single.markRetry,
    markFailed: single.markFailed,
    deferInteraction: single.deferInteraction,
  };
}

/** Due Helper jobs, as src/db/chatbot.ts says: jobs of one conversation run one at a time, in order. */
const DUE_JOB = `j.status IN ('pending', 'working') AND j.next_attempt_at <= $2
  AND NOT EXISTS (SELECT 1 FROM helper_jobs k WHERE k.conversation_id = j.conversation_id
                  AND k.status IN ('pending', 'working') AND k.id < j.id)`;

/**
 * Claims the first due Helper job across the fleet (FOR UPDATE SKIP LOCKED, a lease until
 * `leaseUntil`, attempts the fencing token of finishJob), with what the worker needs to call the
 * Helper. One statement: two workers never hold one job, nor two jobs of one conversation.
 */
export async function claimPgHelperJob(db: PgQueryable, now: string, leaseUntil: string): Promise<ChatbotJob | undefined> {
  const claimed = (
    await db.query(
      `UPDATE helper_jobs SET status = 'working', attempts = attempts + 1, next_attempt_at = $1, updated_at = $2
        WHERE id = (SELECT j.id FROM helper_jobs j WHERE ${DUE_JOB} ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, attempts, conversation_id, helper_message_id`,
      [leaseUntil, now],
    )
  ).rows[0] as { id: number; attempts: number; conversation_id: number; helper_message_id: number } | undefined;
  if (!claimed) return undefined;
  const d = (
    await db.query(
      `SELECT c.id AS conversation_id, c.status AS conversation_status, c.interaction_id, c.requester_id,
              r.twitter_user_id AS requester_twitter_id, m.text, m.payload
         FROM helper_messages m
         JOIN helper_conversations c ON c.id = m.conversation_id
         JOIN requesters r ON r.id = c.requester_id
        WHERE m.id = $1`,
      [claimed.helper_message_id],
    )
  ).rows[0] as Omit<ChatbotJob, 'id' | 'attempts'>;
  return { id: claimed.id, attempts: claimed.attempts, ...d };
}
