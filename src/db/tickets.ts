// Tickets and their messages: the reads of the ticket commands (Kysely), and the writes every DM
// path shares (createTicketWrites: synchronous statements, run inside the caller's transaction).
// Lists are keyset-paged, newest first, on indexes (status, id), (interaction_id, status, id) and
// (requester_id, id), so the first page costs the same with a million messages as with ten.
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database, Message } from './schema.js';

export interface TicketView {
  id: number;
  interaction_id: number;
  interaction_name: string;
  status: 'open' | 'closed';
  subject: string;
  requester_id: number;
  requester_twitter_user_id: string;
  requester_screen_name: string | null;
  requester_name: string | null;
  unit_id: number | null;
  unit_name: string | null;
  group_id: number | null;
  group_name: string | null;
  activity_id: number | null;
  activity_name: string | null;
  contact_origin_id: number | null;
  contact_origin_name: string | null;
  contract_id: number | null;
  contract_name: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  message_count: number;
}

export interface TicketFilter {
  /** Undefined: any status. */
  status?: 'open' | 'closed';
  interactionId?: number;
  requesterId?: number;
  /** Keyset paging: only tickets with a smaller id. */
  beforeId?: number;
  limit: number;
}

function viewQuery(db: Kysely<Database>) {
  return db
    .selectFrom('tickets as t')
    .innerJoin('interactions as i', 'i.id', 't.interaction_id')
    .innerJoin('requesters as r', 'r.id', 't.requester_id')
    .leftJoin('units as u', 'u.id', 't.unit_id')
    .leftJoin('groups as g', 'g.id', 't.group_id')
    .leftJoin('activities as a', 'a.id', 't.activity_id')
    .leftJoin('contact_origins as o', 'o.id', 't.contact_origin_id')
    .leftJoin('contracts as c', 'c.id', 't.contract_id')
    .select((eb) => [
      't.id',
      't.interaction_id',
      'i.name as interaction_name',
      't.status',
      't.subject',
      't.requester_id',
      'r.twitter_user_id as requester_twitter_user_id',
      'r.screen_name as requester_screen_name',
      'r.name as requester_name',
      't.unit_id',
      'u.name as unit_name',
      't.group_id',
      'g.name as group_name',
      't.activity_id',
      'a.name as activity_name',
      't.contact_origin_id',
      'o.name as contact_origin_name',
      't.contract_id',
      'c.name as contract_name',
      't.created_at',
      't.updated_at',
      't.closed_at',
      eb.selectFrom('messages as m').select(eb.fn.countAll<number>().as('n')).whereRef('m.ticket_id', '=', 't.id').as('message_count'),
    ]);
}

export async function listTickets(db: Kysely<Database>, f: TicketFilter): Promise<TicketView[]> {
  let q = viewQuery(db).orderBy('t.id', 'desc').limit(f.limit);
  if (f.status) q = q.where('t.status', '=', f.status);
  if (f.interactionId !== undefined) q = q.where('t.interaction_id', '=', f.interactionId);
  if (f.requesterId !== undefined) q = q.where('t.requester_id', '=', f.requesterId);
  if (f.beforeId !== undefined) q = q.where('t.id', '<', f.beforeId);
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, message_count: Number(r.message_count ?? 0) }) as TicketView);
}

export async function getTicket(db: Kysely<Database>, id: number): Promise<TicketView | undefined> {
  const row = await viewQuery(db).where('t.id', '=', id).executeTakeFirst();
  return row ? ({ ...row, message_count: Number(row.message_count ?? 0) } as TicketView) : undefined;
}

/** A ticket message with the delivery state of the outbox row that sends it (outbound messages omni queued). */
export interface MessageView extends Message {
  outbox_id: number | null;
  delivery_status: 'pending' | 'sending' | 'sent' | 'failed' | null;
  delivery_attempts: number | null;
  delivery_error: string | null;
  delivery_next_attempt_at: string | null;
  /** Set when a Helper answer (not an agent) produced the message. */
  conversation_id: number | null;
}

export async function listMessages(db: Kysely<Database>, ticketId: number): Promise<MessageView[]> {
  return db
    .selectFrom('messages as m')
    .leftJoin('outbox as o', 'o.message_id', 'm.id')
    .selectAll('m')
    .select([
      'o.id as outbox_id',
      'o.status as delivery_status',
      'o.attempts as delivery_attempts',
      'o.last_error as delivery_error',
      'o.next_attempt_at as delivery_next_attempt_at',
      'o.conversation_id as conversation_id',
    ])
    .where('m.ticket_id', '=', ticketId)
    .orderBy('m.id')
    .execute() as Promise<MessageView[]>;
}

/** Closes an open ticket; false when it was not open (already closed). */
export async function closeTicket(db: Kysely<Database>, id: number, now: string): Promise<boolean> {
  const res = await db
    .updateTable('tickets')
    .set({ status: 'closed', closed_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
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
  at: string;
}

/** A message of a ticket. Its DM event id is null while omni has not sent it yet. */
export interface NewMessageRow {
  ticketId: number;
  interactionId: number;
  direction: 'inbound' | 'outbound';
  text: string;
  twitterEventId: string | null;
  senderTwitterId: string | null;
  sentAt: string;
  /** JSON array text. */
  attachments: string;
  at: string;
}

/**
 * The one set of statements that opens tickets and stores their messages: the intake, the Helper
 * chatbot's hand-off and the outbox all write through it. Synchronous better-sqlite3 statements
 * (the listener's intake runs them on its writer thread inside a group commit; see src/db/intake.ts).
 */
export interface TicketWrites {
  /** The requester's open ticket on this interaction, if any. */
  openTicketId(interactionId: number, requesterId: number): number | undefined;
  insertTicket(row: NewTicketRow): number;
  /** Inserts a message; undefined when its DM event id is already stored (never a second copy). */
  insertMessage(row: NewMessageRow): number | undefined;
  touchTicket(ticketId: number, at: string): void;
}

export function createTicketWrites(sqlite: BetterSqlite3.Database): TicketWrites {
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
  // Portable: SQLite ≥ 3.35 and PostgreSQL both have ON CONFLICT … DO NOTHING RETURNING.
  const insertMessage = sqlite.prepare<[number, number, string, string, string | null, string | null, string, string, string], { id: number }>(
    `INSERT INTO messages (ticket_id, interaction_id, direction, text, twitter_event_id, sender_twitter_id, sent_at, attachments, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (interaction_id, twitter_event_id) DO NOTHING RETURNING id`,
  );
  const touchTicket = sqlite.prepare<[string, number]>('UPDATE tickets SET updated_at = ? WHERE id = ?');
  return {
    openTicketId: (interactionId, requesterId) => openTicket.get(interactionId, requesterId)?.id,
    insertTicket: (t) =>
      insertTicket.get(t.interactionId, t.requesterId, t.subject, t.unitId, t.groupId, t.activityId, t.contactOriginId, t.contractId, t.at, t.at)!.id,
    insertMessage: (m) =>
      insertMessage.get(m.ticketId, m.interactionId, m.direction, m.text, m.twitterEventId, m.senderTwitterId, m.sentAt, m.attachments, m.at)?.id,
    touchTicket: (ticketId, at) => {
      touchTicket.run(at, ticketId);
    },
  };
}
