// The subscriptions an interaction needs, per generation, against the fake X through the real v2
// gateway (app bearer for lists and deletes, the account's OAuth 2.0 token for creating): the
// webhook mode, the stream mode (no webhook), other event types (X Chat), X's duplicate answer as
// success, and removal that touches only this interaction's.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { loadSecretBox } from '../../src/secrets.js';
import { createXGateway } from '../../src/twitter/gateway-v2.js';
import { createUserTokenSource, storeAuthorization } from '../../src/twitter/user-token.js';
import { describeSubscription, ensureDmSubscriptions, ensureSubscriptions, missingSubscriptions, neededSubscriptions, removeSubscriptions, subscriptionTag } from '../../src/webhooks/subscriptions.js';
import { startFakeTwitter } from '../support/fake-twitter.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { testDatabase, testSecretEnv } from '../support/engine.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';

const OTHER_ID = '1234567890123456790';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup() {
  const tw = await startFakeTwitter({
    apps: [testApp()],
    users: [testUser(), testUser({ userId: OTHER_ID, screenName: 'acme_sales', accessToken: '5550001-Other0000', accessTokenSecret: 'other-ats' })],
    x: { clients: [{ clientId: 'cid', redirectUris: [] }] },
  });
  closers.push(() => tw.close());
  const dbPath = testDatabase();
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  /** A gateway authorized as `userId` (interaction `id`). */
  const gatewayAs = async (userId: string) => {
    const { id } = await seedInteraction(dbPath, { name: `Support ${userId}` });
    const issued = tw.x.issueTokens(userId);
    await storeAuthorization(db.kysely, box, id, { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + 7200_000).toISOString(), scopes: issued.scope }, { userId, username: `user${userId}`, name: null });
    const gw = createXGateway({ baseUrl: tw.url, timeoutMs: 5000, app: TEST_SECRETS, userToken: createUserTokenSource({ db: db.kysely, box, interactionId: id, client: { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 5000 } }) });
    closers.push(async () => gw.close());
    return { gw, id };
  };
  return { tw, gatewayAs };
}

describe('neededSubscriptions', () => {
  it('activity: dm.received and dm.sent (or the given types), tagged omni:<id>; v2: subscriptions/all on the webhook, which it cannot do without', () => {
    expect(neededSubscriptions({ api: 'activity', interactionId: 7, accountUserId: '42', webhookId: '9' })).toEqual([
      { api: 'activity', eventType: 'dm.received', userId: '42', webhookId: '9', tag: 'omni:7' },
      { api: 'activity', eventType: 'dm.sent', userId: '42', webhookId: '9', tag: 'omni:7' },
    ]);
    expect(neededSubscriptions({ api: 'activity', interactionId: 7, accountUserId: '42', webhookId: null, eventTypes: ['chat.received'] }).map(describeSubscription)).toEqual(['chat.received of user 42 to the activity stream']);
    expect(neededSubscriptions({ api: 'v2', interactionId: 7, accountUserId: '42', webhookId: '9' }).map(describeSubscription)).toEqual(['Account Activity (all events) of user 42 on webhook 9']);
    expect(() => neededSubscriptions({ api: 'v2', interactionId: 7, accountUserId: '42', webhookId: null })).toThrow('needs a webhook id');
  });
});

describe('ensureSubscriptions / missingSubscriptions / removeSubscriptions (fake X)', () => {
  it('stream mode (no webhook): creates the DM subscriptions without a webhook id, and any subscription of the type feeds the stream', async () => {
    const { tw, gatewayAs } = await setup();
    const { gw, id } = await gatewayAs(ACCOUNT_ID);
    const t = { api: 'activity' as const, interactionId: id, accountUserId: ACCOUNT_ID, webhookId: null };
    expect((await missingSubscriptions(gw, t)).missing.map(describeSubscription)).toEqual([`dm.received of user ${ACCOUNT_ID} to the activity stream`, `dm.sent of user ${ACCOUNT_ID} to the activity stream`]);
    const made = await ensureDmSubscriptions(gw, { interactionId: id, accountUserId: ACCOUNT_ID, webhookId: null });
    expect(made.created).toEqual(neededSubscriptions(t));
    expect(tw.x.activitySubscriptions().map((s) => [s.eventType, s.webhookId, s.tag])).toEqual([
      ['dm.received', undefined, subscriptionTag(id)],
      ['dm.sent', undefined, subscriptionTag(id)],
    ]);
    expect(await ensureSubscriptions(gw, t)).toEqual({ created: [], present: neededSubscriptions(t) });

    // X Chat reuses it with its own event types.
    const chat = await ensureSubscriptions(gw, { ...t, eventTypes: ['chat.received', 'chat.sent'] });
    expect(chat.created.map(describeSubscription)).toEqual([`chat.received of user ${ACCOUNT_ID} to the activity stream`, `chat.sent of user ${ACCOUNT_ID} to the activity stream`]);
  });

  it('webhook mode: a subscription on another webhook does not count; X’s duplicate answer counts as present; removal deletes only this interaction’s', async () => {
    const { tw, gatewayAs } = await setup();
    const mine = await gatewayAs(ACCOUNT_ID);
    const other = await gatewayAs(OTHER_ID);
    const hook = tw.x.addWebhook(TEST_SECRETS.apiKey, 'https://helpdesk.example.com/webhooks/twitter/1');
    // A stream-only subscription of the account exists already: it does not deliver to the webhook.
    await ensureSubscriptions(mine.gw, { api: 'activity', interactionId: mine.id, accountUserId: ACCOUNT_ID, webhookId: null, eventTypes: ['dm.received'] });
    const t = { api: 'activity' as const, interactionId: mine.id, accountUserId: ACCOUNT_ID, webhookId: hook.id };
    const before = await missingSubscriptions(mine.gw, t);
    expect(before.missing.map(describeSubscription)).toEqual([`dm.received of user ${ACCOUNT_ID} to webhook ${hook.id}`, `dm.sent of user ${ACCOUNT_ID} to webhook ${hook.id}`]);
    await ensureSubscriptions(mine.gw, t);
    // A stale comparison (both "missing"): X answers DuplicateSubscriptionFailed, taken as present.
    const again = await ensureSubscriptions(mine.gw, t, { known: before });
    expect(again).toEqual({ created: [], present: neededSubscriptions(t) });
    expect(tw.x.activitySubscriptions().filter((s) => s.webhookId === hook.id)).toHaveLength(2);

    await ensureSubscriptions(other.gw, { api: 'activity', interactionId: other.id, accountUserId: OTHER_ID, webhookId: hook.id });
    const removed = await removeSubscriptions(mine.gw, t);
    expect(removed.removed).toHaveLength(3); // both on the webhook and the stream-only one, all tagged omni:<mine>
    expect(tw.x.activitySubscriptions().map((s) => [s.filter.user_id, s.tag])).toEqual([
      [OTHER_ID, subscriptionTag(other.id)],
      [OTHER_ID, subscriptionTag(other.id)],
    ]);
    expect(await removeSubscriptions(mine.gw, t)).toEqual({ removed: [] });
  });

  it('v2: subscribes the account to the webhook once, lists it, unsubscribes it', async () => {
    const { tw, gatewayAs } = await setup();
    const { gw, id } = await gatewayAs(ACCOUNT_ID);
    const hook = tw.x.addWebhook(TEST_SECRETS.apiKey, 'https://helpdesk.example.com/webhooks/twitter/1');
    const t = { api: 'v2' as const, interactionId: id, accountUserId: ACCOUNT_ID, webhookId: hook.id };
    expect((await missingSubscriptions(gw, t)).missing).toHaveLength(1);
    expect((await ensureSubscriptions(gw, t)).created).toHaveLength(1);
    expect(tw.x.aaaSubscriptions(hook.id)).toEqual([ACCOUNT_ID]);
    expect((await missingSubscriptions(gw, t)).missing).toEqual([]);
    expect((await ensureSubscriptions(gw, t, { known: { needed: neededSubscriptions(t), present: [], missing: neededSubscriptions(t) } })).present).toHaveLength(1);
    expect(await removeSubscriptions(gw, t)).toEqual({ removed: [ACCOUNT_ID] });
    expect(tw.x.aaaSubscriptions(hook.id)).toEqual([]);
  });
});
