// `omni db copy` end to end: a SQLite installation (catalogs, an interaction with encrypted
// credentials, tickets, messages, outbox, audit) moved into a PostgreSQL database of its own.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { keyFilePath } from '../../src/secrets.js';
import { runCli } from '../support/cli.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';
import { queryPostgres } from '../support/postgres.js';
import { seedInteraction } from '../support/seed.js';
import { tempDir } from '../support/tmp.js';

async function sqliteInstallation(dir: string): Promise<string> {
  const file = path.join(dir, 'omni.db');
  await seedInteraction(file); // creates the key file beside it
  const db = await openDatabase(file);
  try {
    const now = new Date().toISOString();
    const s = db.sqlite;
    s.prepare("insert into requesters (twitter_user_id, screen_name, created_at, updated_at) values ('42', 'ana', ?, ?)").run(now, now);
    for (let i = 0; i < 3; i++) {
      s.prepare("insert into tickets (interaction_id, requester_id, status, subject, created_at, updated_at) values (1, 1, ?, ?, ?, ?)").run(i === 2 ? 'open' : 'closed', `t${i}`, now, now);
      s.prepare("insert into messages (ticket_id, interaction_id, direction, text, twitter_event_id, sent_at, created_at) values (?, 1, 'in', ?, ?, ?, ?)").run(i + 1, `hello ${i}`, `ev${i}`, now, now);
    }
    s.prepare("insert into outbox (interaction_id, ticket_id, recipient_twitter_id, text, status, next_attempt_at, created_at, updated_at) values (1, 3, '42', 'hi', 'pending', ?, ?, ?)").run(now, now, now);
    s.prepare("insert into parameters (number, value, updated_at) values (118, '1', ?)").run(now);
    s.prepare("insert into audit_log (at, actor, entity, entity_id, action, changes) values (?, 'test', 'parameter', '118', 'set', '{}')").run(now);
    // A ticket inserted then removed: its id (4) was handed out and must never come back.
    s.prepare("insert into tickets (interaction_id, requester_id, status, subject, created_at, updated_at) values (1, 1, 'closed', 'gone', ?, ?)").run(now, now);
    s.prepare('delete from tickets where id = 4').run();
  } finally {
    await db.close();
  }
  return file;
}

describe.skipIf(TEST_ENGINE !== 'postgres')('omni db copy (SQLite → PostgreSQL)', () => {
  it('copies every table with its ids, continues the sequences, verifies counts and places the key file', async () => {
    const dir = tempDir();
    const from = await sqliteInstallation(dir);
    const to = testDatabase();
    const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };

    const r = await runCli(['db', 'copy', '--from', from, '--to', to, '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(true);
    expect(out.to).not.toContain(new URL(to).password || '\u0000');
    const rows = Object.fromEntries(out.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(rows).toMatchObject({ interactions: 1, requesters: 1, tickets: 3, messages: 3, outbox: 1, parameters: 1, audit_log: 1, contact_origins: 5, units: 1 });
    // Parents before children.
    const order = out.tables.map((t: { table: string }) => t.table);
    expect(order.indexOf('interactions')).toBeLessThan(order.indexOf('tickets'));
    expect(order.indexOf('tickets')).toBeLessThan(order.indexOf('messages'));
    expect(order.indexOf('messages')).toBeLessThan(order.indexOf('outbox'));

    // The key went where omni looks for it for this URL, byte for byte, 0600.
    const target = keyFilePath(to, env);
    expect(out.secretKey).toMatchObject({ status: 'copied', source: `${from}.key`, target });
    expect(fs.readFileSync(target, 'utf8')).toBe(fs.readFileSync(`${from}.key`, 'utf8'));
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);

    // Same ids, and the next ticket is 5: id 4 was handed out by the source.
    const tickets = await queryPostgres<{ id: number; subject: string }>(to, 'select id, subject from tickets order by id');
    expect(tickets).toEqual([{ id: 1, subject: 't0' }, { id: 2, subject: 't1' }, { id: 3, subject: 't2' }]);
    const [next] = await queryPostgres<{ id: number }>(to, "insert into tickets (interaction_id, requester_id, status, subject, created_at, updated_at) values (1, 1, 'closed', 'new', 'now', 'now') returning id");
    expect(next!.id).toBe(5);
    const [unit] = await queryPostgres<{ id: number }>(to, "insert into units (name, created_at) values ('Branch', 'now') returning id");
    expect(unit!.id).toBe(2);

    // The installation works on PostgreSQL: catalogs, parameters, and the credentials decrypt with the copied key.
    const show = await runCli(['--db', to, 'interaction', 'show', '1', '--json'], { env });
    expect(show.stderr).toBe('');
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 1, name: 'Support' });
    const status = await runCli(['--db', to, 'db', 'status', '--json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({ engine: 'postgres', counts: { tickets: { open: 1, closed: 3 } }, secretKey: { keyFile: target, keyFileExists: true, problem: null } });
  });

  it('gives the same ticket list, interaction list and outbox list on PostgreSQL as on the SQLite it came from', async () => {
    const dir = tempDir();
    const from = await sqliteInstallation(dir);
    const db = await openDatabase(from);
    try {
      // Every outbox state a live installation has: sent, failed with its reason, pending.
      const now = new Date().toISOString();
      const add = db.sqlite.prepare("insert into outbox (interaction_id, ticket_id, recipient_twitter_id, text, status, attempts, last_error, twitter_dm_id, next_attempt_at, created_at, updated_at, sent_at) values (1, ?, '42', ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      add.run(1, 'sent one', 'sent', 1, null, 'dm-1', now, now, now, now);
      add.run(2, 'refused one', 'failed', 3, 'Twitter 349: cannot send to this user', null, now, now, now, null);
    } finally {
      await db.close();
    }
    const to = testDatabase();
    const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
    expect((await runCli(['db', 'copy', '--from', from, '--to', to], { env })).code).toBe(0);

    for (const args of [['ticket', 'list', '--status', 'all', '--json'], ['interaction', 'list', '--json'], ['outbox', 'list', '--json']]) {
      const [before, after] = await Promise.all([runCli(['--db', from, ...args], { env }), runCli(['--db', to, ...args], { env })]);
      expect(before.stderr, args.join(' ')).toBe('');
      expect(after.stderr, args.join(' ')).toBe('');
      expect(JSON.parse(before.stdout).length, args.join(' ')).toBeGreaterThan(0);
      expect(JSON.parse(after.stdout), args.join(' ')).toEqual(JSON.parse(before.stdout));
    }
  });

  it('refuses a non-empty target unless --force, and then replaces its content', async () => {
    const dir = tempDir();
    const from = await sqliteInstallation(dir);
    const to = testDatabase();
    const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
    expect((await runCli(['--db', to, 'unit', 'add', 'Elsewhere'], { env: { ...env, OMNI_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') } })).code).toBe(0);

    const refused = await runCli(['db', 'copy', '--from', from, '--to', to], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already holds data (audit_log, units)');
    expect(refused.stderr).toContain('--force');
    expect(fs.existsSync(keyFilePath(to, env))).toBe(false);

    const forced = await runCli(['db', 'copy', '--from', from, '--to', to, '--force'], { env });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('row counts verified');
    expect(forced.stdout).toMatch(/tickets\s+3\s+5/);
    expect(await queryPostgres(to, 'select id, name from units')).toEqual([{ id: 1, name: 'HQ' }]);
  });

  it('refuses a different key already at the target path before copying anything, and never prints the password', async () => {
    const dir = tempDir();
    const from = await sqliteInstallation(dir);
    const to = testDatabase();
    const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
    const target = keyFilePath(to, env);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, Buffer.alloc(32, 9).toString('base64') + '\n');
    const r = await runCli(['db', 'copy', '--from', from, '--to', to], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already holds a different secret key');
    expect(await queryPostgres(to, 'select count(*)::int as n from interactions')).toEqual([{ n: 0 }]);

    const withPassword = new URL(to);
    withPassword.password = 'hunter2-secret';
    const bad = await runCli(['db', 'copy', '--from', from, '--to', withPassword.href, '--json'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).not.toContain('hunter2-secret');
  });
});
