// The user-token source on a real SQLite file against the fake X: reuse while fresh, refresh near
// expiry with the new pair stored encrypted before use, one refresh across two processes, a refused
// refresh token marks the authorization lost (once, no loop), and a 401 refreshes once.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'rolldown';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { getOAuthToken } from '../../src/db/oauth-tokens.js';
import { loadSecretBox } from '../../src/secrets.js';
import { TwitterError } from '../../src/twitter/errors.js';
import { createXGateway } from '../../src/twitter/gateway-v2.js';
import { createUserTokenSource, storeAuthorization, TOKEN_FIELDS } from '../../src/twitter/user-token.js';
import { startFakeTwitter } from '../support/fake-twitter.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';
import { testDatabase, testSecretEnv } from '../support/engine.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const CUSTOMER = '9876543210987654321';

async function setup(opts: { expiresInMs?: number; scopes?: string[] } = {}) {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: 'cid', redirectUris: ['http://127.0.0.1:8765/callback'] }] } });
  closers.push(() => tw.close());
  const dbPath = testDatabase();
  const { id } = await seedInteraction(dbPath);
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, testSecretEnv(dbPath));
  const issued = tw.x.issueTokens(ACCOUNT_ID, opts.scopes ? { scopes: opts.scopes } : {});
  await storeAuthorization(
    db.kysely,
    box,
    id,
    { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 7200_000)).toISOString(), scopes: issued.scope },
    { userId: ACCOUNT_ID, username: 'acme_support', name: 'ACME Support' },
  );
  const source = createUserTokenSource({ db: db.kysely, box, interactionId: id, client: { apiBaseUrl: tw.url, clientId: 'cid', timeoutMs: 5000 } });
  return { tw, db, dbPath, id, box, issued, source };
}

async function stored(db: Db, box: ReturnType<typeof loadSecretBox>, id: number) {
  const row = (await getOAuthToken(db.kysely, id))!;
  return { row, access: box.decrypt(row.access_token_enc, TOKEN_FIELDS.access), refresh: row.refresh_token_enc && box.decrypt(row.refresh_token_enc, TOKEN_FIELDS.refresh) };
}

describe('user token source', () => {
  it('stores tokens encrypted, reuses a fresh token without calling X', async () => {
    const { tw, db, id, issued, source } = await setup();
    const row = (await getOAuthToken(db.kysely, id))!;
    expect(row.access_token_enc).not.toContain(issued.access_token);
    expect(row.access_token_enc.startsWith('v1:')).toBe(true);
    expect(await source.accessToken()).toBe(issued.access_token);
    expect(tw.requestsTo('POST', '/2/oauth2/token')).toHaveLength(0);
  });

  it('refreshes a token expiring within 2 minutes, stores the rotated pair, and X refuses the old refresh token', async () => {
    const { tw, db, box, id, issued, source } = await setup({ expiresInMs: 60_000 });
    const token = await source.accessToken();
    expect(token).not.toBe(issued.access_token);
    const s = await stored(db, box, id);
    expect(s.access).toBe(token);
    expect(s.refresh).not.toBe(issued.refresh_token);
    expect(s.row.generation).toBe(1);
    expect(s.row.refresh_lease_owner).toBeNull();
    expect(Date.parse(s.row.expires_at)).toBeGreaterThan(Date.now() + 7000_000);
    expect(tw.x.isRefreshTokenValid(issued.refresh_token!)).toBe(false);
    expect(tw.x.isRefreshTokenValid(s.refresh!)).toBe(true);
    // Fresh now: no second refresh.
    expect(await source.accessToken()).toBe(token);
    expect(tw.requestsTo('POST', '/2/oauth2/token')).toHaveLength(1);
  });

  it('marks the authorization lost when X refuses the refresh token, and does not try again', async () => {
    const { tw, db, id, source } = await setup({ expiresInMs: 0 });
    tw.x.revokeUser(ACCOUNT_ID);
    const err = (await source.accessToken().catch((e: unknown) => e)) as TwitterError;
    expect(err).toBeInstanceOf(TwitterError);
    expect(err.kind).toBe('authorization-lost');
    expect(err.message).toBe(`X refused the refresh token of interaction ${id}: the authorization is lost (Value passed for the token was invalid.)`);
    expect(err.hint).toBe(`authorize the account again: omni interaction authorize ${id}`);
    const row = (await getOAuthToken(db.kysely, id))!;
    expect(row.lost_at).not.toBeNull();
    expect(row.lost_reason).toBe('Value passed for the token was invalid.');
    const again = (await source.accessToken().catch((e: unknown) => e)) as TwitterError;
    expect(again.kind).toBe('authorization-lost');
    expect(again.message).toContain('is lost (since');
    expect(tw.requestsTo('POST', '/2/oauth2/token')).toHaveLength(1);
  });

  it('a 401 on sending refreshes once and retries; a 401 to the fresh token marks the authorization lost', async () => {
    const { tw, db, id, box, source } = await setup();
    const gw = createXGateway({ baseUrl: tw.url, timeoutMs: 5000, app: TEST_SECRETS, userToken: source, authorizeCommand: `omni interaction authorize ${id}` });
    tw.x.expireAccessTokens(ACCOUNT_ID); // X says 401 although our clock says fresh
    const sent = await gw.sendDm(CUSTOMER, 'hello');
    expect(sent.dmEventId).toMatch(/^\d+$/);
    expect(tw.requestsTo('POST', '/2/oauth2/token')).toHaveLength(1);
    expect(tw.requestsTo('POST', `/2/dm_conversations/with/${CUSTOMER}/messages`).map((r) => r.status)).toEqual([401, 201]);
    expect((await stored(db, box, id)).row.generation).toBe(1);

    tw.failNext({ path: `/2/dm_conversations/with/${CUSTOMER}/messages`, status: 401, body: { title: 'Unauthorized', detail: 'Unauthorized', status: 401 }, times: 2 });
    const err = (await gw.sendDm(CUSTOMER, 'again').catch((e: unknown) => e)) as TwitterError;
    expect(err.kind).toBe('authorization-lost');
    expect(err.hint).toBe(`authorize the account again: omni interaction authorize ${id}`);
    expect((await getOAuthToken(db.kysely, id))!.lost_at).not.toBeNull();
  });

  describe('two processes', () => {
    let worker: string;
    beforeAll(async () => {
      const out = tempDir('omni-worker-');
      await build({
        input: path.resolve('tests/twitter/fixtures/refresh-worker.ts'),
        platform: 'node',
        external: [/^node:/],
        logLevel: 'silent',
        // The native addon stays outside the bundle, imported by absolute path (the bundle lives in a temp dir).
        plugins: [{ name: 'absolute-better-sqlite3', resolveId: (id: string) => (id === 'better-sqlite3' ? { id: createRequire(import.meta.url).resolve('better-sqlite3'), external: true } : null) }],
        // One file even when an import is dynamic (the PostgreSQL driver is loaded only for a URL).
        output: { file: path.join(out, 'refresh-worker.mjs'), format: 'esm', codeSplitting: false },
      });
      worker = path.join(out, 'refresh-worker.mjs');
    });

    /** Starts a worker; resolves `ready` once its database is open, `done` with what it printed. */
    function start(args: string[]) {
      const p = spawn(process.execPath, [worker, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...testSecretEnv(args[0]!) } });
      let out = '';
      let err = '';
      let markReady!: () => void;
      const ready = new Promise<void>((r) => (markReady = r));
      p.stdout.on('data', (c: Buffer) => {
        out += c;
        if (out.startsWith('ready\n')) markReady();
      });
      p.stderr.on('data', (c: Buffer) => (err += c));
      const done = new Promise<{ token?: string; error?: string }>((resolve, reject) => {
        p.on('error', reject);
        p.on('close', () => {
          try {
            resolve(JSON.parse(out.replace(/^ready\n/, '').trim()));
          } catch {
            reject(new Error(`worker printed ${JSON.stringify(out)}; stderr: ${err}`));
          }
        });
      });
      return { ready, done, go: () => p.stdin.end('go\n') };
    }

    it('spend the refresh token once: both get the one new token, X saw one refresh', async () => {
      const { tw, db, box, id, issued, dbPath } = await setup({ expiresInMs: 30_000 });
      // X takes its time answering, so the second process arrives while the first holds the lease.
      tw.failNext({ method: 'POST', path: '/2/oauth2/token', delayMs: 400, times: 2 });
      const workers = [start([dbPath, String(id), tw.url, 'cid']), start([dbPath, String(id), tw.url, 'cid'])];
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.go();
      const [a, b] = await Promise.all(workers.map((w) => w.done));
      expect(a!.error ?? b!.error).toBeUndefined();
      expect(a!.token).toBeDefined();
      expect(a!.token).toBe(b!.token);
      expect(a!.token).not.toBe(issued.access_token);
      expect(tw.requestsTo('POST', '/2/oauth2/token').map((r) => r.status)).toEqual([200]);
      const s = await stored(db, box, id);
      expect(s.access).toBe(a!.token);
      expect(s.row.generation).toBe(1);
      expect(s.row.lost_at).toBeNull();
      expect(tw.x.isRefreshTokenValid(s.refresh!)).toBe(true);
      expect(tw.x.isRefreshTokenValid(issued.refresh_token!)).toBe(false);
    });
  });
});
