// The Helper chatbot's conversations: what happens to a DM from a requester with no open ticket
// when the interaction intercepts. Written as steps (src/db/step.ts), so both engines run the same
// decisions; callers hold the transaction (the intake's group commit, or the chatbot worker's own
// short one after it called an external bot). createChatbot/recordExternalAnswer run them on SQLite.
//
// Every turn is kept in the conversation's transcript (helper_messages); bot answers are queued in
// the outbox in the same transaction. When a ticket opens (hand-off), the transcript so far is
// copied onto the ticket as its first messages — inbound ones with their DM ids, bot answers linked
// to their outbox rows — so the attendant reads the whole conversation in `ticket show`.
import type { IntakeInteraction, IntakeStore } from '../db/intake.js';
import type { ConversationRow, ChatbotJob, ChatbotStore } from '../db/chatbot.js';
import type { OutboxStore } from '../db/outbox.js';
import type { Interception, InterceptedDm, Interceptor, StepInterceptor } from '../intake/pipeline.js';
import { op, runSync, type Step } from '../db/step.js';
import { ticketDefaults, subjectFromText, type TicketDefaults } from '../tickets/defaults.js';
import { openOrJoinTicketStep, storeMessageStep } from '../tickets/open.js';
import { decodeOptions, encodeOptions, dmText } from '../outbox/options.js';
import { queueTicketDmStep } from '../outbox/queue.js';
import { builtinTurn, FALLBACK_OPTIONS, intentOf, isOmniPayload, LABELS, statusReply, TEXT, type BotReply, type BotState } from './builtin.js';
import type { ExternalCall } from './external.js';

export const DEFAULT_IDLE_MS = 30 * 60_000;
/**
 * A DM that reaches omni more than this long after it was sent (a replay, a reconciliation from X's
 * history, a listener that was down) is filed on a ticket without a Helper answer: nobody wants a
 * bot reply to a three-day-old message. 0 turns the rule off.
 */
export const DEFAULT_ANSWER_WINDOW_MS = 15 * 60_000;
/** How many of the requester's tickets "Status of my requests" lists. */
const STATUS_LIMIT = 5;

export interface ChatbotStores {
  intake: IntakeStore;
  chatbot: ChatbotStore;
  outbox: OutboxStore;
}

export interface ChatbotSettings {
  /** Parameter 441: the external bot's URL; null: the built-in menu bot. */
  externalUrl: string | null;
  /** Parameter 453: the fallback text; null: omni's default. */
  fallback: string | null;
}

/** The chatbot settings when this interaction intercepts (its switch on AND parameter 450 = Y), else undefined. */
export function chatbotSettings(interaction: Pick<IntakeInteraction, 'helper_interception'>, params: Map<number, string>): ChatbotSettings | undefined {
  if (interaction.helper_interception !== 1 || params.get(450)?.trim().toUpperCase() !== 'Y') return undefined;
  const url = params.get(441)?.trim();
  const fallback = params.get(453)?.trim();
  return { externalUrl: url ? url : null, fallback: fallback ? fallback : null };
}

/**
 * The chatbot the listener gives the intake pipeline: it holds the transcripts and takes the DMs of
 * intercepting interactions. `idleMs`: a conversation idle this long starts over.
 */
export function createChatbot(s: ChatbotStores, idleMs: number, answerWindowMs = DEFAULT_ANSWER_WINDOW_MS): Interceptor {
  const steps = chatbotSteps(idleMs, answerWindowMs);
  return {
    holds: (interactionId, eventId) => runSync(steps.holds(interactionId, eventId), s),
    forInteraction: (interaction) => {
      const take = runSync(steps.forInteraction(interaction), s);
      return take && ((dm) => runSync(take(dm), s));
    },
  };
}

/**
 * The chatbot as steps, for either engine: what the listener's writer gives the pipeline. A DM
 * older than `answerWindowMs` when it arrives is filed without a Helper answer.
 */
export function chatbotSteps(idleMs: number, answerWindowMs = DEFAULT_ANSWER_WINDOW_MS): StepInterceptor {
  return {
    holds: function* (interactionId, eventId) {
      return (yield* op('chatbot', 'messageByEvent', interactionId, eventId)) !== undefined;
    },
    forInteraction: function* (interaction) {
      const settings = chatbotSettings(interaction, yield* op('chatbot', 'parameters'));
      return settings ? (dm: InterceptedDm) => (isLate(dm, answerWindowMs) ? fileLate(dm, answerWindowMs) : chatbotInbound({ settings, idleMs }, dm)) : undefined;
    },
  };
}

/** The requester who is talking to the chatbot. */
export interface Requester {
  id: number;
  twitterUserId: string;
}

/** True when the DM was sent longer than the window before it reached omni. */
function isLate(dm: InterceptedDm, windowMs: number): boolean {
  if (windowMs <= 0) return false;
  const sent = Date.parse(dm.sentAt);
  return Number.isFinite(sent) && Date.parse(dm.at) - sent > windowMs;
}

/** A late DM: on the requester's ticket (opened if need be) as the intake files it, no Helper answer, nothing sent. */
function* fileLate(dm: InterceptedDm, windowMs: number): Step<Interception> {
  const { ticketId } = yield* openOrJoinTicketStep({
    interactionId: dm.interaction.id,
    requesterId: dm.requester.id,
    subject: subjectFromText(dm.text) || LABELS.talk,
    defaults: yield* dm.defaults(),
    at: dm.at,
  });
  yield* storeMessageStep({
    ticketId,
    interactionId: dm.interaction.id,
    direction: 'inbound',
    text: dm.text,
    twitterEventId: dm.eventId,
    senderTwitterId: dm.requester.twitterUserId,
    sentAt: dm.sentAt,
    attachments: dm.attachments,
    at: dm.at,
  });
  return { ticketId, detail: `sent more than ${Math.round(windowMs / 60_000)} min before it reached omni: filed without a Helper answer` };
}

/** Who is talking, on which interaction, when, and what a hand-off stamps the ticket with. */
interface Turn {
  interaction: IntakeInteraction;
  requester: Requester;
  at: string;
  defaults: () => Step<TicketDefaults>;
}

interface Setup {
  settings: ChatbotSettings;
  idleMs: number;
}

/** The requester's live conversation, or a new one when there is none or it sat idle too long. */
function* conversationFor(t: Turn, idleMs: number): Step<ConversationRow> {
  const current = yield* op('chatbot', 'activeConversation', t.interaction.id, t.requester.id);
  if (current && Date.parse(current.last_activity_at) + idleMs > Date.parse(t.at)) return current;
  if (current) yield* op('chatbot', 'endConversation', current.id, 'expired', null, t.at);
  return yield* op('chatbot', 'startConversation', t.interaction.id, t.requester.id, t.at);
}

/** A DM intercepted by the chatbot. The built-in bot answers at once; an external one gets a job. */
export function* chatbotInbound(setup: Setup, given: InterceptedDm): Step<Interception> {
  const conversation = yield* conversationFor(given, setup.idleMs);
  const dm = yield* numberedChoice(conversation.id, given);
  const transcriptId = yield* op('chatbot', 'insertMessage', {
    conversationId: conversation.id,
    interactionId: dm.interaction.id,
    direction: 'inbound',
    text: dm.text,
    payload: dm.payload,
    twitterEventId: dm.eventId,
    attachments: dm.attachments,
    outboxId: null,
    sentAt: dm.sentAt,
    at: dm.at,
  });
  const state = conversation.state as BotState;
  // omni's own options (talk, open, status, menu) and a description it asked for are omni's to
  // handle, with an external bot too; everything else goes to the external bot.
  if (setup.settings.externalUrl !== null && !isOmniPayload(dm.payload) && state !== 'awaiting_description') {
    yield* op('chatbot', 'enqueueJob', conversation.id, transcriptId, dm.at);
    yield* op('chatbot', 'setState', conversation.id, state, dm.at);
    return { ticketId: null, detail: 'queued for the external Helper' };
  }
  return yield* builtin(dm, setup.settings, conversation, state);
}

function* builtin(dm: InterceptedDm, settings: ChatbotSettings, conversation: ConversationRow, state: BotState): Step<Interception> {
  const decision = builtinTurn({ state, text: dm.text, payload: dm.payload, fallback: settings.fallback });
  switch (decision.kind) {
    case 'reply':
      for (const r of decision.replies) yield* queueBotReply(dm.interaction.id, conversation.id, dm.requester.twitterUserId, r, dm.at);
      yield* op('chatbot', 'setState', conversation.id, decision.state, dm.at);
      return { ticketId: null, detail: decision.state === 'awaiting_description' ? 'asked for a description' : 'menu sent' };
    case 'status': {
      const tickets = yield* op('chatbot', 'requesterTickets', dm.interaction.id, dm.requester.id, STATUS_LIMIT);
      yield* queueBotReply(dm.interaction.id, conversation.id, dm.requester.twitterUserId, statusReply(tickets), dm.at);
      yield* op('chatbot', 'setState', conversation.id, 'menu', dm.at);
      return { ticketId: null, detail: `status of ${tickets.length} request(s) sent` };
    }
    case 'open_ticket': {
      const subject = decision.subject !== null ? subjectFromText(decision.subject) : yield* talkSubject(conversation.id);
      const ticketId = yield* handOff(dm, conversation, subject);
      return { ticketId, detail: decision.reason === 'talk' ? 'handed off to an attendant' : 'request opened by the Helper' };
    }
  }
}

/** "Talk to an attendant": the subject is the first thing the requester wrote that was not a menu choice. */
function* talkSubject(conversationId: number): Step<string> {
  for (const m of yield* op('chatbot', 'transcript', conversationId)) {
    if (m.direction === 'inbound' && m.payload === null && intentOf(m.text, null) === undefined) {
      const subject = subjectFromText(m.text);
      if (subject !== '') return subject;
    }
  }
  return '';
}

/**
 * On X's API of 2026 (v2, activity) quick replies go out as a numbered text menu (outbox/options.ts
 * `numberedMenu`): a DM that is just a number answers the last menu the Helper sent, as if that
 * option had been tapped (its metadata, else its label, is the payload; the text stays as typed).
 * v1.1 shows real quick replies, and typed text keeps its meaning there.
 */
export function* numberedChoice(conversationId: number, dm: InterceptedDm): Step<InterceptedDm> {
  if (dm.payload !== null) return dm;
  const n = /^\s*(\d{1,2})\s*[.)]?\s*$/.exec(dm.text);
  if (!n) return dm;
  const api = (yield* op('outbox', 'interactionForSending', dm.interaction.id))?.api;
  if (api === undefined || api === 'v1.1') return dm;
  // The menu of the Helper's last answer: it may be several messages (an external bot's), the menu on any of them.
  let menu: string | null = null;
  const transcript = yield* op('chatbot', 'transcript', conversationId);
  for (let i = transcript.length - 1; i >= 0 && transcript[i]!.direction === 'outbound'; i--) {
    if (transcript[i]!.payload !== null) {
      menu = transcript[i]!.payload;
      break;
    }
  }
  const option = decodeOptions(menu)[Number(n[1]) - 1];
  if (!option) return dm;
  return { ...dm, payload: option.metadata ?? option.label };
}

/** A bot answer: an outbox row and its line in the transcript. */
function* queueBotReply(interactionId: number, conversationId: number, recipient: string, reply: BotReply, at: string): Step<void> {
  const text = dmText(reply.text);
  const row = yield* op('outbox', 'enqueue', {
    interactionId,
    ticketId: null,
    messageId: null,
    conversationId,
    recipientTwitterId: recipient,
    text,
    options: encodeOptions(reply.options),
    now: at,
  });
  yield* op('chatbot', 'insertMessage', {
    conversationId,
    interactionId,
    direction: 'outbound',
    text,
    payload: row.options,
    twitterEventId: null,
    attachments: '[]',
    outboxId: row.id,
    sentAt: at,
    at,
  });
}

/**
 * Opens the ticket (or joins the requester's open one, should another process have opened it
 * meanwhile), copies the transcript onto it, ends the conversation, and tells the requester the
 * ticket's number. Returns the ticket id.
 */
function* handOff(t: Turn, conversation: ConversationRow, subject: string): Step<number> {
  const { ticketId } = yield* openOrJoinTicketStep({
    interactionId: t.interaction.id,
    requesterId: t.requester.id,
    subject: subject || LABELS.talk,
    defaults: yield* t.defaults(),
    at: t.at,
  });
  for (const m of yield* op('chatbot', 'transcript', conversation.id)) {
    const messageId = yield* storeMessageStep({
      ticketId,
      interactionId: t.interaction.id,
      direction: m.direction,
      text: m.text,
      twitterEventId: m.twitter_event_id,
      senderTwitterId: m.direction === 'inbound' ? t.requester.twitterUserId : t.interaction.account_user_id,
      sentAt: m.sent_at,
      attachments: m.attachments,
      at: t.at,
    });
    if (messageId !== undefined && m.outbox_id !== null) yield* op('chatbot', 'attachOutbox', m.outbox_id, ticketId, messageId, t.at);
  }
  yield* op('chatbot', 'endConversation', conversation.id, 'handed_off', ticketId, t.at);
  // Messages still waiting for the external bot are on the ticket now; the attendant answers them.
  yield* op('chatbot', 'skipPendingJobs', conversation.id, `handed off to ticket ${ticketId}`, t.at);
  yield* queueTicketDmStep({
    ticketId,
    interactionId: t.interaction.id,
    recipientTwitterId: t.requester.twitterUserId,
    accountTwitterId: t.interaction.account_user_id,
    text: TEXT.ticketOpened(ticketId),
    conversationId: conversation.id,
    now: t.at,
  });
  yield* op('intake', 'touchTicket', ticketId, t.at);
  return ticketId;
}

export type JobOutcome =
  | { kind: 'answered'; messages: number }
  | { kind: 'fallback'; reason: string }
  | { kind: 'ticket'; ticketId: number; messages: number }
  /** The conversation ended (handed off, expired) or the interaction is gone: the answer is dropped. */
  | { kind: 'skipped'; reason: string };

/**
 * Records what the external bot answered to a job (or the fallback when it failed): queues its
 * messages, and opens the ticket when one of them asks for a handoff. Run in one transaction after
 * the HTTP call, never around it. Returns undefined when the job's claim was lost (another
 * process took it over after our lease ended): nothing is written then.
 */
export function recordExternalAnswer(s: ChatbotStores, job: ChatbotJob, call: ExternalCall, at: string): JobOutcome | undefined {
  return runSync(externalAnswerStep(job, call, at), s);
}

/** recordExternalAnswer as a step, for either engine. */
export function* externalAnswerStep(job: ChatbotJob, call: ExternalCall, at: string): Step<JobOutcome | undefined> {
  const finish = function* (outcome: JobOutcome, status: 'done' | 'skipped' = 'done'): Step<JobOutcome | undefined> {
    const kept = yield* op('chatbot', 'finishJob', job.id, job.attempts, status, outcome.kind === 'fallback' || outcome.kind === 'skipped' ? `${outcome.kind}: ${outcome.reason}` : outcome.kind, at);
    return kept ? outcome : undefined;
  };
  const conversation = yield* op('chatbot', 'conversation', job.conversation_id);
  const interaction = yield* op('intake', 'interaction', job.interaction_id);
  if (!conversation || conversation.status !== 'active') return yield* finish({ kind: 'skipped', reason: `the conversation is ${conversation?.status ?? 'gone'}` }, 'skipped');
  if (!interaction) return yield* finish({ kind: 'skipped', reason: 'the interaction was deleted' }, 'skipped');
  // The claim is checked (finishJob) before anything is queued: a lost claim writes nothing.
  const recipient = job.requester_twitter_id;
  if (!call.ok) {
    if (!(yield* op('chatbot', 'finishJob', job.id, job.attempts, 'done', `fallback: ${call.reason}`, at))) return undefined;
    const text = chatbotSettings(interaction, yield* op('chatbot', 'parameters'))?.fallback ?? TEXT.externalFallback;
    yield* queueBotReply(interaction.id, conversation.id, recipient, { text, options: FALLBACK_OPTIONS }, at);
    yield* op('chatbot', 'setState', conversation.id, 'menu', at);
    return { kind: 'fallback', reason: call.reason };
  }
  const handoff = call.messages.some((m) => m.handoff);
  if (!(yield* op('chatbot', 'finishJob', job.id, job.attempts, 'done', handoff ? 'handoff' : 'answered', at))) return undefined;
  let sent = 0;
  for (const m of call.messages) {
    if (m.text === null && m.options.length === 0) continue;
    // Twitter needs text with quick replies; a Rasa message may carry only buttons.
    yield* queueBotReply(interaction.id, conversation.id, recipient, { text: m.text ?? TEXT.menu, options: m.options }, at);
    sent++;
  }
  if (!handoff) {
    yield* op('chatbot', 'setState', conversation.id, conversation.state === 'start' ? 'menu' : conversation.state, at);
    return { kind: 'answered', messages: sent };
  }
  const ticketId = yield* handOff(
    {
      interaction,
      requester: { id: job.requester_id, twitterUserId: recipient },
      at,
      defaults: function* () {
        return ticketDefaults(interaction, yield* op('intake', 'intakeParameters'));
      },
    },
    conversation,
    yield* talkSubject(conversation.id),
  );
  return { kind: 'ticket', ticketId, messages: sent };
}
