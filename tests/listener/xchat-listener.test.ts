// X Chat end to end (issue 16): the built CLI spawned against the fake X, whose customer X Chat app
// is built on the same SDK. An encrypted customer message opens a ticket with its text (webhook and
// --stream); `ticket reply` goes out encrypted and the customer's app decrypts it to the same text;
// a tampered event is refused and recorded (webhook_events, /metrics, doctor); a conversation-key
// rotation mid-conversation keeps working; a restart keeps the identity (no new registration); and
// no private key byte reaches the database file, its WAL, the logs or any output.
import { afterEach, describe, expect, it } from 'vitest';
import { updateInteraction } from '../../src/db/interactions.js';
import { loadSecretBox } from '../../src/secrets.js';
import { loadActiveXChatIdentity } from '../../src/xchat/store.js';
import { ACCOUNT_ID } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';
import { TEST_ENGINE, testSecretEnv } from '../support/engine.js';
import { storedBytes } from '../support/db-snapshot.js';
import { authorizedActivityAccount, CUSTOMER, messages, withDb, type ActivityAccount } from '../support/activity-account.js';

const closers: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const setup = (opts: { helper?: boolean } = {}) => authorizedActivityAccount(closers, opts);

/** No byte of the account's private key blob in the database (SQLite: the file and its WAL; PostgreSQL: any value), the logs or any output. */
async function expectNoKeyBytes(s: ActivityAccount) {
  const box = loadSecretBox(s.dbPath, testSecretEnv(s.dbPath));
  const blob = await withDb(s.dbPath, async (db) => {
    const identity = (await loadActiveXChatIdentity(db, box, s.id))!;
    try {
      return Buffer.from(identity.exportKeyBlob());
    } finally {
      identity.dispose();
    }
  });
  const text = [...s.outputs, ...s.listeners.flatMap((l) => [l.stdout(), l.stderr()])].join('\n');
  for (const enc of ['base64', 'hex', 'base64url'] as const) expect(text).not.toContain(blob.toString(enc));
  for (const bytes of await storedBytes(s.dbPath)) {
    expect(bytes.indexOf(blob)).toBe(-1);
    expect(bytes.indexOf(blob.subarray(0, 32))).toBe(-1);
    expect(bytes.indexOf(blob.subarray(32))).toBe(-1);
    expect(bytes.indexOf(Buffer.from(blob.toString('base64')))).toBe(-1);
  }
}

describe(`X Chat in omni listen (spawned CLI → fake X with a customer X Chat app) on ${TEST_ENGINE}`, () => {
  it('webhook: an encrypted message opens a ticket, the reply is read by the customer, a tampered event is refused and recorded, a key rotation and a restart keep working', async () => {
    const s = await setup();
    let l = await s.listen([]);
    await withDb(s.dbPath, (db) => updateInteraction(db, s.id, { callback_url: l.url }));
    const reg = await s.run(['webhook', 'register', String(s.id)]);
    expect(reg.code, reg.stderr).toBe(0);
    const hook = s.tw.x.webhooks()[0]!.id;

    const setupOut = await s.run(['interaction', 'xchat', 'setup', String(s.id), '--json']);
    expect(setupOut.code, setupOut.stderr).toBe(0);
    const setupJson = JSON.parse(setupOut.stdout);
    expect(setupJson.subscriptions).toMatchObject({ via: 'webhook', error: null });
    expect(setupJson.subscriptions.created.sort()).toEqual([`chat.received of user ${ACCOUNT_ID} to webhook ${hook}`, `chat.sent of user ${ACCOUNT_ID} to webhook ${hook}`]);
    expect(setupOut.stderr).toContain(`subscribed: chat.received of user ${ACCOUNT_ID} to webhook ${hook}`);
    expect(s.tw.x.activitySubscriptions().map((x) => x.eventType).sort()).toEqual(['chat.received', 'chat.sent', 'dm.received', 'dm.sent']);
    // webhook status counts chat.* among what the interaction needs.
    const status = await s.run(['webhook', 'status', String(s.id), '--json']);
    expect(JSON.stringify(JSON.parse(status.stdout))).toContain(`chat.received of user ${ACCOUNT_ID} to webhook ${hook}`);

    const chat = await s.tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    // X cannot give the customer's signing keys at first: not stored, answered 503, X retries it.
    s.tw.failNext({ method: 'GET', path: `/2/users/${CUSTOMER}/public_keys`, status: 503, times: 1 });
    chat.says('Hello, my order #42 never arrived 📦', {
      attachments: [{ attachment_type: 'media', media_hash_key: 'mhk-0123456789abcdef', width: 640, height: 480, filesize_bytes: 12345, filename: 'receipt.jpg' }],
    });
    await waitFor(async () => (await messages(s)).length === 1, 'the ticket of the encrypted message', 10_000);
    await l.waitForLog((x) => x.msg === 'delivery' && x.status === 200);
    expect(l.logs().filter((x) => x.msg === 'delivery' || x.msg === 'delivery rejected').map((x) => [x.status, x.reason ?? null])).toEqual([
      [503, expect.stringMatching(/^not stored yet: cannot read the participants' X Chat keys from X: .*; retry later$/)],
      [200, null],
    ]);
    const [first] = await messages(s);
    expect(first).toMatchObject({ direction: 'inbound', text: 'Hello, my order #42 never arrived 📦' });
    expect(JSON.parse(first.attachments)).toEqual([expect.objectContaining({ type: 'media', mediaHashKey: 'mhk-0123456789abcdef', filename: 'receipt.jpg', filesizeBytes: 12345 })]);
    expect(await s.rows('SELECT twitter_user_id FROM requesters')).toEqual([{ twitter_user_id: CUSTOMER }]);
    expect(await s.rows('SELECT peer_user_id, conversation_id FROM xchat_conversations')).toEqual([{ peer_user_id: CUSTOMER, conversation_id: chat.conversationId }]);
    const ticket = first.ticket_id as number;

    // The answer goes out encrypted; the customer's app decrypts it to the same text.
    const reply = await s.run(['ticket', 'reply', String(ticket), 'We found it: it ships tomorrow.']);
    expect(reply.code, reply.stderr).toBe(0);
    expect(chat.reads()).toEqual([expect.objectContaining({ text: 'We found it: it ships tomorrow.', rejected: null })]);
    expect(s.tw.requestsTo('POST', '/2/dm_conversations/with/' + CUSTOMER + '/messages')).toEqual([]);
    // Its chat.sent echo comes back through the webhook and is linked to the outbound message, not stored twice.
    await waitFor(() => l.logs().some((x) => x.msg === 'delivery' && x.results?.some((r: any) => r.outcome === 'echo')), 'the chat.sent echo', 10_000);
    expect((await messages(s)).map((m) => [m.direction, m.text])).toEqual([
      ['inbound', 'Hello, my order #42 never arrived 📦'],
      ['outbound', 'We found it: it ships tomorrow.'],
    ]);
    expect((await messages(s))[1].twitter_event_id).toBe(chat.reads()[0]!.messageId);

    // A tampered event: answered 200 (a retry cannot make it verify), refused, recorded, counted, shown by doctor.
    chat.saysTampered('Please send the refund to my other account');
    await waitFor(() => l.logs().some((x) => x.msg === 'delivery' && x.results?.some((r: any) => r.outcome === 'rejected')), 'the refusal', 10_000);
    const refused = l.logs().find((x) => x.msg === 'delivery' && x.results?.some((r: any) => r.outcome === 'rejected'))!;
    expect(refused).toMatchObject({ status: 200, results: [expect.objectContaining({ event: 'chat.received', outcome: 'rejected', detail: expect.stringMatching(/^bad_signature: /) })] });
    expect(await messages(s)).toHaveLength(2);
    const metrics = await (await fetch(`${l.url}/metrics`)).text();
    expect(metrics).toContain('omni_xchat_rejected_total{reason="bad_signature"} 1');
    expect(metrics).toMatch(/omni_xchat_events_total\{result="message"\} [1-9]/);
    await waitFor(async () => (await s.rows("SELECT result FROM webhook_events WHERE kind = 'chat_rejected'")).length > 0, 'the refusal recorded', 10_000);
    expect(await s.rows("SELECT result, detail FROM webhook_events WHERE kind = 'chat_rejected'")).toEqual([{ result: 'bad_signature', detail: expect.stringContaining('chat.received') }]);
    const doctor = JSON.parse((await s.run(['doctor', String(s.id), '--offline', '--json'])).stdout) as { checks: Array<{ id: string; status: string; detail: string }> };
    expect(doctor.checks.find((c) => c.id === 'xchat')!.detail).toContain('1 X Chat event refused in the last 24 h (bad_signature: 1)');

    // The customer's app rotates the conversation key mid-conversation: both ways keep working.
    chat.rotatesKey();
    chat.says('Thanks! Any tracking number?', { withKeyChange: true });
    await waitFor(async () => (await messages(s)).length === 3, 'the message under the new key', 10_000);
    expect((await messages(s))[2]).toMatchObject({ ticket_id: ticket, direction: 'inbound', text: 'Thanks! Any tracking number?' });
    expect((await s.run(['ticket', 'reply', String(ticket), 'Tracking: ZX-981.'])).code).toBe(0);
    expect(chat.reads().at(-1)).toMatchObject({ text: 'Tracking: ZX-981.', rejected: null });
    expect(chat.reads().at(-1)!.conversationKeyVersion).not.toBe(chat.reads()[0]!.conversationKeyVersion);

    // A restart (same address, as behind a proxy) keeps the identity: no new registration, the stored
    // conversation keys still read.
    const port = l.port;
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    l = await s.listen(['--port', String(port)]);
    chat.says('Got it, thank you.');
    await waitFor(async () => (await messages(s)).length === 5, 'the message after the restart', 10_000);
    expect((await messages(s)).at(-1)).toMatchObject({ ticket_id: ticket, text: 'Got it, thank you.' });
    expect(s.tw.x.chatPublicKeys(ACCOUNT_ID)).toHaveLength(1);
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await expectNoKeyBytes(s);
  }, 60_000);

  it('--stream: subscribes chat.* with dm.*, an encrypted message opens a ticket, the reply reaches the customer', async () => {
    const s = await setup();
    const setupOut = await s.run(['interaction', 'xchat', 'setup', String(s.id)]);
    expect(setupOut.code, setupOut.stderr).toBe(0);
    // Neither a webhook nor the stream in use yet: nothing subscribed, and it says how.
    expect(setupOut.stderr).toContain(`not subscribed to chat.received/chat.sent yet: omni webhook register ${s.id} (or omni listen --stream) subscribes chat.* with dm.*`);
    const l = await s.listen(['--stream']);
    await l.waitForLog((x) => x.msg?.startsWith('stream connected'));
    expect(s.tw.x.activitySubscriptions().filter((x) => x.filter.user_id === ACCOUNT_ID).map((x) => [x.eventType, x.webhookId ?? null]).sort()).toEqual([
      ['chat.received', null],
      ['chat.sent', null],
      ['dm.received', null],
      ['dm.sent', null],
    ]);
    const chat = await s.tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    chat.says('Is the shop open on Sunday?');
    await waitFor(async () => (await messages(s)).length === 1, 'the ticket from the stream', 10_000);
    expect((await messages(s))[0]).toMatchObject({ direction: 'inbound', text: 'Is the shop open on Sunday?' });
    // The log line is written after the commit: waited for, not assumed.
    expect(await l.waitForLog((x) => x.msg === 'delivery' && x.source === 'stream')).toMatchObject({ status: 200, results: [expect.objectContaining({ outcome: 'new_ticket', sender: CUSTOMER })] });
    const reply = await s.run(['ticket', 'reply', String((await messages(s))[0].ticket_id), 'Yes, 10:00 to 16:00.']);
    expect(reply.code, reply.stderr).toBe(0);
    expect(chat.reads()).toEqual([expect.objectContaining({ text: 'Yes, 10:00 to 16:00.', rejected: null })]);
    chat.saysTampered('forged');
    await waitFor(() => l.logs().some((x) => x.msg === 'delivery' && x.source === 'stream' && x.results?.some((r: any) => r.outcome === 'rejected')), 'the refusal on the stream', 10_000);
    expect((await messages(s)).filter((m) => m.text === 'forged')).toEqual([]);
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(async () => (await s.rows("SELECT result FROM webhook_events WHERE kind = 'chat_rejected'")).length > 0, 'the refusal recorded', 10_000);
    await expectNoKeyBytes(s);
  }, 60_000);

  it('the Helper answers an encrypted first message encrypted, in the same X Chat conversation', async () => {
    const s = await setup({ helper: true });
    expect((await s.run(['param', 'set', '450', 'Y'])).code).toBe(0);
    expect((await s.run(['interaction', 'xchat', 'setup', String(s.id)])).code).toBe(0);
    const l = await s.listen(['--stream']);
    await l.waitForLog((x) => x.msg?.startsWith('stream connected'));
    const chat = await s.tw.x.customerChat({ userId: CUSTOMER, supportUserId: ACCOUNT_ID });
    chat.says('hello');
    const menu = await waitFor(() => chat.reads()[0], 'the Helper menu at the customer', 10_000);
    expect(menu).toMatchObject({ rejected: null, text: expect.stringContaining("Hi! I'm the virtual assistant. How can I help you?") });
    expect(menu.text).toContain('Talk to an attendant');
    expect(s.tw.requestsTo('POST', /^\/2\/dm_conversations\//)).toEqual([]);
    await waitFor(async () => (await s.rows("SELECT status FROM outbox WHERE status = 'sent'")).length === 1, 'the outbox row marked sent', 10_000);
    expect(await s.rows('SELECT status, twitter_dm_id FROM outbox')).toEqual([{ status: 'sent', twitter_dm_id: menu.messageId }]);
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 60_000);
});
