// The reconcile run's cost rules against a scripted history: a small first page, pages growing only
// while every event is unread, stops at the cursor, at the first stored event without a cursor, at
// `since`; X's rate limit (exhausted headers, a 429 after the first page) ends the run with what it read.
import { describe, expect, it } from 'vitest';
import { CURSOR_MARGIN_MS, nextCursor, reconcileAccount, snowflakeAt, type HistoryPage, type ReconcilePlan, type ReconcileResult } from '../../src/reconcile/run.js';
import type { DmEventV2 } from '../../src/twitter/gateway-v2.js';
import { TwitterError } from '../../src/twitter/errors.js';

const ACCOUNT = '1000';
const now = new Date('2026-12-01T08:00:00Z');
/** n events, newest first: ids 1000+n … 1001, one a minute back from now. */
function history(n: number): DmEventV2[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(2000 + n - i),
    eventType: 'MessageCreate',
    text: `dm ${n - i}`,
    senderId: '42',
    createdAt: new Date(now.getTime() - (i + 1) * 60_000).toISOString(),
    conversationId: `42-${ACCOUNT}`,
    participantIds: ['42', ACCOUNT],
    mediaKeys: [],
  }));
}

function pager(events: DmEventV2[], opts: { remainingAfter?: number; failOnCall?: number } = {}) {
  const calls: number[] = [];
  const page = async (p: { maxResults: number; paginationToken?: string }): Promise<HistoryPage> => {
    calls.push(p.maxResults);
    if (opts.failOnCall === calls.length) throw new TwitterError('rate-limited', 'used up', { url: '/2/dm_events', httpStatus: 429, resetAt: new Date(now.getTime() + 600_000) });
    const start = p.paginationToken ? Number(p.paginationToken) : 0;
    const slice = events.slice(start, start + p.maxResults);
    const next = start + p.maxResults < events.length ? String(start + p.maxResults) : null;
    const remaining = opts.remainingAfter === undefined ? 10 : Math.max(0, opts.remainingAfter - calls.length);
    return { events: slice, users: new Map(), nextToken: next, rateLimit: { limit: 15, remaining, resetAt: new Date(now.getTime() + 900_000) } };
  };
  return { page, calls };
}

const plan = (p: Partial<ReconcilePlan> = {}): ReconcilePlan => ({
  interaction: { id: 1, account_user_id: ACCOUNT, unit_id: null, group_id: null, activity_id: null, contact_origin_id: null, helper_interception: 0 } as never,
  account: ACCOUNT,
  since: new Date(now.getTime() - 30 * 24 * 3_600_000),
  cursor: null,
  scan: false,
  ...p,
});

const deps = (page: (p: { maxResults: number; paginationToken?: string }) => Promise<HistoryPage>, stored: Set<string>) => ({ page, stored: async (ids: string[]) => new Set(ids.filter((id) => stored.has(id))), clock: () => now });

describe('reconcileAccount', () => {
  it('grows pages only while every event is new, and stops at the first stored event when there is no cursor', async () => {
    const events = history(200);
    const stored = new Set(events.slice(60).map((e) => e.id)); // the 60 newest are missing
    const { page, calls } = pager(events);
    const r = await reconcileAccount(plan(), deps(page, stored));
    expect(calls).toEqual([10, 40, 100]);
    expect(r).toMatchObject({ read: 150, alreadyStored: 1, stop: 'stored', pages: 3 });
    expect(r.missing).toHaveLength(60);
    // Oldest first, for the order tickets get their messages.
    expect(r.missing[0]!.text).toBe('dm 141');
    expect(r.missing.at(-1)!.text).toBe('dm 200');
    expect(r.newest).toEqual({ eventId: '2200', at: events[0]!.createdAt });
  });

  it('reads back to the cursor only: a DM X dropped before stored ones is found, one small page', async () => {
    const events = history(30);
    // The previous run read up to dm 25; then dm 26 was dropped by X and dm 27-30 delivered.
    const stored = new Set(events.filter((e) => e.text !== 'dm 26').map((e) => e.id));
    const { page, calls } = pager(events);
    const r = await reconcileAccount(plan({ cursor: '2025' }), deps(page, stored));
    expect(calls).toEqual([10]);
    expect(r.missing.map((m) => m.text)).toEqual(['dm 26']);
    expect(r).toMatchObject({ stop: 'cursor', alreadyStored: 4 });
  });

  it('scans the whole window with since, and stops at it', async () => {
    const events = history(50);
    const { page } = pager(events);
    const r = await reconcileAccount(plan({ scan: true, cursor: '2049', since: new Date(now.getTime() - 20.5 * 60_000) }), deps(page, new Set(events.map((e) => e.id))));
    expect(r).toMatchObject({ stop: 'since', alreadyStored: 20, missing: [] });
  });

  it('stops when X says the rate limit is used up, and on a 429 after the first page keeps what it read', async () => {
    const events = history(300);
    const a = pager(events, { remainingAfter: 2 });
    const r = await reconcileAccount(plan(), deps(a.page, new Set()));
    expect(a.calls).toEqual([10, 40]);
    expect(r).toMatchObject({ stop: 'rate-limited', read: 50 });
    expect(r.limitedUntil).toEqual(new Date(now.getTime() + 900_000));

    const b = pager(events, { failOnCall: 2 });
    const r2 = await reconcileAccount(plan(), deps(b.page, new Set()));
    expect(r2).toMatchObject({ stop: 'rate-limited', read: 10 });
    expect(r2.missing).toHaveLength(10);
    expect(r2.limitedUntil).toEqual(new Date(now.getTime() + 600_000));

    // A 429 on the very first call is the caller's error to report.
    const c = pager(events, { failOnCall: 1 });
    await expect(reconcileAccount(plan(), deps(c.page, new Set()))).rejects.toThrow('used up');
  });

  it('moves the cursor to the newest event read, at most 2 minutes before the run; not at all after a rate-limited run', () => {
    const result = (p: Partial<ReconcileResult>): ReconcileResult => ({ read: 0, pages: 1, readIds: [], missing: [], imported: [], alreadyStored: 0, skipped: 0, newest: null, stop: 'end', limitedUntil: null, ...p });
    const bound = snowflakeAt(new Date(now.getTime() - CURSOR_MARGIN_MS));
    const old = (bound - (1000n << 22n)).toString();
    expect(nextCursor(result({ newest: { eventId: old, at: null } }), now)).toBe(old);
    // An event of the last 2 minutes: the cursor stays 2 minutes back, so a late-visible event is read next time.
    expect(nextCursor(result({ newest: { eventId: snowflakeAt(now).toString(), at: null } }), now)).toBe(bound.toString());
    // An empty history: everything before the run was read.
    expect(nextCursor(result({}), now)).toBe(bound.toString());
    expect(nextCursor(result({ stop: 'rate-limited', newest: { eventId: old, at: null } }), now)).toBeNull();
    // The snowflake of a time orders with X's ids of that time.
    expect(snowflakeAt(new Date('2026-12-01T08:00:00Z')) >> 22n).toBe(BigInt(Date.parse('2026-12-01T08:00:00Z') - 1_288_834_974_657));
  });
});
