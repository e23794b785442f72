// An access and an erasure request, end to end: the built CLI and a real `omni listen` on a SQLite
// file, DMs delivered signed. Export holds one requester and nobody else; erase leaves no byte of
// their handle, name or words in the database file or its WAL; a replayed delivery of an erased DM
// is answered 200, stored nowhere, counted and logged without personal data; a new DM from the same
// account opens a new requester.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { cliWithDb } from '../support/cli.js';
import { TEST_ENGINE } from '../support/engine.js';
import { storedBytes } from '../support/db-snapshot.js';
import { queryRows } from '../support/rows.js';
import { seedInteraction } from '../support/seed.js';
import { startListener, type RunningListener } from '../support/listener.js';
import { inboundDm, inParallel, newEventId, postDelivery } from '../support/deliveries.js';

let listeners: RunningListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.kill9();
  listeners = [];
});

const ALICE = { id: '7001', handle: 'zanzibar_alice' };
const BOB = { id: '7002', handle: 'quetzal_bob' };
const aliceText = (i: number) => `AliceWordsMarker-${i}-kumquat`;

/** What the database holds as one latin1 string to search: SQLite's file and WAL bytes, PostgreSQL's every value (storedBytes). */
async function rawFiles(db: string): Promise<string> {
  return (await storedBytes(db)).map((b) => b.toString('latin1')).join('\n');
}

async function count(db: string, sqlText: string, ...args: unknown[]): Promise<number> {
  const d = await openDatabase(db, { migrate: false });
  try {
    return Number((await queryRows(d, sqlText, ...args))[0].n);
  } finally {
    await d.close();
  }
}

describe(`requester export and erase (CLI and listener) on ${TEST_ENGINE}`, () => {
  it('exports only one requester, erases them from the files, drops replays of their DMs and starts afresh on a new DM', async () => {
    const { db, dir, run, env } = cliWithDb();
    const { id } = await seedInteraction(db);
    const l = await startListener({ db, env });
    listeners.push(l);

    // Alice: three tickets (closed twice between DMs), seven DMs. Bob: one ticket. Others: enough
    // traffic that pages split and move while Alice's rows are written.
    const aliceBodies: string[] = [];
    const deliver = async (body: string) => {
      const res = await postDelivery(l.url, id, body);
      expect(res.status, res.text).toBe(200);
      return res;
    };
    let n = 0;
    for (const ticket of [1, 2, 3]) {
      for (let k = 0; k < (ticket === 1 ? 3 : 2); k++) {
        const body = inboundDm({ senderId: ALICE.id, screenName: ALICE.handle, text: aliceText(n++), eventId: newEventId() });
        aliceBodies.push(body);
        await deliver(body);
        await deliver(inboundDm({ senderId: BOB.id, screenName: BOB.handle, text: `BobWordsMarker-${n}`, eventId: newEventId() }));
      }
      await inParallel(Array.from({ length: 40 }, (_, i) => i), 8, (i) => deliver(inboundDm({ senderId: String(9000 + i), text: `filler ${ticket}-${i} ${'x'.repeat(200)}` })));
      if (ticket < 3) {
        const open = JSON.parse((await run(['requester', 'show', `@${ALICE.handle}`, '--json'])).stdout).tickets.find((t: { status: string }) => t.status === 'open');
        expect((await run(['ticket', 'close', String(open.id)])).code).toBe(0);
      }
    }

    // Export: a file (0600), every message of Alice's three tickets, nothing of Bob's.
    const out = path.join(dir, 'alice.json');
    const exp = await run(['requester', 'export', `@${ALICE.handle}`, '--out', out, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ tickets: 3, messages: 7, out });
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(doc).toMatchObject({ format: 'omni.requester-export', version: 1, requester: { twitterUserId: ALICE.id, screenName: ALICE.handle } });
    expect(doc.tickets).toHaveLength(3);
    expect(doc.tickets.flatMap((t: { messages: Array<{ text: string }> }) => t.messages.map((m) => m.text))).toEqual(Array.from({ length: 7 }, (_, i) => aliceText(i)));
    const text = fs.readFileSync(out, 'utf8');
    expect(text).not.toContain('Bob');
    expect(text).not.toContain(BOB.id);
    expect(text).not.toContain('filler');
    // NDJSON on stdout: the same records, one a line.
    const nd = await run(['requester', 'export', ALICE.id, '--format', 'ndjson']);
    expect(nd.code, nd.stderr).toBe(0);
    const lines = nd.stdout.trim().split('\n').map((x) => JSON.parse(x));
    expect(lines[0]).toMatchObject({ type: 'requester', format: 'omni.requester-export', version: 1 });
    expect(lines.filter((x) => x.type === 'ticket')).toHaveLength(3);
    // A second export to the same file is refused rather than overwriting it.
    expect((await run(['requester', 'export', ALICE.id, '--out', out])).code).toBe(1);

    // Positive control: before the erase, Alice's words and names are in the files.
    const before = await rawFiles(db);
    expect(before).toContain(aliceText(0));
    expect(before).toContain(ALICE.handle);

    // No terminal and no --yes: exit 4, nothing erased.
    const refused = await run(['requester', 'erase', `@${ALICE.handle}`]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('--yes');
    const aliceId = doc.requester.id as number;
    const erased = await run(['requester', 'erase', `@${ALICE.handle}`, '--yes', '--reason', 'erasure request 2026-114', '--json']);
    expect(erased.code, erased.stderr).toBe(0);
    expect(JSON.parse(erased.stdout)).toMatchObject({ requesterId: aliceId, tickets: 3, messages: 7, tombstones: 7, walTruncated: TEST_ENGINE === 'sqlite' ? true : null });

    // No byte of them in the database (SQLite: the file and the WAL); Bob is untouched.
    const after = await rawFiles(db);
    for (let i = 0; i < 7; i++) expect(after.includes(aliceText(i)), `message ${i} still in the files`).toBe(false);
    expect(after.includes(ALICE.handle)).toBe(false);
    expect(after.includes(ALICE.handle.toUpperCase())).toBe(false);
    expect(after).toContain(BOB.handle);
    // Ticket numbers and counts stay; the content is marked erased.
    const tickets = JSON.parse((await run(['ticket', 'list', '--status', 'all', '--requester', String(aliceId), '--json'])).stdout);
    expect(tickets.map((t: { subject: string; messageCount: number; status: string }) => [t.subject, t.messageCount, t.status])).toEqual([
      ['(erased)', 2, 'closed'],
      ['(erased)', 2, 'closed'],
      ['(erased)', 3, 'closed'],
    ]);
    const audit = JSON.parse((await run(['audit', '--entity', 'requester', '--json'])).stdout);
    expect(audit).toEqual([expect.objectContaining({ action: 'erase', entityId: String(aliceId) })]);
    expect(JSON.stringify(audit)).not.toContain(ALICE.handle);
    // Erasing again says so.
    const again = await run(['requester', 'erase', String(aliceId), '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already erased');

    // X replays an erased DM (or retries it late): 200, nothing stored, counted, logged without them.
    const messagesBefore = await count(db, 'SELECT count(*) AS n FROM messages');
    const replay = await deliver(aliceBodies[0]!);
    expect(replay.body.results).toEqual([expect.objectContaining({ outcome: 'erased' })]);
    expect(JSON.stringify(replay.body)).not.toContain(ALICE.id);
    expect(await count(db, 'SELECT count(*) AS n FROM messages')).toBe(messagesBefore);
    expect(await count(db, 'SELECT count(*) AS n FROM requesters WHERE twitter_user_id = ?', ALICE.id)).toBe(0);
    const logged = await l.waitForLog((x) => x.msg === 'delivery' && x.results?.[0]?.outcome === 'erased');
    expect(JSON.stringify(logged)).not.toContain(ALICE.handle);
    expect(JSON.stringify(logged)).not.toContain(ALICE.id);
    expect(logged.results[0].detail).toMatch(/tombstone [0-9a-f]{12}\)/);
    const metrics = await (await fetch(`${l.url}/metrics`)).text();
    expect(metrics).toMatch(/^omni_erased_redeliveries_total 1$/m);
    expect(metrics).toMatch(/^omni_delivery_events_total\{outcome="erased"\} 1$/m);

    // A new DM from the same account: a new requester, a new ticket.
    const fresh = await deliver(inboundDm({ senderId: ALICE.id, screenName: ALICE.handle, text: 'hello again', eventId: newEventId() }));
    expect(fresh.body.results[0]).toMatchObject({ outcome: 'new_ticket' });
    expect(fresh.body.results[0].requester).not.toBe(aliceId);
    expect(await l.stop()).toEqual({ code: 0, signal: null });
    // About a hundred deliveries and a dozen CLI runs: more than the default 30 s on a loaded machine.
  }, 180_000);
});
