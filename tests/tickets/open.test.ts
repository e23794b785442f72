// The one place tickets are opened and messages stored (src/tickets/open.ts), over a real database of
// either engine (the steps run as the listener's writer runs them: SQLite's stores or PostgreSQL's):
// the defaults stamped on a new ticket, joining the open one, one copy per DM event id.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { op, type Step } from '../../src/db/step.js';
import { openOrJoinTicketStep, openTicketStep, storeMessageStep } from '../../src/tickets/open.js';
import { testDatabase } from '../support/engine.js';
import { stepRunner } from '../support/intake.js';
import { seedInteraction } from '../support/seed.js';

let db: Db | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

const T0 = '2026-01-02T03:04:05.000Z';
const T1 = '2026-01-02T03:09:00.000Z';
const NO_DEFAULTS = { unitId: null, groupId: null, activityId: null, contactOriginId: null, contractId: null };

async function setup() {
  const where = testDatabase();
  const { id: interactionId } = await seedInteraction(where);
  db = await openDatabase(where);
  const k = db.kysely;
  const run: <T>(step: Step<T>) => Promise<T> = stepRunner(db);
  const requester = (twitterUserId = '42') =>
    run(op('intake', 'upsertRequester', { twitterUserId, screenName: 'ann', name: 'Ann', unitId: null, groupId: null, at: T0 }));
  const count = async (table: 'tickets' | 'messages') => Number((await k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const updatedAt = async (ticket: number) => (await k.selectFrom('tickets').select('updated_at').where('id', '=', ticket).executeTakeFirstOrThrow()).updated_at;
  return { k, run, interactionId, requester, count, updatedAt };
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
    const { k, run, interactionId, requester, count } = await setup();
    const r = await requester();
    const { id: unit } = await k.selectFrom('units').select('id').where('name', '=', 'HQ').executeTakeFirstOrThrow();
    const first = await run(openOrJoinTicketStep({ interactionId, requesterId: r, subject: 'Printer', defaults: { ...NO_DEFAULTS, unitId: unit }, at: T0 }));
    expect(first.opened).toBe(true);
    expect(await k.selectFrom('tickets').select(['status', 'subject', 'unit_id', 'created_at', 'updated_at']).where('id', '=', first.ticketId).executeTakeFirst()).toEqual({
      status: 'open',
      subject: 'Printer',
      unit_id: unit,
      created_at: T0,
      updated_at: T0,
    });
    expect(await run(openOrJoinTicketStep({ interactionId, requesterId: r, subject: 'Other', defaults: NO_DEFAULTS, at: T1 }))).toEqual({
      ticketId: first.ticketId,
      opened: false,
    });
    expect(await count('tickets')).toBe(1);
    // Another requester gets a ticket of their own.
    expect(await run(openTicketStep({ interactionId, requesterId: await requester('43'), subject: 'Mine', defaults: NO_DEFAULTS, at: T1 }))).not.toBe(first.ticketId);
  });

  it('stores a message once per DM event id and moves the ticket, while messages without an id always go in', async () => {
    const { run, interactionId, requester, count, updatedAt } = await setup();
    const ticket = await run(openTicketStep({ interactionId, requesterId: await requester(), subject: 's', defaults: NO_DEFAULTS, at: T0 }));
    const id = await run(storeMessageStep(message(ticket, interactionId, '900', T1)));
    expect(id).toBeTypeOf('number');
    expect(await updatedAt(ticket)).toBe(T1);
    expect(await run(storeMessageStep(message(ticket, interactionId, '900', '2026-01-03T00:00:00.000Z')))).toBeUndefined();
    // A refused copy does not move the ticket either.
    expect(await updatedAt(ticket)).toBe(T1);
    expect(await run(storeMessageStep(message(ticket, interactionId, null, T1)))).toBeTypeOf('number');
    expect(await run(storeMessageStep(message(ticket, interactionId, null, T1)))).toBeTypeOf('number');
    expect(await count('messages')).toBe(3);
  });
});
