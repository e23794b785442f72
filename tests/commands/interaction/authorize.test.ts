// `omni interaction authorize` end to end: the built CLI spawned with no TTY against the fake X of
// 2026. The test plays the user: it reads the authorize URL omni prints, GETs it (the fake approves
// at once and redirects) and follows the redirect to omni's loopback receiver, as a browser would.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { browse, freePort, startCli } from '../../support/authorize.js';
import { cliWithDb } from '../../support/cli.js';
import { SECRETS, newFlags, secretEnv, seedCatalogs } from '../../support/interactions.js';
import { startFakeTwitter, type FakeTwitter } from '../../support/fake-twitter.js';
import { ACCOUNT_ID, testApp, testUser } from '../../support/twitter-fixtures.js';

const CLIENT_ID = 'b2F1dGgyLWNsaWVudC1pZC1mb3Itb21uaQ';
const CLIENT_SECRET = 'cs2-Vq8Lr3Nw7Kd1Hs5Tf9Yb2Zm6Xc4Pj0Ge';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(opts: { clientSecret?: string; api?: string } = {}) {
  const port = await freePort();
  const tw: FakeTwitter = await startFakeTwitter({
    apps: [testApp()],
    users: [testUser()],
    x: { clients: [{ clientId: CLIENT_ID, ...(opts.clientSecret ? { clientSecret: opts.clientSecret } : {}), redirectUris: [`http://127.0.0.1:${port}/callback`] }] },
  });
  closers.push(() => tw.close());
  const env = {
    ...secretEnv(),
    OMNI_TWITTER_API_URL: tw.url,
    OMNI_TWITTER_AUTHORIZE_URL: `${tw.url}/i/oauth2/authorize`,
    // No display: omni must never try to open a browser here.
    DISPLAY: '',
    WAYLAND_DISPLAY: '',
  };
  const cli = cliWithDb(env);
  await seedCatalogs(cli.db);
  const created = await cli.run([...newFlags('Support DMs'), ...(opts.api ? ['--api', opts.api] : [])]);
  expect(created.code).toBe(0);
  // The CLI's own environment (on PostgreSQL it finds the secret key there), for the authorize runs too.
  return { ...cli, tw, port };
}

async function dbText(db: string): Promise<{ text: string; audit: { action: string; changes: string }[] }> {
  const h = await openDatabase(db);
  try {
    const rows = [
      ...(await h.kysely.selectFrom('interactions').selectAll().execute()),
      ...(await h.kysely.selectFrom('oauth_tokens').selectAll().execute()),
      ...(await h.kysely.selectFrom('audit_log').selectAll().execute()),
    ];
    const audit = await h.kysely.selectFrom('audit_log').select(['action', 'changes']).where('action', '=', 'authorize').orderBy('id').execute();
    return { text: JSON.stringify(rows), audit };
  } finally {
    await h.close();
  }
}

describe('omni interaction authorize', () => {
  it('prints the URL on its own line, receives the redirect, exchanges the code, names the account, stores it encrypted and audits no value', async () => {
    const { db, run, env, port, tw } = await setup({ clientSecret: CLIENT_SECRET });
    const r = startCli(db, ['interaction', 'authorize', 'Support DMs', '--redirect-port', String(port), '--no-browser'], { ...env, OMNI_TWITTER_CLIENT_ID: CLIENT_ID, OMNI_TWITTER_CLIENT_SECRET: CLIENT_SECRET });
    const url = new URL(await r.url);
    expect(url.origin + url.pathname).toBe(`${tw.url}/i/oauth2/authorize`);
    expect(url.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    expect(url.searchParams.get('scope')).toBe('dm.read dm.write tweet.read users.read offline.access');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');

    // A visit with another state (a stale tab) is turned away, and omni keeps waiting for the right one.
    const stale = await fetch(`http://127.0.0.1:${port}/callback?state=not-ours&code=x`);
    expect(stale.status).toBe(400);
    expect(await stale.text()).toContain('Wrong state');

    const visit = await browse(url.toString());
    expect(visit.status).toBe(200);
    expect(visit.page).toContain('omni is authorized');
    const done = await r.done;
    expect(done.stderr).toContain(`✓ authorized @acme_support (${ACCOUNT_ID})`);
    expect(done.code).toBe(0);
    // Confidential client: Basic auth on the token endpoint, no client_id in the form.
    const token = tw.requestsTo('POST', '/2/oauth2/token')[0]!;
    expect(token.headers.authorization).toMatch(/^Basic /);

    const shown = JSON.parse((await run(['interaction', 'show', '1', '--json'])).stdout);
    expect(shown.authorization).toMatchObject({ status: 'ok', account: { userId: ACCOUNT_ID, username: 'acme_support' }, refreshable: true, fix: null });
    const listed = await run(['interaction', 'list']);
    expect(listed.stdout).toMatch(/ok @acme_support/);

    const { text, audit } = await dbText(db);
    for (const secret of [CLIENT_ID, CLIENT_SECRET, ...Object.values(SECRETS)]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/oa2-(access|refresh)-/);
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.changes)).toEqual({
      account: { userId: ACCOUNT_ID, username: 'acme_support' },
      scopes: 'dm.read dm.write tweet.read users.read offline.access',
      via: 'browser',
      clientId: 'set',
      clientSecret: 'set',
    });

    // CI: a refresh token from an earlier authorization, no browser; the stored client id and secret are reused.
    const earlier = tw.x.issueTokens(ACCOUNT_ID, { clientId: CLIENT_ID });
    const ci = await run(['--no-input', 'interaction', 'authorize', '1', '--secrets-file', '-', '--json'], { input: JSON.stringify({ refreshToken: earlier.refresh_token }) });
    expect(ci.stderr).toContain(`✓ authorized @acme_support (${ACCOUNT_ID})`);
    expect(ci.code).toBe(0);
    expect(ci.stderr).not.toContain('http://127.0.0.1');
    expect(JSON.parse(ci.stdout)).toMatchObject({ interactionId: 1, account: { userId: ACCOUNT_ID, username: 'acme_support' }, refreshable: true, via: 'refresh-token' });
    expect(tw.x.isRefreshTokenValid(earlier.refresh_token!)).toBe(false); // spent: X rotates
    const after = await dbText(db);
    expect(after.text).not.toContain(earlier.refresh_token!);
    expect(JSON.parse(after.audit[1]!.changes)).toEqual({ account: { userId: ACCOUNT_ID, username: 'acme_support' }, scopes: 'dm.read dm.write tweet.read users.read offline.access', via: 'refresh-token' });
  });

  it('says in one line with the fix: no client id, a v1.1 interaction, a busy port, a denial, a timeout, a spent refresh token', async () => {
    const { db, run, env, port, tw } = await setup();

    const noClient = await run(['interaction', 'authorize', '1', '--redirect-port', String(port)]);
    expect(noClient.code).toBe(2);
    expect(noClient.stderr).toContain('error: interaction 1 has no OAuth 2.0 client id');
    expect(noClient.stderr).toContain('OMNI_TWITTER_CLIENT_ID');

    const withClient = { ...env, OMNI_TWITTER_CLIENT_ID: CLIENT_ID };
    const legacy = await run([...newFlags('Legacy', { '--api': 'v1.1' })]);
    expect(legacy.code).toBe(0);
    const v11 = await run(['interaction', 'authorize', 'Legacy'], { env: withClient });
    expect(v11.code).toBe(2);
    expect(v11.stderr).toContain('uses the premium v1.1 API');
    expect(v11.stderr).toContain('omni interaction edit 2 --api activity');

    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
    try {
      const taken = await run(['interaction', 'authorize', '1', '--redirect-port', String(port)], { env: withClient });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain(`error: port ${port} on 127.0.0.1 is in use`);
      expect(taken.stderr).toContain('--redirect-port');
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }

    tw.x.denyNextAuthorization();
    const r = startCli(db, ['interaction', 'authorize', '1', '--redirect-port', String(port), '--no-browser'], withClient);
    const visit = await browse(await r.url);
    expect(visit.page).toContain('Authorization refused');
    const denied = await r.done;
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('error: X did not authorize the app: access_denied');
    expect(denied.stderr).toContain('omni interaction authorize 1');

    const waited = await run(['interaction', 'authorize', '1', '--redirect-port', String(port), '--timeout', '1s'], { env: withClient });
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain('error: no authorization arrived within 1 s');

    // Ctrl-C while waiting: the receiver closes and omni says how to start over.
    const interrupted = startCli(db, ['interaction', 'authorize', '1', '--redirect-port', String(port), '--no-browser'], withClient);
    await interrupted.url;
    interrupted.kill('SIGINT');
    const stopped = await interrupted.done;
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('error: the authorization was cancelled');
    expect((await fetch(`http://127.0.0.1:${port}/callback`).catch((e: Error) => e)) instanceof Error).toBe(true);

    const spent = await run(['interaction', 'authorize', '1'], { env: { ...withClient, OMNI_TWITTER_REFRESH_TOKEN: 'oa2-refresh-not-a-live-one' } });
    expect(spent.code).toBe(1);
    expect(spent.stderr.trim().split('\n')[0]).toMatch(/^error: .*refresh/i);
    expect(spent.stderr).not.toContain('oa2-refresh-not-a-live-one');

    const { audit } = await dbText(db);
    expect(audit).toEqual([]);
    expect(JSON.parse((await run(['interaction', 'show', '1', '--json'])).stdout).authorization.status).toBe('missing');
  });
});
