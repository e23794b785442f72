// The one place a ticket is opened and a message stored on it, for every path that does so: the
// intake (a DM with no open ticket), the Helper chatbot's hand-off, and the echo of a DM an agent
// sent from Twitter's own app. Synchronous: the caller holds the transaction.
import type { NewMessageRow, TicketWrites } from '../db/tickets.js';
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
export function openTicket(w: TicketWrites, t: TicketToOpen): number {
  return w.insertTicket({
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
export function openOrJoinTicket(w: TicketWrites, t: TicketToOpen): { ticketId: number; opened: boolean } {
  const existing = w.openTicketId(t.interactionId, t.requesterId);
  return existing !== undefined ? { ticketId: existing, opened: false } : { ticketId: openTicket(w, t), opened: true };
}

/**
 * Stores a message on a ticket and moves the ticket's updated_at to `m.at`. Undefined (and nothing
 * written) when that DM event id is already stored on the interaction.
 */
export function storeMessage(w: TicketWrites, m: NewMessageRow): number | undefined {
  const id = w.insertMessage(m);
  if (id !== undefined) w.touchTicket(m.ticketId, m.at);
  return id;
}
