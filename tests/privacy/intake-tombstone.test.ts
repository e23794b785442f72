// The tombstone on the intake pipeline itself (what deliveries, retries, replays and reconciliation
// all go through): after an erase, neither a DM of theirs, nor the echo of an answer sent to them,
// nor a DM the Helper had taken is stored again; other people's DMs are untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { eraseRequester } from '../../src/privacy/erase.js';
import { eventHasher } from '../../src/privacy/tombstone.js';
import { engineIntakeHarness, type EngineIntakeHarness as IntakeHarness } from '../support/intake.js';
import { dmDeliveryBody, inboundDm, newEventId } from '../support/deliveries.js';

const TOMBSTONE_KEY = Buffer.alloc(32, 9);
const hash = eventHasher(TOMBSTONE_KEY);
const tombstoneKey = TOMBSTONE_KEY.toString('base64');
let h: IntakeHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const requesterOf = (harness: IntakeHarness, twitterId: string) =>
  harness.db.kysely.selectFrom('requesters').select('id').where('twitter_user_id', '=', twitterId).executeTakeFirstOrThrow();

const erase = async (harness: IntakeHarness, twitterId: string) => {
  const row = await requesterOf(harness, twitterId);
  return eraseRequester(harness.db.kysely, { requesterId: row.id, hash, now: new Date().toISOString(), actor: 'test', reason: null });
};

describe('the intake and the tombstone', () => {
  it('drops a DM and the echo of an answer of an erased requester; a new echo to them is not stored', async () => {
    h = await engineIntakeHarness({}, { tombstoneKey });
    const dm = inboundDm({ senderId: '7001', screenName: 'erasee', text: 'please forget me', eventId: newEventId() });
    expect((await h.intake(dm))[0]).toMatchObject({ outcome: 'new_ticket' });
    const echo = dmDeliveryBody({ forUserId: '123', events: [{ senderId: '123', recipientId: '7001', text: 'we will', eventId: newEventId() }] });
    expect((await h.intake(echo))[0]).toMatchObject({ outcome: 'echo', detail: 'sent from outside omni; stored as an outbound message' });
    const other = inboundDm({ senderId: '7002', text: 'keep me', eventId: newEventId() });
    await h.intake(other);
    expect((await erase(h, '7001')).tombstones).toBe(2);
    const messages = await h.count('messages');

    expect(await h.intake(dm)).toEqual([{ event: 'message_create', outcome: 'erased', detail: expect.stringMatching(/^DM of an erased requester dropped \(tombstone [0-9a-f]{12}\)$/) }]);
    expect((await h.intake(echo))[0]).toMatchObject({ outcome: 'erased' });
    // An agent answers from X's app after the erase: there is no requester to join it to.
    const late = dmDeliveryBody({ forUserId: '123', events: [{ senderId: '123', recipientId: '7001', text: 'bye', eventId: newEventId() }] });
    expect((await h.intake(late))[0]).toMatchObject({ outcome: 'echo', detail: expect.stringContaining('no open ticket for recipient 7001') });
    expect(await h.count('messages')).toBe(messages);
    // Someone else's redelivery is still a plain duplicate.
    expect((await h.intake(other))[0]).toMatchObject({ outcome: 'duplicate' });
  });

  it('drops a replay of a DM the Helper had taken, and a new DM opens a new conversation for a new requester', async () => {
    h = await engineIntakeHarness({ helper: true }, { tombstoneKey });
    await h.setParam(450, 'Y');
    const dm = inboundDm({ senderId: '7001', screenName: 'erasee', text: 'hi', eventId: newEventId() });
    expect((await h.intake(dm))[0]).toMatchObject({ outcome: 'helper' });
    const first = await requesterOf(h, '7001');
    await erase(h, '7001');
    const helperMessages = await h.count('helper_messages');
    expect((await h.intake(dm))[0]).toMatchObject({ outcome: 'erased' });
    expect(await h.count('helper_messages')).toBe(helperMessages);
    const again = (await h.intake(inboundDm({ senderId: '7001', screenName: 'erasee', text: 'hello', eventId: newEventId() })))[0]!;
    expect(again).toMatchObject({ outcome: 'helper' });
    expect(again.requester).not.toBe(first.id);
  });
});
