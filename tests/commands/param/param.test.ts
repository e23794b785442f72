import { describe, expect, it } from 'vitest';
import { cliWithDb } from '../../support/cli.js';
import { openDatabase } from '../../../src/db/connection.js';
import { addCatalogEntry } from '../../../src/db/catalogs.js';

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

describe('param commands (spawned CLI, no TTY)', () => {
  it('validates each kind, resolves catalog names to ids, and lists the result', async () => {
    const { run, db: dbPath } = cliWithDb();
    // Catalogs straight through the repositories: the catalog commands have their own tests.
    const db = await openDatabase(dbPath);
    try {
      const now = new Date().toISOString();
      await addCatalogEntry(db.kysely, 'contract', 'Standard support', now);
      await addCatalogEntry(db.kysely, 'unit', 'Headquarters', now);
      const cs = await addCatalogEntry(db.kysely, 'portfolio', 'CS', now);
      const sales = await addCatalogEntry(db.kysely, 'portfolio', 'Sales', now);
      await addCatalogEntry(db.kysely, 'activity', 'DM request', now, cs.id); // activity 1
      await addCatalogEntry(db.kysely, 'activity', 'DM request', now, sales.id); // activity 2
    } finally {
      await db.close();
    }

    // Catalog by name stores the id; data on stdout, the message on stderr.
    const byName = await run(['param', 'set', '118', 'Standard support', '--json']);
    expect(byName.code).toBe(0);
    expect(json(byName)).toMatchObject({ number: 118, value: '1', display: '1 (Standard support)', acted: true, group: 'chat' });
    expect(byName.stderr).toContain('set to 1 (Standard support)');
    // get prints the stored id (what a script passes back to set), show names the entry.
    expect((await run(['param', 'get', '118'])).stdout).toBe('1\n');
    expect((await run(['param', 'show', '118'])).stdout).toContain('value    1 (Standard support)');
    expect((await run(['param', 'set', '315', 'Twitter'])).code).toBe(0); // seeded origin 4

    const ambiguous = await run(['param', 'set', '317', 'DM request']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("the activity name 'DM request' is ambiguous");
    expect(ambiguous.stderr).toContain('use its id instead');
    expect((await run(['param', 'set', '317', '2'])).code).toBe(0);

    const missing = await run(['param', 'set', '390', 'Nowhere']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no unit 'Nowhere'");
    const missingGroup = await run(['param', 'set', '389', '7']);
    expect(missingGroup.code).toBe(2);
    // A number is an id (names are never digits only): no suggestion to create a group named 7.
    expect(missingGroup.stderr).toBe('error: no group with id 7\n  list them with: omni group list, and use an id or name from there\n');

    expect((await run(['param', 'set', '450', 'y'])).code).toBe(0);
    const badYn = await run(['param', 'set', '316', 'yes']);
    expect(badYn.code).toBe(2);
    expect(badYn.stderr).toContain("'yes' is not Y or N");

    expect((await run(['param', 'set', '388', '42'])).code).toBe(0);
    const badInt = await run(['param', 'set', '447', '0']);
    expect(badInt.code).toBe(2);
    expect(badInt.stderr).toContain('not a positive integer');

    const offSuffix = await run(['param', 'set', '441', 'https://bot.example.com/chat']);
    expect(offSuffix.code).toBe(0);
    expect(offSuffix.stderr).toContain('usually ends in /webhooks/rest/webhook');
    const badUrl = await run(['param', 'set', '402', 'bot.example.com']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("'bot.example.com' is not a URL");

    expect((await run(['param', 'set', '453', 'Type menu to see the options.'])).code).toBe(0);
    expect((await run(['param', 'set', '453', ' '])).code).toBe(2);

    const list = await run(['param', 'list', '--json']);
    expect(list.code).toBe(0);
    const params = json(list) as Array<Record<string, unknown>>;
    expect(params.map((p) => p.number)).toEqual([118, 315, 316, 317, 388, 389, 390, 447, 402, 423, 441, 442, 450, 453]);
    const byNumber = new Map(params.map((p) => [p.number, p]));
    expect(byNumber.get(315)).toMatchObject({ value: '4', display: '4 (Twitter)' });
    expect(byNumber.get(317)).toMatchObject({ value: '2', display: '2 (DM request, portfolio Sales)' });
    expect(byNumber.get(450)).toMatchObject({ value: 'Y', display: 'Y', acted: true, group: 'helper' });
    expect(byNumber.get(388)).toMatchObject({ value: '42', acted: false });
    expect(byNumber.get(441)).toMatchObject({ value: 'https://bot.example.com/chat' });
    expect(byNumber.get(453)).toMatchObject({ value: 'Type menu to see the options.' });
    // Refused values left nothing behind.
    for (const n of [316, 389, 390, 402, 447]) expect(byNumber.get(n)).toMatchObject({ value: null, display: null });
    expect(Object.keys(byNumber.get(118)!).sort()).toEqual(['acted', 'display', 'group', 'name', 'number', 'updatedAt', 'use', 'value']);

    const table = await run(['param', 'list']);
    expect(table.stdout).toMatch(/^chat\s+315\s+Contact origin of requests created by chat\s+4 \(Twitter\)\s+acts\s+fallback contact origin/m);
    expect(table.stdout).toMatch(/^chat\s+388\s+Default user \(external request\)\s+42\s+stored only/m);
  });

  it('gets and unsets, auditing each real change with old and new values', async () => {
    const { run } = cliWithDb();
    expect((await run(['param', 'set', '450', 'Y'])).code).toBe(0);
    const again = await run(['param', 'set', '450', 'y']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing changed');
    expect((await run(['param', 'set', '450', 'N'])).code).toBe(0);

    const got = await run(['param', 'get', '450', '--json']);
    expect(json(got)).toMatchObject({ number: 450, name: 'Enable Helper for end users', value: 'N' });
    // The bare value for scripts, as git config --get prints it; the block is param show / get --long.
    const bare = await run(['param', 'get', '450']);
    expect(bare).toMatchObject({ code: 0, stdout: 'N\n', stderr: '' });
    for (const args of [['param', 'show', '450'], ['param', 'get', '450', '--long']]) {
      const human = await run(args);
      expect(human.code, args.join(' ')).toBe(0);
      expect(human.stdout).toContain('value    N');
      expect(human.stdout).toContain('omni     acts: global switch');
    }

    expect((await run(['param', 'unset', '450'])).code).toBe(0);
    const noop = await run(['param', 'unset', '450']);
    expect(noop.code).toBe(0);
    expect(noop.stderr).toContain('was not set; nothing changed');
    expect(json(await run(['param', 'get', '450', '--json']))).toMatchObject({ value: null, display: null, updatedAt: null });
    // Unset: nothing on stdout and exit 1, so `v=$(omni param get 450) || …` works; --json still answers.
    expect(await run(['param', 'get', '450'])).toMatchObject({ code: 1, stdout: '', stderr: '' });
    expect((await run(['param', 'show', '450'])).stdout).toContain('value    not set');

    const audit = json(await run(['audit', '--entity', 'parameter', '--json'])) as Array<Record<string, unknown>>;
    expect(audit.map((a) => [a.entityId, a.action, a.changes])).toEqual([
      ['450', 'unset', { value: { from: 'N', to: null } }],
      ['450', 'set', { value: { from: 'Y', to: 'N' } }],
      ['450', 'set', { value: { from: null, to: 'Y' } }],
    ]);
  });

  it('refuses unknown numbers with exit 2 naming the known ones', async () => {
    const { run } = cliWithDb();
    for (const args of [['param', 'get', '999'], ['param', 'show', '999'], ['param', 'set', '12', 'Y'], ['param', 'unset', 'x']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('known: 118, 315, 316, 317, 388, 389, 390, 447, 402, 423, 441, 442, 450, 453');
      expect(r.stdout).toBe('');
    }
  });
});
