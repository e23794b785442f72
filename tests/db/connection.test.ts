import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestSchemaVersion, migrationStatus, openDatabase } from '../../src/db/connection.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';
import { createPostgresDatabase, dropPostgresDatabase } from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';

const sqliteOnly = it.skipIf(TEST_ENGINE !== 'sqlite');

describe('openDatabase', () => {
  sqliteOnly('creates the directory 0700 and the file 0600, with WAL, foreign keys and FULL sync', async () => {
    const dir = path.join(tempDir(), 'nested', 'omni');
    const file = path.join(dir, 'omni.db');
    const db = await openDatabase(file);
    try {
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.sqlite.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.sqlite.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
      await db.kysely.insertInto('units').values({ name: 'HQ', created_at: 'now' }).execute();
      expect(fs.statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    } finally {
      await db.close();
    }
  });

  it('applies every migration once and seeds the contact origins', async () => {
    const file = testDatabase();
    const first = await openDatabase(file);
    const origins = await first.kysely.selectFrom('contact_origins').select('name').orderBy('id').execute();
    expect(origins.map((o) => o.name)).toEqual(['Service Desk', 'E-mail', 'Facebook', 'Twitter', 'WhatsApp']);
    await first.close();
    const second = await openDatabase(file);
    const status = await migrationStatus(second);
    expect(status.length).toBe(latestSchemaVersion());
    expect(status.every((m) => m.executedAt !== undefined)).toBe(true);
    expect(await second.kysely.selectFrom('contact_origins').select('id').execute()).toHaveLength(5);
    await second.close();
  });

  sqliteOnly('refuses a file that is not a database with a clear error', async () => {
    const file = path.join(tempDir(), 'junk.db');
    fs.writeFileSync(file, 'this is not sqlite at all, just text that is long enough to be a header'.repeat(20));
    await expect(openDatabase(file)).rejects.toMatchObject({ message: expect.stringContaining('is not an omni database'), exitCode: 1 });
  });

  it('enforces foreign keys', async () => {
    const db = await openDatabase(testDatabase());
    await expect(
      db.kysely.insertInto('activities').values({ name: 'x', portfolio_id: 999, created_at: 'now' }).execute(),
    ).rejects.toMatchObject({ code: TEST_ENGINE === 'postgres' ? '23503' : 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    await db.close();
  });
});

describe('first run from several processes at once', () => {
  it('migrates exactly once while the others wait, and none of them fails', async () => {
    const { runCli } = await import('../support/cli.js');
    // PostgreSQL: an empty database (not the migrated template), so that all six race to migrate it.
    const file = TEST_ENGINE === 'postgres' ? await createPostgresDatabase() : path.join(tempDir(), 'fresh', 'omni.db');
    try {
      const runs = await Promise.all(Array.from({ length: 6 }, () => runCli(['--db', file, 'origin', 'list', '--json'])));
      for (const r of runs) {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toHaveLength(5);
      }
    } finally {
      if (TEST_ENGINE === 'postgres') await dropPostgresDatabase(file);
    }
  });
});
