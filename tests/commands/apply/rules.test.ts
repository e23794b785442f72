// `omni apply` refuses exactly what `interaction new` / `edit` refuse: the same rules (one write
// path), the same words for what is wrong, a fix that names the file's key instead of the flag, and
// nothing written when anything is refused.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { cliWithDb } from '../../support/cli.js';
import { SECRETS, newFlags, secretEnv, seedCatalogs } from '../../support/interactions.js';

const FILE_ENV = { TW_API_KEY: SECRETS.apiKey, TW_API_SECRET: SECRETS.apiSecretKey, TW_ACCESS_TOKEN: SECRETS.accessToken, TW_ACCESS_TOKEN_SECRET: SECRETS.accessTokenSecret };

interface Fields {
  name?: string;
  api?: string;
  /** null: no devEnvironment key at all. */
  devEnvironment?: string | null;
  callbackUrl?: string;
  allowHttp?: boolean;
  apiSecretKey?: string;
}

/** One interaction over the catalogs seedCatalogs creates (HQ, Social, CS / DM, Twitter). */
function interactionYaml(f: Fields = {}): string {
  return `  - name: ${JSON.stringify(f.name ?? 'Support')}
    unit: HQ
    group: Social
    activity: { name: DM, portfolio: CS }
${f.api !== undefined ? `    api: ${JSON.stringify(f.api)}\n` : ''}${f.devEnvironment === null ? '' : `    devEnvironment: ${JSON.stringify(f.devEnvironment ?? 'prod')}\n`}    callbackUrl: ${JSON.stringify(f.callbackUrl ?? 'https://helpdesk.example.com')}
${f.allowHttp ? '    allowHttp: true\n' : ''}    credentials:
      apiKey: \${env:TW_API_KEY}
      apiSecretKey: ${f.apiSecretKey !== undefined ? JSON.stringify(f.apiSecretKey) : '${env:TW_API_SECRET}'}
      accessToken: \${env:TW_ACCESS_TOKEN}
      accessTokenSecret: \${env:TW_ACCESS_TOKEN_SECRET}
`;
}

function doc(...interactions: Fields[]): string {
  return `version: 1\nunits: [HQ, Branch]\ninteractions:\n${interactions.map(interactionYaml).join('')}`;
}

function dbHash(db: string): string {
  const h = crypto.createHash('sha256');
  for (const f of [db, `${db}-wal`]) if (fs.existsSync(f)) h.update(fs.readFileSync(f));
  return h.digest('hex');
}

async function setup() {
  const cli = cliWithDb({ ...secretEnv(), ...FILE_ENV });
  await seedCatalogs(cli.db);
  const file = path.join(cli.dir, 'helpdesk.yaml');
  return { ...cli, file };
}

async function interactionNames(db: string): Promise<string[]> {
  const handle = await openDatabase(db);
  try {
    return (await handle.kysely.selectFrom('interactions').select('name').orderBy('id').execute()).map((r) => r.name);
  } finally {
    await handle.close();
  }
}

describe('omni apply refuses what interaction new refuses', () => {
  // [what, the file's interaction, the same values as flags/environment, the core words, the file's key]
  const cases: [string, Fields, { flags?: Record<string, string>; env?: Record<string, string> }, string, string][] = [
    ['a name of digits only', { name: '42' }, { flags: { '--name': '42' } }, "'42' looks like an identifier", 'interactions[1].name'],
    ['a dev label with /', { devEnvironment: 'a/b' }, { flags: { '--env-label': 'a/b' } }, "'a/b' is not a Twitter dev environment label", 'interactions[1].devEnvironment'],
    ['a dev label with spaces', { devEnvironment: 'my env' }, { flags: { '--env-label': 'my env' } }, "'my env' is not a Twitter dev environment label", 'interactions[1].devEnvironment'],
    ['a credential with whitespace', { apiSecretKey: 'two words' }, { env: { OMNI_TWITTER_API_SECRET: 'two words' } }, 'the API secret key contains whitespace', 'interactions[1].credentials.apiSecretKey'],
    ['an http callback without allowHttp', { callbackUrl: 'http://localhost:8080' }, { flags: { '--callback-url': 'http://localhost:8080' } }, 'the callback URL must use https (Twitter requires it)', 'interactions[1].callbackUrl'],
    ['a callback URL with a query', { callbackUrl: 'https://h.example.com/?x=1' }, { flags: { '--callback-url': 'https://h.example.com/?x=1' } }, 'the callback URL must not have a query or fragment', 'interactions[1].callbackUrl'],
  ];

  for (const [what, fields, given, core, key] of cases) {
    it(`refuses ${what} with the same words, and changes nothing`, async () => {
      const { db, run, file } = await setup();
      // A valid interaction first in the file: refused or not, nothing of the file may be applied.
      fs.writeFileSync(file, doc({ name: 'Fine' }, { name: 'Other', ...fields }));
      const before = dbHash(db);
      const applied = await run(['apply', '-f', file]);
      expect(applied.code).toBe(2);
      expect(applied.stderr).toContain(`${key}: ${core}`);
      expect(applied.stderr).toContain('nothing was changed');
      expect(applied.stderr).not.toContain('    at ');
      expect(dbHash(db)).toBe(before);
      expect(await interactionNames(db)).toEqual([]);

      const created = await run(newFlags('Other', given.flags ?? {}), { env: given.env ?? {} });
      expect(created.code).toBe(2);
      expect(created.stderr).toContain(core);
      expect(await interactionNames(db)).toEqual([]);
    });
  }

  it('names the fix in the file: allowHttp: true for an http callback, as new names --allow-http', async () => {
    const { db, run, file } = await setup();
    fs.writeFileSync(file, doc({ callbackUrl: 'http://localhost:8080' }));
    const refused = await run(['apply', '-f', file]);
    expect(refused.stderr).toContain('set allowHttp: true on this interaction for a local set-up');
    expect(refused.stderr).not.toContain('--allow-http');
    const flags = await run(newFlags('Support', { '--callback-url': 'http://localhost:8080' }));
    expect(flags.stderr).toContain('pass --allow-http for a local set-up');

    fs.writeFileSync(file, doc({ callbackUrl: 'http://localhost:8080', allowHttp: true }));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    expect(await interactionNames(db)).toEqual(['Support']);
  });

  it('stores a trailing-slash callback URL as interaction new does (without the slash), and sees no change on a second run', async () => {
    const { db, run, file } = await setup();
    fs.writeFileSync(file, doc({ name: 'Filed', callbackUrl: 'https://helpdesk.example.com/omni/' }));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    const flagged = await run([...newFlags('Flagged', { '--callback-url': 'https://helpdesk.example.com/omni/' }), '--json']);
    expect(flagged.code).toBe(0);
    const shown = JSON.parse((await run(['interaction', 'list', '--json'])).stdout) as { name: string; id: number }[];
    const urls = await Promise.all(shown.map(async (i) => JSON.parse((await run(['interaction', 'show', String(i.id), '--json'])).stdout).callbackUrl));
    expect(urls).toEqual(['https://helpdesk.example.com/omni', 'https://helpdesk.example.com/omni']);
    const again = await run(['apply', '-f', file, '--dry-run']);
    expect(again.stdout).toContain('No changes.');
    expect(await interactionNames(db)).toEqual(['Filed', 'Flagged']);
  });
});

describe('interaction names differing only in case are one name', () => {
  it('is refused by interaction new, like the exact duplicate', async () => {
    const { db, run } = await setup();
    expect((await run(newFlags('Support'))).code).toBe(0);
    const exact = await run(newFlags('Support'));
    expect(exact.code).toBe(2);
    expect(exact.stderr).toContain("an interaction named 'Support' already exists");
    const cased = await run(newFlags('SUPPORT'));
    expect(cased.code).toBe(2);
    expect(cased.stderr).toContain("an interaction named 'Support' already exists ('SUPPORT' differs only in case)");
    expect(cased.stderr).toContain('omni interaction edit "Support"');
    expect(await interactionNames(db)).toEqual(['Support']);
  });

  it('is refused by interaction edit; changing the case of its own name is not a clash', async () => {
    const { db, run } = await setup();
    expect((await run(newFlags('Support'))).code).toBe(0);
    expect((await run(newFlags('Sales'))).code).toBe(0);
    const renamed = await run(['interaction', 'edit', 'Sales', '--name', 'support']);
    expect(renamed.code).toBe(2);
    expect(renamed.stderr).toContain("an interaction named 'Support' already exists ('support' differs only in case)");
    // Changing the case of its own name is not a clash.
    expect((await run(['interaction', 'edit', 'Sales', '--name', 'SALES'])).code).toBe(0);
    expect(await interactionNames(db)).toEqual(['Support', 'SALES']);
  });

  it('is refused by apply against the database and within the file, and nothing is applied', async () => {
    const { db, run, file } = await setup();
    expect((await run(newFlags('Support'))).code).toBe(0);
    const before = dbHash(db);
    fs.writeFileSync(file, doc({ name: 'New one' }, { name: 'support' }));
    const clash = await run(['apply', '-f', file]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain("interactions[1].name: an interaction named 'Support' already exists ('support' differs only in case)");
    expect(clash.stderr).toContain("write the name as 'Support'");
    expect(dbHash(db)).toBe(before);

    fs.writeFileSync(file, doc({ name: 'Twin' }, { name: 'TWIN' }));
    const twice = await run(['apply', '-f', file]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("interactions[1].name: 'TWIN' is already declared at interactions[0] as 'Twin'");
    expect(dbHash(db)).toBe(before);
    expect(await interactionNames(db)).toEqual(['Support']);
  });

  it('takes the API generation: activity without a label by default, v1.1 only with one, and keeps a stored generation the file does not name', async () => {
    const { db, run, file } = await setup();
    fs.writeFileSync(file, doc({ name: 'Legacy', api: 'v1.1', devEnvironment: null }));
    const refused = await run(['apply', '-f', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "interactions[0].devEnvironment: the premium Account Activity API (v1.1) needs a development environment label; set devEnvironment to the \"Dev environment label\" of Twitter Developer, or use X's current API: api: activity",
    );
    expect(await interactionNames(db)).toEqual([]);
    const flags = await run(['--no-input', ...newFlags('Legacy', { '--api': 'v1.1', '--env-label': '' })]);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain('the premium Account Activity API (v1.1) needs a development environment label');

    fs.writeFileSync(file, doc({ name: 'Current', devEnvironment: null }, { name: 'Legacy', api: 'v1.1' }));
    expect((await run(['apply', '-f', file])).code).toBe(0);
    const listed = JSON.parse((await run(['interaction', 'list', '--json'])).stdout) as { name: string; api: string; devEnvironment: string }[];
    expect(listed.map((i) => [i.name, i.api, i.devEnvironment])).toEqual([['Current', 'activity', ''], ['Legacy', 'v1.1', 'prod']]);

    // Export names each generation and a label only where there is one; applying it back changes nothing.
    const exported = await run(['export', '--include-secrets']);
    expect(exported.code).toBe(0);
    const text = exported.stdout;
    fs.writeFileSync(path.join(path.dirname(file), 'out.yaml'), text);
    expect(text).toMatch(/name: Current\n(?:.*\n)*?\s+api: activity\n/);
    expect(text.split('name: Legacy')[1]).toMatch(/api: v1\.1\n(?:.*\n)*?\s+devEnvironment: prod\n/);
    expect(text.split('name: Legacy')[0]).not.toContain('devEnvironment');
    expect((await run(['apply', '-f', path.join(path.dirname(file), 'out.yaml'), '--dry-run'])).stdout).toContain('No changes.');

    // A file without api leaves Legacy on v1.1; one that says activity switches it (and the plan says so).
    fs.writeFileSync(file, doc({ name: 'Current', devEnvironment: null }, { name: 'Legacy' }));
    expect((await run(['apply', '-f', file, '--dry-run'])).stdout).toContain('No changes.');
    fs.writeFileSync(file, doc({ name: 'Current', devEnvironment: null }, { name: 'Legacy', api: 'activity' }));
    const plan = await run(['apply', '-f', file, '--dry-run']);
    expect(plan.stdout).toMatch(/api: v1\.1 → activity|api.*v1\.1.*activity/);
  });
});
