// Reconciliation: read an account's DM history from X (newest first) and bring in what omni does not
// hold, through the one intake pipeline (the caller's `submit`: the listener's group committer, or
// the same writer run inline by `omni reconcile`). Cost-aware: a small first page; larger pages only
// while every event of a page is still unread; the run stops at the stopping point (below), at
// `since`, at X's 30 days, and when X's rate limit for the endpoint is used up.
//
// Stopping point: the newest event the previous run read (the cursor). Without a cursor (the first
// run) the first event omni already stores. Not "the first stored event" once a cursor exists: a DM
// X dropped is older than the DMs delivered after it, so stopping at a stored one would hide it.
import type { IntakeInteraction } from '../db/intake.js';
import type { ChatWriteItem } from '../intake/chat.js';
import type { EventResult } from '../intake/pipeline.js';
import type { DmEventV2, DmUserV2, RateLimit } from '../twitter/gateway-v2.js';
import { historyEnvelope, unusable } from './history.js';

/** X keeps 30 days of DM history. */
export const HISTORY_DAYS = 30;
export const HISTORY_MS = HISTORY_DAYS * 24 * 3_600_000;
/** The first page of a run: most runs find nothing new and stop there. */
export const FIRST_PAGE = 10;
export const MAX_PAGE = 100;

/** X's ids are snowflakes: milliseconds since X's epoch in the bits above 22. */
const X_EPOCH_MS = 1_288_834_974_657;
export function snowflakeAt(d: Date): bigint {
  return BigInt(Math.max(0, d.getTime() - X_EPOCH_MS)) << 22n;
}

/**
 * How far before a run's start its cursor may lie at most: an event X makes visible in the history a
 * little late (or one sent while the run read) is read again by the next run rather than skipped.
 */
export const CURSOR_MARGIN_MS = 2 * 60_000;

/**
 * The next run's stopping point after this one, or null to keep the current cursor: a run stopped by
 * the rate limit did not read back to it, so the gap below is still unread.
 */
export function nextCursor(r: ReconcileResult, startedAt: Date): string | null {
  if (r.stop === 'rate-limited') return null;
  const bound = snowflakeAt(new Date(startedAt.getTime() - CURSOR_MARGIN_MS));
  if (r.newest === null) return bound.toString();
  const newest = BigInt(r.newest.eventId);
  return (newest < bound ? newest : bound).toString();
}

/** One DM intake job, as the writer takes it (WriteJob of src/listener/intake-writer.ts). */
export interface HistoryJob {
  interaction: IntakeInteraction;
  body: string;
  at: string;
  /** An X Chat message verified by the listener's receiver (src/reconcile/xchat.ts): stored instead of parsing `body`. */
  chat?: ChatWriteItem;
}

export interface HistoryPage {
  events: DmEventV2[];
  users: Map<string, DmUserV2>;
  nextToken: string | null;
  rateLimit: RateLimit | null;
}

export interface ReconcileDeps {
  /** GET /2/dm_events with the account's user token (XGateway.dmEventsPage). */
  page(p: { maxResults: number; paginationToken?: string }): Promise<HistoryPage>;
  /** Which of these event ids omni already holds for the interaction. */
  stored(ids: string[]): Promise<Set<string>>;
  /** The one intake: resolves after the job is committed. Absent in a dry run. */
  submit?: (job: HistoryJob) => Promise<EventResult[]>;
  clock: () => Date;
  onProgress?: (p: { read: number; missing: number; pages: number }) => void;
}

export interface ReconcilePlan {
  interaction: IntakeInteraction;
  account: string;
  /** Read back to this time (at most 30 days). */
  since: Date;
  /** The previous run's newest event id: stop there (null: stop at the first stored event, or at `since` when `scan`). */
  cursor: string | null;
  /** Read the whole window whatever is stored (`omni reconcile --since`): finds gaps anywhere in it. */
  scan: boolean;
  firstPage?: number;
  maxPage?: number;
}

export interface MissingEvent {
  id: string;
  direction: 'inbound' | 'outbound';
  senderId: string;
  createdAt: string | null;
  text: string;
}

export interface ReconcileResult {
  /** Events read from X (what X bills as reads). */
  read: number;
  pages: number;
  /** Ids of every event read, newest first. */
  readIds: string[];
  /** Events omni did not hold, oldest first. */
  missing: MissingEvent[];
  /** Of the missing, what the intake made of each (empty in a dry run). */
  imported: EventResult[];
  alreadyStored: number;
  /** Events that are no message (ParticipantsJoin …) or lack a sender. */
  skipped: number;
  /** The newest event read: the next run's cursor. */
  newest: { eventId: string; at: string | null } | null;
  /** Why the run ended: reached the stopping point, since, end of history, rate limit. */
  stop: 'cursor' | 'stored' | 'since' | 'end' | 'rate-limited';
  /** When X's rate limit lifts, when the run stopped on it. */
  limitedUntil: Date | null;
}

export async function reconcileAccount(plan: ReconcilePlan, deps: ReconcileDeps): Promise<ReconcileResult> {
  const maxPage = Math.min(MAX_PAGE, plan.maxPage ?? MAX_PAGE);
  let size = Math.min(maxPage, plan.firstPage ?? FIRST_PAGE);
  const floor = Math.max(plan.since.getTime(), deps.clock().getTime() - HISTORY_MS);
  const r: ReconcileResult = { read: 0, pages: 0, readIds: [], missing: [], imported: [], alreadyStored: 0, skipped: 0, newest: null, stop: 'end', limitedUntil: null };
  const missing: Array<{ event: DmEventV2; users: Map<string, DmUserV2> }> = [];
  let token: string | undefined;
  for (;;) {
    let page: HistoryPage;
    try {
      page = await deps.page({ maxResults: size, ...(token ? { paginationToken: token } : {}) });
    } catch (err) {
      const e = err as { kind?: string; resetAt?: Date };
      if (e.kind !== 'rate-limited' || r.pages === 0) throw err;
      // What was read so far is imported; the rest waits for the next run.
      r.stop = 'rate-limited';
      r.limitedUntil = e.resetAt ?? new Date(deps.clock().getTime() + 15 * 60_000);
      break;
    }
    r.pages++;
    let ended: ReconcileResult['stop'] | undefined;
    const inWindow: DmEventV2[] = [];
    for (const e of page.events) {
      const t = e.createdAt === null ? NaN : Date.parse(e.createdAt);
      if (plan.cursor !== null && !plan.scan && BigInt(e.id) <= BigInt(plan.cursor)) {
        ended = 'cursor';
        break;
      }
      if (Number.isFinite(t) && t < floor) {
        ended = 'since';
        break;
      }
      inWindow.push(e);
    }
    r.read += page.events.length;
    for (const e of page.events) r.readIds.push(e.id);
    r.newest ??= page.events[0] ? { eventId: page.events[0].id, at: page.events[0].createdAt } : null;
    const stored = await deps.stored(inWindow.map((e) => e.id));
    let allNew = true;
    for (const e of inWindow) {
      if (stored.has(e.id)) {
        r.alreadyStored++;
        allNew = false;
        if (plan.cursor === null && !plan.scan) {
          ended = 'stored';
          break;
        }
        continue;
      }
      if (unusable(e) !== undefined) {
        r.skipped++;
        continue;
      }
      missing.push({ event: e, users: page.users });
    }
    deps.onProgress?.({ read: r.read, missing: missing.length, pages: r.pages });
    if (ended) {
      r.stop = ended;
      break;
    }
    if (page.nextToken === null) {
      r.stop = 'end';
      break;
    }
    if (page.rateLimit && page.rateLimit.remaining <= 0) {
      r.stop = 'rate-limited';
      r.limitedUntil = page.rateLimit.resetAt;
      break;
    }
    token = page.nextToken;
    // Larger pages only while every event is new: a gap this long is worth fewer calls.
    if (allNew) size = Math.min(maxPage, size * 4);
  }
  // Oldest first, so tickets and their messages come in the order the customer wrote them.
  missing.reverse();
  r.missing = missing.map(({ event: e }) => ({ id: e.id, direction: e.senderId === plan.account ? 'outbound' : 'inbound', senderId: e.senderId!, createdAt: e.createdAt, text: e.text ?? '' }));
  if (deps.submit) {
    for (const { event, users } of missing) {
      const results = await deps.submit({ interaction: plan.interaction, body: historyEnvelope(plan.account, event, users), at: deps.clock().toISOString() });
      r.imported.push(...results);
    }
  }
  return r;
}

/** Missing events the intake actually stored (a new ticket, a message, the Helper, an echo linked or stored). */
export function importedCount(results: EventResult[]): number {
  return results.filter((x) => x.outcome === 'new_ticket' || x.outcome === 'appended' || x.outcome === 'helper' || x.outcome === 'echo').length;
}
