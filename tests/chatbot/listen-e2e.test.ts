// The "Done when", tried as a new user would: `omni listen` spawned, the fake Twitter
// delivering a requester's DMs to it and recording the DMs omni sends, the CLI spawned. Then the
// outbox across a crash: kill -9 while a DM is being sent, restart, sent exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const DM_PATH = '/1.1/direct_messages/events/new.json';
const ALICE = { id: '9007199254740993', screenName: 'alice', name: 'Alice' };
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(opts: { helper: boolean; env?: Record<string, string> }) {
  const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()], retryDelaysMs: [100, 200, 400, 800] });
  closers.push(() => tw.close());
  const env = { OMNI_TWITTER_API_URL: tw.url, ...opts.env };
  const cli = cliWithDb(env);
  const { id } = await seedInteraction(cli.db, { helper: opts.helper, accountUserId: ACCOUNT_ID });
  const listen = async () => {
    const l: RunningListener = await startListener({ db: cli.db, env: { ...env, HOME: cli.dir } });
    closers.push(() => l.kill9());
    // Twitter's side of `omni webhook register`: the webhook points at this listener.
    if (tw.webhook('dev')) tw.webhook('dev')!.url = `${l.url}/webhooks/twitter/${id}`;
    else tw.addWebhook('dev', `${l.url}/webhooks/twitter/${id}`);
    tw.subscribe('dev', ACCOUNT_ID);
    return l;
  };
  return { tw, cli, id, listen };
}

describe('Helper interception end to end (built-in Helper)', () => {
  it('answers the first DM with the menu, opens a ticket on "Talk to an attendant" with its number, and delivers omni ticket reply', async () => {
    const { tw, cli, listen } = await setup({ helper: true });
    expect((await cli.run(['param', 'set', '450', 'Y'])).code).toBe(0);
    const l = await listen();

    await tw.userSendsDm({ from: ALICE, toUserId: ACCOUNT_ID, text: 'hello' });
    const menu = await waitFor(() => tw.state.sentDms[0], 'the menu DM');
    expect(menu).toMatchObject({ recipientId: ALICE.id, senderId: ACCOUNT_ID, text: "Hi! I'm the virtual assistant. How can I help you?" });
    expect(menu.quickReply).toEqual({
      type: 'options',
      options: [
        { label: 'Open a new request', metadata: 'omni:open' },
        { label: 'Talk to an attendant', metadata: 'omni:talk' },
        { label: 'Status of my requests', metadata: 'omni:status' },
      ],
    });
    expect(JSON.parse((await cli.run(['ticket', 'list', '--status', 'all', '--json'])).stdout)).toEqual([]);

    // Alice taps "Talk to an attendant": Twitter sends the label as text and the metadata back.
    await tw.userSendsDm({ from: ALICE, toUserId: ACCOUNT_ID, text: 'Talk to an attendant', quickReplyResponse: 'omni:talk' });
    const opened = await waitFor(() => tw.state.sentDms[1], 'the ticket number DM');
    expect(opened).toMatchObject({ recipientId: ALICE.id, text: 'Your request #1 is open. An attendant will answer you here.' });

    const reply = await cli.run(['ticket', 'reply', '1', 'Hi Alice, how can we help?']);
    expect(reply.code, reply.stderr).toBe(0);
    expect(reply.stderr).toContain('delivered');
    expect(tw.state.sentDms[2]).toMatchObject({ recipientId: ALICE.id, text: 'Hi Alice, how can we help?' });

    // Every echo Twitter sent back was linked to what omni sent, none became a new message.
    await waitFor(
      () => l.logs().filter((x) => x.msg === 'delivery' && x.results?.[0]?.outcome === 'echo').length === 3,
      'the three echoes',
    );
    const echoes = l.logs().filter((x) => x.msg === 'delivery' && x.results[0].outcome === 'echo').map((x) => x.results[0].detail);
    expect(echoes.every((d: string) => /^(matches message \d+|matches a Helper answer|confirms outbox #\d+)/.test(d))).toBe(true);
    const ticket = JSON.parse((await cli.run(['ticket', 'show', '1', '--json'])).stdout);
    expect(ticket).toMatchObject({ status: 'open', subject: 'hello', requester: { twitterUserId: ALICE.id, screenName: 'alice' } });
    expect(ticket.messages.map((m: any) => [m.direction, m.text, m.delivery?.status ?? null, m.delivery?.by ?? null])).toEqual([
      ['inbound', 'hello', null, null],
      ['outbound', "Hi! I'm the virtual assistant. How can I help you?", 'sent', 'helper'],
      ['inbound', 'Talk to an attendant', null, null],
      ['outbound', 'Your request #1 is open. An attendant will answer you here.', 'sent', 'helper'],
      ['outbound', 'Hi Alice, how can we help?', 'sent', 'agent'],
    ]);
    expect(ticket.messages.filter((m: any) => m.direction === 'outbound').map((m: any) => m.twitterEventId)).toEqual(tw.state.sentDms.map((d) => d.id));
    expect(await l.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('outbox across restarts (spawned omni listen)', () => {
  it('keeps a pending reply while no listener runs, survives kill -9 during the send, and sends it exactly once after restart', async () => {
    // Short lease and timeout so that the restarted listener takes over quickly.
    const { tw, cli, listen } = await setup({ helper: false, env: { OMNI_OUTBOX_LEASE_MS: '4000', OMNI_TWITTER_TIMEOUT_MS: '3000', OMNI_OUTBOX_RETRY_MS: '100' } });
    const first = await listen();
    await tw.userSendsDm({ from: ALICE, toUserId: ACCOUNT_ID, text: 'my order is late' });
    await waitFor(async () => JSON.parse((await cli.run(['ticket', 'list', '--json'])).stdout).length === 1, 'the ticket');
    await first.kill9();

    // No listener: Twitter is over capacity, the reply stays queued.
    tw.failNext({ method: 'POST', path: DM_PATH, status: 503, errors: [{ code: 130, message: 'Over capacity' }] });
    const r = await cli.run(['ticket', 'reply', '1', 'We are on it.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('it stays queued as outbox #1');

    // The next listener claims it; Twitter never answers; the listener is killed mid-send.
    tw.failNext({ method: 'POST', path: DM_PATH, stall: true });
    const second = await listen();
    await waitFor(() => tw.requestsTo('POST', DM_PATH).length === 2, 'the stalled send');
    await second.kill9();
    const outbox = async () => JSON.parse((await cli.run(['outbox', 'list', '--json'])).stdout)[0];
    expect(await outbox()).toMatchObject({ id: 1, status: 'sending', attempts: 2 });
    expect(tw.state.sentDms).toHaveLength(0);

    // Restarted: the lease ends, the row is due again and is sent once.
    const third = await listen();
    await waitFor(async () => (await outbox()).status === 'sent', 'the DM to be sent after the restart', 15_000);
    expect(await outbox()).toMatchObject({ status: 'sent', attempts: 3, twitterDmId: tw.state.sentDms[0]!.id });
    expect(tw.state.sentDms.map((d) => d.text)).toEqual(['We are on it.']);
    await third.waitForLog((x) => x.msg === 'outbox #1: DM sent');
    expect(await third.stop()).toEqual({ code: 0, signal: null });
  });
});
