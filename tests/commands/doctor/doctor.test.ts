// `omni doctor` end to end: the built CLI spawned with no TTY, the fake Twitter through the real
// gateway, the REAL `omni listen` answering CRCs through each callback URL, and a Rasa-style Helper.
// Each setup holds several interactions, each broken in one way, so one run asserts many failures.
import { openDatabase } from '../../../src/db/connection.js';
import { updateInteraction } from '../../../src/db/interactions.js';
import { writeWebhookEvents } from '../../../src/db/webhook-events.js';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cliWithDb } from '../../support/cli.js';
import { check, closedPort, handEdit, idsWith, seedSmartchat, startFakeHelper, type DoctorJson } from '../../support/doctor.js';
import { startCrcResponder, startFakeTwitter, type FakeTwitter } from '../../support/fake-twitter.js';
import { startListener } from '../../support/listener.js';
import { seedInteraction, type SeedOptions } from '../../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../../support/twitter-fixtures.js';
import { keyFilePath, loadSecretBox } from '../../../src/secrets.js';
import { storeAuthorization } from '../../../src/twitter/user-token.js';
import { TEST_ENGINE, testSecretEnv } from '../../support/engine.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const INTERACTION_IDS = [
  'not-revoked',
  'x-api',
  'unit',
  'group',
  'activity',
  'contact-origin',
  'helper-switch',
  'helper-fallback',
  'helper-reachable',
  'credentials',
  'dm-permission',
  'dev-environment',
  'webhook',
  'webhook-valid',
  'subscription',
  'crc-freshness',
  'listener-crc',
  'outbox-failures',
  'xchat',
];
const GLOBAL_IDS = ['database', 'secret-key', 'interactions', 'param-118', 'param-315', 'param-317', 'param-390', 'param-447'];
const TWITTER_IDS = ['credentials', 'dm-permission', 'dev-environment', 'webhook', 'webhook-valid', 'subscription'];

function parse(stdout: string): DoctorJson {
  return JSON.parse(stdout) as DoctorJson;
}

/** Requests that would change something on Twitter: the doctor must make none. */
function writesTo(tw: FakeTwitter) {
  return tw.state.requests.filter((r) => r.method !== 'GET' && r.path !== '/oauth2/token');
}

async function fakeTwitter(envs: string[], extra: Parameters<typeof startFakeTwitter>[0] = { apps: [] }) {
  const tw = await startFakeTwitter({ apps: [testApp({ envs }), ...extra.apps], users: [testUser(), ...(extra.users ?? [])] });
  closers.push(() => tw.close());
  return tw;
}

/** Seeds an interaction and wires it on the fake Twitter as `omni webhook register` would have. */
async function wired(tw: FakeTwitter, dbPath: string, seed: SeedOptions & { devEnvironment: string; callbackUrl: string }, wire: { webhook?: 'valid' | 'invalid' | 'none' | string; subscribe?: boolean; userId?: string } = {}) {
  const { id } = await seedInteraction(dbPath, { accountUserId: wire.userId ?? ACCOUNT_ID, ...seed });
  const url = `${seed.callbackUrl}/webhooks/twitter/${id}`;
  const hook = wire.webhook ?? 'valid';
  let stored: { id: string; url: string; valid: boolean } | undefined;
  if (hook === 'valid' || hook === 'invalid') stored = { ...tw.addWebhook(seed.devEnvironment, url, { valid: hook === 'valid' }), url };
  else if (hook !== 'none') tw.addWebhook(seed.devEnvironment, hook, { valid: true });
  const subscribed = wire.subscribe ?? true;
  if (subscribed) tw.subscribe(seed.devEnvironment, wire.userId ?? ACCOUNT_ID);
  // What register stores on the interaction, and the CRC Twitter sent to the listener while registering.
  if (stored) {
    const db = await openDatabase(dbPath);
    try {
      const at = new Date().toISOString();
      await updateInteraction(db.kysely, id, { webhook_id: stored.id, webhook_url: url, webhook_valid: stored.valid ? 1 : 0, subscribed: subscribed ? 1 : 0, webhook_checked_at: at });
      if (stored.valid) await writeWebhookEvents(db.kysely, [{ interactionId: id, at, kind: 'crc_answered', result: 'answered', remote: '127.0.0.1' }]);
    } finally {
      await db.close();
    }
  }
  return id;
}

describe(`omni doctor on ${TEST_ENGINE}`, () => {
  it('passes a complete set-up through the real listener and an external Helper, changing nothing; --offline skips what goes out', async () => {
    const tw = await fakeTwitter(['dev', 'prod']);
    const helper = await startFakeHelper();
    closers.push(() => helper.close());
    const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url });
    await seedSmartchat(cli.db, { 450: 'Y', 453: 'Sorry, type menu.', 441: helper.url });
    // The test sets Twitter's state by hand: the listener's watchdog would record checks of its own.
    const listener = await startListener({ db: cli.db, env: { HOME: cli.dir }, args: ['--no-watchdog'] });
    closers.push(() => listener.stop());
    const one = await wired(tw, cli.db, { name: 'Support', helper: true, devEnvironment: 'dev', callbackUrl: listener.url });
    const two = await wired(tw, cli.db, { name: 'Sales', devEnvironment: 'prod', callbackUrl: listener.url });

    const [json, human] = await Promise.all([cli.run(['doctor', '--json']), cli.run(['doctor', 'Support'])]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.id, c.interactionId])).toEqual([
      ...GLOBAL_IDS.map((id) => [id, undefined]),
      ...INTERACTION_IDS.map((id) => [id, one]),
      ...INTERACTION_IDS.map((id) => [id, two]),
    ]);
    expect(report.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.interactionId, c.status])).toEqual([
      // Sales does not intercept with the Helper.
      ['helper-switch', two, 'skip'],
      ['helper-fallback', two, 'skip'],
      ['helper-reachable', two, 'skip'],
    ]);
    expect(check(report, 'dm-permission', one).detail).toBe('access level read-write-directmessages');
    expect(check(report, 'listener-crc', one).detail).toMatch(new RegExp(`^${listener.url}/webhooks/twitter/${one} answered in \\d+ ms$`));
    expect(check(report, 'helper-reachable', one).detail).toContain('answered HTTP 405 to a GET');
    expect(report.checks.every((c) => c.fix === null)).toBe(true);

    // The CRCs went through the real listener.
    await listener.waitForLog((l) => l.msg === 'crc answered' && l.interaction === two);
    // Nothing was changed on Twitter and nothing was said to the Helper.
    expect(writesTo(tw)).toEqual([]);
    expect(helper.requests.map((r) => r.method)).toEqual(['GET', 'GET']);

    expect(human.code).toBe(0);
    expect(human.stdout).toContain("Interaction 1 'Support'\n");
    expect(human.stdout).not.toContain('Sales');
    expect(human.stdout).toMatch(/^ {2}✓ the account is subscribed: subscribed on 'dev' {2}\[subscription\]$/m);
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe('✓ ready: 27 passed');

    const requestsBefore = tw.state.requests.length;
    const offline = await cli.run(['doctor', '--offline', '--json']);
    expect(offline.code).toBe(0);
    const off = parse(offline.stdout);
    expect(idsWith(off, 'skip', one)).toEqual(['helper-reachable', ...TWITTER_IDS, 'listener-crc']);
    expect(idsWith(off, 'skip', two)).toEqual(['helper-switch', 'helper-fallback', 'helper-reachable', ...TWITTER_IDS, 'listener-crc']);
    expect(idsWith(off, 'fail')).toEqual([]);
    expect(check(off, 'credentials', one).detail).toBe('--offline: calls Twitter');
    expect(check(off, 'listener-crc', one).detail).toBe('--offline: calls the callback URL');
    expect(check(off, 'helper-reachable', one).detail).toBe(`--offline: ${helper.url} not called`);
    expect(tw.state.requests.length).toBe(requestsBefore);
    expect(helper.requests).toHaveLength(2);
  });

  it('names exactly the broken prerequisite of each interaction, with its fix, and skips what depends on it', async () => {
    const NODM_ID = '2222222222222222222';
    const noDmApp = { consumerKey: 'nodm-api-key-XXXX', consumerSecret: 'nodm-api-secret-YYYY', envs: ['nodm'], dmPermission: false };
    const noDmUser = { accessToken: '222-nodm-token-ZZZZ', accessTokenSecret: 'nodm-token-secret-WWWW', userId: NODM_ID, screenName: 'nodm', consumerKey: noDmApp.consumerKey };
    const envs = Array.from({ length: 12 }, (_, i) => `e${i + 1}`);
    const tw = await fakeTwitter(envs, { apps: [noDmApp], users: [noDmUser] });
    const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url });
    await seedSmartchat(cli.db);
    // The test sets Twitter's state by hand: the listener's watchdog would record checks of its own.
    const listener = await startListener({ db: cli.db, env: { HOME: cli.dir }, args: ['--no-watchdog'] });
    closers.push(() => listener.stop());
    const stale = await startCrcResponder('another-api-secret');
    closers.push(() => stale.close());
    const down = `http://127.0.0.1:${await closedPort()}`;
    const at = (n: number, over: SeedOptions = {}) => ({ name: `I${n}`, devEnvironment: `e${n}`, callbackUrl: listener.url, ...over });

    await wired(tw, cli.db, at(1, { secrets: { accessTokenSecret: 'not-the-token-secret' } }));
    await wired(tw, cli.db, at(2, { devEnvironment: 'nodm', secrets: { apiKey: noDmApp.consumerKey, apiSecretKey: noDmApp.consumerSecret, accessToken: noDmUser.accessToken, accessTokenSecret: noDmUser.accessTokenSecret } }), { userId: NODM_ID });
    await wired(tw, cli.db, at(3, { devEnvironment: 'staging' }), { webhook: 'none', subscribe: false });
    await wired(tw, cli.db, at(4), { webhook: 'none' });
    await wired(tw, cli.db, at(5), { webhook: 'invalid' });
    await wired(tw, cli.db, at(6), { webhook: 'https://old.example.com/webhooks/twitter/6' });
    await wired(tw, cli.db, at(7), { subscribe: false });
    await wired(tw, cli.db, at(8, { callbackUrl: down }));
    await wired(tw, cli.db, at(9, { callbackUrl: stale.url }));
    await wired(tw, cli.db, at(10));
    await wired(tw, cli.db, at(11));
    await wired(tw, cli.db, at(12, { accountUserId: '999' }));
    await handEdit(
      cli.db,
      `UPDATE interactions SET revoked_at = '2024-05-01T12:00:00.000Z' WHERE id = 10`,
      // A group deleted behind omni's back (the commands refuse to remove a referenced one).
      `INSERT INTO groups (id, name, created_at) VALUES (77, 'Gone', '2024-01-01T00:00:00.000Z')`,
      `UPDATE interactions SET group_id = 77 WHERE id = 11`,
      `DELETE FROM groups WHERE id = 77`,
    );

    const r = await cli.run(['doctor', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const report = parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.filter((c) => c.scope === 'global').map((c) => c.status)).toEqual(GLOBAL_IDS.map(() => 'pass'));
    const failing = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [i + 1, idsWith(report, 'fail', i + 1)]));
    expect(failing).toEqual({
      1: ['credentials'],
      2: ['dm-permission'],
      3: ['dev-environment'],
      4: ['webhook'],
      5: ['webhook-valid'],
      6: ['webhook'],
      7: ['subscription'],
      8: ['listener-crc'],
      9: ['listener-crc'],
      10: ['not-revoked'],
      11: ['group'],
      12: ['credentials'],
    });
    // The invalid webhook (5) has no CRC from Twitter on record either: a warning with the fix.
    expect(report.checks.filter((c) => c.status === 'warn').map((c) => [c.id, c.interactionId, c.fix])).toEqual([['crc-freshness', 5, 'omni webhook check 5']]);
    // What depends on a failure is skipped, not failed again.
    expect(idsWith(report, 'skip', 1)).toEqual(['helper-switch', 'helper-fallback', 'helper-reachable', 'dm-permission', 'dev-environment', 'webhook', 'webhook-valid', 'subscription']);
    expect(check(report, 'webhook', 1).detail).toBe("needs 'dev-environment' to pass first");
    expect(idsWith(report, 'skip', 3)).toContain('subscription');
    expect(idsWith(report, 'skip', 6)).toContain('webhook-valid');

    const fixOf = (id: string, n: number) => check(report, id, n).fix;
    expect(check(report, 'credentials', 1).detail).toContain('OAuth signature does not match');
    expect(fixOf('credentials', 1)).toContain('omni interaction edit 1');
    expect(check(report, 'dm-permission', 2).detail).toBe("access level 'read-write': the token may not read or send Direct Messages");
    expect(fixOf('dm-permission', 2)).toContain('"Read, Write and Direct Messages", regenerate the access token and secret, then: omni interaction edit 2');
    expect(check(report, 'dev-environment', 3).detail).toBe(`the app has no dev environment 'staging'; existing: ${envs.join(', ')}`);
    expect(fixOf('dev-environment', 3)).toBe(`omni interaction edit 3 --env-label <${envs.join('|')}>`);
    expect(check(report, 'webhook', 4).detail).toBe("no webhook on 'e4'");
    expect(fixOf('webhook', 4)).toBe(`with omni listen reachable at ${listener.url}: omni webhook register 4`);
    expect(fixOf('webhook-valid', 5)).toBe('with omni listen reachable: omni webhook check 5');
    expect(check(report, 'webhook', 6).detail).toContain("'e6' holds another URL: https://old.example.com/webhooks/twitter/6");
    expect(fixOf('webhook', 6)).toBe('omni webhook register 6 --replace');
    expect(fixOf('subscription', 7)).toBe('omni webhook register 7');
    expect(check(report, 'listener-crc', 8).detail).toMatch(new RegExp(`^cannot reach ${down}/webhooks/twitter/8: .*ECONNREFUSED`));
    expect(fixOf('listener-crc', 8)).toBe(`start omni listen and route ${down}/webhooks/twitter/ to it (README: Connect to X; docs/reverse-proxy.md); try: curl '${down}/webhooks/twitter/8?crc_token=test'`);
    expect(check(report, 'listener-crc', 9).detail).toContain("answered a CRC, but not with this interaction's API secret key");
    expect(fixOf('not-revoked', 10)).toBe('as the support account, authorise the app again (new access token and secret), then: omni interaction edit 10 && omni webhook register 10');
    expect(check(report, 'group', 11).detail).toBe('group 77 does not exist');
    expect(fixOf('group', 11)).toBe('omni interaction edit 11 --group <id|name>');
    expect(check(report, 'credentials', 12).detail).toContain('registered for account 999: its deliveries are refused');
    expect(fixOf('credentials', 12)).toBe('omni webhook register 12');
    expect(writesTo(tw)).toEqual([]);
  });

  it('checks the Smartchat parameters and, with interception on, 450, 453 and the Helper; a missing key file is reported, not created', async () => {
    const tw = await fakeTwitter(['dev']);
    const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url });
    const deadHelper = `http://127.0.0.1:${await closedPort()}/webhooks/rest/webhook`;
    // 118 unset, 315 naming an origin that is gone, 450 = N, 453 unset, 441 pointing at nothing.
    await seedSmartchat(cli.db, { 118: null, 315: '999', 450: 'N', 441: deadHelper });
    const id = await wired(tw, cli.db, { name: 'Support', helper: true, devEnvironment: 'dev', callbackUrl: 'https://helpdesk.example.com' });

    const [offline, online] = await Promise.all([cli.run(['doctor', '--offline', '--json']), cli.run(['doctor', '1', '--json'])]);
    expect(offline.code).toBe(1);
    const off = parse(offline.stdout);
    expect(idsWith(off, 'fail')).toEqual(['param-118', 'param-315']);
    expect(idsWith(off, 'fail', id)).toEqual(['helper-switch', 'helper-fallback']);
    expect(check(off, 'param-118').fix).toBe('omni param set 118 Standard');
    expect(check(off, 'param-315')).toMatchObject({ detail: '999, but there is no contact origin 999 (omni origin list)', fix: 'omni param set 315 Twitter (or another of: omni origin list)' });
    expect(check(off, 'helper-switch', id)).toMatchObject({ detail: 'N: DMs skip the Helper although the interaction enables it', fix: 'omni param set 450 Y' });
    expect(check(off, 'helper-fallback', id).fix).toMatch(/^omni param set 453 "/);
    expect(check(off, 'helper-reachable', id)).toMatchObject({ status: 'skip', detail: `--offline: ${deadHelper} not called` });

    expect(online.code).toBe(1);
    const on = parse(online.stdout);
    expect(check(on, 'helper-reachable', id)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(new RegExp(`^cannot reach ${deadHelper}: .*ECONNREFUSED`)) as unknown as string,
      fix: 'start the Helper, or correct its URL: omni param set 441 https://<helper>/webhooks/rest/webhook',
    });

    // The key file is gone (a restore without it): the credentials cannot be read, so the checks
    // that need them skip, and the doctor does not create a new, useless key.
    const keyFile = keyFilePath(cli.db, cli.env);
    fs.rmSync(keyFile);
    const twitterCalls = tw.state.requests.length;
    const nokey = await cli.run(['doctor', '--json']);
    expect(nokey.code).toBe(1);
    const nk = parse(nokey.stdout);
    expect(check(nk, 'secret-key')).toMatchObject({
      status: 'fail',
      detail: `no secret key: OMNI_SECRET_KEY is unset and ${keyFile} does not exist, so the credentials of 1 interaction cannot be decrypted`,
    });
    expect(check(nk, 'credentials', id)).toMatchObject({ status: 'skip', detail: "there is no secret key (see 'secret-key')" });
    expect(idsWith(nk, 'skip', id)).toEqual([...TWITTER_IDS, 'listener-crc']);
    expect(fs.existsSync(keyFile)).toBe(false);
    expect(tw.state.requests.length).toBe(twitterCalls);
  });

  it('points at exactly what is missing on a half-configured interaction', async () => {
    // What a new user has after the catalogs, `interaction new` with the Helper on, and a few
    // parameters: no contract (118) or template (447), Helper switches not set, the webhook never
    // registered, and omni listen not running behind the callback URL.
    const tw = await fakeTwitter(['production']);
    const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url });
    await seedSmartchat(cli.db, { 447: null }, { contract: false });
    const down = `http://127.0.0.1:${await closedPort()}`;
    const { id } = await seedInteraction(cli.db, { name: 'Support DMs', helper: true, devEnvironment: 'production', callbackUrl: down, accountUserId: null });

    const [json, human, unknown] = await Promise.all([cli.run(['doctor', '--json']), cli.run(['doctor']), cli.run(['doctor', 'Nope'])]);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain("error: no interaction 'Nope'");
    const report = parse(json.stdout);
    expect(json.code).toBe(1);
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([
      'param-118',
      'helper-switch',
      'helper-fallback',
      'webhook',
      'subscription',
      'listener-crc',
    ]);
    expect(idsWith(report, 'skip', id)).toEqual(['webhook-valid', 'crc-freshness']);
    expect(check(report, 'helper-reachable', id).detail).toBe('built-in Helper (parameter 441 is empty): nothing to reach');

    // The same, as a person reads it: a cross per failure, each followed by its fix.
    expect(human.code).toBe(1);
    const crossed = [...human.stdout.matchAll(/^ {2}✗ .*\[([a-z0-9-]+)\]\n {6}fix: (.+)$/gm)].map((m) => [m[1], m[2]]);
    expect(crossed).toEqual([
      ['param-118', 'omni contract add "Standard support" && omni param set 118 "Standard support"'],
      ['helper-switch', 'omni param set 450 Y'],
      ['helper-fallback', 'omni param set 453 "Sorry, I did not understand. Type menu to see the options."'],
      ['webhook', `with omni listen reachable at ${down}: omni webhook register ${id}`],
      ['subscription', `omni webhook register ${id}`],
      ['listener-crc', expect.stringContaining(`start omni listen and route ${down}/webhooks/twitter/ to it`)],
    ]);
    expect(human.stdout).toContain("Interaction 1 'Support DMs'\n");
    expect(human.stdout.trimEnd().split('\n').at(-1)).toBe('✗ not ready: 6 failed, 1 warning, 18 passed, 2 skipped');
    // 447 (an e-mail template omni never uses) is the warning, not a failure.
    expect(check(report, 'param-447')).toMatchObject({ status: 'warn', detail: 'not set (stored; omni sends no e-mail)' });
  });

  it('says which X API generation each interaction uses and whether its OAuth 2.0 authorization is there, lost or refreshable (offline)', async () => {
    const cli = cliWithDb();
    const legacy = (await seedInteraction(cli.db, { name: 'Legacy', devEnvironment: 'prod' })).id;
    const current = (await seedInteraction(cli.db, { name: 'Current', devEnvironment: 'prod' })).id;
    const h = await openDatabase(cli.db);
    const at = () => new Date().toISOString();
    try {
      await updateInteraction(h.kysely, current, { api: 'activity', dev_environment: '' });
      const doctor = async () => parse((await cli.run(['doctor', '--offline', '--json'])).stdout);

      let report = await doctor();
      expect(check(report, 'x-api', legacy)).toMatchObject({ status: 'pass', detail: "premium Account Activity v1.1 (legacy) (v1.1), dev environment 'prod'" });
      expect(check(report, 'x-api', current)).toMatchObject({ status: 'warn', fix: `omni interaction authorize ${current}` });
      expect(check(report, 'x-api', current).detail).toMatch(/^X Activity API \(current\) \(activity\): the support account is not authorized with OAuth 2\.0/);

      const box = loadSecretBox(cli.db, testSecretEnv(cli.db));
      const tokens = { accessToken: 'oa2-access-doctor', refreshToken: 'oa2-refresh-doctor', expiresAt: new Date(Date.now() + 7_200_000).toISOString(), scopes: 'dm.read dm.write tweet.read users.read offline.access' };
      await storeAuthorization(h.kysely, box, current, tokens, { userId: ACCOUNT_ID, username: 'acme_support', name: null });
      report = await doctor();
      expect(check(report, 'x-api', current)).toMatchObject({ status: 'pass', detail: `X Activity API (current) (activity): authorized @acme_support (${ACCOUNT_ID}), refreshed automatically` });

      await storeAuthorization(h.kysely, box, current, { ...tokens, refreshToken: null, scopes: 'dm.read dm.write tweet.read users.read' }, { userId: ACCOUNT_ID, username: 'acme_support', name: null });
      report = await doctor();
      expect(check(report, 'x-api', current)).toMatchObject({ status: 'warn', fix: `omni interaction authorize ${current}` });

      await h.kysely.updateTable('oauth_tokens').set({ lost_at: at(), lost_reason: 'X refused the refresh token' }).execute();
      report = await doctor();
      expect(check(report, 'x-api', current)).toMatchObject({ status: 'fail', fix: `omni interaction authorize ${current}` });
      expect(check(report, 'x-api', current).detail).toContain('is lost since');
      expect(check(report, 'x-api', current).detail).toContain('X refused the refresh token');
      const human = await cli.run(['doctor', 'Current', '--offline']);
      expect(human.stdout).toMatch(/✗ the X API generation has what it needs: .*lost.*\[x-api\]/);
    } finally {
      await h.close();
    }
  });
});
