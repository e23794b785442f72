// Credentials at rest: the database (SQLite: the file and its WAL; PostgreSQL: every row of every
// table) never holds them in clear, and a wrong key is one clear error, never garbage.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { cliWithDb } from '../../support/cli.js';
import { storedBytes } from '../../support/db-snapshot.js';
import { TEST_ENGINE } from '../../support/engine.js';
import { SECRETS, newFlags, secretEnv, seedCatalogs } from '../../support/interactions.js';
import { openDatabase } from '../../../src/db/connection.js';

const key = () => crypto.randomBytes(32).toString('base64');

describe('interaction secrets at rest', () => {
  it.runIf(TEST_ENGINE === 'sqlite')('keeps every credential out of the .db and -wal bytes, on create and on edit', async () => {
    const { db, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    // Holding a connection open keeps the CLI from checkpointing and removing the WAL on exit,
    // so the frames it wrote are still there to inspect.
    const holder = await openDatabase(db);
    try {
      expect((await run(newFlags('Support'))).code).toBe(0);
      const rotated = { apiKey: 'rot-api-key-JJJJJJJJ7777', accessTokenSecret: 'rot-token-secret-KKKK8888' };
      expect((await run(['interaction', 'edit', 'Support', '--name', 'Support DMs'], { env: secretEnv(rotated) })).code).toBe(0);
      expect((await run(newFlags('Second'), { env: secretEnv() })).code).toBe(0);

      const wal = fs.readFileSync(`${db}-wal`);
      expect(wal.length).toBeGreaterThan(0);
      const bytes = Buffer.concat([fs.readFileSync(db), wal]);
      // The search can find what is there: the plain fields are written in clear.
      expect(bytes.includes('Support DMs')).toBe(true);
      expect(bytes.includes('helpdesk.example.com')).toBe(true);
      for (const secret of [...Object.values(SECRETS), ...Object.values(rotated)]) {
        expect({ secret, found: bytes.includes(secret) }).toEqual({ secret, found: false });
      }
      // And the credentials did round-trip: they are stored, only not in clear.
      const shown = JSON.parse((await run(['interaction', 'show', 'Support DMs', '--json', '--show-secrets'])).stdout);
      expect(shown).toMatchObject({ ...SECRETS, ...rotated });
    } finally {
      await holder.close();
    }
    // Once checkpointed, everything lives in the main file: still no credential in it.
    const checkpointer = await openDatabase(db);
    checkpointer.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    await checkpointer.close();
    const after = fs.readFileSync(db);
    expect(after.includes('Support DMs')).toBe(true);
    for (const secret of Object.values(SECRETS)) expect(after.includes(secret)).toBe(false);
  });

  it('stops with one clear line when OMNI_SECRET_KEY is not the key the credentials were saved with', async () => {
    const right = key();
    const { db, run } = cliWithDb({ ...secretEnv(), OMNI_SECRET_KEY: right });
    await seedCatalogs(db);
    expect((await run(newFlags('Support'))).code).toBe(0);

    const wrong = { OMNI_SECRET_KEY: key() };
    for (const args of [
      ['interaction', 'show', 'Support'],
      ['interaction', 'list', '--json'],
      ['interaction', 'edit', 'Support', '--name', 'Other'],
      // A new interaction under another key would leave the old ones unreadable whatever key is set later.
      newFlags('Second'),
    ]) {
      const r = await run(args, { env: wrong });
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^error: cannot decrypt the stored api_key_enc: the secret key \(OMNI_SECRET_KEY\) is not the one it was saved with$/);
      expect(lines.slice(1)).toEqual(['  set OMNI_SECRET_KEY to the original key or restore the original key file']);
    }
    // Nothing was changed or added by the refused commands.
    const list = JSON.parse((await run(['interaction', 'list', '--json'])).stdout);
    expect(list.map((i: { name: string }) => i.name)).toEqual(['Support']);

    const malformed = await run(['interaction', 'show', 'Support'], { env: { OMNI_SECRET_KEY: 'c2hvcnQ=' } });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('OMNI_SECRET_KEY is not a base64 encoded 32-byte key');
  });

  it.runIf(TEST_ENGINE === 'postgres')('keeps every credential out of every row of every table, on create and on edit', async () => {
    const { db, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    expect((await run(newFlags('Support'))).code).toBe(0);
    const rotated = { apiKey: 'rot-api-key-JJJJJJJJ7777', accessTokenSecret: 'rot-token-secret-KKKK8888' };
    expect((await run(['interaction', 'edit', 'Support', '--name', 'Support DMs'], { env: secretEnv(rotated) })).code).toBe(0);
    expect((await run(newFlags('Second'), { env: secretEnv() })).code).toBe(0);
    const stored = (await storedBytes(db)).join('');
    // The search can find what is there: the plain fields are stored in clear.
    expect(stored).toContain('Support DMs');
    expect(stored).toContain('helpdesk.example.com');
    for (const secret of [...Object.values(SECRETS), ...Object.values(rotated)]) {
      expect({ secret, found: stored.includes(secret) }).toEqual({ secret, found: false });
    }
    const shown = JSON.parse((await run(['interaction', 'show', 'Support DMs', '--json', '--show-secrets'])).stdout);
    expect(shown).toMatchObject({ ...SECRETS, ...rotated });
  });

  it.runIf(TEST_ENGINE === 'postgres')('never creates a key for a URL: without OMNI_SECRET_KEY or the host key file, one line names both', async () => {
    const { db, dir, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    const keys = path.join(dir, 'config', 'omni', 'keys');
    for (const f of fs.readdirSync(keys)) fs.rmSync(path.join(keys, f));
    const r = await run(newFlags('Support'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^error: no secret key for postgres:\/\/\S+: OMNI_SECRET_KEY is unset and \S+\.key does not exist\n/);
    expect(fs.readdirSync(keys)).toEqual([]);
    const handle = await openDatabase(db);
    try {
      expect(await handle.kysely.selectFrom('interactions').select('id').execute()).toEqual([]);
    } finally {
      await handle.close();
    }
  });

  it.runIf(TEST_ENGINE === 'sqlite')('creates the key file beside the database once, mode 0600, when OMNI_SECRET_KEY is unset', async () => {
    const { db, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    expect((await run(newFlags('Support'))).code).toBe(0);
    const keyFile = `${db}.key`;
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const keyBefore = fs.readFileSync(keyFile, 'utf8');
    expect((await run(newFlags('Second'))).code).toBe(0);
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(keyBefore);
    const shown = JSON.parse((await run(['interaction', 'show', 'Support', '--json', '--show-secrets'])).stdout);
    expect(shown).toMatchObject(SECRETS);
  });
});
