// Account health end to end (issue 18 items 4-6): two `omni listen` processes on one SQLite file,
// the fake X of 2026, a local HTTP receiver for --notify. Each unhealthy state induced at the fake
// shows in `omni status` (exit 1) and is notified exactly once on entering and once on leaving.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { updateInteraction } from '../../src/db/interactions.js';
import { cliWithDb } from '../support/cli.js';
import { startFakeTwitter } from '../support/fake-twitter.js';
import { startListener } from '../support/listener.js';
import { seedInteraction } from '../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';
import { withDb } from '../support/activity-account.js';

const CLIENT_ID = 'eC1yZWctY2xpZW50LWlkLWZvci1vbW5p';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

interface Note {
  text: string;
  interaction: number;
  state: string;
  edge: 'enter' | 'leave';
  since: string;
}

async function receiver() {
  const notes: Note[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      notes.push(JSON.parse(body) as Note);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token-123`, notes };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}


describe('account health: omni status and omni listen --notify (two listeners, fake X)', () => {
  it('each unhealthy state shows in status (exit 1) and is notified once on entering and once on leaving', async () => {
    const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: CLIENT_ID, redirectUris: ['http://127.0.0.1:8765/callback'] }] } });
    closers.push(() => tw.close());
    const rx = await receiver();
    const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url });
    const port = await freePort();
    const { id } = await seedInteraction(cli.db, { name: 'Support', callbackUrl: `http://127.0.0.1:${port}`, accountUserId: null });
    await withDb(cli.db, (db) => updateInteraction(db, id, { api: 'activity', dev_environment: '' }));

    const env = { OMNI_TWITTER_API_URL: tw.url };
    const args = ['--watchdog-interval', '1s', '--notify', rx.url, '--no-replay'];
    // The first listener serves the webhook URL (its port is fixed); the second only watches.
    const a = await startListener({ db: cli.db, env, args: ['--port', String(port), ...args] });
    closers.push(() => a.stop());
    const b = await startListener({ db: cli.db, env, args });
    closers.push(() => b.stop());

    const refresh = tw.x.issueTokens(ACCOUNT_ID).refresh_token!;
    expect((await cli.run(['interaction', 'authorize', '1', '--no-browser'], { env: { OMNI_TWITTER_CLIENT_ID: CLIENT_ID, OMNI_TWITTER_REFRESH_TOKEN: refresh } })).code).toBe(0);
    const reg = await cli.run(['webhook', 'register', '1']);
    expect(reg.stderr).toContain('registered');
    expect(reg.code).toBe(0);
    const hook = tw.x.webhooks()[0]!;

    const status = async () => {
      const r = await cli.run(['status', '--json']);
      return { code: r.code, json: JSON.parse(r.stdout) as { healthy: boolean; interactions: Array<{ problems: Array<{ state: string; text: string }>; subscriptions: { state: string } }> } };
    };
    // Healthy once the watchdog has looked at the subscriptions.
    await waitFor(async () => {
      const s = await status();
      return s.code === 0 && s.json.interactions[0]!.subscriptions.state === 'present';
    }, 'a healthy status with the subscriptions checked', 15_000);
    const text = await cli.run(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('#1 Support (activity): healthy');
    expect(text.stdout).toMatch(/Subscriptions\s+present/);

    const notesOf = (state: string) => rx.notes.filter((n) => n.state === state);
    /** Induce, see it in status with exit 1, see one entering; lift, see one leaving. */
    const cycle = async (state: string, induce: () => void | Promise<void>, lift: () => void | Promise<void>, opts: { transient?: boolean } = {}) => {
      await induce();
      if (!opts.transient) {
        const s = await waitFor(async () => {
          const r = await status();
          return r.json.interactions[0]!.problems.some((p) => p.state === state) ? r : undefined;
        }, `status showing ${state}`, 15_000);
        expect(s.code).toBe(1);
        expect(s.json.healthy).toBe(false);
      }
      await waitFor(() => notesOf(state).some((n) => n.edge === 'enter'), `the entering of ${state} notified`, 15_000);
      await lift();
      await waitFor(() => notesOf(state).some((n) => n.edge === 'leave'), `the leaving of ${state} notified`, 15_000);
      await waitFor(async () => (await status()).code === 0, `a healthy status after ${state}`, 15_000);
    };

    await cycle('credits-depleted', () => tw.x.setBilling('depleted'), () => tw.x.setBilling('ok'));
    await cycle('app-not-enrolled', () => tw.x.setBilling('not-enrolled'), () => tw.x.setBilling('ok'));
    await cycle('webhook-invalid', () => tw.x.invalidateWebhook(hook.id, { refuseCrc: true }), () => tw.x.refuseCrc(false));
    const dmSent = tw.x.activitySubscriptions().find((s) => s.eventType === 'dm.sent')!;
    await cycle('subscription-missing', () => tw.x.deleteActivitySubscription(dmSent.id), () => undefined, { transient: true });

    // The user revokes omni at X: the watchdog finds a subscription gone, and creating it again with the
    // account's token fails (X refuses the refresh token): authorization lost, until authorized again.
    tw.x.revokeUser(ACCOUNT_ID);
    const dmSentAgain = tw.x.activitySubscriptions().find((s) => s.eventType === 'dm.sent')!;
    await cycle(
      'authorization-lost',
      () => tw.x.deleteActivitySubscription(dmSentAgain.id),
      async () => {
        const again = tw.x.issueTokens(ACCOUNT_ID).refresh_token!;
        expect((await cli.run(['interaction', 'authorize', '1', '--no-browser'], { env: { OMNI_TWITTER_CLIENT_ID: CLIENT_ID, OMNI_TWITTER_REFRESH_TOKEN: again } })).code).toBe(0);
      },
    );
    await waitFor(() => notesOf('subscription-missing').filter((n) => n.edge === 'leave').length === 2, 'the subscription created again after the new authorization', 15_000);

    // Silence: an alert of 10 minutes on an interaction that has heard nothing for an hour.
    expect((await cli.run(['interaction', 'edit', '1', '--silence-alert', '10m'])).code).toBe(0);
    await withDb(cli.db, (db) => db.updateTable('interactions').set({ created_at: new Date(Date.now() - 3_600_000).toISOString() }).where('id', '=', id).execute());
    const silent = await waitFor(async () => {
      const r = await cli.run(['status', '1']);
      return r.stdout.includes('silent for 1h') ? r : undefined;
    }, 'status saying silent', 15_000);
    expect(silent.code).toBe(1);
    await waitFor(() => notesOf('silence').some((n) => n.edge === 'enter'), 'the silence notified', 15_000);
    tw.x.customerSendsDm({ from: { id: '777000111', username: 'customer' }, toUserId: ACCOUNT_ID, text: 'hello?' });
    await waitFor(() => notesOf('silence').some((n) => n.edge === 'leave'), 'the end of the silence notified', 15_000);
    expect((await status()).code).toBe(0);

    // A few more rounds of both listeners: nothing is repeated.
    await new Promise((r) => setTimeout(r, 2_500));
    for (const state of ['credits-depleted', 'app-not-enrolled', 'webhook-invalid', 'authorization-lost', 'silence']) {
      expect(notesOf(state).map((n) => n.edge), state).toEqual(['enter', 'leave']);
    }
    // Twice missing: deleted by X, then deleted while the authorization was lost.
    expect(notesOf('subscription-missing').map((n) => n.edge)).toEqual(['enter', 'leave', 'enter', 'leave']);
    expect(notesOf('authorization-lost')[0]!.text).toContain('omni interaction authorize 1');
    expect(rx.notes.every((n) => n.interaction === 1 && n.text.startsWith('omni: interaction #1 Support: ') && !Number.isNaN(Date.parse(n.since)))).toBe(true);
    expect(notesOf('credits-depleted')[0]!.text).toContain('HTTP 402');
    expect(notesOf('app-not-enrolled')[0]!.text).toContain('client-not-enrolled');
    // Exactly one warn line for the silence across both listeners; the URL never in a log.
    const silenceWarns = [...a.logs(), ...b.logs()].filter((l) => l.level === 'warn' && l.state === 'silence' && l.edge === 'enter');
    expect(silenceWarns).toHaveLength(1);
    expect(a.stdout() + b.stdout()).not.toContain('secret-token-123');
    // The metrics say the same.
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toContain('omni_interaction_healthy{interaction="1"} 1');
    expect(metrics).toContain('omni_interaction_unhealthy{interaction="1",state="silence"} 0');
    const verbose = (await (await fetch(`${b.url}/healthz?verbose`)).json()) as { status: string; healthy: boolean; interactions: unknown[] };
    expect(verbose).toMatchObject({ status: 'ok', healthy: true, interactions: [expect.objectContaining({ id: 1, healthy: true })] });
  }, 180_000);
});
