// Export, erase and retention through Kysely, on a real SQLite file and (project "postgres") on a
// real PostgreSQL database: the same code on both engines. After erase no row anywhere holds the
// requester's handle, name, Twitter id or words; retention redacts only closed tickets older than the
// window, with a fixed clock; --dry-run changes nothing.
import fs from 'node:fs';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import type { Database } from '../../src/db/schema.js';
import { eraseRequester } from '../../src/privacy/erase.js';
import { exportRequester, writeJsonExport, writeNdjsonExport } from '../../src/privacy/export.js';
import { readRetention, runRetention, writeRetention, parseRetention } from '../../src/privacy/retention.js';
import { eventHasher } from '../../src/privacy/tombstone.js';
import { TEST_ENGINE, TEST_SECRET_KEY, testDatabase } from '../support/engine.js';
import { cliWithDb } from '../support/cli.js';
import { seedInteraction } from '../support/seed.js';

const hash = eventHasher(Buffer.alloc(32, 3));
const ALICE = { tw: '71234567', handle: 'zanzibar_alice', name: 'Alice Zanzibar' };
const BOB = { tw: '72345678', handle: 'quetzal_bob', name: 'Bob Quetzal' };
const at = (iso: string) => new Date(iso).toISOString();

let open: Db[] = [];
afterEach(async () => {
  for (const d of open) await d.close();
  open = [];
});

async function setup(dbPath = testDatabase()) {
  const { id: interactionId } = await seedInteraction(dbPath, { env: { OMNI_SECRET_KEY: TEST_SECRET_KEY } });
  const db = await openDatabase(dbPath);
  open.push(db);
  return { db, k: db.kysely, interactionId, dbPath };
}

let eventSeq = 1_000_000;
async function requester(k: Kysely<Database>, who: typeof ALICE, now = '2026-01-01T00:00:00.000Z') {
  const r = await k.insertInto('requesters').values({ twitter_user_id: who.tw, screen_name: who.handle, name: who.name, unit_id: null, group_id: null, created_at: now, updated_at: now, erased_at: null }).returning('id').executeTakeFirstOrThrow();
  return r.id;
}
async function ticket(k: Kysely<Database>, interactionId: number, requesterId: number, o: { status: 'open' | 'closed'; createdAt: string; closedAt?: string; texts: string[] }) {
  const t = await k
    .insertInto('tickets')
    .values({ interaction_id: interactionId, requester_id: requesterId, status: o.status, subject: o.texts[0] ?? '(no text)', unit_id: null, group_id: null, activity_id: null, contact_origin_id: null, contract_id: null, created_at: o.createdAt, updated_at: o.createdAt, closed_at: o.closedAt ?? null })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const text of o.texts) {
    await k
      .insertInto('messages')
      .values({ ticket_id: t.id, interaction_id: interactionId, direction: 'inbound', text, twitter_event_id: String(eventSeq++), sender_twitter_id: '1', sent_at: o.createdAt, attachments: JSON.stringify([{ type: 'photo', mediaUrl: `https://ton.example/${text}.jpg` }]), created_at: o.createdAt, redacted_at: null })
      .execute();
  }
  return t.id;
}

/** Every row of every omni table, as text: what a search of the database would find. */
async function everything(k: Kysely<Database>): Promise<string> {
  const tables = ['requesters', 'tickets', 'messages', 'helper_conversations', 'helper_messages', 'helper_jobs', 'outbox', 'audit_log', 'erased_events', 'webhook_events', 'settings'] as const;
  const parts: string[] = [];
  for (const t of tables) parts.push(JSON.stringify(await k.selectFrom(t).selectAll().execute()));
  return parts.join('\n');
}

async function collect(k: Kysely<Database>, id: number, format: 'json' | 'ndjson' = 'json') {
  let out = '';
  await (format === 'json' ? writeJsonExport : writeNdjsonExport)(exportRequester(k, id, '2026-06-01T00:00:00.000Z'), (c) => void (out += c));
  return out;
}

describe(`privacy on ${TEST_ENGINE}`, () => {
  it('exports everything about one requester and nothing about anyone else', async () => {
    const { k, interactionId } = await setup();
    const alice = await requester(k, ALICE);
    const bob = await requester(k, BOB);
    const t1 = await ticket(k, interactionId, alice, { status: 'closed', createdAt: at('2026-01-01'), closedAt: at('2026-01-02'), texts: ['alice-one', 'alice-two'] });
    await ticket(k, interactionId, alice, { status: 'closed', createdAt: at('2026-02-01'), closedAt: at('2026-02-02'), texts: ['alice-three'] });
    await ticket(k, interactionId, alice, { status: 'open', createdAt: at('2026-03-01'), texts: ['alice-four'] });
    const tb = await ticket(k, interactionId, bob, { status: 'open', createdAt: at('2026-03-01'), texts: ['bob-words'] });
    const conv = await k.insertInto('helper_conversations').values({ interaction_id: interactionId, requester_id: alice, status: 'handed_off', state: 'start', ticket_id: t1, last_activity_at: at('2026-01-01'), created_at: at('2026-01-01'), updated_at: at('2026-01-01'), ended_at: null }).returning('id').executeTakeFirstOrThrow();
    await k.insertInto('helper_messages').values({ conversation_id: conv.id, interaction_id: interactionId, direction: 'inbound', text: 'alice-to-helper', payload: null, twitter_event_id: String(eventSeq++), attachments: '[]', outbox_id: null, sent_at: at('2026-01-01'), created_at: at('2026-01-01') }).execute();
    const outboxRow = (recipient: string, ticketId: number, text: string) => ({ interaction_id: interactionId, ticket_id: ticketId, message_id: null, conversation_id: null, recipient_twitter_id: recipient, text, options: null, status: 'sent' as const, next_attempt_at: at('2026-01-01'), last_error: null, last_error_kind: null, twitter_dm_id: String(eventSeq++), created_at: at('2026-01-01'), updated_at: at('2026-01-01'), sent_at: at('2026-01-01') });
    await k.insertInto('outbox').values([outboxRow(ALICE.tw, t1, 'answer-to-alice'), outboxRow(BOB.tw, tb, 'answer-to-bob')]).execute();
    await k.insertInto('audit_log').values([
      { at: at('2026-01-02'), actor: 'agent', entity: 'ticket', entity_id: String(t1), action: 'close', changes: '{"status":"closed"}' },
      { at: at('2026-03-02'), actor: 'agent', entity: 'ticket', entity_id: String(tb), action: 'close', changes: '{"status":"closed"}' },
    ]).execute();

    const doc = JSON.parse(await collect(k, alice));
    expect(doc).toMatchObject({ format: 'omni.requester-export', version: 1, requester: { id: alice, twitterUserId: ALICE.tw, screenName: ALICE.handle, name: ALICE.name } });
    expect(doc.tickets.map((t: any) => t.messages.map((m: any) => m.text))).toEqual([['alice-one', 'alice-two'], ['alice-three'], ['alice-four']]);
    expect(doc.tickets[0].messages[0].attachments).toEqual([{ type: 'photo', mediaUrl: 'https://ton.example/alice-one.jpg' }]);
    expect(doc.helperConversations[0].messages.map((m: any) => m.text)).toEqual(['alice-to-helper']);
    expect(doc.outbox.map((o: any) => o.text)).toEqual(['answer-to-alice']);
    expect(doc.audit.map((a: any) => a.entityId)).toEqual([String(t1)]);
    const text = JSON.stringify(doc);
    for (const other of ['bob', BOB.tw, BOB.handle]) expect(text).not.toContain(other);
    // NDJSON: the same records, one a line, the first with the format and version.
    const lines = (await collect(k, alice, 'ndjson')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['requester', 'ticket', 'ticket', 'ticket', 'helperConversation', 'outbox', 'audit']);
    // A requester with nothing but a row: every section present and empty.
    const lone = await requester(k, { tw: '79999999', handle: 'lone', name: null as unknown as string });
    expect(JSON.parse(await collect(k, lone))).toMatchObject({ tickets: [], helperConversations: [], outbox: [], audit: [] });
  });

  it('erases one requester everywhere in one transaction, keeps numbers and counts, and leaves only keyed hashes', async () => {
    const { k, interactionId } = await setup();
    const alice = await requester(k, ALICE);
    const bob = await requester(k, BOB);
    const t1 = await ticket(k, interactionId, alice, { status: 'open', createdAt: at('2026-01-01'), texts: ['alice-secret-one', 'alice-secret-two'] });
    await ticket(k, interactionId, bob, { status: 'open', createdAt: at('2026-01-01'), texts: ['bob-words'] });
    const conv = await k.insertInto('helper_conversations').values({ interaction_id: interactionId, requester_id: alice, status: 'active', state: 'menu', ticket_id: null, last_activity_at: at('2026-01-01'), created_at: at('2026-01-01'), updated_at: at('2026-01-01'), ended_at: null }).returning('id').executeTakeFirstOrThrow();
    const hm = await k.insertInto('helper_messages').values({ conversation_id: conv.id, interaction_id: interactionId, direction: 'inbound', text: 'alice-secret-helper', payload: 'alice-secret-payload', twitter_event_id: '5550001', attachments: '[]', outbox_id: null, sent_at: at('2026-01-01'), created_at: at('2026-01-01') }).returning('id').executeTakeFirstOrThrow();
    await k.insertInto('helper_jobs').values({ conversation_id: conv.id, helper_message_id: hm.id, status: 'pending', next_attempt_at: at('2026-01-01'), outcome: null, created_at: at('2026-01-01'), updated_at: at('2026-01-01') }).execute();
    await k.insertInto('outbox').values({ interaction_id: interactionId, ticket_id: t1, message_id: null, conversation_id: null, recipient_twitter_id: ALICE.tw, text: 'alice-secret-reply', options: '[{"label":"alice-secret-option"}]', status: 'pending', next_attempt_at: at('2026-01-01'), last_error: 'Twitter said alice-secret-error', last_error_kind: 'rejected', twitter_dm_id: null, created_at: at('2026-01-01'), updated_at: at('2026-01-01'), sent_at: null }).execute();
    const eventIds = (await k.selectFrom('messages').select('twitter_event_id').where('ticket_id', '=', t1).execute()).map((r) => r.twitter_event_id!);

    const before = await everything(k);
    for (const s of ['alice-secret', ALICE.handle, ALICE.name, ALICE.tw]) expect(before).toContain(s);
    const result = await eraseRequester(k, { requesterId: alice, hash, now: at('2026-06-01'), actor: 'dpo', reason: 'erasure request 42' });
    expect(result).toMatchObject({ requesterId: alice, tickets: 1, messages: 2, helperConversations: 1, helperMessages: 1, outbox: 1, outboxCancelled: 1, tombstones: 3, walTruncated: TEST_ENGINE === 'sqlite' ? true : null });

    const after = await everything(k);
    for (const s of ['alice-secret', ALICE.handle, ALICE.name, ALICE.tw, ...eventIds, '5550001']) expect(after, s).not.toContain(s);
    expect(after).toContain('bob-words');
    expect(after).toContain(BOB.handle);
    // Numbers and counts stay, the content is marked.
    expect(await k.selectFrom('tickets').select(['id', 'subject', 'status']).where('requester_id', '=', alice).execute()).toEqual([{ id: t1, subject: '(erased)', status: 'closed' }]);
    expect(await k.selectFrom('messages').select(['text', 'attachments']).where('ticket_id', '=', t1).execute()).toEqual([{ text: '', attachments: '[]' }, { text: '', attachments: '[]' }]);
    expect(await k.selectFrom('requesters').select(['twitter_user_id', 'screen_name', 'name']).where('id', '=', alice).executeTakeFirst()).toEqual({ twitter_user_id: `erased:${alice}`, screen_name: null, name: null });
    expect(await k.selectFrom('outbox').select(['status', 'last_error_kind']).where('ticket_id', '=', t1).executeTakeFirst()).toEqual({ status: 'failed', last_error_kind: 'erased' });
    expect((await k.selectFrom('helper_jobs').select('status').executeTakeFirst())?.status).toBe('skipped');
    // The tombstone: the keyed hashes of their DM event ids, nothing else.
    const tomb = await k.selectFrom('erased_events').select(['event_hash', 'interaction_id']).orderBy('event_hash').execute();
    expect(tomb.map((t) => t.event_hash)).toEqual([...eventIds, '5550001'].map(hash).sort());
    expect(tomb.every((t) => t.interaction_id === interactionId)).toBe(true);
    // One audit entry: the reason and counts.
    const audit = await k.selectFrom('audit_log').selectAll().where('entity', '=', 'requester').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.changes)).toEqual({ reason: 'erasure request 42', tickets: 1, messages: 2, helperConversations: 1, helperMessages: 1, outbox: 1, outboxCancelled: 1, tombstones: 3 });
    // Only once.
    await expect(eraseRequester(k, { requesterId: alice, hash, now: at('2026-06-02'), actor: 'dpo', reason: null })).rejects.toThrow(/already erased/);
  });

  it('redacts only closed tickets older than the window, with a fixed clock; a dry run changes nothing', async () => {
    const { k, interactionId } = await setup();
    const who = await requester(k, ALICE);
    const now = new Date('2026-06-01T12:00:00.000Z');
    const old = await ticket(k, interactionId, who, { status: 'closed', createdAt: at('2026-03-01'), closedAt: at('2026-04-01'), texts: ['old-closed-1', 'old-closed-2'] });
    await ticket(k, interactionId, who, { status: 'closed', createdAt: at('2026-05-01'), closedAt: at('2026-05-25'), texts: ['recent-closed'] });
    await ticket(k, interactionId, who, { status: 'open', createdAt: at('2026-01-01'), texts: ['old-but-open'] });

    expect(await runRetention(k, { now, dryRun: false, actor: 't' })).toBeUndefined(); // off by default
    expect(parseRetention('3x')).toMatchObject({ ok: false });
    expect(await writeRetention(k, '30d', { now: now.toISOString(), actor: 't' })).toEqual({ old: 'off', value: '30d' });
    expect(await readRetention(k)).toMatchObject({ value: '30d', ms: 30 * 86_400_000 });

    const before = await everything(k);
    const dry = await runRetention(k, { now, dryRun: true, actor: 't' });
    expect(dry).toMatchObject({ window: '30d', cutoff: '2026-05-02T12:00:00.000Z', dryRun: true, tickets: [{ id: old, messages: 2 }], messages: 2 });
    expect(await everything(k)).toBe(before);

    const done = await runRetention(k, { now, dryRun: false, actor: 't' });
    expect(done).toMatchObject({ dryRun: false, tickets: [{ id: old, messages: 2 }], messages: 2 });
    const all = await everything(k);
    expect(all).not.toContain('old-closed');
    for (const kept of ['recent-closed', 'old-but-open']) expect(all).toContain(kept);
    expect(await k.selectFrom('tickets').select(['subject', 'status', 'closed_at']).where('id', '=', old).executeTakeFirst()).toEqual({ subject: '(redacted)', status: 'closed', closed_at: at('2026-04-01') });
    expect(Number((await k.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).where('ticket_id', '=', old).where('redacted_at', 'is not', null).executeTakeFirst())?.n)).toBe(2);
    // Nothing left to do the second time; a week later the recent one is due.
    expect((await runRetention(k, { now, dryRun: false, actor: 't' }))?.tickets).toEqual([]);
    expect((await runRetention(k, { now: new Date('2026-06-30T00:00:00Z'), dryRun: true, actor: 't' }))?.messages).toBe(1);
  });

  it('retention and erase commands: set, show, dry run, erase refusals, --json', async () => {
    const { db, run } = cliWithDb();
    await seedInteraction(db, { env: { OMNI_SECRET_KEY: TEST_SECRET_KEY } });
    expect((await run(['retention', 'set', '2 days'])).code).toBe(2);
    const set = await run(['retention', 'set', '90d', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ name: 'messages.retention', value: '90d', previous: 'off' });
    expect(JSON.parse((await run(['retention', 'show', '--json'])).stdout)).toMatchObject({ value: '90d' });
    const dry = await run(['retention', 'run', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ window: '90d', dryRun: true, tickets: [], messages: 0 });
    expect(JSON.parse((await run(['audit', '--entity', 'setting', '--json'])).stdout)).toEqual([expect.objectContaining({ action: 'set', entityId: 'messages.retention' })]);
    expect((await run(['retention', 'set', 'off'])).code).toBe(0);
    expect((await run(['retention', 'run'])).stderr).toContain('is off');
    const missing = await run(['requester', 'erase', '@nobody', '--yes']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no requester '@nobody'");
    for (const cmd of [['requester', 'export', '--help'], ['requester', 'erase', '--help'], ['retention', 'run', '--help']]) {
      expect((await run(cmd)).stdout).toContain('Examples:');
    }
  });

  it.runIf(TEST_ENGINE === 'sqlite')('erase --vacuum leaves no copy in a file written before secure_delete was on', async () => {
    const { k, interactionId, dbPath, db } = await setup();
    // An older omni: no secure_delete, lots of inserts and page splits around the requester's rows.
    db.sqlite.pragma('secure_delete = OFF');
    const alice = await requester(k, ALICE);
    const t = await ticket(k, interactionId, alice, { status: 'open', createdAt: at('2026-01-01'), texts: Array.from({ length: 30 }, (_, i) => `oldfile-alice-${i}`) });
    const other = await requester(k, BOB);
    await ticket(k, interactionId, other, { status: 'open', createdAt: at('2026-01-01'), texts: Array.from({ length: 300 }, (_, i) => `filler-${i}-${'y'.repeat(300)}`) });
    db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const raw = () => [dbPath, `${dbPath}-wal`].map((f) => (fs.existsSync(f) ? fs.readFileSync(f).toString('latin1') : '')).join('');
    expect(raw()).toContain('oldfile-alice-0');
    const result = await eraseRequester(k, { requesterId: alice, hash, now: at('2026-06-01'), actor: 'dpo', reason: null, vacuum: true });
    expect(result).toMatchObject({ vacuumed: true, walTruncated: true, messages: 30 });
    expect(raw()).not.toContain('oldfile-alice');
    expect(raw()).not.toContain(ALICE.handle);
    expect(t).toBeGreaterThan(0);
  });
});
