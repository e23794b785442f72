// Retention: the text and attachments of messages on tickets closed longer ago than the window
// (the setting messages.retention, off by default) are redacted; ticket numbers, times, status and
// counts stay. Run by `omni retention run` and hourly by `omni listen`. Portable (Kysely): the same
// code runs on SQLite and PostgreSQL; on SQLite with secure_delete and a WAL truncation afterwards.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { recordAudit } from '../db/audit.js';
import { engineOf } from '../db/engine.js';
import { getSetting, setSetting, unsetSetting } from '../db/settings.js';
import { ERASED_SUBJECT, truncateWal } from './erase.js';

export const RETENTION_SETTING = 'messages.retention';
/** What a redacted ticket subject reads (the subject is the first DM's words). */
export const REDACTED_SUBJECT = '(redacted)';

const DAY = 86_400_000;
const UNITS: Record<string, number> = { h: 3_600_000, d: DAY, w: 7 * DAY };
/** Below a day a closed ticket can hardly be reopened in time; ten years is "keep". */
const BOUNDS = { minMs: 3_600_000, maxMs: 3650 * DAY };

export type RetentionCheck = { ok: true; value: string; ms: number | null } | { ok: false; message: string; hint: string };

/** A window: "90d", "12w", "36h", or "off". Returns the normalised value and its milliseconds (null: off). */
export function parseRetention(raw: string): RetentionCheck {
  const v = raw.trim().toLowerCase();
  if (v === 'off') return { ok: true, value: 'off', ms: null };
  const m = /^(\d{1,6})(h|d|w)$/.exec(v);
  if (!m) return { ok: false, message: `${RETENTION_SETTING} must be a duration like 90d, 12w or 36h, or off; not '${raw}'`, hint: 'example: omni retention set 90d' };
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms < BOUNDS.minMs || ms > BOUNDS.maxMs) return { ok: false, message: `${RETENTION_SETTING} must be between 1h and 3650d, not ${raw}`, hint: 'example: omni retention set 90d' };
  return { ok: true, value: `${Number(m[1])}${m[2]}`, ms };
}

export interface RetentionSetting {
  /** "off" when unset. */
  value: string;
  ms: number | null;
  updatedAt: string | null;
}

export async function readRetention(db: Kysely<Database>): Promise<RetentionSetting> {
  const row = await getSetting(db, RETENTION_SETTING);
  if (!row) return { value: 'off', ms: null, updatedAt: null };
  const c = parseRetention(row.value);
  // A value edited by hand into something unreadable keeps data rather than guessing a window.
  return c.ok ? { value: c.value, ms: c.ms, updatedAt: row.updated_at } : { value: 'off', ms: null, updatedAt: row.updated_at };
}

/** Sets (or with "off" clears) the window, with an audit record; returns the value before. */
export async function writeRetention(db: Kysely<Database>, raw: string, w: { now: string; actor: string }): Promise<{ old: string; value: string }> {
  const c = parseRetention(raw);
  if (!c.ok) throw Object.assign(new Error(c.message), { exitCode: 2, hint: c.hint });
  return db.transaction().execute(async (trx) => {
    const old = (await readRetention(trx)).value;
    if (old !== c.value) {
      if (c.value === 'off') await unsetSetting(trx, RETENTION_SETTING);
      else await setSetting(trx, RETENTION_SETTING, c.value, w.now);
      await recordAudit(trx, { at: w.now, actor: w.actor, entity: 'setting', entityId: RETENTION_SETTING, action: 'set', changes: { value: { from: old, to: c.value } } });
    }
    return { old, value: c.value };
  });
}

export interface RetentionTicket {
  id: number;
  closedAt: string;
  /** Messages whose text and attachments are (or would be) redacted. */
  messages: number;
}

export interface RetentionReport {
  window: string;
  /** Tickets closed before this are redacted. */
  cutoff: string;
  dryRun: boolean;
  tickets: RetentionTicket[];
  messages: number;
  walTruncated: boolean | null;
}

/** The tickets closed before the cutoff that still hold content (a subject or messages not redacted yet). */
function due(db: Kysely<Database>, cutoff: string) {
  return db
    .selectFrom('tickets as t')
    .select((eb) => [
      't.id',
      't.closed_at',
      eb.selectFrom('messages as m').select(eb.fn.countAll().as('n')).whereRef('m.ticket_id', '=', 't.id').where('m.redacted_at', 'is', null).as('messages'),
    ])
    .where('t.status', '=', 'closed')
    .where('t.closed_at', '<', cutoff)
    .where((eb) =>
      eb.or([
        // An erased ticket (subject "(erased)", every message redacted) has nothing left to redact.
        eb('t.subject', 'not in', [REDACTED_SUBJECT, ERASED_SUBJECT]),
        eb.exists(eb.selectFrom('messages as m').select('m.id').whereRef('m.ticket_id', '=', 't.id').where('m.redacted_at', 'is', null)),
      ]),
    )
    .orderBy('t.id');
}

/**
 * Redacts what the window says (nothing when it is off). With dryRun, only reports. `now` is the
 * clock (tests fix it). Erased tickets already hold nothing and are skipped by the subject check.
 */
export async function runRetention(db: Kysely<Database>, opts: { now: Date; dryRun: boolean; actor: string }): Promise<RetentionReport | undefined> {
  const setting = await readRetention(db);
  if (setting.ms === null) return undefined;
  const cutoff = new Date(opts.now.getTime() - setting.ms).toISOString();
  const now = opts.now.toISOString();
  const list = async (q: Kysely<Database>) =>
    (await due(q, cutoff).execute())
      .filter((t) => t.closed_at !== null)
      .map((t) => ({ id: t.id, closedAt: t.closed_at!, messages: Number(t.messages ?? 0) }));
  if (opts.dryRun) {
    const tickets = await list(db);
    return { window: setting.value, cutoff, dryRun: true, tickets, messages: tickets.reduce((s, t) => s + t.messages, 0), walTruncated: null };
  }
  const sqlite = engineOf(db) === 'sqlite';
  if (sqlite) await sql`pragma secure_delete = on`.execute(db);
  const tickets = await db.transaction().execute(async (trx) => {
    const tickets = await list(trx);
    for (let i = 0; i < tickets.length; i += 500) {
      const ids = tickets.slice(i, i + 500).map((t) => t.id);
      // The dedup key (twitter_event_id) stays: a replay of an old DM is still a duplicate.
      await trx.updateTable('messages').set({ text: '', attachments: '[]', redacted_at: now }).where('ticket_id', 'in', ids).where('redacted_at', 'is', null).execute();
      await trx.updateTable('tickets').set({ subject: REDACTED_SUBJECT }).where('id', 'in', ids).where('subject', '!=', ERASED_SUBJECT).execute();
      // The Helper exchanges that led to these tickets, and the sent DMs' copies in the outbox.
      await trx
        .updateTable('helper_messages')
        .set({ text: '', payload: null, attachments: '[]' })
        .where('conversation_id', 'in', trx.selectFrom('helper_conversations').select('id').where('ticket_id', 'in', ids))
        .execute();
      await trx.updateTable('outbox').set({ text: '', options: null }).where('ticket_id', 'in', ids).where('status', 'in', ['sent', 'failed']).execute();
    }
    const messages = tickets.reduce((s, t) => s + t.messages, 0);
    if (tickets.length > 0) {
      await recordAudit(trx, { at: now, actor: opts.actor, entity: 'setting', entityId: RETENTION_SETTING, action: 'run', changes: { window: setting.value, cutoff, tickets: tickets.length, messages } });
    }
    return tickets;
  });
  const messages = tickets.reduce((s, t) => s + t.messages, 0);
  return { window: setting.value, cutoff, dryRun: false, tickets, messages, walTruncated: sqlite && tickets.length > 0 ? await truncateWal(db) : null };
}
