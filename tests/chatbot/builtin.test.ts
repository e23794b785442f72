// The built-in Helper's dialogue and the external Helper's answer format, as pure functions.
import { describe, expect, it } from 'vitest';
import { builtinTurn, intentOf, LABELS, MENU_OPTIONS, PAYLOADS, statusReply, TEXT } from '../../src/chatbot/builtin.js';
import { parseExternalAnswer } from '../../src/chatbot/external.js';
import { chatbotSettings } from '../../src/chatbot/conversation.js';
import { normaliseOptions } from '../../src/outbox/options.js';

const turn = (state: 'start' | 'menu' | 'awaiting_description', text: string, payload: string | null = null, fallback: string | null = null) =>
  builtinTurn({ state, text, payload, fallback });

describe('built-in Helper', () => {
  it('greets with the menu on the first message, and answers the fallback plus the menu afterwards', () => {
    expect(turn('start', 'hello')).toEqual({ kind: 'reply', state: 'menu', replies: [{ text: TEXT.greeting, options: MENU_OPTIONS }] });
    expect(MENU_OPTIONS.map((o) => o.label)).toEqual(['Open a new request', 'Talk to an attendant', 'Status of my requests']);
    expect(turn('menu', 'what is the meaning of life')).toEqual({ kind: 'reply', state: 'menu', replies: [{ text: `${TEXT.fallback}\n\n${TEXT.menu}`, options: MENU_OPTIONS }] });
    expect(turn('menu', '???', null, 'Sorry, try the buttons.')).toMatchObject({ replies: [{ text: `Sorry, try the buttons.\n\n${TEXT.menu}` }] });
  });

  it('understands tapped options, typed labels and short words', () => {
    expect(intentOf('whatever', PAYLOADS.talk)).toBe('talk');
    expect(intentOf(LABELS.status, null)).toBe('status');
    expect(intentOf('  Talk  ', null)).toBe('talk');
    expect(intentOf('3', null)).toBe('status');
    expect(intentOf('menu', null)).toBe('menu');
    expect(intentOf('my order is late', null)).toBeUndefined();
    expect(intentOf('x', '/some_rasa_intent')).toBeUndefined();
  });

  it('open asks for a description, and the next message opens the ticket with it; menu always shows the menu', () => {
    expect(turn('menu', LABELS.open, PAYLOADS.open)).toMatchObject({ kind: 'reply', state: 'awaiting_description', replies: [{ text: TEXT.describe }] });
    expect(turn('awaiting_description', 'The printer is on fire')).toEqual({ kind: 'open_ticket', reason: 'open', subject: 'The printer is on fire' });
    expect(turn('awaiting_description', 'menu')).toEqual({ kind: 'reply', state: 'menu', replies: [{ text: TEXT.menu, options: MENU_OPTIONS }] });
    expect(turn('awaiting_description', 'x', PAYLOADS.menu)).toMatchObject({ state: 'menu' });
    expect(turn('start', 'menu')).toMatchObject({ state: 'menu', replies: [{ text: TEXT.menu }] });
    expect(turn('awaiting_description', '   ')).toMatchObject({ state: 'awaiting_description' });
  });

  it('talk opens at once, status asks for the list', () => {
    expect(turn('start', 'Talk to an attendant', PAYLOADS.talk)).toEqual({ kind: 'open_ticket', reason: 'talk', subject: null });
    expect(turn('awaiting_description', 'talk')).toEqual({ kind: 'open_ticket', reason: 'talk', subject: null });
    expect(turn('menu', 'status')).toEqual({ kind: 'status' });
    expect(statusReply([])).toEqual({ text: `${TEXT.noTickets}\n\n${TEXT.menu}`, options: MENU_OPTIONS });
    expect(statusReply([{ id: 7, status: 'open', subject: 'late order' }, { id: 3, status: 'closed', subject: 'refund' }]).text).toBe(
      `${TEXT.ticketsHeader}\n#7 open: late order\n#3 closed: refund\n\n${TEXT.menu}`,
    );
  });

  it('intercepts only when the interaction enables it and parameter 450 is Y', () => {
    const on = { helper_interception: 1 };
    expect(chatbotSettings(on, new Map([[450, 'Y']]))).toEqual({ externalUrl: null, fallback: null });
    expect(chatbotSettings(on, new Map([[450, 'N']]))).toBeUndefined();
    expect(chatbotSettings(on, new Map())).toBeUndefined();
    expect(chatbotSettings({ helper_interception: 0 }, new Map([[450, 'Y']]))).toBeUndefined();
    expect(chatbotSettings(on, new Map([[450, 'Y'], [441, 'http://bot/webhooks/rest/webhook'], [453, 'Sorry!']]))).toEqual({
      externalUrl: 'http://bot/webhooks/rest/webhook',
      fallback: 'Sorry!',
    });
  });
});

describe('external Helper answers (Rasa REST channel)', () => {
  it('reads text, buttons and the handoff markers; skips what says nothing', () => {
    const answer = JSON.stringify([
      { recipient_id: '1', text: 'Hi' },
      { recipient_id: '1', text: 'Pick', buttons: [{ title: 'Track', payload: '/track' }, { title: 'No payload' }, { title: '' }] },
      { recipient_id: '1', image: 'https://x/y.png' },
      { recipient_id: '1', custom: { handoff: true } },
      { recipient_id: '1', text: 'Opening', custom: { omni: 'open_ticket' } },
    ]);
    expect(parseExternalAnswer(answer)).toEqual([
      { text: 'Hi', options: [], handoff: false },
      { text: 'Pick', options: [{ label: 'Track', metadata: '/track' }, { label: 'No payload', metadata: 'No payload' }], handoff: false },
      { text: null, options: [], handoff: true },
      { text: 'Opening', options: [], handoff: true },
    ]);
    expect(parseExternalAnswer('{"text":"not an array"}')).toBeUndefined();
    expect(parseExternalAnswer('<html>')).toBeUndefined();
    expect(parseExternalAnswer('[]')).toEqual([]);
  });

  it('cuts quick replies to what Twitter accepts', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ label: `Option number ${i} with a label far too long for Twitter`, metadata: 'x'.repeat(i === 0 ? 1001 : 5) }));
    const n = normaliseOptions(many);
    expect(n).toHaveLength(20);
    expect([...n[0]!.label].length).toBe(36);
    expect(n[0]!.label.endsWith('…')).toBe(true);
    expect(n[0]!.metadata).toBeUndefined();
    expect(n[1]!.metadata).toBe('xxxxx');
  });
});
