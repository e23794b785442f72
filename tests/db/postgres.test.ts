// What only PostgreSQL has: the schema bookkeeping in kysely_migration, the server version in
// `db status`, and the refusal of a database a newer omni migrated (SQLite's twin is below too).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestSchemaVersion, openDatabase, schemaVersion } from '../../src/db/connection.js';
import { cliWithDb, runCli } from '../support/cli.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';
import { queryPostgres } from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';

describe('a database migrated by a newer omni', () => {
  it('is refused with one line on both engines, and nothing is changed', async () => {
    const where = testDatabase();
    const db = await openDatabase(where);
    if (db.engine === 'postgres') {
      await queryPostgres(where, "insert into kysely_migration (name, timestamp) values ('9999_future', 'now')");
    } else {
      db.sqlite.pragma(`user_version = ${latestSchemaVersion() + 1}`);
    }
    await db.close();
    await expect(openDatabase(where)).rejects.toMatchObject({ message: expect.stringContaining('was written by a newer omni'), exitCode: 1 });
    const r = await runCli(['--db', where, 'unit', 'list'], { env: { HOME: tempDir() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: the database .* was written by a newer omni \(schema \d+, this omni knows \d+.*\)\n  upgrade omni .*\n$/);
    expect(r.stderr).not.toContain('omni-secret');
  });
});

describe.skipIf(TEST_ENGINE !== 'postgres')('PostgreSQL', () => {
  it('db status shows the engine, the server version, the schema version and the URL with its password masked', async () => {
    const { run, db } = cliWithDb();
    const status = await run(['db', 'status', '--json']);
    expect(status.stderr).toBe('');
    const s = JSON.parse(status.stdout);
    expect(s).toMatchObject({ engine: 'postgres', schema: { version: latestSchemaVersion(), applied: latestSchemaVersion(), known: latestSchemaVersion() }, journalMode: null });
    expect(s.serverVersion).toMatch(/^\d+(\.\d+)?/);
    const password = new URL(db).password;
    if (password) {
      expect(s.path).not.toContain(password);
      expect(s.path).toContain(':***@');
    }
    const text = await run(['db', 'status']);
    expect(text.stdout).toMatch(/^engine +PostgreSQL \d+/m);
    expect(text.stdout).toMatch(/^schema +\d+\/\d+ \(up to date\)/m);
    if (password) expect(text.stdout + text.stderr).not.toContain(password);
  });

  it('keeps the schema version in kysely_migration, one row per migration, with identity ids', async () => {
    const where = testDatabase();
    const db = await openDatabase(where);
    try {
      expect(await schemaVersion(db)).toBe(latestSchemaVersion());
    } finally {
      await db.close();
    }
    const ids = await queryPostgres<{ table_name: string }>(where, "select table_name from information_schema.columns where column_name = 'id' and is_identity = 'YES' order by table_name");
    expect(ids.map((r) => r.table_name)).toContain('tickets');
    // The partial unique index that keeps one open ticket per requester and interaction.
    const [idx] = await queryPostgres<{ indexdef: string }>(where, "select indexdef from pg_indexes where indexname = 'tickets_one_open'");
    expect(idx!.indexdef).toMatch(/UNIQUE INDEX .* WHERE \(status = 'open'::text\)/);
  });
});

describe('sqlite: URLs', () => {
  it.skipIf(TEST_ENGINE !== 'sqlite')('open the file they name', async () => {
    const dir = tempDir();
    const r = await runCli(['--db', `sqlite:${path.join(dir, 'x.db')}`, 'db', 'status', '--json'], { env: { HOME: dir } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ engine: 'sqlite', path: path.join(dir, 'x.db'), journalMode: 'wal' });
  });
});
