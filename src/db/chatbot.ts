// The Helper chatbot's storage: conversations (bot state), their transcripts and the jobs waiting
// for an external bot (tables helper_*). Synchronous statements for the same reason as
// src/db/intake.ts: the intake uses them inside the listener's group commit, the chatbot worker on
// the same connection.
import type BetterSqlite3 from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { HelperConversationTable, HelperMessageTable } from './schema.js';

/** The columns the statements below read (the types come from the table definitions). */
export type ConversationRow = Pick<
  Selectable<HelperConversationTable>,
  'id' | 'interaction_id' | 'requester_id' | 'status' | 'state' | 'ticket_id' | 'last_activity_at' | 'created_at'
>;

export type TranscriptRow = Omit<Selectable<HelperMessageTable>, 'interaction_id'>;

export interface NewTranscriptMessage {
  conversationId: number;
  interactionId: number;
  direction: 'inbound' | 'outbound';
  text: string;
  payload: string | null;
  twitterEventId: string | null;
  attachments: string;
  outboxId: number | null;
  sentAt: string;
  at: string;
}

/** A claimed job with what the worker needs to call the Helper and record its answer. */
export interface ChatbotJob {
  id: number;
  attempts: number;
  conversation_id: number;
  conversation_status: ConversationRow['status'];
  interaction_id: number;
  requester_id: number;
  requester_twitter_id: string;
  text: string;
  payload: string | null;
}

export interface TicketSummary {
  id: number;
  status: 'open' | 'closed';
  subject: string;
}

/** Parameters the chatbot reads: 441 (external URL), 450 (global switch), 453 (fallback text). */
export const CHATBOT_PARAMETERS = [441, 450, 453] as const;

export interface ChatbotCounts {
  activeConversations: number;
  pendingJobs: number;
  workingJobs: number;
}

export interface ChatbotStore {
  parameters(): Map<number, string>;
  activeConversation(interactionId: number, requesterId: number): ConversationRow | undefined;
  conversation(id: number): ConversationRow | undefined;
  startConversation(interactionId: number, requesterId: number, now: string): ConversationRow;
  /** Ends an active conversation: expired (idle) or handed_off (to ticketId). */
  endConversation(id: number, status: 'expired' | 'handed_off', ticketId: number | null, now: string): void;
  setState(id: number, state: string, now: string): void;
  /** The transcript row of an inbound DM event already stored (the dedup key), if any. */
  messageByEvent(interactionId: number, twitterEventId: string): { id: number; conversation_id: number } | undefined;
  insertMessage(m: NewTranscriptMessage): number;
  transcript(conversationId: number): TranscriptRow[];
  /** Points an outbox row of the conversation at the ticket message that now shows it. */
  attachOutbox(outboxId: number, ticketId: number, messageId: number, now: string): void;
  enqueueJob(conversationId: number, helperMessageId: number, now: string): number;
  /** Claims the first unfinished job of some conversation (jobs of one conversation run in order). */
  claimJob(now: string, leaseUntil: string): ChatbotJob | undefined;
  /** done / skipped, if `attempt` still holds the claim. */
  finishJob(id: number, attempt: number, status: 'done' | 'skipped', outcome: string, now: string): boolean;
  skipPendingJobs(conversationId: number, outcome: string, now: string): number;
  requesterTickets(interactionId: number, requesterId: number, limit: number): TicketSummary[];
  counts(): ChatbotCounts;
}

const CONVERSATION = 'id, interaction_id, requester_id, status, state, ticket_id, last_activity_at, created_at';

export function createChatbotStore(sqlite: BetterSqlite3.Database): ChatbotStore {
  const params = sqlite.prepare<[], { number: number; value: string }>(
    `SELECT number, value FROM parameters WHERE number IN (${CHATBOT_PARAMETERS.join(', ')})`,
  );
  const active = sqlite.prepare<[number, number], ConversationRow>(
    `SELECT ${CONVERSATION} FROM helper_conversations WHERE interaction_id = ? AND requester_id = ? AND status = 'active'`,
  );
  const byId = sqlite.prepare<[number], ConversationRow>(`SELECT ${CONVERSATION} FROM helper_conversations WHERE id = ?`);
  const start = sqlite.prepare<[number, number, string, string, string], ConversationRow>(
    `INSERT INTO helper_conversations (interaction_id, requester_id, status, state, last_activity_at, created_at, updated_at)
     VALUES (?, ?, 'active', 'start', ?, ?, ?) RETURNING ${CONVERSATION}`,
  );
  const end = sqlite.prepare<[string, number | null, string, string, number]>(
    `UPDATE helper_conversations SET status = ?, ticket_id = ?, ended_at = ?, updated_at = ? WHERE id = ? AND status = 'active'`,
  );
  const setState = sqlite.prepare<[string, string, string, number]>(
    'UPDATE helper_conversations SET state = ?, last_activity_at = ?, updated_at = ? WHERE id = ?',
  );
  const byEvent = sqlite.prepare<[number, string], { id: number; conversation_id: number }>(
    'SELECT id, conversation_id FROM helper_messages WHERE interaction_id = ? AND twitter_event_id = ?',
  );
  const insertMessage = sqlite.prepare<[number, number, string, string, string | null, string | null, string, number | null, string, string], { id: number }>(
    `INSERT INTO helper_messages (conversation_id, interaction_id, direction, text, payload, twitter_event_id, attachments, outbox_id, sent_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  );
  const transcript = sqlite.prepare<[number], TranscriptRow>(
    `SELECT id, conversation_id, direction, text, payload, twitter_event_id, attachments, outbox_id, sent_at, created_at
       FROM helper_messages WHERE conversation_id = ? ORDER BY id`,
  );
  const attachOutbox = sqlite.prepare<[number, number, string, number]>('UPDATE outbox SET ticket_id = ?, message_id = ?, updated_at = ? WHERE id = ?');
  const enqueueJob = sqlite.prepare<[number, number, string, string, string], { id: number }>(
    `INSERT INTO helper_jobs (conversation_id, helper_message_id, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, 'pending', 0, ?, ?, ?) RETURNING id`,
  );
  // Same lease scheme as the outbox: 'working' with next_attempt_at = end of the lease.
  const DUE_JOB = `j.status IN ('pending', 'working') AND j.next_attempt_at <= ?
                     AND NOT EXISTS (SELECT 1 FROM helper_jobs k WHERE k.conversation_id = j.conversation_id
                                     AND k.status IN ('pending', 'working') AND k.id < j.id)`;
  // A read first, as in the outbox: an idle poll must not queue for the write lock.
  const anyDue = sqlite.prepare<[string], { one: number }>(`SELECT 1 AS one FROM helper_jobs j WHERE ${DUE_JOB} LIMIT 1`);
  const claim = sqlite.prepare<[string, string, string], { id: number; attempts: number; conversation_id: number; helper_message_id: number }>(
    `UPDATE helper_jobs SET status = 'working', attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
      WHERE id = (SELECT j.id FROM helper_jobs j WHERE ${DUE_JOB} ORDER BY j.id LIMIT 1)
      RETURNING id, attempts, conversation_id, helper_message_id`,
  );
  const jobDetails = sqlite.prepare<[number], Omit<ChatbotJob, 'id' | 'attempts'>>(
    `SELECT c.id AS conversation_id, c.status AS conversation_status, c.interaction_id, c.requester_id,
            r.twitter_user_id AS requester_twitter_id, m.text, m.payload
       FROM helper_messages m
       JOIN helper_conversations c ON c.id = m.conversation_id
       JOIN requesters r ON r.id = c.requester_id
      WHERE m.id = ?`,
  );
  const finish = sqlite.prepare<[string, string, string, number, number]>(
    `UPDATE helper_jobs SET status = ?, outcome = ?, updated_at = ? WHERE id = ? AND status = 'working' AND attempts = ?`,
  );
  const skipPending = sqlite.prepare<[string, string, number]>(
    `UPDATE helper_jobs SET status = 'skipped', outcome = ?, updated_at = ? WHERE conversation_id = ? AND status IN ('pending', 'working')`,
  );
  const tickets = sqlite.prepare<[number, number, number], TicketSummary>(
    'SELECT id, status, subject FROM tickets WHERE interaction_id = ? AND requester_id = ? ORDER BY id DESC LIMIT ?',
  );
  const activeCount = sqlite.prepare<[], { n: number }>("SELECT count(*) AS n FROM helper_conversations WHERE status = 'active'");
  const jobCounts = sqlite.prepare<[], { status: string; n: number }>(
    "SELECT status, count(*) AS n FROM helper_jobs WHERE status IN ('pending', 'working') GROUP BY status",
  );

  return {
    parameters: () => new Map(params.all().map((r) => [r.number, r.value])),
    activeConversation: (interactionId, requesterId) => active.get(interactionId, requesterId),
    conversation: (id) => byId.get(id),
    startConversation: (interactionId, requesterId, now) => start.get(interactionId, requesterId, now, now, now)!,
    endConversation: (id, status, ticketId, now) => {
      end.run(status, ticketId, now, now, id);
    },
    setState: (id, state, now) => {
      setState.run(state, now, now, id);
    },
    messageByEvent: (interactionId, eventId) => byEvent.get(interactionId, eventId),
    insertMessage: (m) =>
      insertMessage.get(m.conversationId, m.interactionId, m.direction, m.text, m.payload, m.twitterEventId, m.attachments, m.outboxId, m.sentAt, m.at)!.id,
    transcript: (conversationId) => transcript.all(conversationId),
    attachOutbox: (outboxId, ticketId, messageId, now) => {
      attachOutbox.run(ticketId, messageId, now, outboxId);
    },
    enqueueJob: (conversationId, helperMessageId, now) => enqueueJob.get(conversationId, helperMessageId, now, now, now)!.id,
    claimJob: (now, leaseUntil) => {
      const claimed = anyDue.get(now) ? claim.get(leaseUntil, now, now) : undefined;
      if (!claimed) return undefined;
      const d = jobDetails.get(claimed.helper_message_id)!;
      return { id: claimed.id, attempts: claimed.attempts, ...d };
    },
    finishJob: (id, attempt, status, outcome, now) => finish.run(status, outcome, now, id, attempt).changes > 0,
    skipPendingJobs: (conversationId, outcome, now) => skipPending.run(outcome, now, conversationId).changes,
    requesterTickets: (interactionId, requesterId, limit) => tickets.all(interactionId, requesterId, limit),
    counts: () => {
      const jobs = new Map(jobCounts.all().map((r) => [r.status, r.n]));
      return { activeConversations: activeCount.get()!.n, pendingJobs: jobs.get('pending') ?? 0, workingJobs: jobs.get('working') ?? 0 };
    },
  };
}
