// The outbox against the fake Twitter, in process, on this run's engine: delivery through the real
// gateway and the real worker, quick replies, the DM id linked so the echo matches, rate limits,
// permanent failures, retry. And on SQLite the store's claims shared by two connections on one file
// (PostgreSQL's claims across pools: pg-claims.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { claimOutboxById, createOutboxStore, outboxRow, retryOutbox } from '../../src/db/outbox.js';
import { outboxClaim } from '../../src/db/step-runner.js';
import { loadSecretBox } from '../../src/secrets.js';
import { createTwitterGateway } from '../../src/twitter/gateway.js';
import { queueTicketDm, queueTicketDmStep } from '../../src/outbox/queue.js';
import { startOutboxWorker } from '../../src/outbox/worker.js';
import type { Poller } from '../../src/outbox/poller.js';
import { engineIntakeHarness, intakeHarness, stepRunner, type EngineIntakeHarness, type IntakeHarness } from '../support/intake.js';
import { dmDeliveryBody, newEventId } from '../support/deliveries.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { memoryLog, waitFor } from '../support/wait.js';
import { TEST_ENGINE, testSecretEnv } from '../support/engine.js';
import { queryRows } from '../support/rows.js';

const DM_PATH = '/1.1/direct_messages/events/new.json';
let h: EngineIntakeHarness | undefined;
let sh: IntakeHarness | undefined;
let tw: FakeTwitter | undefined;
let worker: Poller | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await tw?.close();
  tw = undefined;
  await h?.close();
  h = undefined;
  await sh?.close();
  sh = undefined;
});

async function setup() {
  tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
  h = await engineIntakeHarness({ accountUserId: ACCOUNT_ID });
  return { tw, h };
}

function startWorker(x: EngineIntakeHarness, fake: FakeTwitter, opts: { leaseMs?: number } = {}) {
  const log = memoryLog();
  worker = startOutboxWorker({
    db: x.db,
    box: async () => loadSecretBox(x.dbPath, testSecretEnv(x.dbPath)),
    twitter: async (c, o) => createTwitterGateway(c, { baseUrl: fake.url, timeoutMs: 2_000, ...o }),
    log,
    pollMs: 20,
    retryBaseMs: 50,
    leaseMs: opts.leaseMs ?? 10_000,
  });
  return log;
}

const inbound = (sender: string) =>
  dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: sender, recipientId: ACCOUNT_ID, text: `help from ${sender}`, eventId: newEventId() }] });

/** An inbound DM from `sender` opens a ticket; returns its id. */
async function openTicket(x: EngineIntakeHarness, sender: string): Promise<number> {
  const [r] = await x.intake(inbound(sender));
  return r!.ticket!;
}

const ticketDm = (x: { interactionId: number }, ticket: number, recipient: string, text: string, options?: Array<{ label: string; metadata?: string }>) => ({
  ticketId: ticket, interactionId: x.interactionId, recipientTwitterId: recipient, accountTwitterId: ACCOUNT_ID, text, now: new Date().toISOString(), ...(options ? { options } : {}),
});

/** Queues a ticket DM as `omni ticket reply` does, through the engine's stores. */
function reply(x: EngineIntakeHarness, ticket: number, recipient: string, text: string, options?: Array<{ label: string; metadata?: string }>) {
  return stepRunner(x.db)(queueTicketDmStep(ticketDm(x, ticket, recipient, text, options)));
}

const row = async (x: EngineIntakeHarness, id: number) => (await outboxRow(x.db.kysely, id))!;

describe(`outbox delivery on ${TEST_ENGINE}`, () => {
  it('sends a queued reply with quick replies, stores the DM id on the message, and links the echo instead of storing it twice', async () => {
    const { tw, h } = await setup();
    const ticket = await openTicket(h, '11');
    const { row: queued, messageId } = await reply(h, ticket, '11', 'Which one?', [{ label: 'Red', metadata: 'red' }, { label: 'Blue' }]);
    startWorker(h, tw);
    await waitFor(async () => (await row(h, queued.id)).status === 'sent', 'the DM to be sent');
    expect(tw.state.sentDms).toHaveLength(1);
    const sent = tw.state.sentDms[0]!;
    expect(sent).toMatchObject({ recipientId: '11', senderId: ACCOUNT_ID, text: 'Which one?', quickReply: { type: 'options', options: [{ label: 'Red', metadata: 'red' }, { label: 'Blue' }] } });
    expect(await row(h, queued.id)).toMatchObject({ status: 'sent', attempts: 1, twitter_dm_id: sent.id, last_error: null });
    expect(await queryRows(h.db, 'SELECT twitter_event_id, direction FROM messages WHERE id = ?', messageId)).toEqual([{ twitter_event_id: sent.id, direction: 'outbound' }]);

    const before = await h.count('messages');
    const echo = JSON.stringify({ for_user_id: ACCOUNT_ID, direct_message_events: [sent.event] });
    expect(await h.intake(echo)).toEqual([expect.objectContaining({ outcome: 'echo', ticket, message: messageId, detail: `matches message ${messageId}` })]);
    expect(await h.count('messages')).toBe(before);
  });

  it('completes a row from its echo when the process died between Twitter\'s 200 and the commit, so it is not sent again', async () => {
    const { tw, h } = await setup();
    const ticket = await openTicket(h, '11');
    const { row: queued, messageId } = await reply(h, ticket, '11', 'We refunded you.');
    // A process claims the row and sends it, then dies before recording the answer.
    const now = new Date();
    const claimed = (await claimOutboxById(h.db.kysely, queued.id, now.toISOString(), new Date(now.getTime() + 60_000).toISOString()))!;
    const gw = createTwitterGateway({ apiKey: 'test-api-key-AAAA', apiSecretKey: 'DDD', accessToken: '123-test-access-token-BBBB', accessTokenSecret: 'test-access-token-secret-CCCC' }, { baseUrl: tw.url });
    const dm = await gw.sendDirectMessage('11', claimed.text);
    // Twitter's echo reaches the listener: it matches the one row in flight to that person with that text.
    const [echo] = await h.intake(JSON.stringify({ for_user_id: ACCOUNT_ID, direct_message_events: [tw.state.sentDms[0]!.event] }));
    expect(echo).toMatchObject({ outcome: 'echo', ticket, message: messageId, detail: `confirms outbox #${queued.id} (sent before its answer was recorded)` });
    expect(await row(h, queued.id)).toMatchObject({ status: 'sent', twitter_dm_id: dm.id });
    // Even once the lease has run out, nothing is due: the DM is not sent a second time.
    expect(await outboxClaim(h.db)(new Date(now.getTime() + 120_000).toISOString(), new Date(now.getTime() + 180_000).toISOString())).toBeUndefined();
    expect(await queryRows(h.db, 'SELECT count(*) AS n FROM messages WHERE direction = ?', 'outbound')).toEqual([{ n: 1 }]);
  });

  it('waits for the rate-limit reset after a 429, then sends everything', async () => {
    const { tw, h } = await setup();
    const t1 = await openTicket(h, '11');
    const t2 = await openTicket(h, '22');
    const resetSec = Math.ceil(Date.now() / 1000) + 2;
    // Both rows are in flight at once (the worker sends up to 4 in parallel): both are refused. The
    // refusals take a second (still before the reset), so the second row is claimed before the first
    // one's verdict on an engine whose claims are awaited too (PostgreSQL), even on a loaded machine.
    tw.failNext({ method: 'POST', path: DM_PATH, status: 429, errors: [{ code: 88, message: 'Rate limit exceeded' }], headers: { 'x-rate-limit-reset': String(resetSec) }, times: 2, failAfterMs: 1_000 });
    const a = (await reply(h, t1, '11', 'first')).row;
    const b = (await reply(h, t2, '22', 'second')).row;
    const log = startWorker(h, tw);
    await waitFor(async () => (await row(h, a.id)).status === 'sent' && (await row(h, b.id)).status === 'sent', 'both DMs', 10_000);
    const posts = tw.requestsTo('POST', DM_PATH);
    expect(posts.map((p) => p.status)).toEqual([429, 429, 200, 200]);
    // The attempts after the refusals came after the announced reset.
    for (const p of posts.slice(2)) expect(Date.parse(p.at)).toBeGreaterThanOrEqual(resetSec * 1000);
    expect([(await row(h, a.id)).attempts, (await row(h, b.id)).attempts]).toEqual([2, 2]);
    expect(tw.state.sentDms.map((d) => d.text).sort()).toEqual(['first', 'second']);
    expect(log.lines.some((l) => l.level === 'warn' && /rate limit/i.test(l.message) && l.message.includes(new Date(resetSec * 1000).toISOString().slice(0, 19)))).toBe(true);
  });

  it('retries a transient failure with backoff, keeping per-recipient order', async () => {
    const { tw, h } = await setup();
    const t = await openTicket(h, '11');
    tw.failNext({ method: 'POST', path: DM_PATH, status: 503, errors: [{ code: 130, message: 'Over capacity' }] });
    const a = (await reply(h, t, '11', 'one')).row;
    const b = (await reply(h, t, '11', 'two')).row;
    startWorker(h, tw);
    await waitFor(async () => (await row(h, b.id)).status === 'sent', 'both DMs');
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['one', 'two']);
    expect(await row(h, a.id)).toMatchObject({ attempts: 2, last_error_kind: 'unavailable' });
  });

  it('fails for good when the requester does not accept DMs (349), with the reason; retry sends it once fixed; other requesters are not held up', async () => {
    const { tw, h } = await setup();
    const t1 = await openTicket(h, '11');
    const t2 = await openTicket(h, '22');
    tw.failNext({ method: 'POST', path: DM_PATH, status: 403, errors: [{ code: 349, message: 'You cannot send messages to this user.' }] });
    const a = (await reply(h, t1, '11', 'to the closed door')).row;
    const b = (await reply(h, t2, '22', 'to the open door')).row;
    const log = startWorker(h, tw);
    await waitFor(async () => (await row(h, a.id)).status === 'failed' && (await row(h, b.id)).status === 'sent', 'one failed, one sent');
    expect(await row(h, a.id)).toMatchObject({ attempts: 1, last_error_kind: 'recipient-refused', last_error: expect.stringContaining('Twitter will not deliver this direct message (HTTP 403, Twitter code 349)') });
    expect((await row(h, a.id)).last_error).toContain('does not accept DMs');
    expect(log.lines.find((l) => l.level === 'error')).toMatchObject({ fields: { hint: `after fixing it: omni outbox retry ${a.id}` } });
    expect(await retryOutbox(h.db.kysely, a.id, new Date().toISOString())).toBe('retried');
    expect(await retryOutbox(h.db.kysely, b.id, new Date().toISOString())).toBe('not-failed');
    expect(await retryOutbox(h.db.kysely, 999, new Date().toISOString())).toBe('missing');
    await waitFor(async () => (await row(h, a.id)).status === 'sent', 'the retried DM');
    expect((await row(h, a.id)).attempts).toBe(2);
  });

  it.each([
    ['the app lacks DM permission (93)', { status: 403, errors: [{ code: 93, message: 'This application is not allowed to access or delete your direct messages.' }] }, 'dm-permission'],
    ['the access token is invalid (89)', { status: 401, errors: [{ code: 89, message: 'Invalid or expired token.' }] }, 'credentials'],
    ['the signature does not match (32)', { status: 401, errors: [{ code: 32, message: 'Could not authenticate you.' }] }, 'credentials'],
  ])('fails for good when %s', async (_name, failure, kind) => {
    const { tw, h } = await setup();
    const t = await openTicket(h, '11');
    tw.failNext({ method: 'POST', path: DM_PATH, ...failure });
    const a = (await reply(h, t, '11', 'hello')).row;
    startWorker(h, tw);
    await waitFor(async () => (await row(h, a.id)).status === 'failed', 'the failure');
    expect(await row(h, a.id)).toMatchObject({ attempts: 1, last_error_kind: kind });
    expect((await row(h, a.id)).last_error).toContain('omni interaction edit');
  });

  it('fails without calling Twitter when the account revoked the app', async () => {
    const { tw, h } = await setup();
    const t = await openTicket(h, '11');
    await h.db.kysely.updateTable('interactions').set({ revoked_at: '2030-01-01T00:00:00.000Z' }).where('id', '=', h.interactionId).execute();
    const a = (await reply(h, t, '11', 'hello')).row;
    startWorker(h, tw);
    await waitFor(async () => (await row(h, a.id)).status === 'failed', 'the failure');
    expect(await row(h, a.id)).toMatchObject({ last_error_kind: 'revoked', last_error: expect.stringContaining('revoked') });
    expect(tw.requestsTo('POST', DM_PATH)).toHaveLength(0);
  });
});

describe.runIf(TEST_ENGINE === 'sqlite')('outbox claims of the SQLite store', () => {
  it('never hands one row to two connections, keeps per-recipient order, and takes an expired lease back with a fence', async () => {
    const h = (sh = await intakeHarness({ accountUserId: ACCOUNT_ID }));
    const openTicket = (sender: string) => h.intake(inbound(sender))[0]!.ticket!;
    const reply = (ticket: number, recipient: string, text: string) => queueTicketDm(h.outbox, ticketDm(h, ticket, recipient, text));
    const t1 = openTicket('11');
    const t2 = openTicket('22');
    const a1 = reply(t1, '11', 'a1').row;
    const a2 = reply(t1, '11', 'a2').row;
    const b1 = reply(t2, '22', 'b1').row;
    const other = await openDatabase(h.dbPath);
    try {
      const second = createOutboxStore(other.sqlite);
      const now = new Date();
      const iso = now.toISOString();
      const lease = new Date(now.getTime() + 60_000).toISOString();
      const first = h.outbox.claimNext(iso, lease);
      const next = second.claimNext(iso, lease);
      expect([first?.id, next?.id]).toEqual([a1.id, b1.id]);
      // a2 waits behind a1 (same person): nobody may claim it yet.
      expect(h.outbox.claimNext(iso, lease)).toBeUndefined();
      expect(second.claimById(a1.id, iso, lease)).toBeUndefined();
      // The first holder dies. When its lease ends, the row is due again, for the other connection.
      const later = new Date(now.getTime() + 61_000);
      const taken = second.claimNext(later.toISOString(), new Date(later.getTime() + 60_000).toISOString());
      expect(taken).toMatchObject({ id: a1.id, attempts: 2 });
      // The stale holder's verdict no longer counts (attempt 1 is fenced off); the new holder's does.
      expect(h.outbox.markRetry(a1.id, 1, 'late', 'timeout', later.toISOString(), later.toISOString())).toBe(false);
      expect(second.markSent(a1.id, '777', later.toISOString(), later.toISOString())).toMatchObject({ result: 'sent' });
      expect(h.outbox.claimNext(later.toISOString(), lease)).toMatchObject({ id: a2.id });
      expect(h.outbox.counts()).toEqual({ pending: 0, sending: 2, failed: 0, oldestUnsentAt: a2.created_at });
      // A rate limit defers every pending row of the interaction to the reset.
      const c1 = reply(t2, '22', 'c1').row;
      const reset = new Date(now.getTime() + 900_000).toISOString();
      expect(h.outbox.deferInteraction(h.interactionId, reset, iso)).toBe(1);
      expect(h.outbox.get(c1.id)!.next_attempt_at).toBe(reset);
    } finally {
      await other.close();
    }
  });
});
