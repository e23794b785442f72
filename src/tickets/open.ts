// The one place a ticket is opened and a message stored on it, for every path that does so: the
// intake (a DM with no open ticket), the Helper chatbot's hand-off, and the echo of a DM an agent
// sent from Twitter's own app. Written as steps (src/db/step.ts) so both engines run the same
// decisions; the synchronous functions run them on SQLite stores. The caller holds the transaction.
import type { NewMessageRow, TicketWrites } from '../db/tickets.js';
import { op, runSync, type Step, type StepIntake } from '../db/step.js';
import type { TicketDefaults } from './defaults.js';

export interface TicketToOpen {
  interactionId: number;
  requesterId: number;
  /** Already cut to a subject (subjectFromText). */
  subject: string;
  defaults: TicketDefaults;
  at: string;
}

/** A new open ticket stamped with the defaults. The caller has checked that the requester has none open. */
export function* openTicketStep(t: TicketToOpen): Step<number> {
  return yield* op('intake', 'insertTicket', {
    interactionId: t.interactionId,
    requesterId: t.requesterId,
    subject: t.subject,
    unitId: t.defaults.unitId,
    groupId: t.defaults.groupId,
    activityId: t.defaults.activityId,
    contactOriginId: t.defaults.contactOriginId,
    contractId: t.defaults.contractId,
    at: t.at,
  });
}

/** The requester's open ticket on the interaction, else a new one: `opened` says which. */
export function* openOrJoinTicketStep(t: TicketToOpen): Step<{ ticketId: number; opened: boolean }> {
  const existing = yield* op('intake', 'openTicketId', t.interactionId, t.requesterId);
  return existing !== undefined ? { ticketId: existing, opened: false } : { ticketId: yield* openTicketStep(t), opened: true };
}

/**
 * Stores a message on a ticket and moves the ticket's updated_at to `m.at` (`ticketOpenedAt`: the
 * caller opened the ticket in this transaction at that time, so it is already there). Undefined (and
 * nothing written) when that DM event id is already stored on the interaction.
 */
export function* storeMessageStep(m: NewMessageRow, opts: { ticketOpenedAt?: string } = {}): Step<number | undefined> {
  const id = yield* op('intake', 'insertMessage', m);
  // A ticket opened at this very time in this transaction already has updated_at = m.at: no second write.
  if (id !== undefined && opts.ticketOpenedAt !== m.at) yield* op('intake', 'touchTicket', m.ticketId, m.at);
  return id;
}

const on = (w: TicketWrites) => ({ intake: w as StepIntake });

export function openTicket(w: TicketWrites, t: TicketToOpen): number {
  return runSync(openTicketStep(t), on(w));
}

export function openOrJoinTicket(w: TicketWrites, t: TicketToOpen): { ticketId: number; opened: boolean } {
  return runSync(openOrJoinTicketStep(t), on(w));
}

export function storeMessage(w: TicketWrites, m: NewMessageRow): number | undefined {
  return runSync(storeMessageStep(m), on(w));
}
