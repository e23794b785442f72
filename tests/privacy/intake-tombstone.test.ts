// The tombstone on the intake pipeline itself (what deliveries, retries, replays and reconciliation
// all go through): after an erase, neither a DM of theirs, nor the echo of an answer sent to them,
// nor a DM the Helper had taken is stored again; other people's DMs are untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { eraseRequester } from '../../src/privacy/erase.js';
import { eventHasher } from '../../src/privacy/tombstone.js';
import { intakeHarness, type IntakeHarness } from '../support/intake.js';
import { dmDeliveryBody, inboundDm, newEventId } from '../support/deliveries.js';

const hash = eventHasher(Buffer.alloc(32, 9));
let h: IntakeHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const erase = (harness: IntakeHarness, twitterId: string) => {
  const row = harness.db.sqlite.prepare('SELECT id FROM requesters WHERE twitter_user_id = ?').get(twitterId) as { id: number };
  return eraseRequester(harness.db.kysely, { requesterId: row.id, hash, now: new Date().toISOString(), actor: 'test', reason: null });
};

describe('the intake and the tombstone', () => {
  it('drops a DM and the echo of an answer of an erased requester; a new echo to them is not stored', async () => {
    h = await intakeHarness({}, { eventHash: hash });
    const dm = inboundDm({ senderId: '7001', screenName: 'erasee', text: 'please forget me', eventId: newEventId() });
    expect(h.intake(dm)[0]).toMatchObject({ outcome: 'new_ticket' });
    const echo = dmDeliveryBody({ forUserId: '123', events: [{ senderId: '123', recipientId: '7001', text: 'we will', eventId: newEventId() }] });
    expect(h.intake(echo)[0]).toMatchObject({ outcome: 'echo', detail: 'sent from outside omni; stored as an outbound message' });
    const other = inboundDm({ senderId: '7002', text: 'keep me', eventId: newEventId() });
    h.intake(other);
    expect((await erase(h, '7001')).tombstones).toBe(2);
    const messages = h.count('messages');

    expect(h.intake(dm)).toEqual([{ event: 'message_create', outcome: 'erased', detail: expect.stringMatching(/^DM of an erased requester dropped \(tombstone [0-9a-f]{12}\)$/) }]);
    expect(h.intake(echo)[0]).toMatchObject({ outcome: 'erased' });
    // An agent answers from X's app after the erase: there is no requester to join it to.
    const late = dmDeliveryBody({ forUserId: '123', events: [{ senderId: '123', recipientId: '7001', text: 'bye', eventId: newEventId() }] });
    expect(h.intake(late)[0]).toMatchObject({ outcome: 'echo', detail: expect.stringContaining('no open ticket for recipient 7001') });
    expect(h.count('messages')).toBe(messages);
    // Someone else's redelivery is still a plain duplicate.
    expect(h.intake(other)[0]).toMatchObject({ outcome: 'duplicate' });
  });

  it('drops a replay of a DM the Helper had taken, and a new DM opens a new conversation for a new requester', async () => {
    h = await intakeHarness({ helper: true }, { eventHash: hash });
    h.setParam(450, 'Y');
    const dm = inboundDm({ senderId: '7001', screenName: 'erasee', text: 'hi', eventId: newEventId() });
    expect(h.intake(dm)[0]).toMatchObject({ outcome: 'helper' });
    const first = h.db.sqlite.prepare("SELECT id FROM requesters WHERE twitter_user_id = '7001'").get() as { id: number };
    await erase(h, '7001');
    const helperMessages = h.count('helper_messages');
    expect(h.intake(dm)[0]).toMatchObject({ outcome: 'erased' });
    expect(h.count('helper_messages')).toBe(helperMessages);
    const again = h.intake(inboundDm({ senderId: '7001', screenName: 'erasee', text: 'hello', eventId: newEventId() }))[0]!;
    expect(again).toMatchObject({ outcome: 'helper' });
    expect(again.requester).not.toBe(first.id);
  });
});
