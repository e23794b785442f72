// Reconciling X Chat (issue 18): an encrypted customer message X never delivered (dropped before the
// webhook) is read back from the conversation's history (GET /2/chat/conversations/{id}/events),
// decrypted and verified like a delivery, and imported once, by the built `omni reconcile` and by
// the listener's reconcile loop; a message already delivered, and our own reply (chat.sent), are
// never doubled; a second run imports nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { updateInteraction } from '../../../src/db/interactions.js';
import { ACCOUNT_ID } from '../../support/twitter-fixtures.js';
import { waitFor } from '../../support/wait.js';
import { authorizedActivityAccount, CUSTOMER, messages, withDb } from '../../support/activity-account.js';

const closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const setup = (opts: { helper?: boolean } = {}) => authorizedActivityAccount(closers, opts);


describe('reconcile X Chat', () => {
  it('a dropped encrypted message comes back once through omni reconcile and through the listener loop; nothing delivered is doubled', async () => {
    const s = await setup();
    let l = await s.listen(['--reconcile-every', '0']);
    await withDb(s.dbPath, (db) => updateInteraction(db, s.id, { callback_url: l.url }));
    expect((await s.run(['webhook', 'register', String(s.id)])).code).toBe(0);
    const xs = await s.run(['interaction', 'xchat', 'setup', String(s.id)]);
    expect(xs.code, xs.stderr).toBe(0);

    const chat = await s.tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    chat.says('My parcel is late');
    await waitFor(async () => (await messages(s)).length === 1, 'the delivered message', 10_000);
    const ticket = (await messages(s))[0].ticket_id as number;
    expect((await s.run(['ticket', 'reply', String(ticket), 'Looking into it.'])).code).toBe(0);
    await waitFor(() => l.logs().some((x) => x.msg === 'delivery' && x.results?.some((r: any) => r.outcome === 'echo')), 'the chat.sent echo', 10_000);

    // X loses the next delivery: never attempted, never replayed.
    s.tw.x.dropNextDeliveries(1);
    chat.says('Still nothing 😟 order #77');
    const dropped = s.tw.x.deliveries.at(-1)!;
    expect(dropped.dropped).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(await messages(s)).toHaveLength(2);

    const dry = await s.run(['reconcile', String(s.id), '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).interactions[0].xchat).toMatchObject({ conversations: 1, new: 1, missing: [expect.objectContaining({ direction: 'inbound', senderId: CUSTOMER, text: 'Still nothing 😟 order #77' })] });
    expect(await messages(s)).toHaveLength(2);

    const first = await s.run(['reconcile', String(s.id), '--json']);
    expect(first.code, first.stderr).toBe(0);
    const one = JSON.parse(first.stdout).interactions[0];
    expect(one.xchat).toMatchObject({ conversations: 1, read: 3, new: 1, alreadyStored: 2, refused: 0, deferred: 0 });
    expect(one.new).toBe(1);
    expect((await messages(s)).map((m) => [m.ticket_id, m.direction, m.text])).toEqual([
      [ticket, 'inbound', 'My parcel is late'],
      [ticket, 'outbound', 'Looking into it.'],
      [ticket, 'inbound', 'Still nothing 😟 order #77'],
    ]);
    // The stored id is the signed message id, as a delivery stores it.
    expect(new Set((await messages(s)).map((m) => m.twitter_event_id)).size).toBe(3);

    const second = await s.run(['reconcile', String(s.id)]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr + second.stdout).toMatch(/new 0, already stored 3 \(of which X Chat: read 3, new 0\)/);
    expect(await messages(s)).toHaveLength(3);

    // The listener's loop: another message lost while it runs is brought in by its next run, once.
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    l = await s.listen(['--port', String(l.port), '--reconcile-every', '2s']);
    s.tw.x.dropNextDeliveries(1);
    chat.says('Hello? anyone there');
    await waitFor(async () => (await messages(s)).length === 4, 'the lost message, from the listener reconcile', 15_000);
    expect((await messages(s)).at(-1)).toMatchObject({ ticket_id: ticket, direction: 'inbound', text: 'Hello? anyone there' });
    await l.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith(`reconcile #${s.id}`) && x.chatNew === 1);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await messages(s)).toHaveLength(4);
    expect(await s.rows("SELECT count(*) AS n FROM webhook_events WHERE kind = 'chat_rejected'")).toEqual([{ n: 0 }]);
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 90_000);
});
