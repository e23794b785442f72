import crypto from 'node:crypto';
import { migrations } from '../../../src/db/migrations/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliWithDb, runCli } from '../../support/cli.js';
import { seedInteraction } from '../../support/seed.js';
import { openDatabase } from '../../../src/db/connection.js';
import { tempDir } from '../../support/tmp.js';
import { TEST_ENGINE } from '../../support/engine.js';
import { keyFilePath } from '../../../src/secrets.js';

const MIGRATION_NAMES = Object.keys(migrations);

// Resolving the default file reads no database: once, in the SQLite run.
describe.runIf(TEST_ENGINE === 'sqlite')('omni db path', () => {
  it('resolves --db, then OMNI_DB, then $XDG_DATA_HOME/omni/omni.db, then ~/.local/share, without creating anything', async () => {
    const dir = tempDir();
    const env = { HOME: dir, XDG_DATA_HOME: path.join(dir, 'xdg'), OMNI_DB: path.join(dir, 'env.db') };
    expect((await runCli(['--db', 'rel/flag.db', 'db', 'path'], { env, cwd: dir })).stdout).toBe(path.join(dir, 'rel', 'flag.db') + '\n');
    expect((await runCli(['db', 'path'], { env })).stdout).toBe(path.join(dir, 'env.db') + '\n');
    expect((await runCli(['db', 'path'], { env: { ...env, OMNI_DB: undefined } })).stdout).toBe(path.join(dir, 'xdg', 'omni', 'omni.db') + '\n');
    // '' rather than unset: the developer's own XDG_DATA_HOME must not leak in; empty means unset.
    expect((await runCli(['db', 'path'], { env: { HOME: dir, XDG_DATA_HOME: '' } })).stdout).toBe(path.join(dir, '.local', 'share', 'omni', 'omni.db') + '\n');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe(`omni db status on ${TEST_ENGINE}`, () => {
  // SQLite's file: WAL, the key file beside it (PostgreSQL's db status: tests/db/postgres.test.ts).
  it.runIf(TEST_ENGINE === 'sqlite')('reports a fresh database without creating the key file', async () => {
    const { run, db } = cliWithDb();
    const r = await run(['db', 'status', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      path: db,
      schema: { applied: MIGRATION_NAMES.length, known: MIGRATION_NAMES.length },
      migrations: MIGRATION_NAMES.map((name) => ({ name, appliedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })),
      journalMode: 'wal',
      secretKey: { source: 'key file', keyFile: `${db}.key`, keyFileExists: false, keyFileMode: null, problem: null },
      counts: { interactions: { live: 0, deleted: 0 }, tickets: { open: 0, closed: 0 }, requesters: 0, messages: 0 },
    });
    // Right after migrating, most pages still sit in the WAL; a checkpoint on close moves them.
    expect(s.sizeBytes).toBeGreaterThan(0);
    expect(s.sizeBytes + s.walBytes).toBeGreaterThanOrEqual(fs.statSync(db).size);
    expect(fs.existsSync(`${db}.key`)).toBe(false);

    const human = await run(['db', 'status']);
    expect(human.stdout).toMatch(/^database\s+\S+omni\.db$/m);
    expect(human.stdout).toMatch(new RegExp(`^schema\\s+${MIGRATION_NAMES.length}/${MIGRATION_NAMES.length} \\(up to date\\)$`, 'm'));
    expect(human.stdout).toMatch(/^ {2}migration\s+0001_initial\s+\d{4}-/m);
    expect(human.stdout).toMatch(/^secret key\s+key file .*omni\.db\.key \(not created yet/m);
    expect(fs.existsSync(`${db}.key`)).toBe(false);
  });

  it('counts interactions, tickets and messages, and reports the key file', async () => {
    const { run, db: dbPath, env } = cliWithDb();
    const live = await seedInteraction(dbPath, { name: 'Support' });
    const gone = await seedInteraction(dbPath, { name: 'Old' });
    const db = await openDatabase(dbPath);
    try {
      const now = new Date().toISOString();
      const k = db.kysely;
      await k.updateTable('interactions').set({ deleted_at: now }).where('id', '=', gone.id).execute();
      const requester = await k
        .insertInto('requesters')
        .values({ twitter_user_id: '9007199254740993', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const ticket = (status: 'open' | 'closed', interactionId: number) =>
        k
          .insertInto('tickets')
          .values({ interaction_id: interactionId, requester_id: requester.id, status, subject: 'hi', created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
      const open = await ticket('open', live.id);
      await ticket('closed', live.id);
      await ticket('closed', live.id);
      for (const id of ['1', '2', '3']) {
        await k
          .insertInto('messages')
          .values({ ticket_id: open.id, interaction_id: live.id, direction: 'inbound', text: 'hi', twitter_event_id: id, sender_twitter_id: '9007199254740993', sent_at: now, attachments: '[]', created_at: now })
          .execute();
      }
    } finally {
      await db.close();
    }

    const s = JSON.parse((await run(['db', 'status', '--json'])).stdout);
    expect(s.counts).toEqual({ interactions: { live: 1, deleted: 1 }, tickets: { open: 1, closed: 2 }, requesters: 1, messages: 3 });
    // SQLite: seedInteraction encrypted credentials, so the key file beside it now exists, 0600;
    // PostgreSQL: the one put where omni looks for it on this host (cliWithDb), 0600.
    expect(s.secretKey).toEqual({ source: 'key file', keyFile: keyFilePath(dbPath, env), keyFileExists: true, keyFileMode: '0600', problem: null });

    const human = (await run(['db', 'status'])).stdout;
    expect(human).toMatch(/^interactions\s+1 live, 1 deleted$/m);
    expect(human).toMatch(/^tickets\s+1 open, 2 closed$/m);
    expect(human).toMatch(/^messages\s+3$/m);
  });

  it('names OMNI_SECRET_KEY as the source and says when it is not a 32-byte key', async () => {
    const { run, db, env } = cliWithDb();
    const keyFile = keyFilePath(db, env);
    const good = await run(['db', 'status', '--json'], { env: { OMNI_SECRET_KEY: crypto.randomBytes(32).toString('base64') } });
    // On PostgreSQL cliWithDb put the key file where omni looks for it; OMNI_SECRET_KEY goes first all the same.
    expect(JSON.parse(good.stdout).secretKey).toMatchObject({ source: 'OMNI_SECRET_KEY', keyFileExists: TEST_ENGINE === 'postgres', problem: null });
    const bad = await run(['db', 'status', '--json'], { env: { OMNI_SECRET_KEY: crypto.randomBytes(16).toString('base64') } });
    expect(JSON.parse(bad.stdout).secretKey).toMatchObject({ source: 'OMNI_SECRET_KEY', problem: 'OMNI_SECRET_KEY decodes to 16 bytes, not 32' });
    fs.mkdirSync(path.dirname(keyFile), { recursive: true });
    fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('base64'), { mode: 0o644 });
    fs.chmodSync(keyFile, 0o644); // the umask may have narrowed the mode given above
    const loose = JSON.parse((await run(['db', 'status', '--json'])).stdout);
    expect(loose.secretKey).toMatchObject({ source: 'key file', keyFileExists: true, keyFileMode: '0644', problem: expect.stringContaining('chmod 600') });
  });
});
