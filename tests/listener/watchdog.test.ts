// The webhook watchdog as a new user meets it: a spawned `omni listen` with a short interval, the
// real gateway, and the fake Twitter running real CRCs against the listener. Nobody types a command
// between "Twitter marks the webhook invalid" and "valid again".
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { cliWithDb } from '../support/cli.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { seedInteraction } from '../support/seed.js';
import { testApp, testUser } from '../support/twitter-fixtures.js';
import { TEST_ENGINE } from '../support/engine.js';
import { queryRows } from '../support/rows.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A fake Twitter, a CLI database with interaction 1 pointing at a running `omni listen`, registered through Twitter. */
async function setup(listenArgs: string[], opts: { register?: boolean } = {}) {
  const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
  closers.push(() => tw.close());
  const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url });
  const { id } = await seedInteraction(cli.db, { accountUserId: null });
  const l: RunningListener = await startListener({ db: cli.db, env: { ...cli.env, OMNI_TWITTER_API_URL: tw.url }, args: listenArgs });
  closers.push(() => l.kill9());
  // The callback URL is known once the listener has its port; interactions are read per request.
  const db = await openDatabase(cli.db);
  await db.kysely.updateTable('interactions').set({ callback_url: l.url }).where('id', '=', id).execute();
  await db.close();
  if (opts.register !== false) {
    const reg = await cli.run(['webhook', 'register', String(id)]);
    expect(reg.code, reg.stderr).toBe(0);
  }
  const events = async () => {
    const d = await openDatabase(cli.db);
    try {
      return (await queryRows(d, 'SELECT kind, result, detail, remote FROM webhook_events WHERE interaction_id = ? ORDER BY id', id)) as Array<Record<string, string | null>>;
    } finally {
      await d.close();
    }
  };
  return { tw, cli, l, id, events, hookUrl: `${l.url}/webhooks/twitter/${id}` };
}

describe(`omni listen --watchdog-interval on ${TEST_ENGINE}`, () => {
  it('re-validates a webhook that Twitter marked invalid within one interval, and webhook status and /metrics tell the story', async () => {
    const { tw, cli, l, id, events } = await setup(['--watchdog-interval', '1s']);
    // The registration's CRC reached the listener and was recorded.
    expect(tw.state.crcChecks).toEqual([expect.objectContaining({ trigger: 'register', ok: true })]);
    await until('the registration CRC record', async () => (await events()).some((e) => e.kind === 'crc_answered'));

    tw.invalidate('dev');
    const invalidatedAt = Date.now();
    await until('the watchdog to re-trigger the CRC', () => tw.state.crcChecks.find((c) => c.trigger === 'put' && c.ok));
    expect(tw.webhook('dev')!.valid).toBe(true);
    // One interval (1 s) plus one round trip; generous for a loaded CI machine.
    expect(Date.now() - invalidatedAt).toBeLessThan(5_000);
    await l.waitForLog((x) => /watchdog: the webhook of interaction #1 was invalid; Twitter re-checked it and it passed/.test(x.msg));

    const recorded = await until('the watchdog record', async () => {
      const e = await events();
      return e.some((x) => x.kind === 'watchdog' && x.result === 'revalidated') && e;
    });
    expect(recorded.filter((e) => e.kind === 'crc_answered').length).toBeGreaterThanOrEqual(2);
    expect(recorded.every((e) => e.kind !== 'crc_answered' || e.remote === '127.0.0.1')).toBe(true);

    const status = await cli.run(['webhook', 'status', String(id)]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^last CRC {8}\d{4}-\d\d-\d\dT.*Z \(\d+ s ago\) from 127\.0\.0\.1$/m);
    expect(status.stdout).toMatch(/^watchdog {8}\d{4}-.*Z \(\d+ s ago\): (revalidated|valid)$/m);
    expect(status.stderr).not.toContain('no CRC from Twitter');
    const json = JSON.parse((await cli.run(['webhook', 'status', String(id), '--json'])).stdout);
    expect(json.health).toMatchObject({ registered: true, crcStale: false, warnings: [], lastCrc: { remote: '127.0.0.1' } });
    expect(['valid', 'revalidated']).toContain(json.health.lastWatchdogCheck.result);

    const metrics = await (await fetch(`${l.url}/metrics`)).text();
    expect(sample(metrics, 'omni_watchdog_checks_total{result="revalidated"}')).toBe(1);
    expect(sample(metrics, 'omni_watchdog_checks_total{result="valid"}')).toBeGreaterThanOrEqual(0);
    expect(sample(metrics, 'omni_crc_answered_total')).toBeGreaterThanOrEqual(2);
    expect(await l.stop()).toEqual({ code: 0, signal: null });
  });

  it('waits for the rate-limit reset instead of calling Twitter every interval', async () => {
    const { tw, l, events } = await setup(['--watchdog-interval', '1s']);
    const reset = String(Math.floor(Date.now() / 1000) + 3600);
    tw.failNext({ method: 'GET', path: '/1.1/account_activity/all/dev/webhooks.json', status: 429, errors: [{ code: 88, message: 'Rate limit exceeded' }], headers: { 'x-rate-limit-reset': reset } });
    await until('the rate-limited record', async () => (await events()).find((e) => e.kind === 'watchdog' && e.result === 'rate_limited'));
    const calls = tw.requestsTo('GET', '/1.1/account_activity/all/dev/webhooks.json').length;
    await new Promise((r) => setTimeout(r, 2_500)); // two more intervals
    expect(tw.requestsTo('GET', '/1.1/account_activity/all/dev/webhooks.json').length).toBe(calls);
    const rec = (await events()).find((e) => e.result === 'rate_limited')!;
    expect(rec.detail).toContain(`next check after ${new Date(Number(reset) * 1000).toISOString()}`);
    const metrics = await (await fetch(`${l.url}/metrics`)).text();
    expect(sample(metrics, 'omni_watchdog_checks_total{result="rate_limited"}')).toBe(1);
  });

  it('stops at once on SIGTERM even while a Twitter call hangs', async () => {
    const { tw, l } = await setup(['--watchdog-interval', '1s']);
    tw.failNext({ method: 'GET', path: '/1.1/account_activity/all/dev/webhooks.json', stall: true, times: 100 });
    const before = tw.requestsTo('GET', '/1.1/account_activity/all/dev/webhooks.json').length;
    await until('a hanging watchdog call', () => tw.requestsTo('GET', '/1.1/account_activity/all/dev/webhooks.json').length > before);
    const started = Date.now();
    expect(await l.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // Without cutting the call, the process would wait for the 15 s request timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('with --no-watchdog never asks Twitter, and refuses a malformed interval with the fix', async () => {
    const { tw, l } = await setup(['--no-watchdog']);
    const after = tw.state.requests.length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(tw.state.requests.length).toBe(after);
    expect(l.logs().some((x) => /watchdog/.test(x.msg))).toBe(false);

    const cli = cliWithDb();
    const bad = await cli.run(['listen', '--port', '0', '--watchdog-interval', '10x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--watchdog-interval must be a duration like 30s, 10m or 1h, not '10x'");
    expect(bad.stderr).toContain('example: --watchdog-interval 10m');
    const small = await cli.run(['listen', '--port', '0', '--watchdog-interval', '100ms']);
    expect(small.code).toBe(2);
    expect(small.stderr).toContain('--watchdog-interval must be between 1s and 24h, not 100ms');
  });
});
