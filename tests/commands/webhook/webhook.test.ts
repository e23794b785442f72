// `omni webhook …` end to end: the built CLI spawned with no TTY, talking through the real gateway
// to the fake Twitter, which runs real CRCs against a 127.0.0.1 responder standing in for `omni listen`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { getInteraction, updateInteraction } from '../../../src/db/interactions.js';
import { cliWithDb, cliWithSeparateDb } from '../../support/cli.js';
import { startCrcResponder, startFakeTwitter, type FakeTwitterOptions } from '../../support/fake-twitter.js';
import { seedInteraction, TEST_SECRETS, type SeedOptions } from '../../support/seed.js';
import { ACCOUNT_ID, ACCOUNT_SCREEN_NAME, testApp, testUser } from '../../support/twitter-fixtures.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** A fake Twitter, a CRC responder (our stand-in listener) and a CLI with a seeded interaction 1. */
async function setup(opts: { fake?: Partial<FakeTwitterOptions>; seed?: SeedOptions; crcMode?: 'ok' | 'wrong' | 'status500' } = {}) {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], ...opts.fake });
  closers.push(() => tw.close());
  const listener = await startCrcResponder(TEST_SECRETS.apiSecretKey, opts.crcMode ? { mode: opts.crcMode } : {});
  closers.push(() => listener.close());
  const cli = await cliWithSeparateDb({ OMNI_TWITTER_API_URL: tw.url });
  const { id } = await seedInteraction(cli.db, { callbackUrl: listener.url, accountUserId: null, ...opts.seed });
  const hookUrl = `${listener.url}/webhooks/twitter/${id}`;
  const stored = async () => {
    const db = await openDatabase(cli.db);
    try {
      return (await getInteraction(db.kysely, id))!;
    } finally {
      await db.close();
    }
  };
  return { tw, listener, cli, run: cli.run, id, hookUrl, stored };
}

function noStack(stderr: string) {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('looks like a bug');
}

describe('omni webhook (spawned CLI → fake Twitter)', () => {
  it('registers, subscribes, stores the state, and a second run changes nothing', async () => {
    const { tw, run, hookUrl, stored } = await setup();
    const first = await run(['webhook', 'register', '1']);
    expect(first.stderr).toContain(`credentials of @${ACCOUNT_SCREEN_NAME} (${ACCOUNT_ID})`);
    expect(first.stderr).toContain(`registered the webhook on 'dev': ${hookUrl}`);
    expect(first.stderr).toContain(`subscribed @${ACCOUNT_SCREEN_NAME}`);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    expect(tw.webhook('dev')).toMatchObject({ url: hookUrl, valid: true });
    expect(tw.subscriptions('dev')).toEqual([ACCOUNT_ID]);
    expect(tw.state.crcChecks).toEqual([expect.objectContaining({ url: hookUrl, ok: true })]);

    const row = await stored();
    expect(row).toMatchObject({
      account_user_id: ACCOUNT_ID,
      account_screen_name: ACCOUNT_SCREEN_NAME,
      webhook_id: tw.webhook('dev')!.id,
      webhook_url: hookUrl,
      webhook_valid: 1,
      subscribed: 1,
      webhook_last_error: null,
    });
    expect(row.webhook_checked_at).toMatch(/Z$/);

    const again = await run(['webhook', 'register', '1', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      interactionId: 1,
      devEnvironment: 'dev',
      account: { userId: ACCOUNT_ID, screenName: ACCOUNT_SCREEN_NAME },
      webhook: { id: tw.webhook('dev')!.id, url: hookUrl, valid: true, createdAt: expect.stringMatching(/Z$/) },
      action: 'unchanged',
      replaced: [],
      subscription: 'already-subscribed',
    });
    // Idempotent: no second registration, no second CRC; the 355 answer was taken as success.
    expect(tw.requestsTo('POST', '/1.1/account_activity/all/dev/webhooks.json')).toHaveLength(1);
    expect(tw.state.crcChecks).toHaveLength(1);
    expect(tw.requestsTo('POST', '/1.1/account_activity/all/dev/subscriptions.json').map((r) => r.errorCode)).toEqual([undefined, 355]);

    const status = await run(['webhook', 'status', '1', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      interactionId: 1,
      devEnvironment: 'dev',
      webhookUrl: hookUrl,
      account: { userId: ACCOUNT_ID, screenName: ACCOUNT_SCREEN_NAME },
      webhooks: [{ id: tw.webhook('dev')!.id, url: hookUrl, valid: true, createdAt: expect.any(String), ours: true }],
      subscribed: true,
      lastError: null,
      checkedAt: expect.stringMatching(/Z$/),
      // The CRC was answered by a stand-in, not by omni listen: nothing recorded, so omni warns.
      health: {
        interactionId: 1,
        registered: true,
        lastCrc: null,
        lastRefusedCrc: null,
        lastWatchdogCheck: null,
        crcAgeMs: null,
        staleAfterMs: 2 * 3_600_000,
        crcStale: true,
        warnings: [expect.stringContaining('no CRC from Twitter has been recorded for this webhook')],
      },
    });
  });

  it('check: valid → exit 0; CRC failing → exit 1 with the URL, stored; register re-triggers the CRC', async () => {
    const { tw, listener, run, hookUrl, stored } = await setup();
    expect((await run(['webhook', 'register', '1'])).code).toBe(0);

    const ok = await run(['webhook', 'check', '1']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain(`valid: Twitter's CRC of ${hookUrl} passed`);

    listener.setMode('wrong');
    const bad = await run(['webhook', 'check', '1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`invalid: Twitter's CRC check of ${hookUrl} failed`);
    expect(bad.stderr).toContain('Invalid CRC token or json response format');
    expect(bad.stderr).toContain(`Twitter sent GET ${hookUrl}?crc_token=`);
    expect(bad.stderr).toContain("'omni listen' must be running and reachable");
    noStack(bad.stderr);
    expect(tw.webhook('dev')?.valid).toBe(false);
    const row = await stored();
    expect(row.webhook_valid).toBe(0);
    expect(row.webhook_last_error).toContain('CRC check');

    const badJson = await run(['webhook', 'check', '1', '--json']);
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.stdout)).toMatchObject({ valid: false, webhook: { url: hookUrl, valid: false }, error: expect.stringContaining('CRC') });

    const status = JSON.parse((await run(['webhook', 'status', '1', '--json'])).stdout);
    expect(status.webhooks[0].valid).toBe(false);
    expect(status.lastError).toContain('CRC check');

    listener.setMode('ok');
    const fixed = await run(['webhook', 'register', '1', '--json']);
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout).action).toBe('revalidated');
    expect(tw.requestsTo('PUT', /\/webhooks\/\d+\.json$/).map((r) => r.status)).toEqual([204, 400, 400, 204]);
    expect(tw.webhook('dev')?.valid).toBe(true);
    expect((await stored()).webhook_last_error).toBeNull();
  });

  it('refuses a foreign webhook, naming it, and replaces it with --replace', async () => {
    const { tw, run, hookUrl, stored } = await setup();
    const foreign = tw.addWebhook('dev', 'https://old.example.com/twitter/hook');
    const refused = await run(['webhook', 'register', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: the dev environment 'dev' already has a webhook for another URL: https://old.example.com/twitter/hook (id ${foreign.id}, valid)`);
    expect(refused.stderr).toContain('omni webhook register 1 --replace');
    expect(tw.webhook('dev')?.url).toBe('https://old.example.com/twitter/hook');
    expect((await stored()).webhook_last_error).toContain('already has a webhook for another URL');

    const replaced = await run(['webhook', 'register', '1', '--replace']);
    expect(replaced.code).toBe(0);
    expect(replaced.stderr).toContain(`deleted the webhook https://old.example.com/twitter/hook (id ${foreign.id})`);
    expect(tw.webhook('dev')?.url).toBe(hookUrl);
    expect((await stored()).webhook_last_error).toBeNull();
  });

  it('reports a failed CRC on registration with the URL Twitter tried, and records it', async () => {
    const { tw, run, hookUrl, stored } = await setup({ crcMode: 'status500' });
    const r = await run(['webhook', 'register', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: Twitter's CRC check of ${hookUrl} failed (HTTP 400, Twitter code 214): Non-200 response code during CRC GET request`);
    expect(r.stderr).toContain(`Twitter sent GET ${hookUrl}?crc_token=`);
    noStack(r.stderr);
    expect(tw.webhook('dev')).toBeUndefined();
    expect(tw.subscriptions('dev')).toEqual([]);
    const row = await stored();
    expect(row).toMatchObject({ account_user_id: ACCOUNT_ID, webhook_id: null, webhook_valid: null });
    expect(row.webhook_last_error).toContain('CRC check');
  });

  it('prints the credentials line, not a stack trace, for a wrong access token secret', async () => {
    const { run, stored } = await setup({ seed: { secrets: { accessTokenSecret: 'not-the-secret' } } });
    const r = await run(['webhook', 'register', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: Twitter could not authenticate the request: the OAuth signature does not match (HTTP 401, Twitter code 32)');
    expect(r.stderr).toContain('re-check the API secret key and the access token secret');
    expect(r.stderr).toContain('omni interaction edit 1');
    noStack(r.stderr);
    expect((await stored()).webhook_last_error).toContain('Twitter code 32');
  });

  it('names the existing environments for an unknown label, and maps 348 and rate limits', async () => {
    const unknown = await setup({ seed: { devEnvironment: 'staging' } });
    const r1 = await unknown.run(['webhook', 'register', '1']);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain("error: no dev environment named 'staging'; existing: dev, prod");

    const notAllowed = await setup({ fake: { users: [testUser({ allowSubscriptions: false })] } });
    const r2 = await notAllowed.run(['webhook', 'register', '1']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("Twitter does not let this app manage the account's webhook subscriptions (HTTP 403, Twitter code 348)");
    // The webhook went in before the subscription was refused: the stored state says so.
    expect(await notAllowed.stored()).toMatchObject({ webhook_valid: 1, webhook_url: notAllowed.hookUrl, subscribed: null });

    const limited = await setup();
    const reset = Math.floor(Date.now() / 1000) + 300;
    limited.tw.failNext({ path: '/1.1/account/verify_credentials.json', status: 429, errors: [{ code: 88, message: 'Rate limit exceeded' }], headers: { 'x-rate-limit-reset': String(reset) } });
    const r3 = await limited.run(['webhook', 'status', '1']);
    // status does not verify credentials; register does.
    expect(r3.code).toBe(0);
    const r4 = await limited.run(['webhook', 'register', '1']);
    expect(r4.code).toBe(1);
    expect(r4.stderr).toMatch(/rate limit for GET \/1\.1\/account\/verify_credentials\.json is used up until \d\d:\d\d:\d\d UTC \(in [45] min\)/);
    expect(r4.stderr).toContain(`wait until ${new Date(reset * 1000).toISOString()}`);
  });

  it('names the URL when Twitter is unreachable', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const cli = cliWithDb({ OMNI_TWITTER_API_URL: `http://127.0.0.1:${port}` });
    await seedInteraction(cli.db);
    const r = await cli.run(['webhook', 'status', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: cannot reach Twitter: POST http://127.0.0.1:${port}/oauth2/token: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(r.stderr).toContain(`the API base URL is http://127.0.0.1:${port} (OMNI_TWITTER_API_URL)`);
    noStack(r.stderr);
  });

  it('delete: needs --yes off a TTY, unsubscribes, deletes our webhook, clears the state; again is a no-op', async () => {
    const { tw, run, hookUrl, stored } = await setup();
    expect((await run(['webhook', 'register', '1'])).code).toBe(0);
    const hookId = tw.webhook('dev')!.id;

    const asked = await run(['webhook', 'delete', '1']);
    expect(asked.code).toBe(4);
    expect(asked.stderr).toContain('missing --yes');
    expect(tw.webhook('dev')).toBeDefined();

    const del = await run(['webhook', 'delete', '1', '--yes', '--json']);
    expect(del.code).toBe(0);
    expect(JSON.parse(del.stdout)).toEqual({
      interactionId: 1,
      devEnvironment: 'dev',
      subscription: 'unsubscribed',
      deletedWebhook: { id: hookId, url: hookUrl, valid: true, createdAt: expect.any(String) },
    });
    expect(tw.webhook('dev')).toBeUndefined();
    expect(tw.subscriptions('dev')).toEqual([]);
    expect(await stored()).toMatchObject({ webhook_id: null, webhook_url: null, webhook_valid: null, subscribed: 0, webhook_last_error: null });

    const again = await run(['webhook', 'delete', '1', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('the account was not subscribed');
    expect(again.stderr).toContain("no webhook of this interaction on 'dev'");

    const status = await run(['webhook', 'status', '1']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('subscribed      no');
    expect(status.stdout).toContain(`account         @${ACCOUNT_SCREEN_NAME} (${ACCOUNT_ID})`);
    expect(status.stderr).toContain("no webhook on 'dev'; register one with: omni webhook register 1");
  });

  it('interaction delete stops when Twitter refuses to remove the webhook, unless --force', async () => {
    const { tw, run, stored } = await setup();
    expect((await run(['webhook', 'register', '1'])).code).toBe(0);

    tw.failNext({ method: 'DELETE', path: /webhooks/, status: 503, errors: [{ code: 131, message: 'Internal error' }], times: 5 });
    const refused = await run(['interaction', 'delete', '1', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not deleted:');
    expect(refused.stderr).toContain('--force');
    noStack(refused.stderr);
    expect((await stored()).deleted_at).toBeNull();

    const forced = await run(['interaction', 'delete', '1', '--yes', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('deleting anyway (--force)');
    expect(await stored()).toBeUndefined(); // stored() reads live interactions only
  });

  it('interaction delete removes the webhook and subscription, or keeps them with --keep-webhook', async () => {
    const a = await setup();
    expect((await a.run(['webhook', 'register', '1'])).code).toBe(0);
    const deleted = await a.run(['interaction', 'delete', '1', '--yes']);
    expect(deleted.code).toBe(0);
    expect(deleted.stderr).toContain('removed the Twitter webhook and subscription of interaction 1');
    expect(a.tw.webhook('dev')).toBeUndefined();
    expect(a.tw.subscriptions('dev')).toEqual([]);

    const b = await setup();
    expect((await b.run(['webhook', 'register', '1'])).code).toBe(0);
    const kept = await b.run(['interaction', 'delete', '1', '--yes', '--keep-webhook']);
    expect(kept.code).toBe(0);
    expect(kept.stderr).toContain('stays registered at Twitter (--keep-webhook)');
    expect(b.tw.webhook('dev')).toBeDefined();
    expect(b.tw.subscriptions('dev')).toEqual([ACCOUNT_ID]);
  });

  it('clears a revocation once the account authorised the app again (register succeeds)', async () => {
    const { run, id, cli, stored } = await setup();
    const db = await openDatabase(cli.db);
    await updateInteraction(db.kysely, id, { revoked_at: '2026-01-01T00:00:00.000Z' });
    await db.close();
    expect((await run(['webhook', 'register', String(id)])).code).toBe(0);
    expect((await stored()).revoked_at).toBeNull();
    const audit = JSON.parse((await run(['audit', '--entity', 'interaction', '--id', String(id), '--json'])).stdout);
    expect(audit[0]).toMatchObject({ action: 'webhook.register', changes: expect.objectContaining({ revokedAt: { from: '2026-01-01T00:00:00.000Z', to: null } }) });
  });

  it('has help with examples and the environment variables', async () => {
    const { run } = cliWithDb();
    const help = await run(['webhook', 'register', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('$ omni webhook register Support --replace');
    const top = await run(['webhook', '--help']);
    expect(top.stdout).toContain('OMNI_TWITTER_API_URL');
    expect(top.stdout).toMatch(/register \[options\] <interaction>/);
  });
});

