// `omni requester erase`: removes or irreversibly redacts one requester's personal data everywhere
// omni keeps it, in one transaction, and leaves a tombstone (keyed hashes of their DM event ids) so
// that no replay, retry or reconciliation of an erased DM stores it again (src/privacy/tombstone.ts;
// the intake checks it). Rows stay where numbers must still add up (tickets, messages, outbox rows),
// with their content gone and marked. On SQLite the transaction runs with secure_delete on and the
// WAL is checkpointed and truncated afterwards, so the erased bytes survive in neither file.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { recordAudit } from '../db/audit.js';
import { engineOf } from '../db/engine.js';

/** What a redacted ticket subject reads. */
export const ERASED_SUBJECT = '(erased)';
/** The recipient of an outbox row whose requester was erased. */
export const ERASED_RECIPIENT = 'erased';

export interface EraseInput {
  requesterId: number;
  /** The keyed hash of a DM event id (tombstoneHasher). */
  hash: (eventId: string) => string;
  now: string;
  actor: string;
  reason: string | null;
  /**
   * SQLite: rebuild the file afterwards (VACUUM), for databases written before omni turned
   * secure_delete on, whose free space may still hold old copies. Locks the file while it runs.
   */
  vacuum?: boolean;
}

export interface EraseResult {
  requesterId: number;
  tickets: number;
  messages: number;
  helperConversations: number;
  helperMessages: number;
  outbox: number;
  /** Outbox rows that were still to be sent: now failed, never sent. */
  outboxCancelled: number;
  tombstones: number;
  /** SQLite: whether the WAL was checkpointed and truncated (false: a reader kept it; see the warning). */
  walTruncated: boolean | null;
  /** SQLite: whether the file was rebuilt (--vacuum). */
  vacuumed: boolean;
}

export class AlreadyErased extends Error {
  readonly exitCode = 1;
  readonly hint = 'nothing left to erase; a new DM from that account starts a new requester';
  constructor(id: number, at: string) {
    super(`requester ${id} was already erased on ${at}`);
    this.name = 'AlreadyErased';
  }
}

const n = (r: { numUpdatedRows?: bigint; numInsertedOrUpdatedRows?: bigint } | undefined) => Number(r?.numUpdatedRows ?? 0);

export async function eraseRequester(db: Kysely<Database>, input: EraseInput): Promise<EraseResult> {
  const sqlite = engineOf(db) === 'sqlite';
  // Freed cells and pages are overwritten with zeros instead of left in the file (per connection).
  if (sqlite) await sql`pragma secure_delete = on`.execute(db);
  const result = await db.transaction().execute(async (trx) => {
    const r = await trx.selectFrom('requesters').selectAll().where('id', '=', input.requesterId).executeTakeFirst();
    if (!r) throw Object.assign(new Error(`no requester ${input.requesterId}`), { exitCode: 1 });
    if (r.erased_at !== null) throw new AlreadyErased(r.id, r.erased_at);
    const { now } = input;
    const tickets = trx.selectFrom('tickets').select('id').where('requester_id', '=', r.id);
    const convs = trx.selectFrom('helper_conversations').select('id').where('requester_id', '=', r.id);
    const outboxWhere = (eb: any) =>
      eb.or([eb('recipient_twitter_id', '=', r.twitter_user_id), eb('ticket_id', 'in', tickets), eb('conversation_id', 'in', convs)]);

    // 1. The tombstone: every DM event id of theirs (their DMs, the answers sent to them, Helper
    //    exchanges), hashed, before the ids themselves are removed.
    const ids = new Map<string, number>();
    for (const m of await trx.selectFrom('messages').select(['twitter_event_id', 'interaction_id']).where('ticket_id', 'in', tickets).where('twitter_event_id', 'is not', null).execute()) ids.set(m.twitter_event_id!, m.interaction_id);
    for (const m of await trx.selectFrom('helper_messages').select(['twitter_event_id', 'interaction_id']).where('conversation_id', 'in', convs).where('twitter_event_id', 'is not', null).execute()) ids.set(m.twitter_event_id!, m.interaction_id);
    for (const o of await trx.selectFrom('outbox').select(['twitter_dm_id', 'interaction_id']).where(outboxWhere).where('twitter_dm_id', 'is not', null).execute()) ids.set(o.twitter_dm_id!, o.interaction_id);
    const rows = [...ids].map(([eventId, interactionId]) => ({ interaction_id: interactionId, event_hash: input.hash(eventId), erased_at: now }));
    for (let i = 0; i < rows.length; i += 200) {
      await trx.insertInto('erased_events').values(rows.slice(i, i + 200)).onConflict((oc) => oc.column('event_hash').doNothing()).execute();
    }

    // 2. Messages: rows stay (ticket message counts), text, attachments and ids go.
    const messages = n(
      await trx
        .updateTable('messages')
        .set({ text: '', attachments: '[]', twitter_event_id: null, sender_twitter_id: null, redacted_at: now })
        .where('ticket_id', 'in', tickets)
        .executeTakeFirst(),
    );
    // 3. Tickets: numbers stay; the subject (the first DM's words) goes; open ones are closed.
    const ticketCount = n(await trx.updateTable('tickets').set({ subject: ERASED_SUBJECT, updated_at: now }).where('requester_id', '=', r.id).executeTakeFirst());
    await trx.updateTable('tickets').set({ status: 'closed', closed_at: now }).where('requester_id', '=', r.id).where('status', '=', 'open').execute();

    // 4. The Helper: transcripts emptied, live conversations ended, waiting jobs skipped.
    const helperMessages = n(
      await trx.updateTable('helper_messages').set({ text: '', payload: null, twitter_event_id: null, attachments: '[]' }).where('conversation_id', 'in', convs).executeTakeFirst(),
    );
    await trx.updateTable('helper_jobs').set({ status: 'skipped', updated_at: now }).where('conversation_id', 'in', convs).where('status', 'in', ['pending', 'working']).execute();
    await trx.updateTable('helper_jobs').set({ outcome: null }).where('conversation_id', 'in', convs).execute();
    const helperConversations = n(
      await trx.updateTable('helper_conversations').set({ state: 'start', updated_at: now }).where('requester_id', '=', r.id).executeTakeFirst(),
    );
    await trx.updateTable('helper_conversations').set({ status: 'expired', ended_at: now }).where('requester_id', '=', r.id).where('status', '=', 'active').execute();

    // 5. The outbox: what was still to be sent is cancelled; every row loses text, options, recipient.
    const outboxCancelled = n(
      await trx
        .updateTable('outbox')
        .set({ status: 'failed', last_error: 'the requester was erased', last_error_kind: 'erased', updated_at: now })
        .where(outboxWhere)
        .where('status', 'in', ['pending', 'sending'])
        .executeTakeFirst(),
    );
    const outbox = n(
      await trx
        .updateTable('outbox')
        // An error Twitter gave for one of their rows may quote them: only its kind stays.
        .set({
          text: '',
          options: null,
          recipient_twitter_id: ERASED_RECIPIENT,
          twitter_dm_id: null,
          last_error: sql<string | null>`case when last_error is null then null else 'the requester was erased' end`,
          updated_at: now,
        })
        .where(outboxWhere)
        .executeTakeFirst(),
    );

    // 5b. Their X Chat conversations (which customer writes from X Chat, docs/xchat.md) and the
    //     conversation keys omni learned for them: nothing of theirs is read or answered again.
    const chats = await trx.selectFrom('xchat_conversations').select(['interaction_id', 'conversation_id']).where('peer_user_id', '=', r.twitter_user_id).execute();
    for (const c of chats) {
      await trx.deleteFrom('xchat_conversation_keys').where('interaction_id', '=', c.interaction_id).where('conversation_id', '=', c.conversation_id).execute();
    }
    await trx.deleteFrom('xchat_conversations').where('peer_user_id', '=', r.twitter_user_id).execute();

    // 6. The requester: names gone, the Twitter id freed (a new DM from that account is a new requester).
    await trx
      .updateTable('requesters')
      .set({ twitter_user_id: `erased:${r.id}`, screen_name: null, name: null, erased_at: now, updated_at: now })
      .where('id', '=', r.id)
      .execute();

    // 7. One audit entry: the reason and the counts, no personal data.
    const counts = { tickets: ticketCount, messages, helperConversations, helperMessages, outbox, outboxCancelled, tombstones: rows.length };
    await recordAudit(trx, { at: now, actor: input.actor, entity: 'requester', entityId: r.id, action: 'erase', changes: { reason: input.reason, ...counts } });
    return { requesterId: r.id, ...counts };
  });
  const vacuumed = sqlite && input.vacuum === true;
  if (vacuumed) await sql`vacuum`.execute(db);
  return { ...result, walTruncated: sqlite ? await truncateWal(db) : null, vacuumed };
}

/**
 * Copies the WAL into the database file and truncates it to zero bytes, so the page images that
 * held the erased content before the transaction are gone from the WAL too. A reader (another
 * process mid-transaction) can keep it from finishing: tried a few times, then reported.
 */
export async function truncateWal(db: Kysely<Database>): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { rows } = await sql<{ busy: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(db);
    if (rows[0] && Number(rows[0].busy) === 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
