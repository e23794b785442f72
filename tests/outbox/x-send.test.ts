// Sending on X's API of 2026 (interactions on `activity`/`v2`): the built CLI's `ticket reply` and the
// listener's outbox worker post to the fake X's /2/dm_conversations/with/{id}/messages with the
// account's OAuth 2.0 user token; an expired token is refreshed once (the rotated pair stored, the old
// refresh token refused by X); a revoked authorization keeps the rows queued with one loud line; a 429
// makes the interaction wait for x-rate-limit-reset; quick replies become a numbered menu the Helper
// reads back.
import { afterEach, describe, expect, it } from 'vitest';
import { getOAuthToken } from '../../src/db/oauth-tokens.js';
import { loadSecretBox } from '../../src/secrets.js';
import { startOutboxWorker } from '../../src/outbox/worker.js';
import { createXSenderFactory } from '../../src/outbox/x-sender.js';
import { numberedMenu, NUMBERED_MENU_PROMPT } from '../../src/outbox/options.js';
import { queueTicketDmStep } from '../../src/outbox/queue.js';
import { outboxRow } from '../../src/db/outbox.js';
import { AUTHORIZATION_WAIT_MS, judgeSendError } from '../../src/outbox/policy.js';
import { TwitterError } from '../../src/twitter/errors.js';
import { DM_MAX_LENGTH } from '../../src/parameters.js';
import type { Poller } from '../../src/outbox/poller.js';
import { storeAuthorization, TOKEN_FIELDS } from '../../src/twitter/user-token.js';
import { createTwitterGateway } from '../../src/twitter/gateway.js';
import { MENU_OPTIONS, LABELS } from '../../src/chatbot/builtin.js';
import { startChatbotWorker } from '../../src/chatbot/worker.js';
import { startFakeHelper } from '../support/fake-helper.js';
import { runCli } from '../support/cli.js';
import { engineIntakeHarness, stepRunner, type EngineIntakeHarness } from '../support/intake.js';
import { TEST_ENGINE, testSecretEnv } from '../support/engine.js';
import { tempDir } from '../support/tmp.js';
import { dmDeliveryBody, newEventId } from '../support/deliveries.js';
import { startFakeTwitter, type FakeTwitter, type FakeTwitterOptions } from '../support/fake-twitter.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { memoryLog, waitFor } from '../support/wait.js';

const DM_V2 = /^\/2\/dm_conversations\/with\/\d+\/messages$/;
const CUSTOMER = '11';
let h: EngineIntakeHarness | undefined;
let home: string | undefined;
let tw: FakeTwitter | undefined;
let worker: Poller | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await tw?.close();
  tw = undefined;
  await h?.close();
  h = undefined;
  home = undefined;
});

/** An `activity` interaction authorized for ACCOUNT_ID (client id stored, a fresh token pair), and one open ticket. */
async function setup(opts: { x?: FakeTwitterOptions['x']; helper?: boolean; api?: 'activity' | 'v2' } = {}) {
  tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: 'cid', redirectUris: [] }], ...opts.x } });
  h = await engineIntakeHarness({ accountUserId: ACCOUNT_ID, ...(opts.helper ? { helper: true } : {}) });
  const box = loadSecretBox(h.dbPath, testSecretEnv(h.dbPath));
  await h.db.kysely.updateTable('interactions').set({ api: opts.api ?? 'activity', client_id_enc: box.encrypt('cid', 'client_id_enc') }).where('id', '=', h.interactionId).execute();
  const issued = tw.x.issueTokens(ACCOUNT_ID);
  await storeAuthorization(
    h.db.kysely,
    box,
    h.interactionId,
    { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + 7200_000).toISOString(), scopes: issued.scope },
    { userId: ACCOUNT_ID, username: 'acme_support', name: null },
  );
  if (!opts.helper) {
    await h.intake(dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: CUSTOMER, recipientId: ACCOUNT_ID, text: 'where is my order?', eventId: newEventId() }], users: { [CUSTOMER]: { name: 'Ann', screenName: 'ann' } } }));
  }
  return { tw, h, box, issued };
}

const omni = (args: string[]) =>
  runCli(['--db', h!.dbPath, ...args], { env: { HOME: (home ??= tempDir()), ...testSecretEnv(h!.dbPath), OMNI_TWITTER_API_URL: tw!.url, OMNI_TWITTER_TIMEOUT_MS: '3000' } });

function startWorker(x: EngineIntakeHarness, fake: FakeTwitter, clock?: () => Date) {
  const log = memoryLog();
  worker = startOutboxWorker({
    db: x.db,
    box: async () => loadSecretBox(x.dbPath, testSecretEnv(x.dbPath)),
    twitter: async (c, o) => createTwitterGateway(c, { baseUrl: fake.url, timeoutMs: 2_000, ...o }),
    x: createXSenderFactory({ db: async () => x.db.kysely, baseUrl: fake.url, timeoutMs: 2_000 }),
    log,
    pollMs: 20,
    retryBaseMs: 50,
    leaseMs: 10_000,
    ...(clock ? { clock } : {}),
  });
  return log;
}

/** Queues a reply on ticket 1 as `omni ticket reply` does, through the engine's stores. */
const reply = (x: EngineIntakeHarness, text: string) =>
  stepRunner(x.db)(queueTicketDmStep({ ticketId: 1, interactionId: x.interactionId, recipientTwitterId: CUSTOMER, accountTwitterId: ACCOUNT_ID, text, now: new Date().toISOString() }));
const outbox = async (x: EngineIntakeHarness, id: number) => (await outboxRow(x.db.kysely, id))!;

describe(`sending on X API 2026, on ${TEST_ENGINE}`, () => {
  it('ticket reply (built CLI) posts to the v2 DM endpoint with the user token; the dm_event_id is the sent id and its echo links', async () => {
    const { tw, h } = await setup();
    const r = await omni(['ticket', 'reply', '1', 'It ships today.']);
    expect(r.code, r.stderr).toBe(0);
    const posts = tw.requestsTo('POST', DM_V2);
    expect(posts.map((p) => [p.path, p.auth?.type, p.status])).toEqual([[`/2/dm_conversations/with/${CUSTOMER}/messages`, 'oauth2', 201]]);
    expect(JSON.parse(posts[0]!.body)).toEqual({ text: 'It ships today.' });
    expect(tw.requestsTo('POST', '/1.1/direct_messages/events/new.json')).toEqual([]);
    const sent = tw.x.dmEvents.filter((e) => e.via === 'api');
    expect(sent).toEqual([expect.objectContaining({ senderId: ACCOUNT_ID, recipientId: CUSTOMER, text: 'It ships today.' })]);
    expect(r.stderr).toContain(`delivered (outbox #1, DM ${sent[0]!.id})`);
    expect(await outbox(h, 1)).toMatchObject({ status: 'sent', twitter_dm_id: sent[0]!.id });
    // The dm.sent echo carries the same event id: linked to the reply, not stored again.
    const before = await h.count('messages');
    const echo = dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: ACCOUNT_ID, recipientId: CUSTOMER, text: 'It ships today.', eventId: sent[0]!.id }] });
    expect(await h.intake(echo)).toEqual([expect.objectContaining({ outcome: 'echo', ticket: 1 })]);
    expect(await h.count('messages')).toBe(before);
  });

  it('an expired access token is refreshed once; the rotated pair is stored and X refuses the old refresh token', async () => {
    const { tw, h, box, issued } = await setup();
    tw.x.expireAccessTokens(ACCOUNT_ID);
    const r = await omni(['ticket', 'reply', '1', 'Still there?']);
    expect(r.code, r.stderr).toBe(0);
    expect(tw.requestsTo('POST', DM_V2).map((p) => p.status)).toEqual([401, 201]);
    expect(tw.requestsTo('POST', '/2/oauth2/token')).toHaveLength(1);
    const row = (await getOAuthToken(h.db.kysely, h.interactionId))!;
    const stored = box.decrypt(row.refresh_token_enc!, TOKEN_FIELDS.refresh);
    expect(stored).not.toBe(issued.refresh_token);
    expect(tw.x.isRefreshTokenValid(stored)).toBe(true);
    expect(tw.x.isRefreshTokenValid(issued.refresh_token!)).toBe(false);
    expect(tw.x.liveRefreshTokens(ACCOUNT_ID)).toBe(1);
    expect(row.lost_at).toBeNull();
    expect(await outbox(h, 1)).toMatchObject({ status: 'sent' });
  });

  it('a revoked user: authorization lost, the reply stays queued (CLI and worker), one loud line with the fix, sent once authorized again', async () => {
    const { tw, h, box } = await setup();
    tw.x.revokeUser(ACCOUNT_ID);
    const r = await omni(['ticket', 'reply', '1', 'Sorry for the wait.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('not delivered yet');
    expect(r.stderr).toContain(`omni interaction authorize ${h.interactionId}`);
    expect(r.stderr).toContain('stays queued as outbox #1');
    expect(await outbox(h, 1)).toMatchObject({ status: 'pending', last_error_kind: 'authorization-lost' });
    expect((await getOAuthToken(h.db.kysely, h.interactionId))!.lost_at).not.toBeNull();
    const posts = tw.requestsTo('POST', DM_V2).length;

    // The listener's worker: a second reply waits too; one error line, no calls to X while lost.
    await reply(h, 'Second reply.');
    let offset = AUTHORIZATION_WAIT_MS + 1_000;
    const log = startWorker(h, tw, () => new Date(Date.now() + offset));
    await waitFor(() => log.lines.some((l) => l.level === 'error'), 'the authorization-lost line');
    await new Promise((r) => setTimeout(r, 300));
    const errors = log.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain(`interaction ${h.interactionId}: X authorization lost, its DMs wait in the outbox (nothing is lost)`);
    expect(errors[0]!.message).toContain(`fix: omni interaction authorize ${h.interactionId}`);
    expect(tw.requestsTo('POST', DM_V2)).toHaveLength(posts);
    expect([(await outbox(h, 1)).status, (await outbox(h, 2)).status]).toEqual(['pending', 'pending']);

    // Authorized again: the next look (a minute later) sends both, in order.
    const issued = tw.x.issueTokens(ACCOUNT_ID);
    await storeAuthorization(h.db.kysely, box, h.interactionId, { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + 7200_000).toISOString(), scopes: issued.scope }, { userId: ACCOUNT_ID, username: 'acme_support', name: null });
    offset += AUTHORIZATION_WAIT_MS + 1_000;
    await waitFor(async () => (await outbox(h, 2)).status === 'sent', 'both replies to be sent');
    expect(tw.x.dmEvents.filter((e) => e.via === 'api').map((e) => e.text)).toEqual(['Sorry for the wait.', 'Second reply.']);
  });

  it('429: the interaction waits until x-rate-limit-reset, without a tight loop, and then sends', async () => {
    const { tw, h } = await setup({ x: { dmSendLimit: { limit: 1, windowMs: 2_000 } } });
    await reply(h, 'one');
    await reply(h, 'two');
    const log = startWorker(h, tw);
    await waitFor(async () => (await outbox(h, 2)).last_error_kind === 'rate-limited', 'the 429');
    const limited = tw.requestsTo('POST', DM_V2).find((p) => p.status === 429)!;
    const row = await outbox(h, 2);
    expect(row.status).toBe('pending');
    expect(Date.parse(row.next_attempt_at)).toBeGreaterThanOrEqual(Date.parse(limited.at));
    await new Promise((r) => setTimeout(r, 400));
    // One 429, then quiet until the reset.
    expect(tw.requestsTo('POST', DM_V2).map((p) => p.status)).toEqual([201, 429]);
    await waitFor(async () => (await outbox(h, 2)).status === 'sent', 'the second DM after the reset', 6_000);
    const last = tw.requestsTo('POST', DM_V2).at(-1)!;
    expect(Date.parse(last.at)).toBeGreaterThanOrEqual(Date.parse(row.next_attempt_at) - 1_000);
    expect(tw.requestsTo('POST', DM_V2).map((p) => p.status)).toEqual([201, 429, 201]);
    expect(log.lines.some((l) => l.level === 'warn' && l.message.includes('retrying at'))).toBe(true);
  });

  it('quick replies go out as a numbered menu, and the Helper reads a typed number as that option', async () => {
    const { tw, h } = await setup({ helper: true });
    await h.setParam(450, 'Y');
    const dm = (text: string) => h.intake(dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: CUSTOMER, recipientId: ACCOUNT_ID, text, eventId: newEventId() }] }));
    await dm('hi');
    startWorker(h, tw);
    await waitFor(() => tw.x.dmEvents.some((e) => e.via === 'api'), 'the greeting');
    const greeting = tw.x.dmEvents.find((e) => e.via === 'api')!;
    expect(greeting.text).toBe(numberedMenu("Hi! I'm the virtual assistant. How can I help you?", MENU_OPTIONS));
    expect(greeting.text).toContain(`\n\n1. ${LABELS.open}\n2. ${LABELS.talk}\n3. ${LABELS.status}\n\n${NUMBERED_MENU_PROMPT}`);
    // "1" opens a request: the Helper asks for a description with one option, "1. Back to the menu".
    await dm('1');
    await waitFor(() => tw.x.dmEvents.filter((e) => e.via === 'api').length === 2, 'the description prompt');
    expect(tw.x.dmEvents.filter((e) => e.via === 'api')[1]!.text).toContain(`1. ${LABELS.menu}`);
    // "1" now is the first option of THAT menu (back to the menu), not "open a request" again.
    await dm('1');
    await waitFor(() => tw.x.dmEvents.filter((e) => e.via === 'api').length === 3, 'the menu again');
    expect(tw.x.dmEvents.filter((e) => e.via === 'api')[2]!.text).toContain(`2. ${LABELS.talk}`);
    // "2." is the second option: talk to an attendant, a ticket opens.
    expect(await h.count('tickets')).toBe(0);
    expect(await dm('2.')).toEqual([expect.objectContaining({ ticket: 1 })]);
    expect(await h.count('tickets')).toBe(1);
  });

  it("the external Helper's buttons too: a number picks the button of the Helper's last answer, even when a plain message follows it", async () => {
    const { h } = await setup({ helper: true });
    await h.setParam(450, 'Y');
    const fake = await startFakeHelper((req) =>
      req.message === 'hi'
        ? { kind: 'answer', messages: [{ text: 'Pick one', buttons: [{ title: 'Refund', payload: '/refund' }, { title: 'Shipping', payload: '/shipping' }] }, { text: 'Or just type.' }] }
        : { kind: 'answer', messages: [{ text: `got ${req.message}` }] },
    );
    const helper = startChatbotWorker({ db: h.db, log: memoryLog(), timeoutMs: 2_000, pollMs: 20 });
    try {
      await h.setParam(441, fake.url);
      const dm = (text: string) => h.intake(dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: CUSTOMER, recipientId: ACCOUNT_ID, text, eventId: newEventId() }] }));
      await dm('hi');
      await waitFor(async () => (await h.count('outbox')) === 2, "the Helper's answer");
      await dm('2');
      await waitFor(() => fake.requests.length === 2, 'the choice to reach the Helper');
      expect(fake.requests.map((r) => r.message)).toEqual(['hi', '/shipping']);
      // A number with no menu before it is text.
      await waitFor(async () => (await h.count('outbox')) === 3, "the Helper's second answer");
      await dm('3');
      await waitFor(() => fake.requests.length === 3, 'the text to reach the Helper');
      expect(fake.requests[2]!.message).toBe('3');
    } finally {
      await helper.stop();
      await fake.close();
    }
  });
});

describe('sending rules for X API 2026', () => {
  const now = new Date('2026-12-01T08:00:00Z');
  const xError = (kind: ConstructorParameters<typeof TwitterError>[0]) => new TwitterError(kind, `X said ${kind}`, { url: 'https://api.x.com/2/dm_conversations/with/1/messages', hint: 'authorize the account again: omni interaction authorize 3' });

  it('a lost authorization waits (never gives up, however many attempts); a missing scope fails with its fix', () => {
    expect(judgeSendError(xError('authorization-lost'), 500, now)).toEqual({
      action: 'retry',
      at: new Date(now.getTime() + AUTHORIZATION_WAIT_MS),
      kind: 'authorization-lost',
      reason: 'X said authorization-lost — authorize the account again: omni interaction authorize 3',
      rateLimited: false,
      authorizationLost: true,
    });
    expect(judgeSendError(xError('missing-scope'), 1, now)).toMatchObject({ action: 'fail', kind: 'missing-scope', hint: 'authorize the account again: omni interaction authorize 3' });
  });

  it('the numbered menu fits a DM: the text gives way, the options and the prompt stay', () => {
    const options = [{ label: 'Red' }, { label: 'Blue', description: 'the calm one' }];
    expect(numberedMenu('Which one?', options)).toBe(`Which one?\n\n1. Red\n2. Blue (the calm one)\n\n${NUMBERED_MENU_PROMPT}`);
    expect(numberedMenu('Plain', [])).toBe('Plain');
    const long = numberedMenu('x'.repeat(20_000), options);
    expect(Array.from(long)).toHaveLength(DM_MAX_LENGTH);
    expect(long.endsWith(`2. Blue (the calm one)\n\n${NUMBERED_MENU_PROMPT}`)).toBe(true);
  });
});
