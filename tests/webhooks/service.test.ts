// The webhook service in process, through a real Context (as `interaction delete` and the listener
// will use it): deregistration, its refusals, and the interactive confirmation of `webhook delete`.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext, serviceDeps, type Context } from '../../src/cli/context.js';
import { getInteraction, updateInteraction } from '../../src/db/interactions.js';
import { deleteAction } from '../../src/commands/webhook/delete.js';
import { startSpinner } from '../../src/cli/spinner.js';
import { DeregisterError, deregisterWebhook, hasRegisteredWebhook, registerWebhook } from '../../src/webhooks/service.js';
import { NotAuthorizedError, registerXWebhook, xWebhookStatus } from '../../src/webhooks/x-service.js';
import { startCrcResponder, startFakeTwitter } from '../support/fake-twitter.js';
import { seedInteraction, TEST_SECRETS } from '../support/seed.js';
import { testDatabase, testSecretEnv } from '../support/engine.js';
import { tempDir } from '../support/tmp.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

function io() {
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { io: { stdin: new PassThrough(), stdout, stderr }, err: () => err, out: () => out };
}

async function setup() {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
  closers.push(() => tw.close());
  const listener = await startCrcResponder(TEST_SECRETS.apiSecretKey);
  closers.push(() => listener.close());
  const home = tempDir();
  const dbPath = testDatabase(home);
  const { id } = await seedInteraction(dbPath, { callbackUrl: listener.url, accountUserId: null });
  const streams = io();
  const ctx = createContext({ db: dbPath }, streams.io, { ...testSecretEnv(dbPath), OMNI_TWITTER_API_URL: tw.url, HOME: home });
  closers.push(() => ctx.close());
  const row = async () => (await getInteraction((await ctx.db()).kysely, id))!;
  return { tw, ctx, id, row, streams };
}

describe('an interaction on X API 2026 (activity, v2)', () => {
  it('is not registered before the account is authorized: the fix, before any call to X; status still reads the webhooks', async () => {
    const { tw, ctx, id, row } = await setup();
    for (const api of ['activity', 'v2'] as const) {
      await updateInteraction((await ctx.db()).kysely, id, { api, dev_environment: '' });
      const refused = registerXWebhook(serviceDeps(ctx), await row());
      await expect(refused).rejects.toBeInstanceOf(NotAuthorizedError);
      await expect(refused).rejects.toMatchObject({ message: expect.stringContaining('is not authorized with X yet'), hint: expect.stringContaining(`omni interaction authorize ${id}`) });
    }
    expect(tw.state.requests).toEqual([]);
    const status = await xWebhookStatus(serviceDeps(ctx), await row());
    expect(status).toMatchObject({ state: 'missing', account: null, subscriptions: null, subscriptionsUnknown: expect.stringContaining(`omni interaction authorize ${id}`) });
  });
});

describe('deregisterWebhook (for interaction delete)', () => {
  it('unsubscribes, deletes our webhook and clears the stored state, with an audit record', async () => {
    const { tw, ctx, row } = await setup();
    await registerWebhook(serviceDeps(ctx), await row());
    expect(hasRegisteredWebhook(await row())).toBe(true);

    const r = await deregisterWebhook(serviceDeps(ctx), await row());
    expect(r.subscription).toBe('unsubscribed');
    expect(r.deletedWebhook?.url).toContain('/webhooks/twitter/1');
    expect(tw.webhook('dev')).toBeUndefined();
    expect(tw.subscriptions('dev')).toEqual([]);
    const after = await row();
    expect(hasRegisteredWebhook(after)).toBe(false);
    expect(after).toMatchObject({ webhook_id: null, webhook_url: null, webhook_valid: null, subscribed: 0 });
    const audit = await (await ctx.db()).kysely.selectFrom('audit_log').select(['action', 'entity_id']).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['webhook.register', 'webhook.delete']);
  });

  it('throws a DeregisterError with Twitter\'s reason and keeps the stored state when Twitter refuses', async () => {
    const { tw, ctx, row } = await setup();
    await registerWebhook(serviceDeps(ctx), await row());
    tw.failNext({ method: 'DELETE', path: `/1.1/account_activity/all/dev/subscriptions/${ACCOUNT_ID}.json`, status: 503, errors: [{ code: 130, message: 'Over capacity' }] });
    const err = await deregisterWebhook(serviceDeps(ctx), await row()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeregisterError);
    expect((err as DeregisterError).message).toBe('Twitter refused to remove the webhook of interaction 1: Twitter failed to unsubscribe the account (HTTP 503, Twitter code 130): Over capacity');
    expect((err as DeregisterError).hint).toContain('try again');
    expect((err as DeregisterError).exitCode).toBe(1);
    const after = await row();
    expect(after.webhook_last_error).toContain('Over capacity');
    expect(after.webhook_id).not.toBeNull();
    expect(tw.webhook('dev')).toBeDefined();
  });

  it('finds the account id from the credentials when none is stored, and leaves a foreign webhook alone', async () => {
    const { tw, ctx, row } = await setup();
    tw.subscribe('dev', ACCOUNT_ID);
    // The environment's only slot now holds someone else's URL: not ours to delete.
    tw.addWebhook('dev', 'https://other.example.com/hook');
    expect((await row()).account_user_id).toBeNull();
    const r = await deregisterWebhook(serviceDeps(ctx), await row());
    expect(r).toMatchObject({ subscription: 'unsubscribed', deletedWebhook: null });
    expect(tw.webhook('dev')?.url).toBe('https://other.example.com/hook');
    expect(tw.requestsTo('GET', '/1.1/account/verify_credentials.json')).toHaveLength(1);
    expect(tw.requestsTo('DELETE', /\/webhooks\//)).toHaveLength(0);
  });
});

describe('webhook delete on a TTY', () => {
  function interactive(ctx: Context, answer: boolean, asked: string[]): Context {
    return {
      ...ctx,
      interactive: true,
      prompter: async () => ({
        confirm: async ({ message }: { message: string }) => {
          asked.push(message);
          return answer;
        },
        input: async () => '',
        password: async () => '',
        select: async () => {
          throw new Error('not used');
        },
        note: () => {},
      }),
    };
  }

  it('asks, and deletes nothing when the answer is no', async () => {
    const { tw, ctx, row, streams } = await setup();
    await registerWebhook(serviceDeps(ctx), await row());
    const asked: string[] = [];
    expect(await deleteAction(interactive(ctx, false, asked), ['1'], {})).toBe(1);
    expect(asked[0]).toMatch(/^Unsubscribe @acme_support and delete the webhook http:\/\/127\.0\.0\.1:\d+\/webhooks\/twitter\/1 from 'dev'\?/);
    expect(streams.err()).toContain('nothing deleted');
    expect(tw.webhook('dev')).toBeDefined();
    expect(await deleteAction(interactive(ctx, true, asked), ['1'], {})).toBe(0);
    expect(tw.webhook('dev')).toBeUndefined();
  });
});

describe('spinner', () => {
  it('animates on a TTY and erases its line; writes nothing elsewhere', () => {
    let tty = '';
    const s = startSpinner({ isTTY: true, write: (c: string) => ((tty += c), true) } as unknown as NodeJS.WritableStream & { isTTY: boolean }, 'working');
    s.update('still working');
    s.stop();
    s.stop();
    expect(tty).toContain('working');
    expect(tty).toContain('still working');
    expect(tty.endsWith('\r\u001b[2K')).toBe(true);
    let plain = '';
    const p = startSpinner({ isTTY: false, write: (c: string) => ((plain += c), true) } as unknown as NodeJS.WritableStream, 'working');
    p.update('x');
    p.stop();
    expect(plain).toBe('');
  });
});
