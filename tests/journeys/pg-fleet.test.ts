// The fleet of issue 12, end to end: two `omni listen` processes of the built CLI on two ports
// against one PostgreSQL database, the fake X behind both, everything set up with the CLI. A
// Twitter-like sender delivers every event to BOTH listeners at once (each event is a duplicate),
// requesters' first two DMs race across the listeners, agents reply with `omni ticket reply`
// meanwhile (some replies refused once by X, so the listeners' outbox workers send them), and one
// listener is killed with SIGKILL in the middle of the load. Then, read from the database:
//   - every delivery answered 200 is stored, exactly once;
//   - no requester has two open tickets;
//   - every reply was sent to X exactly once.
// PostgreSQL only: on SQLite one file has one listener (docs/deployment-postgresql.md).
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import { openDatabase } from '../../src/db/connection.js';
import { cliWithDb } from '../support/cli.js';
import { dmDeliveryBody, newEventId } from '../support/deliveries.js';
import { TEST_ENGINE, TEST_SECRET_KEY } from '../support/engine.js';
import { startFakeTwitter, type FakeTwitter } from '../support/fake-twitter.js';
import { secretEnv } from '../support/interactions.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { TEST_SECRETS } from '../support/seed.js';
import { ACCOUNT_ID, testApp, testUser } from '../support/twitter-fixtures.js';
import { waitFor } from '../support/wait.js';
import { deliverAll, type DeliveryLog } from '../reliability/sender.js';
import { eventIdOf, storedEventIds } from '../reliability/db.js';

const DM_PATH = '/1.1/direct_messages/events/new.json';
/** Requesters whose first two DMs reach the two listeners at the same moment, in opposite orders. */
const RACERS = 20;
/** Then a steady load from returning requesters. */
const BULK = 800;
const BULK_SENDERS = 60;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** One inbound DM to the fake X's account, as X's v1.1 Account Activity delivers it. */
function dm(senderId: string, text: string): string {
  return dmDeliveryBody({
    forUserId: ACCOUNT_ID,
    events: [{ senderId, recipientId: ACCOUNT_ID, text, eventId: newEventId() }],
    users: { [senderId]: { name: `Customer ${senderId}`, screenName: `c${senderId}` } },
  });
}

/** The interaction, declared as an operator would apply it; the credentials come from the environment. */
const HELPDESK = JSON.stringify({
  version: 1,
  units: ['HQ'],
  groups: ['Social'],
  portfolios: [{ name: 'CS', activities: ['DM'] }],
  interactions: [
    {
      name: 'Support',
      channel: 'twitter-dm',
      api: 'v1.1',
      unit: 'HQ',
      group: 'Social',
      activity: { name: 'DM', portfolio: 'CS' },
      contactOrigin: 'Twitter',
      helperInterception: false,
      devEnvironment: 'dev',
      callbackUrl: 'https://helpdesk.example.com',
      credentials: {
        apiKey: '${env:OMNI_TWITTER_API_KEY}',
        apiSecretKey: '${env:OMNI_TWITTER_API_SECRET}',
        accessToken: '${env:OMNI_TWITTER_ACCESS_TOKEN}',
        accessTokenSecret: '${env:OMNI_TWITTER_ACCESS_TOKEN_SECRET}',
      },
    },
  ],
});

describe.skipIf(TEST_ENGINE !== 'postgres')('two listeners on two ports, one PostgreSQL', () => {
  it('store every delivery answered 200 once, open one ticket per requester and send every reply once, with one listener killed mid-load', async () => {
    const tw: FakeTwitter = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
    closers.push(() => tw.close());
    const x = {
      OMNI_TWITTER_API_URL: tw.url,
      OMNI_TWITTER_TIMEOUT_MS: '3000',
      // Short retries, and a lease short enough that a row claimed twice would show within the test.
      OMNI_OUTBOX_RETRY_MS: '200',
      OMNI_OUTBOX_LEASE_MS: '4000',
    };
    // The operator's shell: the key file where omni looks for it on this host (cliWithDb puts it there).
    const cli = cliWithDb({ ...x, ...secretEnv(TEST_SECRETS) });
    const url = cli.db;
    const ok = async (args: string[], input?: string) => {
      const r = await cli.run(['--no-input', ...args], input === undefined ? {} : { input });
      expect(r.code, `omni ${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r;
    };
    await ok(['apply', '-f', '-'], HELPDESK);
    const [interaction] = JSON.parse((await ok(['interaction', 'list', '--json'])).stdout) as Array<{ id: number }>;
    const id = interaction!.id;

    // Two hosts of one fleet: the same database, the same key (a key file on one, OMNI_SECRET_KEY on the other).
    const fleet = {
      a: { ...x, HOME: cli.dir, XDG_CONFIG_HOME: path.join(cli.dir, 'config') },
      b: { ...x, HOME: path.join(cli.dir, 'host-b'), OMNI_SECRET_KEY: TEST_SECRET_KEY },
    };
    const listen = async (env: Record<string, string>) => {
      const l = await startListener({ db: url, env, args: ['--host', '127.0.0.1', '--no-watchdog', '--no-replay'], timeoutMs: 30_000 });
      closers.push(() => l.kill9());
      return l;
    };
    const a: RunningListener = await listen(fleet.a);
    const b: RunningListener = await listen(fleet.b);
    expect(a.port).not.toBe(b.port);

    // The racers' two first DMs go to A in one order and to B in the other, all at the start; then the bulk.
    const racers = Array.from({ length: RACERS }, (_, r) => [dm(String(5000 + r), `first from ${r}`), dm(String(5000 + r), `second from ${r}`)] as const);
    const bulk = Array.from({ length: BULK }, (_, i) => dm(String(8000 + (i % BULK_SENDERS)), `message ${i}`));
    const toA = [...racers.flatMap(([m1, m2]) => [m1, m2]), ...bulk];
    const toB = [...racers.flatMap(([m1, m2]) => [m2, m1]), ...bulk];
    const all = new Set(toA.map(eventIdOf));
    expect(all.size).toBe(RACERS * 2 + BULK);

    // B dies mid-load; its sender then goes to A, as a load balancer does once B fails its health check.
    let bAlive = true;
    let deliveredByB = 0;
    let loading = true;
    const senders = Promise.all([
      deliverAll({ url: () => a.url, interactionId: id, bodies: toA, concurrency: 12, deadlineMs: 150_000 }),
      deliverAll({ url: () => (bAlive ? b.url : a.url), interactionId: id, bodies: toB, concurrency: 12, deadlineMs: 150_000, onDelivered: () => deliveredByB++ }),
    ]).finally(() => (loading = false));

    // Agents reply meanwhile. Each reply's text is unique, so X's record says how often it was sent.
    const replies: string[] = [];
    const sentCount = (text: string) => tw.state.sentDms.filter((d) => d.text === text).length;
    const reply = async (ticketId: number) => {
      const text = `fleet reply ${replies.length + 1} to ticket ${ticketId}`;
      replies.push(text);
      await ok(['ticket', 'reply', String(ticketId), text]);
    };
    const openTickets = async (n: number) =>
      waitFor(async () => {
        const rows = await queryRows<{ id: number }>(url, sql`SELECT id FROM tickets WHERE status = 'open' ORDER BY id LIMIT ${n}`);
        return rows.length >= n ? rows.map((r) => Number(r.id)) : undefined;
      }, `${n} open tickets`, 30_000);

    // While both listeners run: X refuses two sends for a moment, so two replies stay queued and
    // whichever listener's outbox worker claims them first sends them.
    tw.failNext({ method: 'POST', path: DM_PATH, status: 503, errors: [{ code: 130, message: 'Over capacity' }], times: 2 });
    await Promise.all((await openTickets(4)).map(reply));
    await waitFor(() => replies.every((r) => sentCount(r) >= 1), 'the replies queued before the kill to be sent', 30_000);
    expect(loading, 'the load ended before the kill: make it longer').toBe(true);

    // SIGKILL B in the middle of its load (never in the middle of a send: every queued reply is out).
    await waitFor(() => deliveredByB >= (RACERS * 2 + BULK) / 2 || !loading, 'half of the load answered by B', 60_000);
    expect(loading, 'the load ended before the kill: make it longer').toBe(true);
    await b.kill9();
    bAlive = false;

    // After the kill: more replies, two of them refused once by X, so A's outbox worker sends them.
    tw.failNext({ method: 'POST', path: DM_PATH, status: 503, errors: [{ code: 130, message: 'Over capacity' }], times: 2 });
    await Promise.all((await openTickets(8)).slice(4).map(reply));

    const logs: DeliveryLog[][] = await senders;
    await waitFor(() => replies.every((r) => sentCount(r) >= 1), 'every reply to be sent', 30_000);

    // No 500 and no other refusal: a crash shows as no answer ('error'), a busy database as 503.
    const statuses = new Set(logs.flat().flatMap((l) => l.statuses));
    expect([...statuses].filter((s) => s !== 200 && s !== 503 && s !== 'error')).toEqual([]);
    expect(logs.flat().every((l) => l.answered200 >= 1)).toBe(true);

    // Every delivery answered 200 (by either listener, before or after the kill) is stored exactly once.
    const stored = await storedEventIds(url);
    expect(stored.length - new Set(stored).size).toBe(0);
    expect(new Set(stored)).toEqual(all);

    // One requester per sender, one ticket per requester, never two open at once.
    const perRequester = await queryRows<{ n: number }>(url, sql`SELECT count(*) AS n FROM tickets WHERE status = 'open' GROUP BY interaction_id, requester_id`);
    expect(perRequester).toHaveLength(RACERS + BULK_SENDERS);
    expect(Math.max(...perRequester.map((r) => Number(r.n)))).toBe(1);
    expect(await queryRows(url, sql`SELECT twitter_user_id FROM requesters`)).toHaveLength(RACERS + BULK_SENDERS);
    // Each racer's two DMs are on its one ticket.
    const racerMessages = await queryRows<{ n: number; tickets: number }>(
      url,
      sql`SELECT count(*) AS n, count(DISTINCT m.ticket_id) AS tickets FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN requesters r ON r.id = t.requester_id WHERE m.direction = 'inbound' AND r.twitter_user_id IN (${sql.join(racers.map((_, r) => String(5000 + r)))}) GROUP BY r.id`,
    );
    expect(racerMessages.map((r) => [Number(r.n), Number(r.tickets)])).toEqual(Array.from({ length: RACERS }, () => [2, 1]));

    // Every reply sent exactly once, and the outbox agrees (nothing left to send twice later).
    expect(replies.map(sentCount)).toEqual(replies.map(() => 1));
    expect(tw.requestsTo('POST', DM_PATH).filter((r) => r.status === 503)).toHaveLength(4);
    const outbox = await queryRows<{ status: string; n: number }>(url, sql`SELECT status, count(*) AS n FROM outbox GROUP BY status`);
    expect(outbox.map((r) => [r.status, Number(r.n)])).toEqual([['sent', replies.length]]);

    // The survivor stops cleanly.
    expect(await a.stop()).toEqual({ code: 0, signal: null });
  }, 240_000);
});

/** Rows read through a connection of the test's own (pg on PostgreSQL). */
async function queryRows<T>(db: string, query: RawBuilder<T>): Promise<T[]> {
  const h = await openDatabase(db);
  try {
    return (await query.execute(h.kysely)).rows;
  } finally {
    await h.close();
  }
}
