// `omni webhook register|status|check|delete` for X's API of 2026 ('activity', 'v2') end to end: the
// built CLI spawned with no TTY, the real gateway, the fake X of 2026 (one webhook per app, real
// CRCs against a 127.0.0.1 responder standing in for `omni listen`, Activity API and Account
// Activity v2 subscriptions with the credential X wants per endpoint). The accounts are authorized
// the CI way: `omni interaction authorize --no-browser` with a refresh token from the fake.
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext, serviceDeps } from '../../../src/cli/context.js';
import { startWatchdog, type WatchdogCheck } from '../../../src/webhooks/watchdog.js';
import { check, type DoctorJson } from '../../support/doctor.js';
import { getInteraction, updateInteraction } from '../../../src/db/interactions.js';
import { cliWithSeparateDb } from '../../support/cli.js';
import { startCrcResponder, startFakeTwitter, type FakeTwitterOptions } from '../../support/fake-twitter.js';
import { seedInteraction, TEST_SECRETS } from '../../support/seed.js';
import { ACCOUNT_ID, ACCOUNT_SCREEN_NAME, testApp, testUser } from '../../support/twitter-fixtures.js';
import { withDb } from '../../support/activity-account.js';

const CLIENT_ID = 'eC1yZWctY2xpZW50LWlkLWZvci1vbW5p';
const SALES_ID = '1234567890123456790';
const SALES_NAME = 'acme_sales';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(opts: { api?: 'activity' | 'v2'; fake?: Partial<FakeTwitterOptions>; crcMode?: 'ok' | 'wrong'; interactions?: number } = {}) {
  const tw = await startFakeTwitter({
    apps: [testApp()],
    users: [testUser(), testUser({ userId: SALES_ID, screenName: SALES_NAME, accessToken: '5550001-SalesAccessToken0000', accessTokenSecret: 'sales-ats-0000' })],
    x: { clients: [{ clientId: CLIENT_ID, redirectUris: ['http://127.0.0.1:8765/callback'] }] },
    ...opts.fake,
  });
  closers.push(() => tw.close());
  const listener = await startCrcResponder(TEST_SECRETS.apiSecretKey, opts.crcMode ? { mode: opts.crcMode } : {});
  closers.push(() => listener.close());
  const cli = await cliWithSeparateDb({ OMNI_TWITTER_API_URL: tw.url });
  const names = ['Support', 'Sales', 'Billing'];
  for (let i = 0; i < (opts.interactions ?? 1); i++) {
    const { id } = await seedInteraction(cli.db, { name: names[i]!, callbackUrl: listener.url, accountUserId: null });
    await withDb(cli.db, (db) => updateInteraction(db, id, { api: opts.api ?? 'activity', dev_environment: '' }));
  }
  const stored = (id: number) => withDb(cli.db, async (db) => (await getInteraction(db, id))!);
  const hookUrl = (id: number) => `${listener.url}/webhooks/twitter/${id}`;
  /** The account signs in (CI way): a refresh token X issued for it, spent by `interaction authorize`. */
  const authorize = async (id: number, userId: string, scopes?: string[]) => {
    const refresh = tw.x.issueTokens(userId, scopes ? { scopes } : {}).refresh_token!;
    const r = await cli.run(['interaction', 'authorize', String(id), '--no-browser'], { env: { OMNI_TWITTER_CLIENT_ID: CLIENT_ID, OMNI_TWITTER_REFRESH_TOKEN: refresh } });
    expect(r.stderr).toContain('✓ authorized @');
    expect(r.code).toBe(0);
  };
  return { tw, listener, cli, run: cli.run, stored, hookUrl, authorize };
}


function oneLineError(r: { code: number | null; stderr: string }) {
  expect(r.code).toBe(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('looks like a bug');
}

const sub = (type: string, user: string, hook: string) => `${type} of user ${user} to webhook ${hook}`;

describe('omni webhook on the X Activity API (spawned CLI → fake X)', () => {
  it('two interactions (two accounts) of one app share its one webhook: register reuses it, delete keeps it until the last', async () => {
    const { tw, run, stored, hookUrl, authorize, cli } = await setup({ interactions: 2 });
    const dbOf = (_: unknown) => cli.db;

    // Not authorized yet: refused with the fix, before any call to X.
    const early = await run(['webhook', 'register', '1']);
    oneLineError(early);
    expect(early.stderr).toContain("interaction 1 'Support' is not authorized with X yet");
    expect(early.stderr).toContain('omni interaction authorize 1');
    expect(tw.state.requests.filter((q) => q.path.startsWith('/2/'))).toEqual([]);

    await authorize(1, ACCOUNT_ID);
    await authorize(2, SALES_ID);

    const first = await run(['webhook', 'register', '1']);
    expect(first.stderr).toContain(`registered the app’s webhook: ${hookUrl(1)}`);
    expect(first.code).toBe(0);
    const hooks = tw.x.webhooks();
    expect(hooks).toEqual([expect.objectContaining({ url: hookUrl(1), valid: true })]);
    const hook = hooks[0]!.id;
    expect(first.stderr).toContain(`subscribed: ${sub('dm.received', ACCOUNT_ID, hook)}`);
    expect(first.stderr).toContain(`subscribed: ${sub('dm.sent', ACCOUNT_ID, hook)}`);
    expect(tw.x.activitySubscriptions().map((s) => [s.eventType, s.filter.user_id, s.webhookId, s.tag]).sort()).toEqual([
      ['dm.received', ACCOUNT_ID, hook, 'omni:1'],
      ['dm.sent', ACCOUNT_ID, hook, 'omni:1'],
    ]);
    expect(tw.state.crcChecks.length + tw.x.crcChecks.length).toBe(1);
    expect(await stored(1)).toMatchObject({ webhook_id: hook, webhook_url: hookUrl(1), webhook_valid: 1, subscribed: 1, webhook_last_error: null, account_user_id: ACCOUNT_ID });

    // Again: nothing new at X.
    const again = await run(['webhook', 'register', '1', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ interactionId: 1, api: 'activity', action: 'unchanged', sharedWith: [], subscriptions: { created: [], present: [sub('dm.received', ACCOUNT_ID, hook), sub('dm.sent', ACCOUNT_ID, hook)] } });
    expect(tw.requestsTo('POST', '/2/webhooks')).toHaveLength(1);
    expect(tw.requestsTo('POST', '/2/activity/subscriptions')).toHaveLength(2);

    // The second account: the same webhook, its own subscriptions.
    const second = await run(['webhook', 'register', 'Sales', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ interactionId: 2, action: 'reused', webhook: { id: hook, url: hookUrl(1) }, sharedWith: [1], account: { userId: SALES_ID, username: SALES_NAME } });
    expect(tw.x.webhooks()).toHaveLength(1);
    expect(tw.requestsTo('POST', '/2/webhooks')).toHaveLength(1);
    expect(tw.x.activitySubscriptions().filter((s) => s.filter.user_id === SALES_ID).map((s) => [s.eventType, s.webhookId, s.tag]).sort()).toEqual([
      ['dm.received', hook, 'omni:2'],
      ['dm.sent', hook, 'omni:2'],
    ]);
    expect((await stored(2)).webhook_id).toBe(hook);

    // Status names exactly what is missing.
    const gone = tw.x.activitySubscriptions().find((s) => s.filter.user_id === SALES_ID && s.eventType === 'dm.sent')!;
    const bearer = (await fetch(`${tw.url}/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${TEST_SECRETS.apiKey}:${TEST_SECRETS.apiSecretKey}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }).then((r) => r.json())) as { access_token: string };
    expect((await fetch(`${tw.url}/2/activity/subscriptions/${gone.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${bearer.access_token}` } })).status).toBe(200);
    const status = await run(['webhook', 'status', '2', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      interactionId: 2,
      api: 'activity',
      webhook: { id: hook, valid: true, state: 'valid' },
      sharedWith: [1],
      subscriptions: { present: [sub('dm.received', SALES_ID, hook)], missing: [sub('dm.sent', SALES_ID, hook)] },
    });
    const text = await run(['webhook', 'status', '2']);
    expect(text.stdout).toContain(`MISSING ${sub('dm.sent', SALES_ID, hook)}`);
    expect(text.stderr).toContain('1 subscription is missing: omni webhook register 2');
    expect((await stored(2)).subscribed).toBe(0);
    const fixed = await run(['webhook', 'register', '2']);
    expect(fixed.stderr).toContain(`subscribed: ${sub('dm.sent', SALES_ID, hook)}`);
    expect(tw.x.activitySubscriptions()).toHaveLength(4);

    // check: X re-runs the CRC (PUT).
    const check = await run(['webhook', 'check', '1']);
    expect(check.stderr).toContain(`valid: X's CRC of ${hookUrl(1)} passed`);
    expect(check.code).toBe(0);
    expect(tw.requestsTo('PUT', `/2/webhooks/${hook}`)).toHaveLength(1);

    // Delete one: its subscriptions go, the webhook stays for the other; it named interaction 1's
    // URL, so it moves to interaction 2's (X's CRC there) and 2's subscriptions follow it.
    const del1 = await run(['webhook', 'delete', '1', '--yes', '--json']);
    expect(del1.code).toBe(0);
    expect(JSON.parse(del1.stdout)).toMatchObject({ interactionId: 1, deletedWebhook: null, keptFor: [2], handedOver: { interactionId: 2, webhook: { url: hookUrl(2) } } });
    expect(JSON.parse(del1.stdout).removedSubscriptions).toHaveLength(2);
    const moved = tw.x.webhooks();
    expect(moved.map((h) => h.url)).toEqual([hookUrl(2)]);
    expect(tw.x.activitySubscriptions().map((s) => [s.filter.user_id, s.webhookId])).toEqual([
      [SALES_ID, moved[0]!.id],
      [SALES_ID, moved[0]!.id],
    ]);
    expect(await stored(1)).toMatchObject({ webhook_id: null, subscribed: 0 });
    expect(await stored(2)).toMatchObject({ webhook_id: moved[0]!.id, webhook_url: hookUrl(2) });

    // Delete the last: the webhook goes too.
    const del2 = await run(['webhook', 'delete', '2', '--yes']);
    expect(del2.code).toBe(0);
    expect(del2.stderr).toContain(`deleted the webhook ${hookUrl(2)} (id ${moved[0]!.id})`);
    expect(tw.x.webhooks()).toEqual([]);
    expect(tw.x.activitySubscriptions()).toEqual([]);

    const audit = await withDb(dbOf(run), (db) => db.selectFrom('audit_log').select(['entity_id', 'action']).where('action', 'like', 'webhook.%').orderBy('id').execute());
    expect(audit.map((a) => `${a.entity_id} ${a.action}`)).toEqual(['1 webhook.register', '2 webhook.register', '2 webhook.register', '2 webhook.move', '1 webhook.delete', '2 webhook.delete']);
  }, 90_000); // many spawned commands against the fake X

  it('refuses a foreign webhook in the app’s one slot with the fix, and --replace takes it over', async () => {
    const { tw, run, hookUrl, authorize } = await setup();
    await authorize(1, ACCOUNT_ID);
    tw.x.addWebhook(TEST_SECRETS.apiKey, 'https://old-server.example.com/hooks/x');
    const r = await run(['webhook', 'register', '1']);
    oneLineError(r);
    expect(r.stderr).toContain('the app already holds its one webhook, for another URL: https://old-server.example.com/hooks/x');
    expect(r.stderr).toContain('omni webhook register 1 --replace');
    expect(tw.requestsTo('POST', '/2/webhooks')).toHaveLength(0);

    const replaced = await run(['webhook', 'register', '1', '--replace']);
    expect(replaced.code).toBe(0);
    expect(replaced.stderr).toContain('deleted the webhook https://old-server.example.com/hooks/x');
    expect(tw.x.webhooks().map((w) => w.url)).toEqual([hookUrl(1)]);
  }, 90_000); // many spawned commands against the fake X

  it('says why X refused, in one line with the fix: a failed CRC, a URL X does not take, a webhook URL over 200 characters', async () => {
    const crc = await setup({ crcMode: 'wrong' });
    await crc.authorize(1, ACCOUNT_ID);
    const failed = await crc.run(['webhook', 'register', '1']);
    oneLineError(failed);
    expect(failed.stderr).toContain(`X's CRC check of ${crc.hookUrl(1)} failed (HTTP 400, CrcValidationFailed)`);
    expect(failed.stderr).toContain('omni listen');
    expect((await crc.stored(1)).webhook_last_error).toContain('CrcValidationFailed');

    const strict = await setup({ fake: { strictUrls: true } });
    await strict.authorize(1, ACCOUNT_ID);
    const url = await strict.run(['webhook', 'register', '1']);
    oneLineError(url);
    expect(url.stderr).toContain('UrlValidationFailed');
    expect(url.stderr).toContain('https URL without a port');

    // The account granted no dm.read (its OAuth 1.0a fallback belongs to another account): X's scope refusal, and the fix.
    const scope = await setup({ interactions: 2 });
    await scope.authorize(2, SALES_ID, ['dm.write', 'tweet.read', 'users.read', 'offline.access']);
    const noScope = await scope.run(['webhook', 'register', '2']);
    oneLineError(noScope);
    expect(noScope.stderr).toContain('the OAuth 2.0 authorization lacks the scope dm.read');
    expect(noScope.stderr).toContain('omni interaction authorize 2');

    const long = await setup();
    await long.authorize(1, ACCOUNT_ID);
    await withDb(long.cli.db, (db) => updateInteraction(db, 1, { callback_url: `https://helpdesk.example.com/${'x'.repeat(190)}` }));
    const tooLong = await long.run(['webhook', 'register', '1']);
    oneLineError(tooLong);
    expect(tooLong.stderr).toContain('/webhooks/twitter/1 is 238 characters long; X accepts at most 200');
    expect(tooLong.stderr).toContain('a callback URL of at most 181 characters');
    expect(tooLong.stderr).toContain('omni interaction edit 1 --callback-url');
    expect(long.tw.requestsTo('POST', '/2/webhooks')).toHaveLength(0);
  }, 90_000); // many spawned commands against the fake X
});

describe('omni interaction delete on a shared webhook', () => {
  it('releases the interaction’s subscriptions and keeps the webhook while another live interaction uses it', async () => {
    const { tw, run, authorize } = await setup({ interactions: 2 });
    await authorize(1, ACCOUNT_ID);
    await authorize(2, SALES_ID);
    expect((await run(['webhook', 'register', '1'])).code).toBe(0);
    expect((await run(['webhook', 'register', '2'])).code).toBe(0);
    const first = await run(['interaction', 'delete', '1', '--yes']);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("removed the X subscriptions of interaction 1 (the app's webhook goes only when no other interaction uses it)");
    expect(tw.x.webhooks()).toHaveLength(1);
    expect(tw.x.activitySubscriptions().map((s) => s.filter.user_id)).toEqual([SALES_ID, SALES_ID]);
    expect((await run(['interaction', 'delete', '2', '--yes'])).code).toBe(0);
    expect(tw.x.webhooks()).toEqual([]);
    expect(tw.x.activitySubscriptions()).toEqual([]);
  }, 90_000); // many spawned commands against the fake X
});

describe('omni webhook on Account Activity API v2 (spawned CLI → fake X)', () => {
  it('registers the webhook and subscribes the account (subscriptions/all), reports it, deletes both', async () => {
    const { tw, run, stored, hookUrl, authorize } = await setup({ api: 'v2' });
    await authorize(1, ACCOUNT_ID);
    const r = await run(['webhook', 'register', '1', '--json']);
    expect(r.code).toBe(0);
    const hook = tw.x.webhooks()[0]!.id;
    expect(JSON.parse(r.stdout)).toMatchObject({ api: 'v2', action: 'registered', webhook: { id: hook, url: hookUrl(1), valid: true }, subscriptions: { created: [`Account Activity (all events) of user ${ACCOUNT_ID} on webhook ${hook}`] } });
    expect(tw.x.aaaSubscriptions(hook)).toEqual([ACCOUNT_ID]);
    expect(tw.x.activitySubscriptions()).toEqual([]);
    expect((await stored(1)).subscribed).toBe(1);

    const status = await run(['webhook', 'status', '1']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`@${ACCOUNT_SCREEN_NAME} (${ACCOUNT_ID})`);
    expect(status.stdout).toMatch(/webhook\s+valid /);
    expect(status.stdout).toContain(`yes Account Activity (all events) of user ${ACCOUNT_ID} on webhook ${hook}`);

    const del = await run(['webhook', 'delete', '1', '--yes', '--json']);
    expect(del.code).toBe(0);
    expect(JSON.parse(del.stdout)).toMatchObject({ removedSubscriptions: [ACCOUNT_ID], deletedWebhook: { id: hook }, keptFor: [] });
    expect(tw.x.webhooks()).toEqual([]);
  }, 90_000); // many spawned commands against the fake X

  it('reuses the webhook for a second account; the app’s subscription limit comes back as one line with the fix', async () => {
    const { tw, run, stored, authorize } = await setup({ api: 'v2', interactions: 2, fake: { x: { clients: [{ clientId: CLIENT_ID, redirectUris: [] }], aaaSubscriptionLimit: 1 } } });
    await authorize(1, ACCOUNT_ID);
    await authorize(2, SALES_ID);
    expect((await run(['webhook', 'register', '1'])).code).toBe(0);
    const hook = tw.x.webhooks()[0]!.id;
    const second = await run(['webhook', 'register', '2']);
    oneLineError(second);
    expect(second.stderr).toContain('the app holds as many subscriptions as its package allows (HTTP 400, SubscriptionLimitExceeded)');
    expect(second.stderr).toContain('delete subscriptions of accounts omni no longer serves');
    expect(tw.x.webhooks()).toHaveLength(1);
    expect(tw.x.aaaSubscriptions(hook)).toEqual([ACCOUNT_ID]);
    // The webhook is stored (it is shared); the failure is remembered.
    expect(await stored(2)).toMatchObject({ webhook_id: hook, webhook_last_error: expect.stringContaining('SubscriptionLimitExceeded') });
  }, 90_000); // many spawned commands against the fake X

  it('reports a missing webhook', async () => {
    const { run, authorize } = await setup({ api: 'v2' });
    await authorize(1, ACCOUNT_ID);
    const status = await run(['webhook', 'status', '1', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ webhook: { state: 'missing' }, subscriptions: { present: null, missing: null, unknown: 'no webhook: omni webhook register 1' } });
  }, 90_000); // many spawned commands against the fake X
});

describe('the watchdog and omni doctor on X API 2026', () => {
  it('the watchdog re-validates an invalid webhook and re-creates a missing subscription, logging it once; doctor names what is missing with the fix', async () => {
    const { tw, run, cli, hookUrl, authorize } = await setup();
    // Not authorized: doctor warns on x-api with the fix, fails the webhook, and does not look for subscriptions.
    let report = JSON.parse((await run(['doctor', '1', '--json'])).stdout) as DoctorJson;
    expect(check(report, 'x-api', 1)).toMatchObject({ status: 'warn', fix: 'omni interaction authorize 1' });
    expect(check(report, 'x-webhook', 1)).toMatchObject({ status: 'fail', fix: expect.stringContaining('omni webhook register 1') });
    expect(check(report, 'x-subscriptions', 1)).toMatchObject({ status: 'skip' });
    expect(report.checks.find((c) => c.id === 'dev-environment')).toBeUndefined();

    await authorize(1, ACCOUNT_ID);
    expect((await run(['webhook', 'register', '1'])).code).toBe(0);
    const hook = tw.x.webhooks()[0]!;
    report = JSON.parse((await run(['doctor', '1', '--json'])).stdout) as DoctorJson;
    expect(check(report, 'x-webhook', 1)).toMatchObject({ status: 'pass', detail: `${hookUrl(1)} (id ${hook.id}), valid` });
    expect(check(report, 'x-subscriptions', 1)).toMatchObject({ status: 'pass', detail: `${sub('dm.received', ACCOUNT_ID, hook.id)}; ${sub('dm.sent', ACCOUNT_ID, hook.id)}` });

    // X marks the webhook invalid and the dm.sent subscription disappears.
    hook.valid = false;
    const gone = tw.x.activitySubscriptions().find((s) => s.eventType === 'dm.sent')!;
    const bearer = (await fetch(`${tw.url}/oauth2/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${TEST_SECRETS.apiKey}:${TEST_SECRETS.apiSecretKey}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }).then((r) => r.json())) as { access_token: string };
    await fetch(`${tw.url}/2/activity/subscriptions/${gone.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${bearer.access_token}` } });
    report = JSON.parse((await run(['doctor', '1', '--json'])).stdout) as DoctorJson;
    expect(check(report, 'x-webhook', 1)).toMatchObject({ status: 'fail', fix: 'with omni listen reachable: omni webhook check 1' });
    hook.valid = true;
    report = JSON.parse((await run(['doctor', '1', '--json'])).stdout) as DoctorJson;
    expect(check(report, 'x-subscriptions', 1)).toMatchObject({ status: 'fail', detail: `missing: ${sub('dm.sent', ACCOUNT_ID, hook.id)}: X sends those events nowhere`, fix: 'omni webhook register 1' });
    hook.valid = false;

    const quiet = Object.assign(new PassThrough(), { isTTY: false });
    const ctx = createContext({ db: cli.db }, { stdin: new PassThrough(), stdout: quiet, stderr: quiet }, { OMNI_TWITTER_API_URL: tw.url, HOME: cli.dir, XDG_DATA_HOME: path.join(cli.dir, 'xdg'), XDG_CONFIG_HOME: path.join(cli.dir, 'config') });
    closers.push(() => ctx.close());
    const logged: string[] = [];
    const checks: WatchdogCheck[] = [];
    const log = { info: (m: string) => logged.push(`info ${m}`), warn: (m: string) => logged.push(`warn ${m}`), error: (m: string) => logged.push(`error ${m}`) };
    const dog = startWatchdog({ deps: serviceDeps(ctx), intervalMs: 50, log, onCheck: (c) => checks.push(c) });
    closers.push(() => dog.stop());
    const deadline = Date.now() + 10_000;
    while (checks.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await dog.stop();
    expect(checks.slice(0, 3).map((c) => c.result)).toEqual(['revalidated', 'valid', 'valid']);
    expect(tw.x.webhooks()[0]!.valid).toBe(true);
    expect(tw.x.activitySubscriptions().map((s) => [s.eventType, s.webhookId, s.tag]).sort()).toEqual([
      ['dm.received', hook.id, 'omni:1'],
      ['dm.sent', hook.id, 'omni:1'],
    ]);
    const resubscribed = logged.filter((l) => l.includes('created it again'));
    expect(resubscribed).toEqual([`warn watchdog: a subscription of interaction #1 was gone at X; created it again: ${sub('dm.sent', ACCOUNT_ID, hook.id)}`]);
    expect(logged.filter((l) => l.includes('was invalid'))).toHaveLength(1);
  }, 90_000); // many spawned commands against the fake X
});
