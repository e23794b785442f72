// The X Chat part of a reconcile run against a scripted conversation history and receiver: pages grow
// only while every message is new; a conversation's read stops at a stored message older than the
// previous run (less the margin), on a first run at the first stored message, with `since` at that
// time; what is missing goes to the intake oldest first; refusals and deferred events are counted,
// never stored; a 429 ends the X Chat part with what it read.
import { describe, expect, it } from 'vitest';
import { chatEnvelope, reconcileXChat, type ChatStep } from '../../src/reconcile/xchat.js';
import type { HistoryJob } from '../../src/reconcile/run.js';
import type { IntakeInteraction } from '../../src/db/intake.js';
import { TwitterError } from '../../src/twitter/errors.js';
import type { ChatHistoryEvent } from '../../src/twitter/gateway-v2.js';

const ACCOUNT = '1000';
const CONV = '42:1000';
const now = new Date('2026-12-01T08:00:00Z');
const interaction = { id: 1 } as IntakeInteraction;
/** n events, newest first, one a minute back from now; the signed message id is `m<i>`. */
function history(n: number): ChatHistoryEvent[] {
  return Array.from({ length: n }, (_, i) => ({ id: String(5000 + n - i), conversationId: '42-1000', senderId: '42', createdAt: String(now.getTime() - (i + 1) * 60_000), encodedEvent: `m${n - i}`, conversationToken: null }));
}

function harness(events: ChatHistoryEvent[], o: { stored?: string[]; refuse?: string[]; defer?: string[]; failOnCall?: number } = {}) {
  const calls: number[] = [];
  const submitted: HistoryJob[] = [];
  const unrecorded: string[] = [];
  const deps = {
    interaction,
    account: ACCOUNT,
    conversations: [CONV],
    page: async (_c: string, p: { maxResults: number; paginationToken?: string }) => {
      calls.push(p.maxResults);
      if (o.failOnCall === calls.length) throw new TwitterError('rate-limited', 'used up', { url: '/2/chat', httpStatus: 429, resetAt: new Date(now.getTime() + 600_000) });
      const start = p.paginationToken ? Number(p.paginationToken) : 0;
      const end = start + p.maxResults;
      return { events: events.slice(start, end), nextToken: end < events.length ? String(end) : null };
    },
    receive: async (envelope: unknown, r: { record: boolean }): Promise<ChatStep> => {
      if (!r.record) unrecorded.push((envelope as { data: { payload: { encoded_event: string } } }).data.payload.encoded_event);
      const payload = (envelope as { data: { event_type: string; payload: { encoded_event: string; created_at_msec: string; sender_id: string } } }).data;
      const id = payload.payload.encoded_event;
      if (o.refuse?.includes(id)) return { kind: 'answered', results: [{ event: payload.event_type, outcome: 'rejected', detail: 'bad_signature: x' }] };
      if (o.defer?.includes(id)) return { kind: 'deferred', detail: 'X unreachable', results: [] };
      return {
        kind: 'store',
        chat: { direction: 'received', account: ACCOUNT, senderId: payload.payload.sender_id, peerId: '42', messageId: id, conversationId: CONV, text: `text ${id}`, createdAt: new Date(Number(payload.payload.created_at_msec)).toISOString(), attachments: [] },
      };
    },
    stored: async (ids: string[]) => new Set(ids.filter((i) => o.stored?.includes(i))),
    submit: async (job: HistoryJob) => {
      submitted.push(job);
      return [{ event: 'chat.received', outcome: 'appended' as const }];
    },
    clock: () => now,
  };
  return { deps, calls, submitted, unrecorded };
}

describe('reconcileXChat', () => {
  it('builds the chat.received / chat.sent envelope X would have delivered', () => {
    const [e] = history(1);
    expect(chatEnvelope(ACCOUNT, e!, CONV)).toEqual({ data: { event_type: 'chat.received', event_uuid: `history-${e!.id}`, filter: { user_id: ACCOUNT }, payload: { id: e!.id, conversation_id: '42-1000', encoded_event: 'm1', sender_id: '42', created_at_msec: e!.createdAt } } });
    expect((chatEnvelope(ACCOUNT, { ...e!, senderId: ACCOUNT }, CONV) as { data: { event_type: string } }).data.event_type).toBe('chat.sent');
  });

  it('first run: stops at the first stored message; imports the rest oldest first', async () => {
    const h = harness(history(30), { stored: ['m25', 'm10'] });
    const r = await reconcileXChat({ ...h.deps, previousRunAt: null });
    expect(h.calls).toEqual([10]);
    expect(h.unrecorded).toEqual([]);
    expect(r).toMatchObject({ read: 10, alreadyStored: 1, skipped: 0, deferred: 0 });
    expect(h.submitted.map((j) => j.chat!.messageId)).toEqual(['m26', 'm27', 'm28', 'm29', 'm30']);
    expect(h.submitted.every((j) => j.interaction === interaction && j.body === '')).toBe(true);
  });

  it('with a previous run: reads past stored messages newer than it, finds the gap below them, stops at an older stored one', async () => {
    // m30..m21 were sent in the last 10 minutes; the previous run was 5 minutes ago (margin 2 min → 7 min).
    const h = harness(history(30), { stored: ['m30', 'm29', 'm27', 'm20'] });
    const r = await reconcileXChat({ ...h.deps, previousRunAt: new Date(now.getTime() - 5 * 60_000) });
    expect(h.calls).toEqual([10, 10]);
    expect(h.submitted.map((j) => j.chat!.messageId)).toEqual(['m21', 'm22', 'm23', 'm24', 'm25', 'm26', 'm28']);
    expect(r.alreadyStored).toBe(4);
    // What the previous run read already (sent before it started, less the margin: m23 and older) is
    // not recorded again when refused; a page is checked whole before the stored lookup.
    expect(h.unrecorded).toEqual(Array.from({ length: 13 }, (_, i) => `m${23 - i}`));
  });

  it('pages grow only while every message is new; `since` bounds the read; dry run submits nothing', async () => {
    const h = harness(history(200));
    const { submit: _s, ...dry } = h.deps;
    const r = await reconcileXChat({ ...dry, previousRunAt: null, since: new Date(now.getTime() - 100.5 * 60_000) });
    expect(h.calls).toEqual([10, 40, 100]);
    expect(r.missing).toHaveLength(100);
    expect(r.missing[0]).toMatchObject({ messageId: 'm101', direction: 'inbound', text: 'text m101' });
    expect(h.submitted).toEqual([]);
  });

  it('refused and deferred events are counted, never stored; a 429 ends the X Chat part with what it read', async () => {
    const h = harness(history(30), { refuse: ['m30'], defer: ['m29'], failOnCall: 2 });
    const r = await reconcileXChat({ ...h.deps, previousRunAt: null });
    expect(r).toMatchObject({ read: 10, skipped: 1, deferred: 1, limitedUntil: new Date(now.getTime() + 600_000) });
    expect(h.submitted.map((j) => j.chat!.messageId)).toEqual(['m21', 'm22', 'm23', 'm24', 'm25', 'm26', 'm27', 'm28']);
  });
});
