// `omni requester export`: everything omni holds about one requester, as records in a documented,
// versioned shape (docs/privacy.md): the requester, their tickets with every message, their Helper
// conversations with every exchange, the outbox rows addressed to them and the audit entries about
// them. Nothing about anyone else: every query is keyed by the requester's id or Twitter user id.
// Records come one at a time (an async generator), so a long history is never held in memory whole.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { auditEntryJson, type AuditEntryJson } from '../db/audit.js';

export const EXPORT_FORMAT = 'omni.requester-export';
export const EXPORT_VERSION = 1;

export interface AttachmentRecord {
  [key: string]: unknown;
}

export interface RequesterRecord {
  id: number;
  twitterUserId: string;
  screenName: string | null;
  name: string | null;
  createdAt: string;
  updatedAt: string;
  erasedAt: string | null;
}

export interface MessageRecord {
  id: number;
  direction: 'inbound' | 'outbound';
  text: string;
  sentAt: string;
  twitterEventId: string | null;
  attachments: AttachmentRecord[];
  /** When erase or retention removed the text and attachments (null: the content is here). */
  redactedAt: string | null;
}

export interface TicketRecord {
  id: number;
  interactionId: number;
  interactionName: string;
  status: 'open' | 'closed';
  subject: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  messages: MessageRecord[];
}

export interface HelperConversationRecord {
  id: number;
  interactionId: number;
  status: string;
  ticketId: number | null;
  createdAt: string;
  endedAt: string | null;
  messages: Array<{ id: number; direction: 'inbound' | 'outbound'; text: string; payload: string | null; sentAt: string; attachments: AttachmentRecord[] }>;
}

export interface OutboxRecordExport {
  id: number;
  interactionId: number;
  ticketId: number | null;
  conversationId: number | null;
  status: string;
  text: string;
  options: unknown;
  createdAt: string;
  sentAt: string | null;
}

/** An audit entry about the requester or their tickets, as `omni audit --json` shows it. */
export type AuditRecordExport = AuditEntryJson;

/** One record of an export: NDJSON writes each as a line, JSON assembles them into one document. */
export type ExportRecord =
  | { type: 'requester'; format: typeof EXPORT_FORMAT; version: typeof EXPORT_VERSION; exportedAt: string; requester: RequesterRecord }
  | { type: 'ticket'; ticket: TicketRecord }
  | { type: 'helperConversation'; conversation: HelperConversationRecord }
  | { type: 'outbox'; outbox: OutboxRecordExport }
  | { type: 'audit'; audit: AuditRecordExport };

export interface ExportCounts {
  tickets: number;
  messages: number;
  helperConversations: number;
  helperMessages: number;
  outbox: number;
  audit: number;
}

const json = (text: string | null, fallback: unknown): unknown => {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
};
const attachments = (text: string): AttachmentRecord[] => {
  const v = json(text, []);
  return Array.isArray(v) ? (v as AttachmentRecord[]) : [];
};

/** How much an export of this requester holds (for progress). */
export async function exportCounts(db: Kysely<Database>, requesterId: number, twitterUserId: string): Promise<ExportCounts> {
  const count = async (q: { executeTakeFirst(): Promise<{ n: number | string | bigint } | undefined> }) => Number((await q.executeTakeFirst())?.n ?? 0);
  const tickets = db.selectFrom('tickets').select('id').where('requester_id', '=', requesterId);
  const convs = db.selectFrom('helper_conversations').select('id').where('requester_id', '=', requesterId);
  return {
    tickets: await count(db.selectFrom('tickets').select((eb) => eb.fn.countAll().as('n')).where('requester_id', '=', requesterId)),
    messages: await count(db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).where('ticket_id', 'in', tickets)),
    helperConversations: await count(db.selectFrom('helper_conversations').select((eb) => eb.fn.countAll().as('n')).where('requester_id', '=', requesterId)),
    helperMessages: await count(db.selectFrom('helper_messages').select((eb) => eb.fn.countAll().as('n')).where('conversation_id', 'in', convs)),
    outbox: await count(outboxOf(db, requesterId, twitterUserId).select((eb) => eb.fn.countAll().as('n'))),
    audit: await count(auditOf(db, requesterId).select((eb) => eb.fn.countAll().as('n'))),
  };
}

function outboxOf(db: Kysely<Database>, requesterId: number, twitterUserId: string) {
  return db
    .selectFrom('outbox')
    .where((eb) =>
      eb.or([
        eb('recipient_twitter_id', '=', twitterUserId),
        eb('ticket_id', 'in', eb.selectFrom('tickets').select('id').where('requester_id', '=', requesterId)),
        eb('conversation_id', 'in', eb.selectFrom('helper_conversations').select('id').where('requester_id', '=', requesterId)),
      ]),
    );
}

function auditOf(db: Kysely<Database>, requesterId: number) {
  // Ticket ids are compared as text: audit_log.entity_id is TEXT on both engines.
  return db
    .selectFrom('audit_log')
    .where((eb) =>
      eb.or([
        eb.and([eb('entity', '=', 'requester'), eb('entity_id', '=', String(requesterId))]),
        eb.and([
          eb('entity', '=', 'ticket'),
          eb('entity_id', 'in', eb.selectFrom('tickets').select(eb.cast<string>('id', 'text').as('id')).where('requester_id', '=', requesterId)),
        ]),
      ]),
    );
}

/**
 * The records of one requester's export, in order: requester, tickets (each with its messages),
 * Helper conversations (each with its messages), outbox rows, audit entries. `onMessages` is told
 * how many messages each record carried (progress).
 */
export async function* exportRequester(
  db: Kysely<Database>,
  requesterId: number,
  exportedAt: string,
  onMessages: (n: number) => void = () => undefined,
): AsyncGenerator<ExportRecord> {
  const r = await db.selectFrom('requesters').selectAll().where('id', '=', requesterId).executeTakeFirst();
  if (!r) return;
  yield {
    type: 'requester',
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt,
    requester: { id: r.id, twitterUserId: r.twitter_user_id, screenName: r.screen_name, name: r.name, createdAt: r.created_at, updatedAt: r.updated_at, erasedAt: r.erased_at },
  };

  const tickets = await db
    .selectFrom('tickets as t')
    .innerJoin('interactions as i', 'i.id', 't.interaction_id')
    .select(['t.id', 't.interaction_id', 'i.name as interaction_name', 't.status', 't.subject', 't.created_at', 't.updated_at', 't.closed_at'])
    .where('t.requester_id', '=', requesterId)
    .orderBy('t.id')
    .execute();
  for (const t of tickets) {
    const messages = await db.selectFrom('messages').selectAll().where('ticket_id', '=', t.id).orderBy('id').execute();
    onMessages(messages.length);
    yield {
      type: 'ticket',
      ticket: {
        id: t.id,
        interactionId: t.interaction_id,
        interactionName: t.interaction_name,
        status: t.status,
        subject: t.subject,
        createdAt: t.created_at,
        updatedAt: t.updated_at,
        closedAt: t.closed_at,
        messages: messages.map((m) => ({
          id: m.id,
          direction: m.direction,
          text: m.text,
          sentAt: m.sent_at,
          twitterEventId: m.twitter_event_id,
          attachments: attachments(m.attachments),
          redactedAt: m.redacted_at,
        })),
      },
    };
  }

  const convs = await db.selectFrom('helper_conversations').selectAll().where('requester_id', '=', requesterId).orderBy('id').execute();
  for (const c of convs) {
    const messages = await db.selectFrom('helper_messages').selectAll().where('conversation_id', '=', c.id).orderBy('id').execute();
    onMessages(messages.length);
    yield {
      type: 'helperConversation',
      conversation: {
        id: c.id,
        interactionId: c.interaction_id,
        status: c.status,
        ticketId: c.ticket_id,
        createdAt: c.created_at,
        endedAt: c.ended_at,
        messages: messages.map((m) => ({ id: m.id, direction: m.direction, text: m.text, payload: m.payload, sentAt: m.sent_at, attachments: attachments(m.attachments) })),
      },
    };
  }

  // Keyset pages: a requester with years of history does not come back in one result.
  for (let after = 0; ; ) {
    const rows = await outboxOf(db, requesterId, r.twitter_user_id).selectAll().where('id', '>', after).orderBy('id').limit(500).execute();
    for (const o of rows) {
      yield {
        type: 'outbox',
        outbox: {
          id: o.id,
          interactionId: o.interaction_id,
          ticketId: o.ticket_id,
          conversationId: o.conversation_id,
          status: o.status,
          text: o.text,
          options: json(o.options, null),
          createdAt: o.created_at,
          sentAt: o.sent_at,
        },
      };
    }
    if (rows.length < 500) break;
    after = rows[rows.length - 1]!.id;
  }

  const audit = await auditOf(db, requesterId).selectAll().orderBy('id').execute();
  for (const a of audit) {
    yield { type: 'audit', audit: auditEntryJson(a) };
  }
}

/**
 * Writes an export as one JSON document: { format, version, exportedAt, requester, tickets,
 * helperConversations, outbox, audit }, streamed record by record through `write`.
 */
export async function writeJsonExport(records: AsyncIterable<ExportRecord>, write: (chunk: string) => Promise<void> | void): Promise<void> {
  const sections = ['tickets', 'helperConversations', 'outbox', 'audit'] as const;
  const sectionOf = { ticket: 'tickets', helperConversation: 'helperConversations', outbox: 'outbox', audit: 'audit' } as const;
  let open: (typeof sections)[number] | undefined;
  let first = true;
  let next = 0;
  const openUpTo = async (section: (typeof sections)[number]) => {
    while (open !== section) {
      if (open !== undefined) await write('\n  ]');
      open = sections[next++]!;
      await write(`,\n  ${JSON.stringify(open)}: [`);
      first = true;
    }
  };
  for await (const rec of records) {
    if (rec.type === 'requester') {
      const { type: _t, ...head } = rec;
      await write(`{\n  "format": ${JSON.stringify(head.format)},\n  "version": ${head.version},\n  "exportedAt": ${JSON.stringify(head.exportedAt)},\n  "requester": ${JSON.stringify(head.requester)}`);
      continue;
    }
    await openUpTo(sectionOf[rec.type]);
    const value = rec.type === 'ticket' ? rec.ticket : rec.type === 'helperConversation' ? rec.conversation : rec.type === 'outbox' ? rec.outbox : rec.audit;
    await write(`${first ? '' : ','}\n    ${JSON.stringify(value)}`);
    first = false;
  }
  await openUpTo('audit');
  await write('\n  ]\n}\n');
}

/** Writes an export as NDJSON: one record a line, each with its `type`; the first line carries format and version. */
export async function writeNdjsonExport(records: AsyncIterable<ExportRecord>, write: (chunk: string) => Promise<void> | void): Promise<void> {
  for await (const rec of records) await write(JSON.stringify(rec) + '\n');
}
