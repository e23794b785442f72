import { afterEach, describe, expect, it } from 'vitest';
import { dmDeliveryBody, fixture, inboundDm, newEventId } from '../support/deliveries.js';
import { sql } from 'kysely';
import { TEST_ENGINE } from '../support/engine.js';
import { engineIntakeHarness, intakeHarness, type EngineIntakeHarness, type IntakeHarness } from '../support/intake.js';
import { intakeRaw, type InterceptedDm, type Interceptor } from '../../src/intake/pipeline.js';

let h: EngineIntakeHarness | undefined;
let sync: IntakeHarness | undefined;
afterEach(async () => {
  await h?.close();
  await sync?.close();
  h = sync = undefined;
});

/** Reads with SQL both engines take, through Kysely. */
const rows = async (h: EngineIntakeHarness, query: string) => (await sql.raw<any>(query).execute(h.db.kysely)).rows as any[];
const row = async (h: EngineIntakeHarness, query: string) => (await rows(h, query))[0];

describe('intake pipeline on the recorded fixtures', () => {
  it('turns a plain inbound DM into a requester, a ticket and a message', async () => {
    h = await engineIntakeHarness();
    const results = await h.intake(fixture('v1-dm-inbound-text.zammad3.body.json'));
    expect(results).toEqual([
      expect.objectContaining({ event: 'message_create', outcome: 'new_ticket', id: '1063077238797725701', sender: '456', screenName: 'medenhofer' }),
    ]);
    const requester = await row(h, 'SELECT r.*, u.name AS unit, g.name AS grp FROM requesters r JOIN units u ON u.id = r.unit_id JOIN groups g ON g.id = r.group_id');
    expect(requester).toMatchObject({ twitter_user_id: '456', screen_name: 'medenhofer', name: 'Martin Edenhofer', unit: 'HQ', grp: 'Social' });
    const ticket = await row(
      h,
      `SELECT t.*, a.name AS activity, o.name AS origin FROM tickets t JOIN activities a ON a.id = t.activity_id JOIN contact_origins o ON o.id = t.contact_origin_id`,
    );
    expect(ticket).toMatchObject({ id: results[0]!.ticket, status: 'open', subject: 'Hello again!', activity: 'DM', origin: 'Twitter', contract_id: null, requester_id: requester.id });
    const message = await row(h, 'SELECT * FROM messages');
    expect(message).toMatchObject({
      direction: 'inbound',
      text: 'Hello again!',
      twitter_event_id: '1063077238797725701',
      sender_twitter_id: '456',
      sent_at: '2018-11-15T14:32:19.406Z',
      attachments: '[]',
      ticket_id: ticket.id,
    });
  });

  it('never opens a ticket for an echo, stores it on the open ticket of its recipient, and links a redelivery', async () => {
    h = await engineIntakeHarness();
    const echo = fixture('v1-dm-echo.zammad1.body.json');
    expect(await h.intake(echo)).toEqual([expect.objectContaining({ outcome: 'echo', sender: '123', detail: expect.stringContaining('no open ticket') })]);
    expect([await h.count('requesters'), await h.count('tickets'), await h.count('messages')]).toEqual([0, 0, 0]);

    const [opened] = await h.intake(fixture('v1-dm-inbound-text.zammad3.body.json'));
    const [stored] = await h.intake(echo);
    expect(stored).toMatchObject({ outcome: 'echo', ticket: opened!.ticket });
    expect(await row(h, "SELECT direction, text, sender_twitter_id FROM messages WHERE twitter_event_id = '1062015437679050760'")).toEqual({
      direction: 'outbound',
      text: 'Hey! Hello!',
      sender_twitter_id: '123',
    });
    // The account never becomes a requester.
    expect(await rows(h, 'SELECT twitter_user_id FROM requesters')).toEqual([{ twitter_user_id: '456' }]);
    const [again] = await h.intake(echo);
    expect(again).toMatchObject({ outcome: 'echo', message: stored!.message, detail: `matches message ${stored!.message}` });
    expect(await h.count('messages')).toBe(2);
  });

  it('creates nothing for typing and read events', async () => {
    h = await engineIntakeHarness({ accountUserId: '4337869213' });
    expect(await h.intake(fixture('v1-typing.xdocs.json'))).toEqual([expect.objectContaining({ event: 'typing', outcome: 'ignored', sender: '3284025577' })]);
    expect(await h.intake(fixture('v1-mark-read.xdocs.json'))).toEqual([expect.objectContaining({ event: 'read', outcome: 'ignored' })]);
    expect([await h.count('requesters'), await h.count('tickets'), await h.count('messages')]).toEqual([0, 0, 0]);
  });

  it("marks the interaction revoked when its own account revokes, and only then", async () => {
    h = await engineIntakeHarness({ accountUserId: '999' });
    expect(await h.intake(fixture('v1-user-revoke.xdocs.json'))).toEqual([expect.objectContaining({ event: 'revoke', outcome: 'ignored' })]);
    expect((await row(h, 'SELECT revoked_at FROM interactions')).revoked_at).toBeNull();
    await h.close();

    h = await engineIntakeHarness({ accountUserId: '63046977' });
    expect(await h.intake(fixture('v1-user-revoke.xdocs.json'))).toEqual([expect.objectContaining({ event: 'revoke', outcome: 'revoked', sender: '63046977' })]);
    expect((await row(h, 'SELECT revoked_at FROM interactions')).revoked_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await h.intake(fixture('v1-user-revoke.xdocs.json')))[0]).toMatchObject({ outcome: 'revoked', detail: 'already marked revoked' });
  });

  it('creates the requester by id when the profile is missing (users nested in apps)', async () => {
    h = await engineIntakeHarness({ accountUserId: '4337869213' });
    expect(await h.intake(fixture('v1-dm-docbug-users-nested-in-apps.xdocs.json'))).toEqual([
      expect.objectContaining({ outcome: 'new_ticket', sender: '3001969357', screenName: null }),
    ]);
    expect(await row(h, 'SELECT twitter_user_id, screen_name, name FROM requesters')).toEqual({ twitter_user_id: '3001969357', screen_name: null, name: null });
    // The documented example (with users{}) is the same DM event: a redelivery stores nothing more.
    expect((await h.intake(fixture('v1-dm-inbound.xdocs.json')))[0]).toMatchObject({ outcome: 'duplicate' });
    expect(await h.count('messages')).toBe(1);
  });

  it('takes the X Activity API envelope: a received DM opens a ticket, a sent one is an echo', async () => {
    h = await engineIntakeHarness({ accountUserId: '1111111111111111111' });
    expect(await h.intake(fixture('xaa-dm-received.xdocs.json'))).toEqual([
      expect.objectContaining({ outcome: 'new_ticket', id: '2080765901528535096', sender: '2222222222222222222', screenName: 'OtherUser' }),
    ]);
    expect(await h.intake(fixture('xaa-dm-sent.xdocs.json'))).toEqual([expect.objectContaining({ outcome: 'echo' })]);
    expect(await h.intake('{"data":{"event_type":"follow.created","filter":{"user_id":"1111111111111111111"},"payload":{}}}')).toEqual([
      expect.objectContaining({ outcome: 'ignored', detail: expect.stringContaining('unsupported payload format') }),
    ]);
    expect(await h.count('tickets')).toBe(1);
  });
});

describe('intake pipeline on generated deliveries', () => {
  it('processes every event of a delivery, from several senders', async () => {
    h = await engineIntakeHarness();
    const ids = [newEventId(), newEventId(), newEventId()];
    const body = dmDeliveryBody({
      forUserId: '123',
      events: [
        { senderId: '1001', recipientId: '123', text: 'first from 1001', eventId: ids[0] },
        { senderId: '1002', recipientId: '123', text: 'first from 1002', eventId: ids[1] },
        { senderId: '1001', recipientId: '123', text: 'second from 1001', eventId: ids[2] },
      ],
      users: { '1001': { name: 'One', screenName: 'one' }, '1002': { name: 'Two', screenName: 'two' } },
    });
    const results = await h.intake(body);
    expect(results.map((r) => r.outcome)).toEqual(['new_ticket', 'new_ticket', 'appended']);
    expect(results[2]!.ticket).toBe(results[0]!.ticket);
    expect(results[1]!.ticket).not.toBe(results[0]!.ticket);
    expect(await h.count('messages')).toBe(3);
    // A redelivery of the whole thing is a no-op, event by event.
    expect((await h.intake(body)).map((r) => r.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await h.count('messages')).toBe(3);
  });

  it('keeps ids above 2^53 exact, whether sent as strings or as bare numbers', async () => {
    h = await engineIntakeHarness();
    const eventId = '1234567890123456789';
    const sender = '9007199254740993'; // 2^53 + 1: a double would round it to ...992
    const asStrings = dmDeliveryBody({ forUserId: '123', events: [{ senderId: sender, recipientId: '123', text: 'big', eventId }] });
    const asNumbers = asStrings.replace(`"id":"${eventId}"`, `"id":${eventId}`).replace(`"sender_id":"${sender}"`, `"sender_id":${sender}`);
    expect(asNumbers).toContain(`"id":${eventId},`);
    expect((await h.intake(asNumbers))[0]).toMatchObject({ outcome: 'new_ticket', id: eventId, sender });
    expect((await h.intake(asStrings))[0]).toMatchObject({ outcome: 'duplicate', id: eventId });
    expect(await row(h, 'SELECT twitter_event_id, sender_twitter_id FROM messages')).toEqual({ twitter_event_id: eventId, sender_twitter_id: sender });
    expect((await row(h, 'SELECT twitter_user_id FROM requesters')).twitter_user_id).toBe(sender);
  });

  it('keeps unicode intact and cuts the subject at 80 characters, not in the middle of an emoji', async () => {
    h = await engineIntakeHarness();
    const text = '😀'.repeat(79) + 'ção e mais texto depois';
    await h.intake(inboundDm({ senderId: '77', text }));
    const t = await row(h, 'SELECT subject FROM tickets');
    expect(Array.from(t.subject as string)).toHaveLength(80);
    expect(t.subject).toBe('😀'.repeat(79) + 'ç');
    expect((await row(h, 'SELECT text FROM messages')).text).toBe(text);
  });

  it('replaces t.co links by their expanded URLs and keeps attachment metadata', async () => {
    h = await engineIntakeHarness();
    const body = dmDeliveryBody({
      forUserId: '123',
      events: [
        {
          senderId: '55',
          recipientId: '123',
          text: 'see https://t.co/abc and https://t.co/abc again https://t.co/media1',
          urls: [{ url: 'https://t.co/abc', expandedUrl: 'https://example.com/order/42' }],
          attachment: { type: 'photo', idStr: '1200000000000000001', mediaUrlHttps: 'https://ton.twimg.com/1/photo.jpg', url: 'https://t.co/media1' },
        },
      ],
    });
    await h.intake(body);
    const m = await row(h, 'SELECT text, attachments FROM messages');
    expect(m.text).toBe('see https://example.com/order/42 and https://example.com/order/42 again');
    expect(JSON.parse(m.attachments)).toEqual([{ type: 'photo', mediaUrl: 'https://ton.twimg.com/1/photo.jpg', idStr: '1200000000000000001' }]);
  });

  it('refreshes names from users{} on every event and keeps them when a later profile is missing', async () => {
    h = await engineIntakeHarness();
    await h.intake(inboundDm({ senderId: '88', text: 'a', screenName: 'old_name' }));
    await h.intake(inboundDm({ senderId: '88', text: 'b', screenName: 'new_name' }));
    expect((await row(h, 'SELECT screen_name FROM requesters')).screen_name).toBe('new_name');
    await h.intake(inboundDm({ senderId: '88', text: 'c', profile: false }));
    expect(await row(h, 'SELECT screen_name, name FROM requesters')).toEqual({ screen_name: 'new_name', name: 'NEW_NAME' });
    expect(await h.count('tickets')).toBe(1);
  });

  it('opens a new ticket after the open one is closed', async () => {
    h = await engineIntakeHarness();
    const [a] = await h.intake(inboundDm({ senderId: '99', text: 'one' }));
    await h.db.kysely.updateTable('tickets').set({ status: 'closed' }).where('id', '=', a!.ticket!).execute();
    const [b] = await h.intake(inboundDm({ senderId: '99', text: 'two' }));
    expect(b).toMatchObject({ outcome: 'new_ticket' });
    expect(b!.ticket).not.toBe(a!.ticket);
    expect(await h.count('requesters')).toBe(1);
  });

  it('falls back on parameters 390, 317, 315 and 118 when the interaction names no default', async () => {
    h = await engineIntakeHarness();
    const k = h.db.kysely;
    await k.updateTable('interactions').set({ unit_id: null, activity_id: null, contact_origin_id: null }).execute();
    const { id: unit } = await k.insertInto('units').values({ name: 'Fallback unit', created_at: 'x' }).returning('id').executeTakeFirstOrThrow();
    const { id: contract } = await k.insertInto('contracts').values({ name: 'Gold', created_at: 'x' }).returning('id').executeTakeFirstOrThrow();
    const activity = (await row(h, 'SELECT id FROM activities')).id;
    const origin = (await row(h, "SELECT id FROM contact_origins WHERE name = 'E-mail'")).id;
    for (const [n, v] of [[390, unit], [317, activity], [315, origin], [118, contract]]) await h.setParam(n, String(v));
    await h.intake(inboundDm({ senderId: '5', text: 'hello' }));
    expect(await row(h, 'SELECT unit_id, activity_id, contact_origin_id, contract_id FROM tickets')).toEqual({
      unit_id: unit,
      activity_id: activity,
      contact_origin_id: origin,
      contract_id: contract,
    });
    expect((await row(h, 'SELECT unit_id FROM requesters')).unit_id).toBe(unit);
  });

  it('answers unknown payloads and malformed events without storing anything', async () => {
    h = await engineIntakeHarness();
    expect((await h.intake('{"for_user_id":"123","tweet_create_events":[{"id_str":"1"}],"follow_events":[{}]}')).map((r) => r.event)).toEqual(['tweet', 'follow']);
    expect(await h.intake('{"something_else":1}')).toEqual([expect.objectContaining({ outcome: 'ignored', detail: expect.stringContaining('unsupported payload format') })]);
    expect(await h.intake('{}')).toEqual([expect.objectContaining({ outcome: 'ignored', detail: 'empty delivery' })]);
    expect(await h.intake('{"for_user_id":"123","direct_message_events":[{"type":"message_create","message_create":{"sender_id":"5"}}]}')).toEqual([
      expect.objectContaining({ outcome: 'rejected', detail: expect.stringContaining('without an id') }),
    ]);
    expect([await h.count('requesters'), await h.count('tickets'), await h.count('messages')]).toEqual([0, 0, 0]);
  });
});

// The synchronous entry point's pluggable interceptor (intakeRaw on SQLite's stores): PostgreSQL runs the Helper as steps.
describe.runIf(TEST_ENGINE === 'sqlite')('the chatbot given to the pipeline', () => {
  /** A chatbot that records what it is asked and takes every DM without opening a ticket. */
  function recordingChatbot(held: string[] = []) {
    const asked: number[] = [];
    const taken: InterceptedDm[] = [];
    const chatbot: Interceptor = {
      holds: (_interactionId, eventId) => held.includes(eventId),
      forInteraction: (interaction) => {
        asked.push(interaction.id);
        return (dm) => {
          taken.push(dm);
          return { ticketId: null, detail: 'taken by the test chatbot' };
        };
      },
    };
    return { chatbot, asked, taken };
  }

  it('hands DMs of a requester with no open ticket to the chatbot it is given, asking it once per delivery', async () => {
    const x = (sync = await intakeHarness());
    const bot = recordingChatbot();
    const interaction = x.store.interaction(x.interactionId)!;
    const [e1, e2] = [newEventId(), newEventId()];
    const body = dmDeliveryBody({
      forUserId: '123',
      events: [
        { senderId: '42', recipientId: '123', text: 'hi', eventId: e1 },
        { senderId: '42', recipientId: '123', text: 'still there?', eventId: e2 },
      ],
      users: { '42': { name: 'Ann', screenName: 'ann' } },
    });
    const at = '2026-03-04T05:06:07.000Z';
    const results = intakeRaw(x.store, interaction, body, at, { outbox: x.outbox, chatbot: bot.chatbot });
    expect(results.map((r) => [r.outcome, r.detail])).toEqual([
      ['helper', 'taken by the test chatbot'],
      ['helper', 'taken by the test chatbot'],
    ]);
    expect(bot.asked).toEqual([x.interactionId]);
    expect(bot.taken.map((d) => ({ eventId: d.eventId, text: d.text, at: d.at, requester: d.requester.twitterUserId }))).toEqual([
      { eventId: e1, text: 'hi', at, requester: '42' },
      { eventId: e2, text: 'still there?', at, requester: '42' },
    ]);
    expect(x.count('tickets')).toBe(0);
    expect(x.count('messages')).toBe(0);
  });

  it('never asks the chatbot when the requester has an open ticket, and treats what it holds as a redelivery', async () => {
    const x = (sync = await intakeHarness());
    const interaction = x.store.interaction(x.interactionId)!;
    const at = new Date().toISOString();
    // Without a chatbot every DM opens or joins a ticket.
    expect(intakeRaw(x.store, interaction, inboundDm({ senderId: '42', text: 'first' }), at)).toEqual([expect.objectContaining({ outcome: 'new_ticket' })]);
    const held = newEventId();
    const bot = recordingChatbot([held]);
    const messaging = { outbox: x.outbox, chatbot: bot.chatbot };
    expect(intakeRaw(x.store, interaction, inboundDm({ senderId: '42', text: 'second' }), at, messaging)).toEqual([expect.objectContaining({ outcome: 'appended' })]);
    expect(intakeRaw(x.store, interaction, inboundDm({ senderId: '43', text: 'mine', eventId: held }), at, messaging)).toEqual([
      expect.objectContaining({ outcome: 'duplicate', detail: 'already in a Helper conversation' }),
    ]);
    expect(bot.asked).toEqual([]);
    expect(x.count('messages')).toBe(2);
  });
});
