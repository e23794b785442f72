// The built-in Helper: a small menu bot, pure (no I/O), so it can answer inside the intake
// transaction. It sees one turn — the state, what the requester wrote or tapped — and decides:
// answer (and move to a state), list the requester's tickets, or open a ticket.
import type { QuickReplyOption } from '../twitter/gateway.js';

export type BotState = 'start' | 'menu' | 'awaiting_description';
export type Intent = 'open' | 'talk' | 'status' | 'menu';

/** Quick-reply metadata of omni's own options. omni handles these itself, with an external Helper too. */
export const PAYLOADS: Record<Intent, string> = {
  open: 'omni:open',
  talk: 'omni:talk',
  status: 'omni:status',
  menu: 'omni:menu',
};

export const LABELS: Record<Intent, string> = {
  open: 'Open a new request',
  talk: 'Talk to an attendant',
  status: 'Status of my requests',
  menu: 'Back to the menu',
};

export const TEXT = {
  greeting: "Hi! I'm the virtual assistant. How can I help you?",
  menu: 'How can I help you?',
  fallback: "Sorry, I didn't understand that.",
  externalFallback: "Sorry, our assistant can't answer right now.",
  describe: 'Please describe your request in one message, and I will open it for you.',
  noTickets: 'You have no requests with us yet.',
  ticketOpened: (id: number) => `Your request #${id} is open. An attendant will answer you here.`,
  ticketsHeader: 'Your requests:',
} as const;

export interface BotReply {
  text: string;
  options?: QuickReplyOption[];
}

export type BotDecision =
  | { kind: 'reply'; replies: BotReply[]; state: BotState }
  | { kind: 'status' }
  | { kind: 'open_ticket'; reason: 'talk' | 'open'; subject: string | null };

const option = (intent: Intent): QuickReplyOption => ({ label: LABELS[intent], metadata: PAYLOADS[intent] });

export const MENU_OPTIONS: QuickReplyOption[] = [option('open'), option('talk'), option('status')];
/** What the requester may do when the external Helper fails. */
export const FALLBACK_OPTIONS: QuickReplyOption[] = [option('talk'), option('open')];

/** The intent of a tapped option, or of typed text that names one ("talk", "2", "menu", a label). */
export function intentOf(text: string, payload: string | null): Intent | undefined {
  if (payload !== null) {
    for (const [intent, p] of Object.entries(PAYLOADS) as Array<[Intent, string]>) if (p === payload) return intent;
  }
  const t = text.trim().toLowerCase().replace(/[.!?]+$/, '');
  for (const [intent, label] of Object.entries(LABELS) as Array<[Intent, string]>) if (t === label.toLowerCase()) return intent;
  if (/^(1|open|new|new request)$/.test(t)) return 'open';
  if (/^(2|talk|attendant|agent|human|person)$/.test(t)) return 'talk';
  if (/^(3|status)$/.test(t)) return 'status';
  if (/^(menu|start|help|0)$/.test(t)) return 'menu';
  return undefined;
}

/** Whether omni handles this quick-reply payload itself (one of its own options). */
export function isOmniPayload(payload: string | null): boolean {
  return payload !== null && Object.values(PAYLOADS).includes(payload);
}

export function menuReply(text: string = TEXT.menu): BotReply {
  return { text, options: MENU_OPTIONS };
}

/** One turn of the built-in dialogue. `fallback` is parameter 453 when set. */
export function builtinTurn(turn: { state: BotState; text: string; payload: string | null; fallback: string | null }): BotDecision {
  const intent = intentOf(turn.text, turn.payload);
  if (turn.state === 'awaiting_description') {
    // Whatever is typed now is the description, unless it names another option ("menu", "talk").
    if (intent !== undefined && intent !== 'open') return builtinTurn({ ...turn, state: 'menu' });
    const description = turn.text.trim();
    if (description === '' || intent === 'open') return { kind: 'reply', replies: [{ text: TEXT.describe, options: [option('menu')] }], state: 'awaiting_description' };
    return { kind: 'open_ticket', reason: 'open', subject: description };
  }
  switch (intent) {
    case 'open':
      return { kind: 'reply', replies: [{ text: TEXT.describe, options: [option('menu')] }], state: 'awaiting_description' };
    case 'talk':
      return { kind: 'open_ticket', reason: 'talk', subject: null };
    case 'status':
      return { kind: 'status' };
    case 'menu':
      return { kind: 'reply', replies: [menuReply()], state: 'menu' };
    case undefined:
      if (turn.state === 'start') return { kind: 'reply', replies: [menuReply(TEXT.greeting)], state: 'menu' };
      return { kind: 'reply', replies: [menuReply(`${turn.fallback ?? TEXT.fallback}\n\n${TEXT.menu}`)], state: 'menu' };
  }
}

/** The answer to "Status of my requests", with the menu again. */
export function statusReply(tickets: Array<{ id: number; status: string; subject: string }>): BotReply {
  if (tickets.length === 0) return menuReply(`${TEXT.noTickets}\n\n${TEXT.menu}`);
  const lines = tickets.map((t) => `#${t.id} ${t.status}: ${t.subject}`);
  return menuReply(`${TEXT.ticketsHeader}\n${lines.join('\n')}\n\n${TEXT.menu}`);
}
