// The portable migrations must leave SQLite's schema exactly as it was before PostgreSQL existed:
// tests/fixtures/schema/sqlite-master.txt is sqlite_master of a database migrated by the omni before
// the dialect branches (commit b73341e), dumped the same way as below. That omni's migrations ended
// at 0005_outbox: later migrations add to the schema, so the comparison migrates up to there.
import fs from 'node:fs';
import path from 'node:path';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { migrationProvider } from '../../src/db/migrations/index.js';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

describe('SQLite schema', () => {
  it('is identical, statement for statement, to the one before the PostgreSQL dialect branches', async () => {
    const db = await openDatabase(path.join(tempDir(), 'omni.db'), { migrate: false });
    try {
      const { error } = await new Migrator({ db: db.kysely, provider: migrationProvider }).migrateTo('0005_outbox');
      expect(error).toBeUndefined();
      const rows = db.sqlite
        .prepare("select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by type, name")
        .all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
      const dump = rows.map((r) => `${r.type} ${r.name} ${r.tbl_name}\n${r.sql ?? ''}`).join('\n\n') + '\n';
      expect(dump).toBe(fs.readFileSync(path.join(ROOT, 'tests/fixtures/schema/sqlite-master.txt'), 'utf8'));
    } finally {
      await db.close();
    }
  });
});
