// One reconcile run of one interaction with its database state: the fleet lease (one reader per
// account), X's rate-limit reset remembered across runs, the cursor, the reads X bills (once per UTC
// day), then the run itself (src/reconcile/run.ts). Used by `omni reconcile` and by `omni listen`.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { IntakeInteraction } from '../db/intake.js';
import {
  reconcileState,
  recordHistoryReads,
  recordReconcileRun,
  releaseReconcileLease,
  storedEventIds,
  takeReconcileLease,
  utcDay,
} from '../db/reconcile.js';
import type { EventResult } from '../intake/pipeline.js';
import { reconcileXChat, type ChatReconcileDeps, type ChatReconcileResult } from './xchat.js';
import { HISTORY_MS, importedCount, nextCursor, reconcileAccount, type HistoryJob, type HistoryPage, type ReconcileResult } from './run.js';

/** How long a run may hold the account's lease before another process may take it. */
export const LEASE_MS = 10 * 60_000;

export interface AccountRunOptions {
  db: Kysely<Database>;
  interaction: IntakeInteraction;
  account: string;
  page: (p: { maxResults: number; paginationToken?: string }) => Promise<HistoryPage>;
  /** The one intake (absent: dry run, nothing written). */
  submit?: (job: HistoryJob) => Promise<EventResult[]>;
  clock: () => Date;
  /** Who holds the lease (listener id, or the command's pid). */
  owner: string;
  /** Explicit start (read the whole window back to it); else the stored cursor. */
  since?: Date;
  firstPage?: number;
  onProgress?: (p: { read: number; missing: number; pages: number }) => void;
  /**
   * X Chat (an active identity): the conversations' history and the listener's X Chat receiver. Each
   * conversation of xchat_conversations is read after the DM history, under the same lease.
   */
  chat?: Pick<ChatReconcileDeps, 'page' | 'receive'>;
}

export type AccountRun =
  | { status: 'done'; result: ReconcileResult; imported: number; billableReads: number; chat?: ChatReconcileResult; chatError?: string }
  | { status: 'busy'; detail: string }
  | { status: 'rate-limited'; until: string };

export async function reconcileInteraction(o: AccountRunOptions): Promise<AccountRun> {
  const now = o.clock();
  const dryRun = o.submit === undefined;
  const state = await reconcileState(o.db, o.interaction.id);
  if (state?.limited_until && Date.parse(state.limited_until) > now.getTime()) return { status: 'rate-limited', until: state.limited_until };
  if (!dryRun && !(await takeReconcileLease(o.db, o.interaction.id, o.owner, now, LEASE_MS))) {
    return { status: 'busy', detail: `another process (${state?.lease_owner ?? 'unknown'}) is reconciling it until ${state?.lease_until ?? '?'}` };
  }
  try {
    const stopAt = o.since === undefined ? (state?.cursor_event_id ?? null) : null;
    const since = o.since ?? new Date(now.getTime() - HISTORY_MS);
    let result: ReconcileResult;
    try {
      result = await reconcileAccount(
        { interaction: o.interaction, account: o.account, since, cursor: stopAt, scan: o.since !== undefined, ...(o.firstPage !== undefined ? { firstPage: o.firstPage } : {}) },
        {
          page: o.page,
          stored: (ids) => storedEventIds(o.db, o.interaction.id, ids),
          ...(o.submit ? { submit: o.submit } : {}),
          clock: o.clock,
          ...(o.onProgress ? { onProgress: o.onProgress } : {}),
        },
      );
    } catch (err) {
      const e = err as { kind?: string; resetAt?: Date; message?: string };
      if (!dryRun) {
        const limitedUntil = e.kind === 'rate-limited' ? (e.resetAt ?? new Date(now.getTime() + 15 * 60_000)).toISOString() : null;
        await recordReconcileRun(o.db, o.interaction.id, { at: now.toISOString(), read: 0, found: 0, error: e.message ?? String(err), limitedUntil });
      }
      throw err;
    }
    const billableReads = await freshReads(o.db, o.interaction.id, now, result.readIds);
    let chat: ChatReconcileResult | undefined;
    let chatError: string | undefined;
    if (o.chat) {
      try {
        const conversations = await o.db.selectFrom('xchat_conversations').select('conversation_id').where('interaction_id', '=', o.interaction.id).orderBy('id').execute();
        chat = await reconcileXChat({
          interaction: o.interaction,
          account: o.account,
          conversations: conversations.map((c) => c.conversation_id),
          page: o.chat.page,
          receive: o.chat.receive,
          stored: (ids) => storedEventIds(o.db, o.interaction.id, ids),
          ...(o.submit ? { submit: o.submit } : {}),
          clock: o.clock,
          ...(o.since !== undefined ? { since: o.since } : {}),
          previousRunAt: state?.last_run_at ? new Date(state.last_run_at) : null,
        });
      } catch (err) {
        const e = err as { message?: string; hint?: string };
        chatError = `cannot read the X Chat history: ${e.message ?? String(err)}${e.hint ? ` (fix: ${e.hint})` : ''}`;
      }
    }
    const chatImported = chat ? importedCount(chat.imported) : 0;
    if (!dryRun) {
      const cursor = nextCursor(result, now);
      const imported = new Set(result.missing.map((m) => m.id));
      await recordHistoryReads(o.db, o.interaction.id, now, result.readIds, imported);
      await recordReconcileRun(o.db, o.interaction.id, {
        at: now.toISOString(),
        read: result.read,
        found: importedCount(result.imported) + chatImported,
        error: chatError ?? null,
        ...(cursor !== null ? { cursor: { eventId: cursor, at: cursor === result.newest?.eventId ? result.newest.at : null } } : {}),
        limitedUntil: result.limitedUntil?.toISOString() ?? null,
      });
    }
    return { status: 'done', result, imported: importedCount(result.imported) + chatImported, billableReads, ...(chat ? { chat } : {}), ...(chatError ? { chatError } : {}) };
  } finally {
    if (!dryRun) await releaseReconcileLease(o.db, o.interaction.id, o.owner);
  }
}

/** Of the events read, how many X bills today: not read yet this UTC day. */
async function freshReads(db: Kysely<Database>, interactionId: number, now: Date, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const seen = await db.selectFrom('x_history_reads').select('event_id').where('day', '=', utcDay(now)).where('interaction_id', '=', interactionId).where('event_id', 'in', ids).execute();
  return new Set(ids).size - seen.length;
}
