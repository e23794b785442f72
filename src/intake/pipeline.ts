// The one intake pipeline: parse → dedup → requester → ticket (or the Helper) → message, for every
// item of a delivery. Pure of HTTP. Written once as a step (src/db/step.ts): it yields its storage
// operations, and each engine runs them inside its batch transaction (SQLite synchronously on the
// writer thread, PostgreSQL on one pooled client); the caller answers the sender only after that
// transaction has committed. processDelivery/intakeRaw run it on SQLite stores.
import { namesChange, type IntakeInteraction, type IntakeStore } from '../db/intake.js';
import type { OutboxStore } from '../db/outbox.js';
import { done, op, runSync, type Step } from '../db/step.js';
import { subjectFromText, ticketDefaults, type TicketDefaults } from '../tickets/defaults.js';
import { openTicketStep, storeMessageStep } from '../tickets/open.js';
import { parseDelivery, type Delivery, type DeliveryItem, type DmEvent, type Profile } from './parse.js';

export type { IntakeInteraction };

/** helper: the DM went to the Helper chatbot (answered, or queued for the external one); no ticket yet. */
/** erased: the DM belongs to an erased requester (its event id is in the tombstone): dropped, never stored again. */
/** recorded: a status event kept for omni itself (the end of a webhook replay job), no DM. */
export type Outcome = 'new_ticket' | 'appended' | 'helper' | 'duplicate' | 'echo' | 'ignored' | 'revoked' | 'rejected' | 'erased' | 'recorded';

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

/** A DM handed to the chatbot: its requester has no open ticket and the interaction intercepts. */
export interface InterceptedDm {
  interaction: IntakeInteraction;
  requester: { id: number; twitterUserId: string };
  eventId: string;
  text: string;
  /** The quick-reply option the requester chose, if any. */
  payload: string | null;
  /** JSON array text. */
  attachments: string;
  sentAt: string;
  /** Arrival time of the delivery. */
  at: string;
  /** The ticket defaults, should the chatbot hand off at once (read at most once per delivery). */
  defaults: () => Step<TicketDefaults>;
}

/** What the chatbot did with it: a ticket when it handed off at once, else none yet. */
export interface Interception {
  ticketId: number | null;
  detail: string;
}

/**
 * The Helper chatbot as the pipeline sees it. The pipeline does not know the chatbot: the listener
 * (or a test) gives it one (src/chatbot/conversation.ts, createChatbot). Synchronous (SQLite).
 */
export interface Interceptor {
  /** True when the chatbot's transcript already holds this DM event (a redelivery, or the echo of its answer). */
  holds(interactionId: number, twitterEventId: string): boolean;
  /**
   * The chatbot's taker for this interaction when it intercepts, else undefined. Asked at most once
   * per delivery, and only when a DM arrives from a requester with no open ticket.
   */
  forInteraction(interaction: IntakeInteraction): ((dm: InterceptedDm) => Interception) | undefined;
}

/** The same chatbot as steps, for either engine (src/chatbot/conversation.ts, chatbotSteps). */
export interface StepInterceptor {
  holds(interactionId: number, twitterEventId: string): Step<boolean>;
  forInteraction(interaction: IntakeInteraction): Step<((dm: InterceptedDm) => Step<Interception>) | undefined>;
}

/**
 * The outbox and the chatbot, for interception and for matching echoes to the DMs omni is sending.
 * The listener always passes them; without them every DM opens or joins a ticket.
 */
export interface Messaging {
  outbox: OutboxStore;
  chatbot: Interceptor;
}

/** Why a delivery must be refused (400) before anything is stored: it names its account in a form that is no id. */
export function malformedAccount(delivery: Pick<Delivery, 'badForUserId'>): string | undefined {
  return delivery.badForUserId;
}

/**
 * Why a delivery must be refused (403) before anything is stored: it says it is for another account.
 * Undefined when acceptable. When the interaction's account is not known yet (webhook not
 * registered by omni), the delivery is accepted; the caller logs a warning.
 */
export function accountMismatch(interaction: Pick<IntakeInteraction, 'account_user_id'>, delivery: Pick<Delivery, 'forUserId'>): string | undefined {
  const account = interaction.account_user_id;
  if (account === null || delivery.forUserId === null || delivery.forUserId === account) return undefined;
  return `for_user_id ${delivery.forUserId} is not this interaction's account (${account})`;
}

/** Parses then processes a verified raw body. Synchronous (SQLite stores); run it inside a transaction. */
export function intakeRaw(store: IntakeStore, interaction: IntakeInteraction, raw: Uint8Array | string, at: string, messaging?: Messaging): EventResult[] {
  return processDelivery(store, interaction, parseDelivery(raw), at, messaging);
}

/** `at`: when the delivery arrived (ISO-8601), stamped on what it creates. Synchronous, on SQLite stores. */
export function processDelivery(store: IntakeStore, interaction: IntakeInteraction, delivery: Delivery, at: string, messaging?: Messaging): EventResult[] {
  return runSync(deliveryStep(interaction, delivery, at, messaging && stepInterceptor(messaging.chatbot)), { intake: store, ...(messaging ? { outbox: messaging.outbox } : {}) });
}

/** A synchronous chatbot as steps (its storage is its own business). */
function stepInterceptor(c: Interceptor): StepInterceptor {
  return {
    holds: (interactionId, eventId) => done(c.holds(interactionId, eventId)),
    forInteraction: (interaction) => {
      const take = c.forInteraction(interaction);
      return done(take && ((dm: InterceptedDm) => done(take(dm))));
    },
  };
}

/**
 * The pipeline itself, for either engine: `chatbot` given means the outbox store is there too
 * (echoes are matched to the rows omni is sending, DMs may be intercepted).
 */
export function* deliveryStep(interaction: IntakeInteraction, delivery: Delivery, at: string, chatbot?: StepInterceptor): Step<EventResult[]> {
  let defaultsOnce: TicketDefaults | undefined;
  const defaults = function* (): Step<TicketDefaults> {
    return (defaultsOnce ??= ticketDefaults(interaction, yield* op('intake', 'intakeParameters')));
  };
  let interceptOnce: { take: ((dm: InterceptedDm) => Step<Interception>) | undefined } | undefined;
  const intercept = function* (): Step<((dm: InterceptedDm) => Step<Interception>) | undefined> {
    return (interceptOnce ??= { take: chatbot ? yield* chatbot.forInteraction(interaction) : undefined }).take;
  };
  const m: Ctx = { interaction, at, chatbot, defaults, intercept };
  // The account that owns the webhook: what the delivery says, else what we registered.
  const account = delivery.forUserId ?? interaction.account_user_id;
  const results: EventResult[] = [];
  for (const item of delivery.items) {
    switch (item.kind) {
      case 'dm':
        if (delivery.eventType === 'dm.sent' && item.event.senderId !== account) {
          // dm.sent is the account's own DM: one from someone else is not what X documents; never a ticket.
          results.push({ event: 'message_create', outcome: 'rejected', id: item.event.id, sender: item.event.senderId, detail: `a dm.sent event whose sender is not the account ${account ?? '(unknown)'}` });
          break;
        }
        results.push(
          item.event.senderId === account
            ? yield* echo(m, item.event, delivery.profiles.get(item.event.senderId))
            : yield* inbound(m, item.event, delivery.profiles.get(item.event.senderId)),
        );
        break;
      case 'replay_status':
        results.push(yield* replayStatus(interaction, item, at));
        break;
      case 'revoke':
        results.push(yield* revoke(interaction, item.userId, at));
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

/** What every item of one delivery shares. */
interface Ctx {
  interaction: IntakeInteraction;
  at: string;
  chatbot: StepInterceptor | undefined;
  defaults: () => Step<TicketDefaults>;
  intercept: () => Step<((dm: InterceptedDm) => Step<Interception>) | undefined>;
}

function* inbound(m: Ctx, event: DmEvent, profile: Profile | undefined): Step<EventResult> {
  const { interaction, at } = m;
  // First of all: a replay, late retry or reconciliation of an erased DM is dropped, and what is
  // returned (and logged) names neither the sender nor the event, only the tombstone's prefix.
  const tombstone = yield* op('intake', 'erasedEvent', event.id);
  if (tombstone !== undefined) return erasedResult(tombstone);
  const base = { event: 'message_create', id: event.id, sender: event.senderId, screenName: profile?.screenName ?? null };
  const screenName = profile?.screenName ?? null;
  const name = profile?.name ?? null;
  // A redelivered DM that the chatbot already has: same dedup key, in the transcript (or, after a
  // hand-off, stored on the ticket too: then it is reported as stored).
  if (m.chatbot && (yield* m.chatbot.holds(interaction.id, event.id))) {
    return (yield* storedDuplicate(m, base)) ?? { ...base, outcome: 'duplicate', detail: 'already in a Helper conversation' };
  }
  // Most DMs come from a returning requester with an open ticket whose names did not change: one
  // read (requester, names, open ticket), then the message insert, whose unique key
  // (interaction_id, twitter_event_id) is the dedup: a DM already stored inserts nothing.
  const known = yield* op('intake', 'knownRequester', interaction.id, event.senderId);
  const unchanged = known !== undefined && !namesChange(known, screenName, name);
  if (unchanged && known.ticket_id !== null) {
    const message = yield* storeDm(interaction, known.ticket_id, event, 'inbound', at);
    if (message !== undefined) return { ...base, outcome: 'appended', requester: known.id, ticket: known.ticket_id, message };
    return (yield* storedDuplicate(m, base))!;
  }
  // Anything else writes before the message (a requester, its names, a ticket): a DM already stored
  // is found first, so a redelivery writes nothing.
  const stored = yield* storedDuplicate(m, base);
  if (stored) return stored;
  const d = yield* m.defaults();
  const requester = unchanged
    ? known.id
    : yield* op('intake', 'upsertRequester', { twitterUserId: event.senderId, screenName, name, unitId: d.unitId, groupId: d.groupId, at });
  let ticket = known?.ticket_id ?? undefined;
  const take = ticket === undefined ? yield* m.intercept() : undefined;
  if (take) {
    // No open ticket and the interaction intercepts: the chatbot talks first.
    const r = yield* take({
      interaction,
      requester: { id: requester, twitterUserId: event.senderId },
      eventId: event.id,
      text: event.text,
      payload: event.quickReplyPayload,
      attachments: JSON.stringify(event.attachments),
      sentAt: event.createdAt ?? at,
      at,
      defaults: m.defaults,
    });
    if (r.ticketId !== null) return { ...base, outcome: 'new_ticket', requester, ticket: r.ticketId, detail: r.detail };
    return { ...base, outcome: 'helper', requester, detail: r.detail };
  }
  const isNew = ticket === undefined;
  ticket ??= yield* openTicketStep({ interactionId: interaction.id, requesterId: requester, subject: subjectOf(event), defaults: d, at });
  const message = yield* storeDm(interaction, ticket, event, 'inbound', at, isNew ? at : undefined);
  if (message === undefined) return { ...base, outcome: 'duplicate', requester, ticket, detail: 'already stored' };
  return { ...base, outcome: isNew ? 'new_ticket' : 'appended', requester, ticket, message };
}

/** The result of a DM already stored on the interaction (its ticket and message), else undefined. */
function* storedDuplicate(m: Ctx, base: Pick<EventResult, 'event' | 'id' | 'sender' | 'screenName'>): Step<EventResult | undefined> {
  const existing = yield* op('intake', 'messageByEvent', m.interaction.id, base.id!);
  return existing && { ...base, outcome: 'duplicate', ticket: existing.ticket_id, message: existing.id, detail: 'already stored' };
}

/**
 * A DM sent by the account itself. It never creates a requester or a ticket. If omni sent it (its
 * DM id is already stored, as the outbox does when Twitter answers), it is linked to that message.
 * If omni is sending it right now, or sent it and crashed before recording Twitter's answer (one
 * outbox row to that recipient with that text, already tried), the echo completes that row: this
 * is what keeps a crash between Twitter's 200 and our commit from sending the DM twice. Otherwise
 * an agent answered from Twitter's own app and it joins the recipient's open ticket as an
 * outbound message, or is ignored when there is none.
 */
function* echo(m: Ctx, event: DmEvent, profile: Profile | undefined): Step<EventResult> {
  const { interaction, at } = m;
  const tombstone = yield* op('intake', 'erasedEvent', event.id);
  if (tombstone !== undefined) return erasedResult(tombstone);
  const base = { event: 'message_create', id: event.id, sender: event.senderId, screenName: profile?.screenName ?? null };
  const linked = yield* sentByOmni(m, event, base);
  if (linked) return linked;
  if (m.chatbot) {
    const inFlight = event.recipientId === null ? [] : (yield* op('outbox', 'inFlight', interaction.id, event.recipientId)).filter((r) => sameText(r.text, event.text));
    // On PostgreSQL a worker recording Twitter's answer may commit between the reads above and this
    // one (READ COMMITTED): the row is no longer in flight, and what it stored is visible now.
    const late = inFlight.length === 0 ? yield* sentByOmni(m, event, base) : undefined;
    if (late) return late;
    if (inFlight.length === 1) {
      const row = inFlight[0]!;
      yield* op('outbox', 'markSent', row.id, event.id, event.createdAt ?? at, at);
      return {
        ...base,
        outcome: 'echo',
        ...(row.ticket_id !== null ? { ticket: row.ticket_id } : {}),
        ...(row.message_id !== null ? { message: row.message_id } : {}),
        detail: `confirms outbox #${row.id} (sent before its answer was recorded)`,
      };
    }
  }
  const known = event.recipientId === null ? undefined : yield* op('intake', 'knownRequester', interaction.id, event.recipientId);
  const requester = known?.id;
  const ticket = known?.ticket_id ?? undefined;
  if (requester === undefined || ticket === undefined) {
    return { ...base, outcome: 'echo', detail: `sent by the account; no open ticket for recipient ${event.recipientId ?? '(none)'}, not stored` };
  }
  const message = yield* storeDm(interaction, ticket, event, 'outbound', at);
  return { ...base, outcome: 'echo', requester, ticket, ...(message !== undefined ? { message } : {}), detail: 'sent from outside omni; stored as an outbound message' };
}

/** The echo's result when omni's own sending stored this DM id already (a message, or a Helper answer). */
function* sentByOmni(m: Ctx, event: DmEvent, base: Pick<EventResult, 'event' | 'id' | 'sender' | 'screenName'>): Step<EventResult | undefined> {
  const sent = yield* op('intake', 'messageByEvent', m.interaction.id, event.id);
  if (sent) return { ...base, outcome: 'echo', ticket: sent.ticket_id, message: sent.id, detail: `matches message ${sent.id}` };
  if (m.chatbot && (yield* m.chatbot.holds(m.interaction.id, event.id))) return { ...base, outcome: 'echo', detail: 'matches a Helper answer' };
  return undefined;
}

/** How many hex characters of a tombstone hash a result (and so the log) shows. */
export const TOMBSTONE_PREFIX_LENGTH = 12;

function erasedResult(hash: string): EventResult {
  return { event: 'message_create', outcome: 'erased', detail: `DM of an erased requester dropped (tombstone ${hash.slice(0, TOMBSTONE_PREFIX_LENGTH)})` };
}

function* revoke(interaction: IntakeInteraction, userId: string | null, at: string): Step<EventResult> {
  const account = interaction.account_user_id;
  // With no known account, the revoke can only concern the one account this webhook serves.
  if (account !== null && userId !== account) {
    return { event: 'revoke', outcome: 'ignored', ...(userId ? { sender: userId } : {}), detail: `revoke by user ${userId ?? '(unknown)'}, not this interaction's account` };
  }
  const changed = yield* op('intake', 'markRevoked', interaction.id, at);
  return {
    event: 'revoke',
    outcome: 'revoked',
    ...(userId ? { sender: userId } : {}),
    detail: changed ? 'the account revoked the app: DMs will stop until it authorises it again' : 'already marked revoked',
  };
}

/** The end of a webhook replay job: recorded for `omni webhook replay` and the listener's replay on start. */
function* replayStatus(interaction: IntakeInteraction, item: Extract<DeliveryItem, { kind: 'replay_status' }>, at: string): Step<EventResult> {
  if (item.webhookId === null) return { event: 'replay_job_status', outcome: 'rejected', detail: `replay job ${item.jobId}: no webhook_id` };
  yield* op('intake', 'recordReplayJobStatus', { jobId: item.jobId, webhookId: item.webhookId, state: item.state, description: item.description, interactionId: interaction.id, at });
  return {
    event: 'replay_job_status',
    outcome: 'recorded',
    id: item.jobId,
    detail: `replay job ${item.jobId} of webhook ${item.webhookId}: ${item.state}${item.description ? ` (${item.description})` : ''}`,
  };
}

/**
 * The results of a delivery that no interaction may take (an account no interaction on the shared
 * webhook owns): every item rejected with `reason`, nothing stored. Answered 200 all the same: X
 * retrying it cannot change whose account it is.
 */
export function unroutedResults(delivery: Delivery, reason: string): EventResult[] {
  if (delivery.items.length === 0) return [{ event: delivery.eventType ?? 'unknown', outcome: 'rejected', detail: reason }];
  return delivery.items.map((item): EventResult => {
    switch (item.kind) {
      case 'dm':
        return { event: 'message_create', outcome: 'rejected', id: item.event.id, sender: item.event.senderId, screenName: delivery.profiles.get(item.event.senderId)?.screenName ?? null, detail: reason };
      case 'revoke':
        return { event: 'revoke', outcome: 'rejected', ...(item.userId ? { sender: item.userId } : {}), detail: reason };
      case 'replay_status':
        return { event: 'replay_job_status', outcome: 'rejected', id: item.jobId, detail: reason };
      default:
        return { event: item.event, outcome: item.kind === 'ignored' ? 'ignored' : 'rejected', detail: item.kind === 'ignored' ? item.reason : reason };
    }
  });
}

/** The first 80 characters (code points, so an emoji is never cut in half) of the text. */
export function subjectOf(event: Pick<DmEvent, 'text' | 'attachments'>): string {
  const subject = subjectFromText(event.text);
  if (subject === '') return event.attachments.length ? `(${event.attachments[0]!.type} attachment)` : '(no text)';
  return subject;
}

/** Twitter trims and may normalise whitespace; the words must be the same. */
function sameText(a: string, b: string): boolean {
  return a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
}

/** A DM event as a message of a ticket: its text, Twitter's event id and time, its attachments. */
function storeDm(interaction: IntakeInteraction, ticketId: number, event: DmEvent, direction: 'inbound' | 'outbound', at: string, ticketOpenedAt?: string): Step<number | undefined> {
  return storeMessageStep(
    {
    ticketId,
    interactionId: interaction.id,
    direction,
    text: event.text,
    twitterEventId: event.id,
    senderTwitterId: event.senderId,
    sentAt: event.createdAt ?? at,
    attachments: JSON.stringify(event.attachments),
    at,
    },
    ticketOpenedAt === undefined ? {} : { ticketOpenedAt },
  );
}
