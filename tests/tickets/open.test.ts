// The one place tickets are opened and messages stored (src/tickets/open.ts), over a real database:
// the defaults stamped on a new ticket, joining the open one, one copy per DM event id.
import { afterEach, describe, expect, it } from 'vitest';
import { openOrJoinTicket, openTicket, storeMessage } from '../../src/tickets/open.js';
import { intakeHarness, type IntakeHarness } from '../support/intake.js';

let h: IntakeHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const T0 = '2026-01-02T03:04:05.000Z';
const T1 = '2026-01-02T03:09:00.000Z';
const NO_DEFAULTS = { unitId: null, groupId: null, activityId: null, contactOriginId: null, contractId: null };

function requester(x: IntakeHarness, twitterUserId = '42'): number {
  return x.store.upsertRequester({ twitterUserId, screenName: 'ann', name: 'Ann', unitId: null, groupId: null, at: T0 });
}

const message = (ticketId: number, interactionId: number, twitterEventId: string | null, at: string) => ({
  ticketId,
  interactionId,
  direction: 'inbound' as const,
  text: 'hello',
  twitterEventId,
  senderTwitterId: '42',
  sentAt: at,
  attachments: '[]',
  at,
});

describe('opening tickets and storing messages', () => {
  it('stamps a new ticket with the defaults, and joins the open one instead of opening a second', async () => {
    h = await intakeHarness();
    const r = requester(h);
    const unit = h.db.sqlite.prepare("SELECT id FROM units WHERE name = 'HQ'").pluck().get() as number;
    const first = openOrJoinTicket(h.store, { interactionId: h.interactionId, requesterId: r, subject: 'Printer', defaults: { ...NO_DEFAULTS, unitId: unit }, at: T0 });
    expect(first.opened).toBe(true);
    expect(h.db.sqlite.prepare('SELECT status, subject, unit_id, created_at, updated_at FROM tickets WHERE id = ?').get(first.ticketId)).toEqual({
      status: 'open',
      subject: 'Printer',
      unit_id: unit,
      created_at: T0,
      updated_at: T0,
    });
    expect(openOrJoinTicket(h.store, { interactionId: h.interactionId, requesterId: r, subject: 'Other', defaults: NO_DEFAULTS, at: T1 })).toEqual({
      ticketId: first.ticketId,
      opened: false,
    });
    expect(h.count('tickets')).toBe(1);
    // Another requester gets a ticket of their own.
    expect(openTicket(h.store, { interactionId: h.interactionId, requesterId: requester(h, '43'), subject: 'Mine', defaults: NO_DEFAULTS, at: T1 })).not.toBe(first.ticketId);
  });

  it('stores a message once per DM event id and moves the ticket, while messages without an id always go in', async () => {
    h = await intakeHarness();
    const ticket = openTicket(h.store, { interactionId: h.interactionId, requesterId: requester(h), subject: 's', defaults: NO_DEFAULTS, at: T0 });
    const id = storeMessage(h.store, message(ticket, h.interactionId, '900', T1));
    expect(id).toBeTypeOf('number');
    expect(h.db.sqlite.prepare('SELECT updated_at FROM tickets WHERE id = ?').pluck().get(ticket)).toBe(T1);
    expect(storeMessage(h.store, message(ticket, h.interactionId, '900', '2026-01-03T00:00:00.000Z'))).toBeUndefined();
    // A refused copy does not move the ticket either.
    expect(h.db.sqlite.prepare('SELECT updated_at FROM tickets WHERE id = ?').pluck().get(ticket)).toBe(T1);
    expect(storeMessage(h.store, message(ticket, h.interactionId, null, T1))).toBeTypeOf('number');
    expect(storeMessage(h.store, message(ticket, h.interactionId, null, T1))).toBeTypeOf('number');
    expect(h.count('messages')).toBe(3);
  });
});
