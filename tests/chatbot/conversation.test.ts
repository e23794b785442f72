// Helper interception through the real intake pipeline and a real database: every built-in path,
// and the external Helper through the helper worker against a fake Rasa REST channel.
import { afterEach, describe, expect, it } from 'vitest';
import { intakeHarness, type IntakeHarness } from '../support/intake.js';
import { dmDeliveryBody, newEventId } from '../support/deliveries.js';
import { startFakeHelper, unreachableUrl, type FakeHelper } from '../support/fake-helper.js';
import { memoryLog, waitFor } from '../support/wait.js';
import { LABELS, MENU_OPTIONS, PAYLOADS, TEXT } from '../../src/chatbot/builtin.js';
import { startChatbotWorker } from '../../src/chatbot/worker.js';
import type { Poller } from '../../src/outbox/poller.js';

const ACCOUNT = '123';
let h: IntakeHarness | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  await h?.close();
  h = undefined;
});

function dm(text: string, opts: { sender?: string; payload?: string; eventId?: string; sentAt?: Date } = {}): string {
  const sender = opts.sender ?? '11';
  return dmDeliveryBody({
    forUserId: ACCOUNT,
    events: [{ senderId: sender, recipientId: ACCOUNT, text, eventId: opts.eventId ?? newEventId(), ...(opts.payload ? { quickReplyResponse: opts.payload } : {}), ...(opts.sentAt ? { createdAt: opts.sentAt } : {}) }],
    users: { [sender]: { name: 'Ann', screenName: 'ann' } },
  });
}

/** Outbox rows in order: text and option labels/payloads. */
function outbox(x: IntakeHarness) {
  return x.db.sqlite
    .prepare('SELECT id, ticket_id, message_id, conversation_id, recipient_twitter_id, text, options, status FROM outbox ORDER BY id')
    .all()
    .map((r: any) => ({ ...r, options: r.options ? JSON.parse(r.options) : null }));
}

function ticketMessages(x: IntakeHarness, ticket: number) {
  return x.db.sqlite.prepare('SELECT direction, text, twitter_event_id FROM messages WHERE ticket_id = ? ORDER BY id').all(ticket) as Array<{ direction: string; text: string; twitter_event_id: string | null }>;
}

async function builtinHarness(idleMs?: number) {
  h = await intakeHarness({ helper: true }, idleMs !== undefined ? { idleMs } : {});
  h.setParam(450, 'Y');
  return h;
}

describe('built-in Helper (parameter 441 empty)', () => {
  it('answers the first DM with the greeting and menu, keeps the transcript, and ignores a redelivery', async () => {
    const x = await builtinHarness();
    const first = dm('hello there');
    expect(x.intake(first)).toEqual([expect.objectContaining({ outcome: 'helper', detail: 'menu sent', requester: 1 })]);
    expect(x.count('tickets')).toBe(0);
    expect(outbox(x)).toEqual([
      expect.objectContaining({ ticket_id: null, conversation_id: 1, recipient_twitter_id: '11', text: TEXT.greeting, options: MENU_OPTIONS, status: 'pending' }),
    ]);
    expect(MENU_OPTIONS.map((o) => o.metadata)).toEqual([PAYLOADS.open, PAYLOADS.talk, PAYLOADS.status]);
    // Twitter redelivers: the same event id is a duplicate, nothing is answered twice.
    expect(x.intake(first)).toEqual([expect.objectContaining({ outcome: 'duplicate', detail: 'already in a Helper conversation' })]);
    expect(x.count('outbox')).toBe(1);
    expect(x.count('helper_messages')).toBe(2);
  });

  it('falls back (453, or the default) with the menu again; menu shows the menu; status lists the tickets', async () => {
    const x = await builtinHarness();
    x.intake(dm('hi'));
    x.intake(dm('what is this'));
    x.setParam(453, 'I only understand the buttons below.');
    x.intake(dm('still confused'));
    x.intake(dm('menu'));
    x.intake(dm(LABELS.status, { payload: PAYLOADS.status }));
    const texts = outbox(x).map((r) => r.text);
    expect(texts).toEqual([
      TEXT.greeting,
      `${TEXT.fallback}\n\n${TEXT.menu}`,
      `I only understand the buttons below.\n\n${TEXT.menu}`,
      TEXT.menu,
      `${TEXT.noTickets}\n\n${TEXT.menu}`,
    ]);
    expect(outbox(x).every((r) => JSON.stringify(r.options) === JSON.stringify(MENU_OPTIONS))).toBe(true);
  });

  it('open asks for a description and opens the ticket with it, the transcript on the ticket and the number sent back', async () => {
    const x = await builtinHarness();
    const helloId = newEventId();
    x.intake(dm('hello', { eventId: helloId }));
    expect(x.intake(dm(LABELS.open, { payload: PAYLOADS.open }))).toEqual([expect.objectContaining({ outcome: 'helper', detail: 'asked for a description' })]);
    const [opened] = x.intake(dm('My printer is on fire'));
    expect(opened).toMatchObject({ outcome: 'new_ticket', ticket: 1, detail: 'request opened by the Helper' });
    expect(x.db.sqlite.prepare('SELECT subject, status FROM tickets WHERE id = 1').get()).toEqual({ subject: 'My printer is on fire', status: 'open' });
    expect(ticketMessages(x, 1).map((m) => [m.direction, m.text])).toEqual([
      ['inbound', 'hello'],
      ['outbound', TEXT.greeting],
      ['inbound', LABELS.open],
      ['outbound', TEXT.describe],
      ['inbound', 'My printer is on fire'],
      ['outbound', TEXT.ticketOpened(1)],
    ]);
    expect(ticketMessages(x, 1)[0]!.twitter_event_id).toBe(helloId);
    // Every bot answer is now on the ticket, linked to the outbox row that sends it.
    const rows = outbox(x);
    expect(rows.map((r) => r.ticket_id)).toEqual([1, 1, 1]);
    expect(rows.every((r) => r.message_id !== null)).toBe(true);
    // With a ticket open, DMs go straight to it.
    expect(x.intake(dm('any news?'))).toEqual([expect.objectContaining({ outcome: 'appended', ticket: 1 })]);
    expect(x.count('outbox')).toBe(3);
    // The redelivery of a transcript DM is still a duplicate (its id is on the ticket now).
    expect(x.intake(dm('hello', { eventId: helloId }))).toEqual([expect.objectContaining({ outcome: 'duplicate' })]);
  });

  it('talk opens the ticket at once with the conversation so far; after close the Helper greets again; status lists states', async () => {
    const x = await builtinHarness();
    x.intake(dm('menu'));
    x.intake(dm('my parcel never arrived'));
    const [talk] = x.intake(dm(LABELS.talk, { payload: PAYLOADS.talk }));
    expect(talk).toMatchObject({ outcome: 'new_ticket', ticket: 1, detail: 'handed off to an attendant' });
    expect(x.db.sqlite.prepare('SELECT subject FROM tickets WHERE id = 1').get()).toEqual({ subject: 'my parcel never arrived' });
    expect(outbox(x).at(-1)).toMatchObject({ ticket_id: 1, text: TEXT.ticketOpened(1) });
    expect(x.db.sqlite.prepare("SELECT status, ticket_id FROM helper_conversations WHERE id = 1").get()).toEqual({ status: 'handed_off', ticket_id: 1 });

    x.db.sqlite.prepare("UPDATE tickets SET status = 'closed', closed_at = ? WHERE id = 1").run(new Date().toISOString());
    expect(x.intake(dm('hello again'))).toEqual([expect.objectContaining({ outcome: 'helper', detail: 'menu sent' })]);
    expect(outbox(x).at(-1)!.text).toBe(TEXT.greeting);
    x.intake(dm('status'));
    expect(outbox(x).at(-1)!.text).toBe(`${TEXT.ticketsHeader}\n#1 closed: my parcel never arrived\n\n${TEXT.menu}`);
    x.intake(dm(LABELS.talk, { payload: PAYLOADS.talk }));
    expect(x.db.sqlite.prepare('SELECT subject FROM tickets WHERE id = 2').get()).toEqual({ subject: 'hello again' });
    // Talk with nothing typed before (someone tapping an old button): the subject says what happened.
    x.intake(dm(LABELS.talk, { sender: '33', payload: PAYLOADS.talk }));
    expect(x.db.sqlite.prepare('SELECT subject FROM tickets WHERE id = 3').get()).toEqual({ subject: LABELS.talk });
  });

  it('starts over after the idle time, and keeps the state (not the clock) within it', async () => {
    const x = await builtinHarness(60_000);
    const t0 = new Date('2030-01-01T10:00:00Z');
    const t1 = new Date(t0.getTime() + 30_000);
    const t2 = new Date(t0.getTime() + 95_000);
    x.intake(dm('hello', { sentAt: t0 }), undefined, t0);
    x.intake(dm(LABELS.open, { payload: PAYLOADS.open, sentAt: t1 }), undefined, t1);
    // Idle over a minute: the description state is forgotten, the greeting comes again.
    expect(x.intake(dm('My printer is on fire', { sentAt: t2 }), undefined, t2)).toEqual([expect.objectContaining({ outcome: 'helper', detail: 'menu sent' })]);
    expect(outbox(x).at(-1)!.text).toBe(TEXT.greeting);
    expect(x.db.sqlite.prepare('SELECT id, status FROM helper_conversations ORDER BY id').all()).toEqual([
      { id: 1, status: 'expired' },
      { id: 2, status: 'active' },
    ]);
    expect(x.count('tickets')).toBe(0);
  });

  it('files a DM that reaches omni more than the answer window after it was sent on a ticket, with no Helper answer', async () => {
    const x = await builtinHarness();
    const now = new Date();
    // Sent 20 minutes ago (a replay, a reconciliation from X's history): no menu to a stale message.
    const late = x.intake(dm('where is my refund?', { sentAt: new Date(now.getTime() - 20 * 60_000) }), undefined, now);
    expect(late).toEqual([expect.objectContaining({ outcome: 'new_ticket', ticket: 1, detail: 'sent more than 15 min before it reached omni: filed without a Helper answer' })]);
    expect(x.count('outbox')).toBe(0);
    expect(x.count('helper_conversations')).toBe(0);
    expect(ticketMessages(x, 1)).toEqual([expect.objectContaining({ direction: 'inbound', text: 'where is my refund?' })]);
    // Sent 10 minutes ago: within the window, the Helper talks to a new requester as usual.
    expect(x.intake(dm('hi', { sender: '12', sentAt: new Date(now.getTime() - 10 * 60_000) }), undefined, now)).toEqual([expect.objectContaining({ outcome: 'helper', detail: 'menu sent' })]);
  });

  it('does not intercept unless parameter 450 is Y and the interaction enables it', async () => {
    h = await intakeHarness({ helper: true });
    expect(h.intake(dm('no 450 yet'))).toEqual([expect.objectContaining({ outcome: 'new_ticket' })]);
    await h.close();
    h = await intakeHarness({ helper: false });
    h.setParam(450, 'Y');
    expect(h.intake(dm('interaction switch off'))).toEqual([expect.objectContaining({ outcome: 'new_ticket' })]);
    expect(h.count('outbox')).toBe(0);
  });
});

describe('external Helper (parameter 441 set)', () => {
  let worker: Poller | undefined;
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  async function externalHarness(fake: FakeHelper | string, timeoutMs = 2_000) {
    const x = await builtinHarness();
    x.setParam(441, typeof fake === 'string' ? fake : fake.url);
    const log = memoryLog();
    worker = startChatbotWorker({ db: x.db, log, timeoutMs, pollMs: 20 });
    return { x, log };
  }

  const jobsDone = (x: IntakeHarness) => (x.db.sqlite.prepare("SELECT count(*) AS n FROM helper_jobs WHERE status IN ('pending', 'working')").get() as { n: number }).n === 0;

  it('queues the DM in the intake, calls the Helper outside it, and sends every answer with its buttons as quick replies', async () => {
    const fake = await startFakeHelper();
    closers.push(() => fake.close());
    const { x } = await externalHarness(fake);
    expect(x.intake(dm('hi bot'))).toEqual([expect.objectContaining({ outcome: 'helper', detail: 'queued for the external Helper' })]);
    await waitFor(() => jobsDone(x) && x.count('outbox') === 2, 'the Helper answers');
    expect(fake.requests).toEqual([{ sender: '11', message: 'hi bot', raw: '{"sender":"11","message":"hi bot"}', contentType: 'application/json' }]);
    expect(outbox(x).map((r) => [r.text, r.options])).toEqual([
      ['Bot heard: hi bot', null],
      ['What do you need?', [{ label: 'Order status', metadata: '/order_status' }, { label: 'A human please', metadata: '/handoff' }]],
    ]);
    // A tapped button: the Helper gets its payload, not the label.
    x.intake(dm('Order status', { payload: '/order_status' }));
    await waitFor(() => jobsDone(x) && x.count('outbox') === 3, 'the second answer');
    expect(fake.requests[1]).toMatchObject({ message: '/order_status' });
    expect(outbox(x)[2]!.text).toBe('Your order #55 ships tomorrow.');
    expect(x.count('tickets')).toBe(0);
  });

  it('opens the ticket on handoff and tells the requester its number; the transcript is on the ticket', async () => {
    const fake = await startFakeHelper();
    closers.push(() => fake.close());
    const { x } = await externalHarness(fake);
    x.intake(dm('my order is late'));
    await waitFor(() => jobsDone(x) && x.count('outbox') === 2, 'the first answer');
    x.intake(dm('A human please', { payload: '/handoff' }));
    await waitFor(() => x.count('tickets') === 1 && x.count('outbox') === 4, 'the handoff');
    expect(outbox(x).slice(2).map((r) => [r.ticket_id, r.text])).toEqual([
      [1, 'Connecting you to an attendant.'],
      [1, TEXT.ticketOpened(1)],
    ]);
    expect(x.db.sqlite.prepare('SELECT subject FROM tickets WHERE id = 1').get()).toEqual({ subject: 'my order is late' });
    expect(ticketMessages(x, 1).map((m) => m.text)).toEqual([
      'my order is late',
      'Bot heard: my order is late',
      'What do you need?',
      'A human please',
      'Connecting you to an attendant.',
      TEXT.ticketOpened(1),
    ]);
    // custom.omni = "open_ticket" works too (second requester).
    fake.respond(() => ({ kind: 'answer', messages: [{ text: 'Opening a request for you.', custom: { omni: 'open_ticket' } }] }));
    x.intake(dm('please open one', { sender: '22' }));
    await waitFor(() => x.count('tickets') === 2, 'the second handoff');
  });

  it.each([
    ['unreachable', async () => unreachableUrl(), 'cannot reach it'],
    ['slower than the limit', async (f: FakeHelper) => (f.respond(() => ({ kind: 'stall' })), f.url), 'no answer within 0.3 s'],
    ['answering nothing', async (f: FakeHelper) => (f.respond(() => ({ kind: 'answer', messages: [] })), f.url), 'it answered nothing'],
    ['answering 500', async (f: FakeHelper) => (f.respond(() => ({ kind: 'status', status: 500 })), f.url), 'it answered HTTP 500'],
    ['answering not an array', async (f: FakeHelper) => (f.respond(() => ({ kind: 'raw', body: '{"oops":1}' })), f.url), 'not a JSON array'],
  ])('sends the 453 fallback with "Talk to an attendant" and "Open a new request" when the Helper is %s', async (_name, setup, reason) => {
    const fake = await startFakeHelper();
    closers.push(() => fake.close());
    const url = await setup(fake);
    const { x, log } = await externalHarness(url, 300);
    x.setParam(453, 'Our assistant is resting.');
    x.intake(dm('hello?'));
    await waitFor(() => jobsDone(x) && x.count('outbox') === 1, 'the fallback');
    expect(outbox(x)[0]).toMatchObject({
      text: 'Our assistant is resting.',
      options: [
        { label: LABELS.talk, metadata: PAYLOADS.talk },
        { label: LABELS.open, metadata: PAYLOADS.open },
      ],
    });
    expect(log.lines.find((l) => l.level === 'warn')?.message).toContain(reason);
    // The fallback's own options are omni's: "Talk to an attendant" opens the ticket in the intake.
    expect(x.intake(dm(LABELS.talk, { payload: PAYLOADS.talk }))).toEqual([expect.objectContaining({ outcome: 'new_ticket', ticket: 1 })]);
  });

  it('uses the default fallback text without 453, and "Open a new request" asks for the description itself', async () => {
    const { x } = await externalHarness(await unreachableUrl(), 300);
    x.intake(dm('hello?'));
    await waitFor(() => x.count('outbox') === 1, 'the fallback');
    expect(outbox(x)[0]!.text).toBe(TEXT.externalFallback);
    x.intake(dm(LABELS.open, { payload: PAYLOADS.open }));
    expect(outbox(x).at(-1)!.text).toBe(TEXT.describe);
    expect(x.intake(dm('Refund for order 55'))).toEqual([expect.objectContaining({ outcome: 'new_ticket' })]);
    expect(x.db.sqlite.prepare('SELECT subject FROM tickets').get()).toEqual({ subject: 'Refund for order 55' });
  });
});
