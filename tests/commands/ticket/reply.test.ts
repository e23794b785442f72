// `omni ticket reply`, `ticket close --message`, `ticket show` delivery states and `omni outbox`,
// as a script would run them: the built CLI spawned with no TTY, talking to the fake Twitter.
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { engineIntakeHarness, type EngineIntakeHarness } from '../../support/intake.js';
import { TEST_ENGINE, testSecretEnv } from '../../support/engine.js';
import { queryRows } from '../../support/rows.js';
import { tempDir } from '../../support/tmp.js';
import { dmDeliveryBody, newEventId } from '../../support/deliveries.js';
import { startFakeTwitter, type FakeTwitter } from '../../support/fake-twitter.js';
import { ACCOUNT_ID, testApp, testUser } from '../../support/twitter-fixtures.js';

const DM_PATH = '/1.1/direct_messages/events/new.json';
let h: EngineIntakeHarness | undefined;
let home: string | undefined;
let tw: FakeTwitter | undefined;
afterEach(async () => {
  await tw?.close();
  tw = undefined;
  await h?.close();
  h = undefined;
  home = undefined;
});

async function setup() {
  tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
  h = await engineIntakeHarness({ accountUserId: ACCOUNT_ID });
  await h.intake(dmDeliveryBody({ forUserId: ACCOUNT_ID, events: [{ senderId: '11', recipientId: ACCOUNT_ID, text: 'where is my order?', eventId: newEventId() }], users: { '11': { name: 'Ann', screenName: 'ann' } } }));
  return { tw, h };
}

const omni = (args: string[], input?: string) =>
  runCli(['--db', h!.dbPath, ...args], { env: { HOME: (home ??= tempDir()), ...testSecretEnv(h!.dbPath), OMNI_TWITTER_API_URL: tw!.url, OMNI_TWITTER_TIMEOUT_MS: '3000' }, ...(input !== undefined ? { input } : {}) });
const show = async (id: number) => JSON.parse((await omni(['ticket', 'show', String(id), '--json'])).stdout);

describe(`omni ticket reply on ${TEST_ENGINE}`, () => {
  it('sends the argument as a DM at once and shows it as sent on the ticket', async () => {
    const { tw } = await setup();
    const r = await omni(['ticket', 'reply', '1', 'It ships today.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^✓ reply to ticket 1 \(@ann \(Ann\)\): delivered \(outbox #1, DM \d+\)\n$/);
    expect(tw.state.sentDms).toEqual([expect.objectContaining({ recipientId: '11', senderId: ACCOUNT_ID, text: 'It ships today.' })]);
    const t = await show(1);
    expect(t.messages.at(-1)).toEqual({
      id: 2,
      direction: 'outbound',
      text: 'It ships today.',
      twitterEventId: tw.state.sentDms[0]!.id,
      sentAt: expect.any(String),
      attachments: [],
      delivery: { outboxId: 1, status: 'sent', attempts: 1, error: null, nextAttemptAt: null, by: 'agent' },
    });
    // Inbound messages keep their shape.
    expect(Object.keys(t.messages[0])).toEqual(['id', 'direction', 'text', 'twitterEventId', 'sentAt', 'attachments']);
    expect((await omni(['ticket', 'show', '1'])).stdout).toMatch(/→ agent {2}\[sent\]\n {4}It ships today\./);
  });

  it('reads the text from stdin, and refuses an empty one with the fix', async () => {
    const { tw } = await setup();
    const r = await omni(['ticket', 'reply', '1', '--json'], 'Line one.\nLine two.\n');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 1, status: 'sent', ticketId: 1, recipientTwitterId: '11', text: 'Line one.\nLine two.' });
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['Line one.\nLine two.']);
    const empty = await omni(['ticket', 'reply', '1'], '  \n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe("error: the reply is empty (read from stdin)\n  give the text: omni ticket reply 12 'Your order ships today'\n");
    expect(tw.state.sentDms).toHaveLength(1);
  });

  it('fails with the reason when Twitter refuses for good (349), keeps it failed on the ticket, and outbox retry sends it', async () => {
    const { tw } = await setup();
    tw.failNext({ method: 'POST', path: DM_PATH, status: 403, errors: [{ code: 349, message: 'You cannot send messages to this user.' }] });
    const r = await omni(['ticket', 'reply', '1', 'Hello?']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: reply to ticket 1 (@ann (Ann)) failed for good: Twitter will not deliver this direct message (HTTP 403, Twitter code 349): You cannot send messages to this user.\n');
    expect(r.stderr).toContain('does not accept DMs from this account');
    expect(r.stderr).toContain('omni outbox retry 1');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const delivery = (await show(1)).messages.at(-1).delivery;
    expect(delivery).toMatchObject({ outboxId: 1, status: 'failed', attempts: 1, error: expect.stringContaining('Twitter code 349') });
    expect((await omni(['ticket', 'show', '1'])).stdout).toContain('[failed: Twitter will not deliver this direct message (HTTP 403, Twitter code 349)');

    const failed = JSON.parse((await omni(['outbox', 'list', '--status', 'failed', '--json'])).stdout);
    expect(failed).toEqual([expect.objectContaining({ id: 1, status: 'failed', lastErrorKind: 'recipient-refused', text: 'Hello?' })]);
    // The recipient by @name, known from the requester; the JSON keeps the Twitter id.
    expect((await omni(['outbox', 'list'])).stdout).toMatch(/^1 +failed +#1 +@ann +1 /m);
    const retried = await omni(['outbox', 'retry', '1']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain('outbox #1: delivered');
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['Hello?']);
    expect((await show(1)).messages.at(-1).delivery).toMatchObject({ status: 'sent', attempts: 2 });
    const again = await omni(['outbox', 'retry', '1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: outbox row 1 is sent, not failed\n  it was delivered already; nothing to retry\n');
  });

  it('leaves a transiently failed reply queued for omni listen and says so (exit 0)', async () => {
    const { tw } = await setup();
    const reset = Math.ceil(Date.now() / 1000) + 600;
    tw.failNext({ method: 'POST', path: DM_PATH, status: 429, errors: [{ code: 88, message: 'Rate limit exceeded' }], headers: { 'x-rate-limit-reset': String(reset) } });
    const r = await omni(['ticket', 'reply', '1', 'Soon.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('not delivered yet');
    expect(r.stderr).toContain('it stays queued as outbox #1; omni listen retries it from');
    const pending = JSON.parse((await omni(['outbox', 'list', '--status', 'pending', '--json'])).stdout);
    expect(pending).toEqual([expect.objectContaining({ id: 1, attempts: 1, lastErrorKind: 'rate-limited' })]);
    expect(Date.parse(pending[0].nextAttemptAt)).toBeGreaterThanOrEqual(reset * 1000);
    expect((await show(1)).messages.at(-1).delivery).toMatchObject({ status: 'pending', error: expect.stringContaining('rate limit') });
    // A second reply waits behind the first (order per requester) instead of overtaking it.
    const second = await omni(['ticket', 'reply', '1', 'Sorry for the wait.']);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('queued as outbox #2 behind older DMs to the same person');
    expect(tw.requestsTo('POST', DM_PATH)).toHaveLength(1);
  });

  it('refuses to reply to a closed ticket, with the fix', async () => {
    await setup();
    expect((await omni(['ticket', 'close', '1'])).code).toBe(0);
    const r = await omni(['ticket', 'reply', '1', 'Hello?']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: ticket 1 is closed, so it takes no reply\n  a closed ticket stays closed (as in 4biz): the requester's next DM opens a new ticket, answer that one\n",
    );
    expect((await omni(['ticket', 'reply', '9', 'x'])).stderr).toContain('error: no ticket 9');
  });
});

describe('omni ticket close --message', () => {
  it('closes the ticket and sends the closing DM queued in the same transaction', async () => {
    const { tw, h } = await setup();
    const r = await omni(['ticket', 'close', '1', '--message', 'Solved: your refund was issued.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('closed ticket 1');
    expect(r.stderr).toContain('the closing message of ticket 1: delivered');
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['Solved: your refund was issued.']);
    const t = await show(1);
    expect(t.status).toBe('closed');
    expect(t.messages.at(-1)).toMatchObject({ direction: 'outbound', text: 'Solved: your refund was issued.', delivery: { status: 'sent' } });
    const [audit] = (await queryRows(h.db, "SELECT changes FROM audit_log WHERE entity = 'ticket' AND action = 'close'")) as Array<{ changes: string }>;
    expect(JSON.parse(audit!.changes)).toEqual({ status: 'closed', closingMessage: { outboxId: 1 } });
    const twice = await omni(['ticket', 'close', '1', '--message', 'again']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('ticket 1 is already closed; the closing message was not sent');
    expect(tw.state.sentDms).toHaveLength(1);
    expect((await omni(['ticket', 'close', '1', '--message', ' '])).code).toBe(2);
  });

  // --help reads no database: checked once, in the SQLite run.
  it.runIf(TEST_ENGINE === 'sqlite')('has --help with examples on the new commands', async () => {
    await setup();
    for (const cmd of [['ticket', 'reply'], ['ticket', 'close'], ['outbox', 'list'], ['outbox', 'retry'], ['outbox']]) {
      const r = await omni([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout, cmd.join(' ')).toContain('Examples:');
    }
  });
});
