// The portable migrations must leave SQLite's schema exactly as it was before PostgreSQL existed:
// tests/fixtures/schema/sqlite-master.txt is sqlite_master of a database migrated by the omni before
// the dialect branches (commit b73341e), dumped the same way as below, plus the tables of the
// migrations added since (0006_oauth_tokens). A new migration adds its statements to the fixture, and
// the diff shows what SQLite gets.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

describe('SQLite schema', () => {
  it('is identical, statement for statement, to the one before the PostgreSQL dialect branches', async () => {
    const db = await openDatabase(path.join(tempDir(), 'omni.db'));
    try {
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
