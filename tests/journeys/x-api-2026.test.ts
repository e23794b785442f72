// The X API of 2026 as a new user meets it, end to end: only the built CLI (spawned, no TTY), the
// real `omni listen`, and the fake X on 127.0.0.1. Nothing is seeded in the database but catalogs;
// every step is a command a person types:
//   interaction new → authorize (browser flow) → webhook register → a customer's DM opens a ticket →
//   ticket reply goes out on X's v2 DM endpoint → its dm.sent echo links → the access token expires
//   and the next reply refreshes it (rotated pair stored; the old refresh token refused) → the
//   listener stops, DMs are sent meanwhile, it starts again → the replay brings them in, once each.
// The same path on Account Activity v2 (`--api v2`) and with `omni listen --stream` (no webhook).
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { getOAuthToken } from '../../src/db/oauth-tokens.js';
import { loadSecretBox } from '../../src/secrets.js';
import { TOKEN_FIELDS } from '../../src/twitter/user-token.js';
import { browse, freePort, startCli } from '../support/authorize.js';
import { cliWithDb } from '../support/cli.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { secretEnv, seedCatalogs } from '../support/interactions.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, ACCOUNT_SCREEN_NAME, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';

const CLIENT_ID = 'am91cm5leS1jbGllbnQtaWQtZm9yLW9tbmk';
const CUSTOMER = { id: '4242424242424242424', username: 'ann' };
const DM_V2 = new RegExp(`^/2/dm_conversations/with/${CUSTOMER.id}/messages$`);

/** A listener log line saying the DM event came back as our own echo, linked. */
const echoed = (line: Record<string, any>, eventId: string) => Array.isArray(line.results) && line.results.some((r: any) => r.outcome === 'echo' && r.id === eventId);

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function journey(api: 'activity' | 'v2', moreUsers: ReturnType<typeof testUser>[] = []) {
  const redirectPort = await freePort();
  const tw: FakeTwitter = await startFakeTwitter({
    apps: [testApp()],
    users: [testUser(), ...moreUsers],
    x: { clients: [{ clientId: CLIENT_ID, redirectUris: [`http://127.0.0.1:${redirectPort}/callback`] }] },
    retryDelaysMs: [50, 50],
    deliveryTimeoutMs: 1_000,
  });
  closers.push(() => tw.close());
  const env = {
    ...secretEnv(TEST_SECRETS),
    OMNI_TWITTER_API_URL: tw.url,
    OMNI_TWITTER_AUTHORIZE_URL: `${tw.url}/i/oauth2/authorize`,
    OMNI_TWITTER_CLIENT_ID: CLIENT_ID,
    OMNI_TWITTER_TIMEOUT_MS: '3000',
    DISPLAY: '',
    WAYLAND_DISPLAY: '',
  };
  const cli = cliWithDb(env);
  await seedCatalogs(cli.db);
  const shellEnv = { ...env, HOME: cli.dir, XDG_DATA_HOME: path.join(cli.dir, 'xdg') };
  const listen = async (args: string[] = []) => {
    const l = await startListener({ db: cli.db, env: shellEnv, args });
    closers.push(() => l.stop());
    return l;
  };
  const ok = async (args: string[]) => {
    const r = await cli.run(args);
    expect(r.code, `omni ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  const sql = async <T>(query: string): Promise<T[]> => {
    const h = await openDatabase(cli.db);
    try {
      return h.sqlite.prepare(query).all() as T[];
    } finally {
      await h.close();
    }
  };
  const inbound = () => sql<{ text: string; twitter_event_id: string; ticket_id: number }>("SELECT text, twitter_event_id, ticket_id FROM messages WHERE direction = 'inbound' ORDER BY id");
  return { tw, cli, env: shellEnv, listen, ok, sql, inbound, redirectPort };
}

/** What a person does to authorize: run the command, open the URL it prints, approve. */
async function authorizeInBrowser(j: Awaited<ReturnType<typeof journey>>, interaction: string) {
  const run = startCli(j.cli.db, ['interaction', 'authorize', interaction, '--no-browser', '--redirect-port', String(j.redirectPort)], j.env);
  const visit = await browse(await run.url);
  expect(visit.status).toBe(200);
  const done = await run.done;
  expect(done.stderr).toContain(`✓ authorized @${ACCOUNT_SCREEN_NAME} (${ACCOUNT_ID})`);
  expect(done.code).toBe(0);
}

async function storedRefreshToken(dbPath: string): Promise<string> {
  const h = await openDatabase(dbPath);
  try {
    const row = (await getOAuthToken(h.kysely, 1))!;
    return loadSecretBox(dbPath, {}).decrypt(row.refresh_token_enc!, TOKEN_FIELDS.refresh);
  } finally {
    await h.close();
  }
}

describe.each(['activity', 'v2'] as const)('a new user on X API 2026 (--api %s), webhook mode', (api) => {
  it('new → authorize → register → DM → ticket → reply over v2 → echo → token refresh → downtime → replay, each DM once', async () => {
    const j = await journey(api);
    const { tw, ok } = j;
    let listener: RunningListener = await j.listen();

    await ok(['interaction', 'new', '--name', 'Support', '--unit', 'HQ', '--group', 'Social', '--activity', 'DM', '--api', api, '--callback-url', listener.url, '--allow-http']);
    await authorizeInBrowser(j, 'Support');
    const registered = await ok(['webhook', 'register', 'Support', '--json']);
    const reg = JSON.parse(registered.stdout);
    expect(reg).toMatchObject({ interactionId: 1, api });
    const [hook] = tw.x.webhooks();
    expect(hook).toMatchObject({ url: `${listener.url}/webhooks/twitter/1`, valid: true });
    if (api === 'activity') expect(tw.x.activitySubscriptions().map((s) => s.eventType).sort()).toEqual(['dm.received', 'dm.sent']);
    else expect(tw.x.aaaSubscriptions(hook!.id)).toContain(ACCOUNT_ID);

    // A customer writes: one ticket, one message.
    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'my order did not arrive' });
    await waitFor(async () => (await j.inbound()).length === 1, 'the first DM to become a ticket');
    const tickets = JSON.parse((await ok(['ticket', 'list', '--json'])).stdout);
    expect(tickets).toHaveLength(1);

    // The agent answers: X's v2 DM endpoint with the account's OAuth 2.0 token; the dm.sent echo links.
    await ok(['ticket', 'reply', '1', 'It ships today.']);
    expect(tw.requestsTo('POST', DM_V2).map((r) => [r.auth?.type, r.status])).toEqual([['oauth2', 201]]);
    const sent = tw.x.dmEvents.filter((e) => e.via === 'api');
    expect(sent).toEqual([expect.objectContaining({ senderId: ACCOUNT_ID, recipientId: CUSTOMER.id, text: 'It ships today.' })]);
    await listener.waitForLog((l) => echoed(l, sent[0]!.id));
    expect(await j.sql('SELECT id FROM messages')).toHaveLength(2);

    // Two hours later: the access token has expired; the next reply refreshes it once, the rotated
    // pair is stored, and X refuses the refresh token it replaced.
    const before = await storedRefreshToken(j.cli.db);
    tw.x.expireAccessTokens(ACCOUNT_ID);
    await ok(['ticket', 'reply', '1', 'Tracking number: 42.']);
    expect(tw.requestsTo('POST', DM_V2).map((r) => r.status)).toEqual([201, 401, 201]);
    const after = await storedRefreshToken(j.cli.db);
    expect(after).not.toBe(before);
    expect(tw.x.isRefreshTokenValid(before)).toBe(false);
    expect(tw.x.isRefreshTokenValid(after)).toBe(true);

    // The listener stops; the customer writes twice meanwhile; X tries, fails and gives up.
    const port = listener.port;
    await listener.stop();
    const missed = ['are you there?', 'hello?'].map((text) => tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text }));
    await waitFor(() => missed.every((m) => m.deliveries.length > 0 && m.deliveries.every((d) => !d.delivered && d.attempts.length === 3)), 'X to give up on the missed DMs');
    // Down longer than a minute (a test cannot wait for it: the last heartbeat is moved back).
    const h = await openDatabase(j.cli.db);
    h.sqlite.prepare('UPDATE listener_heartbeats SET last_alive_at = ?').run(new Date(Date.now() - 10 * 60_000).toISOString());
    await h.close();

    // Started again on the same URL: it asks X to replay, and every DM is stored exactly once.
    listener = await j.listen(['--port', String(port)]);
    await listener.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('replay requested'));
    await waitFor(async () => (await j.inbound()).length === 3, 'the replayed DMs to be stored', 15_000);
    await waitFor(() => tw.x.replays.every((r) => r.state !== 'running'), 'the replay to finish', 15_000);
    await new Promise((r) => setTimeout(r, 300));
    const stored = await j.inbound();
    expect(stored.map((m) => m.text)).toEqual(['my order did not arrive', 'are you there?', 'hello?']);
    expect(new Set(stored.map((m) => m.twitter_event_id)).size).toBe(3);
    expect(new Set(stored.map((m) => m.ticket_id))).toEqual(new Set([1]));
  }, 90_000);
});

describe('a new user on X API 2026, stream mode (no public URL)', () => {
  it('new → authorize → listen --stream (subscriptions created) → DM → ticket → reply over v2 → echo', async () => {
    const j = await journey('activity');
    const { tw, ok } = j;
    await ok(['interaction', 'new', '--name', 'Support', '--unit', 'HQ', '--group', 'Social', '--activity', 'DM', '--callback-url', 'https://helpdesk.example.com']);
    await authorizeInBrowser(j, '1');
    expect(tw.x.activitySubscriptions()).toEqual([]);

    const listener = await j.listen(['--stream']);
    await waitFor(() => tw.x.activitySubscriptions().length === 2, 'the stream mode to create the DM subscriptions');
    expect(tw.x.activitySubscriptions().map((s) => [s.eventType, s.webhookId ?? null, s.tag]).sort()).toEqual([
      ['dm.received', null, 'omni:1'],
      ['dm.sent', null, 'omni:1'],
    ]);
    expect(tw.x.webhooks()).toEqual([]);
    await waitFor(() => tw.x.streamConnections() === 1, 'the stream connection');

    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'hi from a laptop test' });
    await waitFor(async () => (await j.inbound()).length === 1, 'the streamed DM to become a ticket');
    await ok(['ticket', 'reply', '1', 'Hello!']);
    const sent = tw.x.dmEvents.filter((e) => e.via === 'api');
    expect(sent).toHaveLength(1);
    await listener.waitForLog((l) => echoed(l, sent[0]!.id));
    expect(await j.sql('SELECT id FROM messages')).toHaveLength(2);
    expect(tw.x.deliveries).toEqual([]);
  }, 60_000);
});

describe('two accounts of one app on X API 2026', () => {
  it('share the app’s one webhook; each account’s DMs land on its own interaction, whichever path the webhook names', async () => {
    const SALES = { userId: '1234567890123456790', screenName: 'acme_sales' };
    const j = await journey('activity', [testUser({ userId: SALES.userId, screenName: SALES.screenName, accessToken: '5550001-SalesAccessToken0000', accessTokenSecret: 'sales-ats-0000' })]);
    const { tw, ok } = j;
    const listener = await j.listen();
    for (const name of ['Support', 'Sales']) await ok(['interaction', 'new', '--name', name, '--unit', 'HQ', '--group', 'Social', '--activity', 'DM', '--callback-url', listener.url, '--allow-http']);
    await authorizeInBrowser(j, 'Support');
    // The second account the CI way: a refresh token from an earlier authorization.
    const refresh = tw.x.issueTokens(SALES.userId).refresh_token!;
    const sales = await j.cli.run(['interaction', 'authorize', 'Sales', '--no-browser'], { env: { OMNI_TWITTER_REFRESH_TOKEN: refresh } });
    expect(sales.stderr).toContain(`✓ authorized @${SALES.screenName} (${SALES.userId})`);
    await ok(['webhook', 'register', 'Support']);
    await ok(['webhook', 'register', 'Sales']);
    const hooks = tw.x.webhooks();
    expect(hooks.map((h) => h.url)).toEqual([`${listener.url}/webhooks/twitter/1`]);

    tw.x.customerSendsDm({ from: CUSTOMER, toUserId: ACCOUNT_ID, text: 'for support' });
    tw.x.customerSendsDm({ from: { id: '777', username: 'bob' }, toUserId: SALES.userId, text: 'for sales' });
    await waitFor(async () => (await j.inbound()).length === 2, 'both DMs to be stored');
    const rows = await j.sql<{ text: string; interaction_id: number }>("SELECT m.text, t.interaction_id FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.direction = 'inbound' ORDER BY m.id");
    expect(rows).toEqual([
      { text: 'for support', interaction_id: 1 },
      { text: 'for sales', interaction_id: 2 },
    ]);

    // The interaction whose URL the webhook names leaves: the webhook moves to the other's URL (X
    // runs the CRC there), its subscriptions follow, and the other account's DMs keep arriving.
    const deleted = await ok(['webhook', 'delete', 'Support', '--yes', '--json']);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ keptFor: [2], deletedWebhook: null, handedOver: { interactionId: 2, webhook: { url: `${listener.url}/webhooks/twitter/2` } } });
    const moved = tw.x.webhooks();
    expect(moved.map((h) => [h.url, h.valid])).toEqual([[`${listener.url}/webhooks/twitter/2`, true]]);
    expect(tw.x.activitySubscriptions().filter((s) => s.webhookId === moved[0]!.id).map((s) => [s.eventType, s.filter.user_id]).sort()).toEqual([
      ['dm.received', SALES.userId],
      ['dm.sent', SALES.userId],
    ]);
    tw.x.customerSendsDm({ from: { id: '777', username: 'bob' }, toUserId: SALES.userId, text: 'still for sales' });
    await waitFor(async () => (await j.inbound()).length === 3, 'the third DM to be stored');
    expect((await j.sql<{ interaction_id: number }>("SELECT t.interaction_id FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.text = 'still for sales'"))[0]).toEqual({ interaction_id: 2 });
    const status = JSON.parse((await ok(['webhook', 'status', 'Sales', '--json'])).stdout);
    expect(status).toMatchObject({ webhook: { id: moved[0]!.id, state: 'valid' }, subscriptions: { missing: [] } });
  }, 60_000);
});
