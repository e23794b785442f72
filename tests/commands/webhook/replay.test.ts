// `omni webhook replay`, as a script runs it: the built CLI against the fake X. The window in X's
// yyyymmddhhmm UTC format, the app bearer, the job id printed; older than 24 h and v1.1 refused with
// the reason before any call to X; one replay for a webhook shared by two interactions.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { replayDate } from '../../../src/twitter/gateway-v2.js';
import { replayWindow } from '../../../src/replay/replay.js';
import { cliWithDb } from '../../support/cli.js';
import { startFakeTwitter, type FakeTwitter } from '../../support/fake-twitter.js';
import { seedInteraction, TEST_SECRETS } from '../../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../../support/twitter-fixtures.js';

let tw: FakeTwitter | undefined;
afterEach(async () => {
  await tw?.close();
  tw = undefined;
});

async function setup(opts: { api?: string; second?: boolean } = {}) {
  tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
  const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_TIMEOUT_MS: '3000' });
  const dbPath = cli.db;
  const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT_ID });
  const hook = tw.x.addWebhook(TEST_SECRETS.apiKey, 'https://help.example.com/webhooks/twitter/1');
  const ids = [id];
  if (opts.second) ids.push((await seedInteraction(dbPath, { name: 'Sales', accountUserId: '42' })).id);
  const db = await openDatabase(dbPath);
  await db.kysely.updateTable('interactions').set({ api: opts.api ?? 'activity', webhook_id: hook.id }).where('id', 'in', ids).execute();
  await db.close();
  const omni = (...args: string[]) => cli.run(args);
  return { tw, hook, omni, ids };
}

const MINUTE = 60_000;

describe('omni webhook replay', () => {
  it('asks X to replay the webhook for the window (whole minutes, UTC) with the app bearer and prints the job id', async () => {
    const { tw, hook, omni } = await setup();
    const before = Date.now();
    const r = await omni('webhook', 'replay', '1', '--since', '2h');
    expect(r.code, r.stderr).toBe(0);
    const [job] = tw.x.replays;
    expect(job).toBeDefined();
    expect(r.stdout).toBe(`${job!.jobId}\n`);
    expect(r.stderr).toContain(`✓ replay requested: job ${job!.jobId} for webhook ${hook.id}`);
    const [req] = tw.requestsTo('POST', '/2/webhooks/replay');
    expect(req!.auth?.type).toBe('bearer');
    const body = JSON.parse(req!.body);
    expect(Object.keys(body).sort()).toEqual(['from_date', 'to_date', 'webhook_id']);
    expect(body.webhook_id).toBe(hook.id);
    expect(body.from_date).toMatch(/^\d{12}$/);
    // From the minute two hours ago to the end of the current minute.
    expect([replayDate(new Date(Math.floor((before - 2 * 3_600_000) / MINUTE) * MINUTE)), replayDate(new Date(Math.floor((Date.now() - 2 * 3_600_000) / MINUTE) * MINUTE))]).toContain(body.from_date);
    expect([replayDate(new Date(Math.ceil(before / MINUTE) * MINUTE)), replayDate(new Date(Math.ceil(Date.now() / MINUTE) * MINUTE))]).toContain(body.to_date);
  });

  it('--json and an ISO --since/--until', async () => {
    const { tw, hook, omni } = await setup();
    const since = new Date(Math.floor((Date.now() - 3 * 3_600_000) / MINUTE) * MINUTE);
    const until = new Date(since.getTime() + 30 * MINUTE);
    const r = await omni('webhook', 'replay', 'Support', '--since', since.toISOString(), '--until', until.toISOString().slice(0, 16), '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      interactionId: 1,
      webhookId: hook.id,
      jobId: tw.x.replays[0]!.jobId,
      createdAt: expect.any(String),
      from: since.toISOString(),
      to: until.toISOString(),
      fromDate: replayDate(since),
      toDate: replayDate(until),
      interactions: [1],
    });
    expect(JSON.parse(tw.requestsTo('POST', '/2/webhooks/replay')[0]!.body)).toMatchObject({ from_date: replayDate(since), to_date: replayDate(until) });
  });

  it('refuses a window older than 24 hours, a bad time and an empty window with the reason, before calling X', async () => {
    const { tw, omni } = await setup();
    const old = await omni('webhook', 'replay', '1', '--since', '25h');
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('is more than 24 hours ago: X replays only the deliveries of the last 24 hours');
    expect(old.stderr).toContain('--since 24h');
    const bad = await omni('webhook', 'replay', '1', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since must be a duration back from now (30m, 2h) or an ISO-8601 time");
    const empty = await omni('webhook', 'replay', '1', '--since', '1h', '--until', '2h');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('is not after --since');
    expect(tw.requestsTo('POST', '/2/webhooks/replay')).toEqual([]);
    // Exactly 24 h is inside the horizon (rounded to the first whole minute in it).
    expect((await omni('webhook', 'replay', '1', '--since', '24h')).code).toBe(0);
  });

  it('refuses a v1.1 interaction: X retired its replay', async () => {
    const { tw, omni } = await setup({ api: 'v1.1' });
    const r = await omni('webhook', 'replay', '1', '--since', '1h');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('uses the premium v1.1 API, whose replay X has retired');
    expect(r.stderr).toContain('omni interaction edit 1 --api activity');
    expect(tw.requestsTo('POST', '/2/webhooks/replay')).toEqual([]);
  });

  it('a shared webhook: one replay covers both interactions, and says so', async () => {
    const { tw, omni } = await setup({ second: true });
    const r = await omni('webhook', 'replay', '2', '--since', '30m', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).interactions).toEqual([1, 2]);
    expect(r.stderr).toContain("the webhook is shared: the replay re-sends the deliveries of interaction 1 'Support' too");
    expect(tw.requestsTo('POST', '/2/webhooks/replay')).toHaveLength(1);
  });

  it('has --help with examples', async () => {
    const { omni } = await setup();
    const r = await omni('webhook', 'replay', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--since <duration|time>');
    expect(r.stdout).toContain('omni webhook replay 1 --since 2h');
    expect(r.stdout).toContain('last 24 hours');
  });
});

describe('replayWindow', () => {
  const now = new Date('2026-12-01T08:30:30Z');
  it('whole minutes from the minute of since to the end of the minute of until', () => {
    expect(replayWindow(new Date('2026-12-01T06:10:45Z'), now, now)).toEqual({ from: new Date('2026-12-01T06:10:00Z'), to: new Date('2026-12-01T08:31:00Z') });
    expect(replayWindow(new Date('2026-11-30T08:30:30Z'), now, now).from).toEqual(new Date('2026-11-30T08:31:00Z'));
    expect(() => replayWindow(new Date('2026-11-30T08:29:00Z'), now, now)).toThrow(/more than 24 hours ago/);
  });
});
