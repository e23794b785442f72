// The one intake pipeline: parse → dedup → requester → ticket → message, for every item of a
// delivery. Pure of HTTP and synchronous: the caller runs it inside a database transaction (the
// listener's group commit) and answers the sender only after that transaction has committed.
import type { IntakeInteractionRow, IntakeStore } from '../db/intake.js';
import { parseDelivery, type Delivery, type DmEvent, type Profile } from './parse.js';

export type Outcome = 'new_ticket' | 'appended' | 'duplicate' | 'echo' | 'ignored' | 'revoked' | 'rejected';

/** What happened to one event of a delivery: logged, and returned in the response body. */
export interface EventResult {
  /** message_create, typing, read, revoke, tweet, ... */
  event: string;
  outcome: Outcome;
  /** The DM event id, when there is one. */
  id?: string;
  sender?: string;
  screenName?: string | null;
  requester?: number;
  ticket?: number;
  message?: number;
  detail?: string;
}

/** The interaction fields the pipeline needs (a subset of its row). */
export type IntakeInteraction = Pick<
  IntakeInteractionRow,
  'id' | 'account_user_id' | 'unit_id' | 'group_id' | 'activity_id' | 'contact_origin_id' | 'helper_interception'
>;

export const SUBJECT_LENGTH = 80;

/**
 * Why a delivery must be refused (403) before anything is stored: it says it is for another account.
 * Undefined when acceptable. When the interaction's account is not known yet (webhook not
 * registered by omni), the delivery is accepted; the caller logs a warning.
 */
export function accountMismatch(interaction: Pick<IntakeInteraction, 'account_user_id'>, delivery: Delivery): string | undefined {
  const account = interaction.account_user_id;
  if (account === null || delivery.forUserId === null || delivery.forUserId === account) return undefined;
  return `for_user_id ${delivery.forUserId} is not this interaction's account (${account})`;
}

/** Parses then processes a verified raw body. Synchronous; run it inside a transaction. */
export function intakeRaw(store: IntakeStore, interaction: IntakeInteraction, raw: Uint8Array | string, now: string): EventResult[] {
  return processDelivery(store, interaction, parseDelivery(raw), now);
}

export function processDelivery(store: IntakeStore, interaction: IntakeInteraction, delivery: Delivery, now: string): EventResult[] {
  const defaults = lazy(() => ticketDefaults(interaction, store.intakeParameters()));
  // The account that owns the webhook: what the delivery says, else what we registered.
  const account = delivery.forUserId ?? interaction.account_user_id;
  const results: EventResult[] = [];
  for (const item of delivery.items) {
    switch (item.kind) {
      case 'dm':
        results.push(
          item.event.senderId === account
            ? echo(store, interaction, item.event, delivery.profiles.get(item.event.senderId), now)
            : inbound(store, interaction, item.event, delivery.profiles.get(item.event.senderId), defaults, now),
        );
        break;
      case 'revoke':
        results.push(revoke(store, interaction, item.userId, now));
        break;
      case 'ignored':
        results.push({ event: item.event, outcome: 'ignored', detail: item.reason, ...(item.senderId ? { sender: item.senderId } : {}) });
        break;
      case 'malformed':
        results.push({ event: item.event, outcome: 'rejected', detail: item.reason });
        break;
    }
  }
  return results;
}

interface TicketDefaults {
  unitId: number | null;
  groupId: number | null;
  activityId: number | null;
  contactOriginId: number | null;
  contractId: number | null;
}

/** The interaction's own defaults, else the numbered parameters (390 unit, 317 activity, 315 origin, 118 contract). */
function ticketDefaults(i: IntakeInteraction, params: Map<number, string>): TicketDefaults {
  const param = (n: number) => {
    const v = params.get(n);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  return {
    unitId: i.unit_id ?? param(390),
    groupId: i.group_id,
    activityId: i.activity_id ?? param(317),
    contactOriginId: i.contact_origin_id ?? param(315),
    contractId: param(118),
  };
}

function inbound(
  store: IntakeStore,
  interaction: IntakeInteraction,
  event: DmEvent,
  profile: Profile | undefined,
  defaults: () => TicketDefaults,
  now: string,
): EventResult {
  const base = { event: 'message_create', id: event.id, sender: event.senderId, screenName: profile?.screenName ?? null };
  const existing = store.messageByEvent(interaction.id, event.id);
  if (existing) return { ...base, outcome: 'duplicate', ticket: existing.ticket_id, message: existing.id, detail: 'already stored' };

  const d = defaults();
  // Helper interception (a later issue) will branch here; until then such DMs are stored like any other.
  const requester = store.upsertRequester({
    twitterUserId: event.senderId,
    screenName: profile?.screenName ?? null,
    name: profile?.name ?? null,
    unitId: d.unitId,
    groupId: d.groupId,
    now,
  });
  let ticket = store.openTicketId(interaction.id, requester);
  const isNew = ticket === undefined;
  if (ticket === undefined) {
    ticket = store.insertTicket({
      interactionId: interaction.id,
      requesterId: requester,
      subject: subjectOf(event),
      unitId: d.unitId,
      groupId: d.groupId,
      activityId: d.activityId,
      contactOriginId: d.contactOriginId,
      contractId: d.contractId,
      now,
    });
  } else {
    store.touchTicket(ticket, now);
  }
  const message = store.insertMessage({
    ticketId: ticket,
    interactionId: interaction.id,
    direction: 'inbound',
    text: event.text,
    twitterEventId: event.id,
    senderTwitterId: event.senderId,
    sentAt: event.createdAt ?? now,
    attachments: JSON.stringify(event.attachments),
    now,
  });
  return { ...base, outcome: isNew ? 'new_ticket' : 'appended', requester, ticket, message };
}

/**
 * A DM sent by the account itself. It never creates a requester or a ticket. If omni sent it (its
 * DM id is already stored, as the outbox does when Twitter answers), it is linked to that message;
 * otherwise an agent answered from Twitter's own app and it joins the recipient's open ticket as
 * an outbound message, or is ignored when there is none.
 */
function echo(store: IntakeStore, interaction: IntakeInteraction, event: DmEvent, profile: Profile | undefined, now: string): EventResult {
  const base = { event: 'message_create', id: event.id, sender: event.senderId, screenName: profile?.screenName ?? null };
  const sent = store.messageByEvent(interaction.id, event.id);
  if (sent) return { ...base, outcome: 'echo', ticket: sent.ticket_id, message: sent.id, detail: `matches message ${sent.id}` };
  const requester = event.recipientId === null ? undefined : store.requesterIdByTwitterId(event.recipientId);
  const ticket = requester === undefined ? undefined : store.openTicketId(interaction.id, requester);
  if (requester === undefined || ticket === undefined) {
    return { ...base, outcome: 'echo', detail: `sent by the account; no open ticket for recipient ${event.recipientId ?? '(none)'}, not stored` };
  }
  const message = store.insertMessage({
    ticketId: ticket,
    interactionId: interaction.id,
    direction: 'outbound',
    text: event.text,
    twitterEventId: event.id,
    senderTwitterId: event.senderId,
    sentAt: event.createdAt ?? now,
    attachments: JSON.stringify(event.attachments),
    now,
  });
  store.touchTicket(ticket, now);
  return { ...base, outcome: 'echo', requester, ticket, message, detail: 'sent from outside omni; stored as an outbound message' };
}

function revoke(store: IntakeStore, interaction: IntakeInteraction, userId: string | null, now: string): EventResult {
  const account = interaction.account_user_id;
  // With no known account, the revoke can only concern the one account this webhook serves.
  if (account !== null && userId !== account) {
    return { event: 'revoke', outcome: 'ignored', ...(userId ? { sender: userId } : {}), detail: `revoke by user ${userId ?? '(unknown)'}, not this interaction's account` };
  }
  const changed = store.markRevoked(interaction.id, now);
  return {
    event: 'revoke',
    outcome: 'revoked',
    ...(userId ? { sender: userId } : {}),
    detail: changed ? 'the account revoked the app: DMs will stop until it authorises it again' : 'already marked revoked',
  };
}

/** The first 80 characters (code points, so an emoji is never cut in half) of the text. */
export function subjectOf(event: Pick<DmEvent, 'text' | 'attachments'>): string {
  const oneLine = event.text.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return event.attachments.length ? `(${event.attachments[0]!.type} attachment)` : '(no text)';
  return Array.from(oneLine).slice(0, SUBJECT_LENGTH).join('');
}

function lazy<T>(f: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: f() }).v;
}
