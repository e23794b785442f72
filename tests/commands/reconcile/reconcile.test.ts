// `omni reconcile` and `omni usage`, the built CLI against the fake X: DMs X never delivered (no
// subscription, as when one was missing or revoked) are read from the account's DM history and
// imported through the one intake, once; the account's own sends are echoes linked to their outbox
// rows, never customer messages; --dry-run writes nothing; a second run reads only the first page;
// `usage` counts what the fake X bills.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/db/connection.js';
import { loadSecretBox } from '../../../src/secrets.js';
import { runCli } from '../../support/cli.js';
import { startFakeTwitter } from '../../support/fake-twitter.js';
import { seedInteraction } from '../../support/seed.js';
import { tempDir } from '../../support/tmp.js';
import { TEST_SECRET_KEY, testDatabase } from '../../support/engine.js';
import { sql } from 'kysely';
import { ACCOUNT_ID, testApp, testUser } from '../../support/twitter-fixtures.js';
import { authorizeSeededActivity } from '../../support/activity-account.js';

const ANN = '4242424242424242424';
const BOB = '4343434343434343434';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup() {
  const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId: 'cid', redirectUris: [] }] } });
  closers.push(() => tw.close());
  const dir = tempDir();
  const dbPath = testDatabase(dir);
  const env = { OMNI_SECRET_KEY: TEST_SECRET_KEY };
  const { id } = await seedInteraction(dbPath, { accountUserId: ACCOUNT_ID, env });
  const db = await openDatabase(dbPath);
  closers.push(() => db.close());
  const box = loadSecretBox(dbPath, env);
  await authorizeSeededActivity(db, box, tw, id);
  const omni = (...args: string[]) => runCli(['--db', dbPath, ...args], { env: { ...env, HOME: dir, OMNI_TWITTER_API_URL: tw.url, OMNI_TWITTER_TIMEOUT_MS: '3000' } });
  return { tw, db, id, omni };
}

// Read through Kysely: the same on both engines.
const messages = async (db: Db) =>
  (await sql`SELECT m.ticket_id, m.direction, m.text, m.twitter_event_id, t.requester_id FROM messages m JOIN tickets t ON t.id = m.ticket_id ORDER BY m.id`.execute(db.kysely)).rows as Array<{
    ticket_id: number;
    direction: string;
    text: string;
    twitter_event_id: string;
    requester_id: number;
  }>;
const count = async (db: Db, table: string) => Number(((await sql`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db.kysely)).rows[0] as { n: number | string }).n);
const historyCalls = (tw: Awaited<ReturnType<typeof startFakeTwitter>>) => tw.requestsTo('GET', '/2/dm_events');

describe('omni reconcile', () => {
  it('imports the DMs X never delivered, once; --dry-run lists and writes nothing; a second run reads one page; usage agrees with X', async () => {
    const { tw, db, id, omni } = await setup();
    // No subscription: X delivers nothing, as when the subscription was missing.
    tw.x.customerSendsDm({ from: { id: ANN, username: 'ann', name: 'Ann' }, toUserId: ACCOUNT_ID, text: 'my order never came' });
    tw.x.customerSendsDm({ from: { id: BOB, username: 'bob' }, toUserId: ACCOUNT_ID, text: 'hello?' });
    tw.x.customerSendsDm({ from: { id: ANN, username: 'ann', name: 'Ann' }, toUserId: ACCOUNT_ID, text: 'any news?' });

    const dry = await omni('reconcile', String(id), '--since', '7d', '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const [report] = JSON.parse(dry.stdout).interactions;
    expect(report).toMatchObject({ interactionId: id, dryRun: true, read: 3, new: 3, alreadyStored: 0 });
    expect(report.missing.map((m: { text: string; direction: string }) => [m.text, m.direction])).toEqual([
      ['my order never came', 'inbound'],
      ['hello?', 'inbound'],
      ['any news?', 'inbound'],
    ]);
    expect((await count(db, 'messages')) + (await count(db, 'requesters')) + (await count(db, 'tickets')) + (await count(db, 'reconcile_state')) + (await count(db, 'x_history_reads'))).toBe(0);
    const human = await omni('reconcile', String(id), '--since', '7d', '--dry-run');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('my order never came');
    expect(human.stderr).toMatch(/read 3, missing 3, already stored 0, estimated cost \$0\.0\d+ \(dry run: nothing written\)/);
    expect(await count(db, 'messages')).toBe(0);

    const real = await omni('reconcile', String(id));
    expect(real.code).toBe(0);
    expect(real.stderr).toMatch(/read 3, new 3, already stored 0, estimated cost \$/);
    const stored = await messages(db);
    expect(stored.map((m) => [m.direction, m.text])).toEqual([
      ['inbound', 'my order never came'],
      ['inbound', 'hello?'],
      ['inbound', 'any news?'],
    ]);
    // Ann's two DMs on one ticket, Bob's on his own; the requester carries the name from the history.
    expect(stored[0]!.ticket_id).toBe(stored[2]!.ticket_id);
    expect(stored[1]!.ticket_id).not.toBe(stored[0]!.ticket_id);
    expect(await db.kysely.selectFrom('requesters').select(['twitter_user_id', 'screen_name', 'name']).orderBy('id').execute()).toEqual([
      { twitter_user_id: ANN, screen_name: 'ann', name: 'Ann' },
      { twitter_user_id: BOB, screen_name: 'bob', name: 'user ' + BOB },
    ]);

    // omni answers Ann: the DM it sent is in X's history too, and must come back as an echo of its outbox row.
    const reply = await omni('ticket', 'reply', String(stored[0]!.ticket_id), 'on its way');
    expect(reply.code, reply.stderr).toBe(0);
    const sentRow = (await db.kysely.selectFrom('outbox').select(['twitter_dm_id', 'message_id']).where('status', '=', 'sent').executeTakeFirstOrThrow()) as { twitter_dm_id: string; message_id: number };
    expect(sentRow.twitter_dm_id).toMatch(/^\d+$/);
    tw.x.customerSendsDm({ from: { id: ANN, username: 'ann', name: 'Ann' }, toUserId: ACCOUNT_ID, text: 'thanks!' });

    const before = historyCalls(tw).length;
    const again = await omni('reconcile', String(id), '--json');
    expect(again.code).toBe(0);
    const [second] = JSON.parse(again.stdout).interactions;
    // Back to the cursor only (at most 2 minutes before the previous run: here the whole short history), one small page.
    expect(second).toMatchObject({ new: 1, alreadyStored: 4, pages: 1 });
    expect(historyCalls(tw).length - before).toBe(1);
    const after = await messages(db);
    expect(after.filter((m) => m.direction === 'inbound').map((m) => m.text)).toEqual(['my order never came', 'hello?', 'any news?', 'thanks!']);
    expect(after.filter((m) => m.direction === 'outbound')).toEqual([expect.objectContaining({ text: 'on its way', twitter_event_id: sentRow.twitter_dm_id })]);
    expect(await count(db, 'requesters')).toBe(2);

    // A third run: nothing new, one call, the first page only.
    const third = await omni('reconcile', '--all', '--json');
    expect(JSON.parse(third.stdout).interactions[0]).toMatchObject({ new: 0, pages: 1 });
    expect(historyCalls(tw).length - before).toBe(2);
    const [firstCall] = historyCalls(tw).slice(-1);
    expect(firstCall!.query.max_results).toBe('10');
    expect(firstCall!.query.expansions).toBe('sender_id,participant_ids');

    // A full scan of the week finds nothing missing either: every event is stored once.
    const scan = await omni('reconcile', String(id), '--since', '7d', '--json');
    expect(JSON.parse(scan.stdout).interactions[0]).toMatchObject({ read: 5, new: 0, alreadyStored: 5 });
    expect(await messages(db)).toHaveLength(5);

    // usage: reads deduplicated per UTC day like X's, the sent DM, nothing delivered (X delivered nothing).
    const usage = await omni('usage', '--json');
    expect(usage.code, usage.stderr).toBe(0);
    const u = JSON.parse(usage.stdout);
    const billed = tw.x.billable();
    expect(u.total).toMatchObject({ delivered: billed.delivered, read: billed.read, sent: billed.sent });
    expect(u.total).toMatchObject({ delivered: 0, read: 5, sent: 1 });
    expect(u.total.estimatedCost).toBeCloseTo(5 * 0.01 + 0.015, 6);
  });

  it('refuses an interaction not authorized, a missing target, both targets, and more than 30 days, each with its fix', async () => {
    const { db, id, omni } = await setup();
    await db.kysely.deleteFrom('oauth_tokens').execute();
    const r = await omni('reconcile', String(id));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`omni interaction authorize ${id}`);
    const both = await omni('reconcile', String(id), '--all');
    expect(both.code).toBe(2);
    const none = await omni('reconcile');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--all');
    const far = await omni('reconcile', '--all', '--since', '45d');
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('30 days');
  });
});
