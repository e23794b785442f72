// The harness of the X Chat end-to-end tests (listener and reconcile): one authorized `activity`
// interaction on the fake X, driven through the built CLI and the real listener.
import { expect } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import type { SecretBox } from '../../src/secrets.js';
import { storeAuthorization } from '../../src/twitter/user-token.js';
import { updateInteraction } from '../../src/db/interactions.js';
import { runCli } from './cli.js';
import { startFakeTwitter, type FakeTwitter } from './fake-twitter.js';
import { startListener, type RunningListener } from './listener.js';
import { seedInteraction } from './seed.js';
import { tempDir } from './tmp.js';
import { testDatabase, testSecretEnv } from './engine.js';
import { readRowsAt } from './rows.js';
import { ACCOUNT_ID, testApp, testUser } from './twitter-fixtures.js';

export const CLIENT_ID = 'eGNoYXQtbGlzdGVuZXItY2xpZW50LWlk';
export const CUSTOMER = '9876543210987654321';
/**
 * An `activity` interaction 'Support' authorized for ACCOUNT_ID the CI way (a refresh token from the
 * fake X), with the built CLI (`run`, outputs kept), listeners (`listen`, killed at cleanup) and a
 * read-only view of the database (`rows`). Cleanups go to `closers`, which the test file empties.
 */
export async function authorizedActivityAccount(closers: Array<() => Promise<unknown> | void>, opts: { helper?: boolean } = {}) {
  const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: CLIENT_ID, redirectUris: [] }] } });
  closers.push(() => tw.close());
  const dir = tempDir();
  const dbPath = testDatabase(dir);
  const id = (await seedInteraction(dbPath, { name: 'Support', accountUserId: null, helper: opts.helper ?? false })).id;
  await withDb(dbPath, (db) => updateInteraction(db, id, { api: 'activity', dev_environment: '' }));
  const env = { OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_CLIENT_ID: CLIENT_ID, HOME: dir, ...testSecretEnv(dbPath) };
  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const r = await runCli(['--db', dbPath, '--no-input', ...args], { env });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const refresh = tw.x.issueTokens(ACCOUNT_ID, { clientId: CLIENT_ID }).refresh_token!;
  const auth = await runCli(['--db', dbPath, 'interaction', 'authorize', String(id), '--no-browser'], { env: { ...env, OMNI_TWITTER_REFRESH_TOKEN: refresh } });
  expect(auth.code, auth.stderr).toBe(0);
  const listeners: RunningListener[] = [];
  const listen = async (args: string[]) => {
    const l = await startListener({ db: dbPath, env, args: ['--no-watchdog', '--no-replay', ...args] });
    closers.push(() => l.kill9());
    listeners.push(l);
    return l;
  };
  const rows = (q: string) => readRowsAt(dbPath, q);
  return { tw, dir, dbPath, id, run, listen, rows, outputs, listeners };
}

export async function withDb<T>(dbPath: string, f: (db: Awaited<ReturnType<typeof openDatabase>>['kysely']) => Promise<T>): Promise<T> {
  const h = await openDatabase(dbPath);
  try {
    return await f(h.kysely);
  } finally {
    await h.close();
  }
}

export type ActivityAccount = Awaited<ReturnType<typeof authorizedActivityAccount>>;

export const messages = (s: ActivityAccount) => s.rows('SELECT m.ticket_id, m.direction, m.text, m.twitter_event_id, m.attachments FROM messages m ORDER BY m.id');

/**
 * Makes a seeded interaction an `activity` one authorized for ACCOUNT_ID, as `interaction authorize`
 * leaves it: the client id stored encrypted and a fresh token pair issued by the fake X.
 */
export async function authorizeSeededActivity(db: Db, box: SecretBox, tw: FakeTwitter, id: number, clientId = 'cid'): Promise<{ access_token: string; refresh_token?: string }> {
  await db.kysely.updateTable('interactions').set({ api: 'activity', client_id_enc: box.encrypt(clientId, 'client_id_enc') }).where('id', '=', id).execute();
  const issued = tw.x.issueTokens(ACCOUNT_ID);
  await storeAuthorization(db.kysely, box, id, { accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null, expiresAt: new Date(Date.now() + 7200_000).toISOString(), scopes: issued.scope }, { userId: ACCOUNT_ID, username: 'acme_support', name: null });
  return issued;
}
