// Helper interception: what happens to a DM from a requester with no open ticket when the
// interaction intercepts. Synchronous; callers hold the transaction (the intake's group commit, or
// the helper worker's own short one after it called an external Helper).
//
// Every turn is kept in the conversation's transcript (helper_messages); bot answers are queued in
// the outbox in the same transaction. When a ticket opens (handoff), the transcript so far is
// copied onto the ticket as its first messages — inbound ones with their DM ids, bot answers linked
// to their outbox rows — so the attendant reads the whole conversation in `ticket show`.
import type { IntakeInteractionRow, IntakeStore } from '../db/intake.js';
import type { ConversationRow, HelperJob, HelperStore } from '../db/helper.js';
import type { OutboxStore } from '../db/outbox.js';
import { ticketDefaults, subjectFromText, type TicketDefaults } from '../intake/defaults.js';
import { encodeOptions, dmText } from '../outbox/options.js';
import { queueTicketDm } from '../outbox/queue.js';
import { builtinTurn, FALLBACK_OPTIONS, intentOf, isOmniPayload, LABELS, statusReply, TEXT, type BotReply, type BotState } from './builtin.js';
import type { HelperCall } from './external.js';

export const DEFAULT_IDLE_MS = 30 * 60_000;
/** How many of the requester's tickets "Status of my requests" lists. */
const STATUS_LIMIT = 5;

export interface HelperStores {
  intake: IntakeStore;
  helper: HelperStore;
  outbox: OutboxStore;
}

export type HelperInteraction = Pick<
  IntakeInteractionRow,
  'id' | 'account_user_id' | 'unit_id' | 'group_id' | 'activity_id' | 'contact_origin_id' | 'helper_interception'
>;

export interface HelperSettings {
  /** Parameter 441: the external Helper's URL; null: the built-in menu bot. */
  externalUrl: string | null;
  /** Parameter 453: the fallback text; null: omni's default. */
  fallback: string | null;
}

/** The Helper settings when this interaction intercepts (its switch on AND parameter 450 = Y), else undefined. */
export function helperSettings(interaction: Pick<HelperInteraction, 'helper_interception'>, params: Map<number, string>): HelperSettings | undefined {
  if (interaction.helper_interception !== 1 || params.get(450)?.trim().toUpperCase() !== 'Y') return undefined;
  const url = params.get(441)?.trim();
  const fallback = params.get(453)?.trim();
  return { externalUrl: url ? url : null, fallback: fallback ? fallback : null };
}

export interface Requester {
  id: number;
  twitterUserId: string;
}

export interface InboundTurn {
  eventId: string;
  text: string;
  payload: string | null;
  /** JSON array text. */
  attachments: string;
  sentAt: string;
}

export interface HelperTurnContext {
  interaction: HelperInteraction;
  requester: Requester;
  settings: HelperSettings;
  idleMs: number;
  now: string;
  defaults: () => TicketDefaults;
}

export type HelperResult =
  | { kind: 'answered'; conversationId: number; detail: string }
  | { kind: 'queued'; conversationId: number; jobId: number; detail: string }
  | { kind: 'ticket'; conversationId: number; ticketId: number; detail: string };

/** The requester's live conversation, or a new one when there is none or it sat idle too long. */
function conversationFor(s: HelperStores, c: HelperTurnContext): ConversationRow {
  const current = s.helper.activeConversation(c.interaction.id, c.requester.id);
  if (current && Date.parse(current.last_activity_at) + c.idleMs > Date.parse(c.now)) return current;
  if (current) s.helper.endConversation(current.id, 'expired', null, c.now);
  return s.helper.startConversation(c.interaction.id, c.requester.id, c.now);
}

/** A DM intercepted by the Helper. The built-in bot answers at once; an external one gets a job. */
export function helperInbound(s: HelperStores, c: HelperTurnContext, turn: InboundTurn): HelperResult {
  const conversation = conversationFor(s, c);
  const helperMessageId = s.helper.insertMessage({
    conversationId: conversation.id,
    interactionId: c.interaction.id,
    direction: 'inbound',
    text: turn.text,
    payload: turn.payload,
    twitterEventId: turn.eventId,
    attachments: turn.attachments,
    outboxId: null,
    sentAt: turn.sentAt,
    now: c.now,
  });
  const state = conversation.state as BotState;
  // omni's own options (talk, open, status, menu) and a description it asked for are omni's to
  // handle, with an external Helper too; everything else goes to the external Helper.
  if (c.settings.externalUrl !== null && !isOmniPayload(turn.payload) && state !== 'awaiting_description') {
    const jobId = s.helper.enqueueJob(conversation.id, helperMessageId, c.now);
    s.helper.setState(conversation.id, state, c.now);
    return { kind: 'queued', conversationId: conversation.id, jobId, detail: 'queued for the external Helper' };
  }
  return builtin(s, c, conversation, state, turn);
}

function builtin(s: HelperStores, c: HelperTurnContext, conversation: ConversationRow, state: BotState, turn: InboundTurn): HelperResult {
  const decision = builtinTurn({ state, text: turn.text, payload: turn.payload, fallback: c.settings.fallback });
  switch (decision.kind) {
    case 'reply':
      for (const r of decision.replies) queueBotReply(s, c.interaction.id, conversation.id, c.requester.twitterUserId, r, c.now);
      s.helper.setState(conversation.id, decision.state, c.now);
      return { kind: 'answered', conversationId: conversation.id, detail: decision.state === 'awaiting_description' ? 'asked for a description' : 'menu sent' };
    case 'status': {
      const tickets = s.helper.requesterTickets(c.interaction.id, c.requester.id, STATUS_LIMIT);
      queueBotReply(s, c.interaction.id, conversation.id, c.requester.twitterUserId, statusReply(tickets), c.now);
      s.helper.setState(conversation.id, 'menu', c.now);
      return { kind: 'answered', conversationId: conversation.id, detail: `status of ${tickets.length} request(s) sent` };
    }
    case 'open_ticket': {
      const subject = decision.subject !== null ? subjectFromText(decision.subject) : talkSubject(s, conversation.id);
      const ticketId = handOff(s, c, conversation, subject || LABELS.talk);
      return { kind: 'ticket', conversationId: conversation.id, ticketId, detail: decision.reason === 'talk' ? 'handed off to an attendant' : 'request opened by the Helper' };
    }
  }
}

/** "Talk to an attendant": the subject is the first thing the requester wrote that was not a menu choice. */
function talkSubject(s: HelperStores, conversationId: number): string {
  for (const m of s.helper.transcript(conversationId)) {
    if (m.direction === 'inbound' && m.payload === null && intentOf(m.text, null) === undefined) {
      const subject = subjectFromText(m.text);
      if (subject !== '') return subject;
    }
  }
  return '';
}

/** A bot answer: an outbox row and its line in the transcript. */
function queueBotReply(s: HelperStores, interactionId: number, conversationId: number, recipient: string, reply: BotReply, now: string): void {
  const text = dmText(reply.text);
  const row = s.outbox.enqueue({
    interactionId,
    ticketId: null,
    messageId: null,
    conversationId,
    recipientTwitterId: recipient,
    text,
    options: encodeOptions(reply.options),
    now,
  });
  s.helper.insertMessage({
    conversationId,
    interactionId,
    direction: 'outbound',
    text,
    payload: row.options,
    twitterEventId: null,
    attachments: '[]',
    outboxId: row.id,
    sentAt: now,
    now,
  });
}

/**
 * Opens the ticket (or joins the requester's open one, should another process have opened it
 * meanwhile), copies the transcript onto it, ends the conversation, and tells the requester the
 * ticket's number. Returns the ticket id.
 */
export function handOff(s: HelperStores, c: Omit<HelperTurnContext, 'settings' | 'idleMs'>, conversation: ConversationRow, subject: string): number {
  const existing = s.intake.openTicketId(c.interaction.id, c.requester.id);
  const d = c.defaults();
  const ticketId =
    existing ??
    s.intake.insertTicket({
      interactionId: c.interaction.id,
      requesterId: c.requester.id,
      subject: subject || LABELS.talk,
      unitId: d.unitId,
      groupId: d.groupId,
      activityId: d.activityId,
      contactOriginId: d.contactOriginId,
      contractId: d.contractId,
      now: c.now,
    });
  for (const m of s.helper.transcript(conversation.id)) {
    const messageId = s.outbox.insertTicketMessage({
      ticketId,
      interactionId: c.interaction.id,
      direction: m.direction,
      text: m.text,
      twitterEventId: m.twitter_event_id,
      senderTwitterId: m.direction === 'inbound' ? c.requester.twitterUserId : c.interaction.account_user_id,
      sentAt: m.sent_at,
      attachments: m.attachments,
      now: c.now,
    });
    if (messageId !== undefined && m.outbox_id !== null) s.helper.attachOutbox(m.outbox_id, ticketId, messageId, c.now);
  }
  s.helper.endConversation(conversation.id, 'handed_off', ticketId, c.now);
  // Messages still waiting for the external Helper are on the ticket now; the attendant answers them.
  s.helper.skipPendingJobs(conversation.id, `handed off to ticket ${ticketId}`, c.now);
  queueTicketDm(s.outbox, {
    ticketId,
    interactionId: c.interaction.id,
    recipientTwitterId: c.requester.twitterUserId,
    accountTwitterId: c.interaction.account_user_id,
    text: TEXT.ticketOpened(ticketId),
    conversationId: conversation.id,
    now: c.now,
  });
  s.intake.touchTicket(ticketId, c.now);
  return ticketId;
}

export type JobOutcome =
  | { kind: 'answered'; messages: number }
  | { kind: 'fallback'; reason: string }
  | { kind: 'ticket'; ticketId: number; messages: number }
  /** The conversation ended (handed off, expired) or the interaction is gone: the answer is dropped. */
  | { kind: 'skipped'; reason: string };

/**
 * Records what the external Helper answered to a job (or the fallback when it failed): queues its
 * messages, and opens the ticket when one of them asks for a handoff. Run in one transaction after
 * the HTTP call, never around it. Returns undefined when the job's claim was lost (another
 * process took it over after our lease ended): nothing is written then.
 */
export function recordHelperAnswer(s: HelperStores, job: HelperJob, call: HelperCall, now: string): JobOutcome | undefined {
  const finish = (outcome: JobOutcome, status: 'done' | 'skipped' = 'done') =>
    s.helper.finishJob(job.id, job.attempts, status, outcome.kind === 'fallback' || outcome.kind === 'skipped' ? `${outcome.kind}: ${outcome.reason}` : outcome.kind, now)
      ? outcome
      : undefined;
  const conversation = s.helper.conversation(job.conversation_id);
  const interaction = s.intake.interaction(job.interaction_id);
  if (!conversation || conversation.status !== 'active') return finish({ kind: 'skipped', reason: `the conversation is ${conversation?.status ?? 'gone'}` }, 'skipped');
  if (!interaction) return finish({ kind: 'skipped', reason: 'the interaction was deleted' }, 'skipped');
  // The claim is checked (finishJob) before anything is queued: a lost claim writes nothing.
  const recipient = job.requester_twitter_id;
  if (!call.ok) {
    if (!s.helper.finishJob(job.id, job.attempts, 'done', `fallback: ${call.reason}`, now)) return undefined;
    const text = helperSettings(interaction, s.helper.parameters())?.fallback ?? TEXT.externalFallback;
    queueBotReply(s, interaction.id, conversation.id, recipient, { text, options: FALLBACK_OPTIONS }, now);
    s.helper.setState(conversation.id, 'menu', now);
    return { kind: 'fallback', reason: call.reason };
  }
  const handoff = call.messages.some((m) => m.handoff);
  if (!s.helper.finishJob(job.id, job.attempts, 'done', handoff ? 'handoff' : 'answered', now)) return undefined;
  let sent = 0;
  for (const m of call.messages) {
    if (m.text === null && m.options.length === 0) continue;
    // Twitter needs text with quick replies; a Rasa message may carry only buttons.
    queueBotReply(s, interaction.id, conversation.id, recipient, { text: m.text ?? TEXT.menu, options: m.options }, now);
    sent++;
  }
  if (!handoff) {
    s.helper.setState(conversation.id, conversation.state === 'start' ? 'menu' : conversation.state, now);
    return { kind: 'answered', messages: sent };
  }
  const ticketId = handOff(
    s,
    {
      interaction,
      requester: { id: job.requester_id, twitterUserId: recipient },
      now,
      defaults: () => ticketDefaults(interaction, s.intake.intakeParameters()),
    },
    conversation,
    talkSubject(s, conversation.id),
  );
  return { kind: 'ticket', ticketId, messages: sent };
}
