// `omni interaction …` end to end: the built CLI spawned with no TTY, as a script or CI job runs it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliWithDb } from '../../support/cli.js';
import { SECRETS, newFlags, secretEnv, seedCatalogs } from '../../support/interactions.js';
import { seedInteraction } from '../../support/seed.js';
import { openDatabase } from '../../../src/db/connection.js';
import { maskSecret } from '../../../src/secrets.js';

async function auditRows(dbPath: string) {
  const db = await openDatabase(dbPath);
  try {
    return await db.kysely.selectFrom('audit_log').selectAll().where('entity', '=', 'interaction').orderBy('id').execute();
  } finally {
    await db.close();
  }
}

function expectNoSecretIn(text: string, secrets: string[] = Object.values(SECRETS)) {
  for (const s of secrets) expect(text).not.toContain(s);
}

describe('interaction new (scripted)', () => {
  it('creates from flags and environment, prints the JSON contract, and audits without secret values', async () => {
    const { db, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    const created = await run([...newFlags('Support DMs', { '--callback-url': 'https://helpdesk.example.com/' }), '--helper', '--json']);
    expect(created.stderr).toContain("created interaction 1 'Support DMs'");
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout);
    expect(json).toMatchObject({
      id: 1,
      name: 'Support DMs',
      channel: 'twitter-dm',
      unit: { id: 1, name: 'HQ' },
      group: { id: 1, name: 'Social' },
      activity: { id: 1, name: 'DM', portfolio: { id: 1, name: 'CS' } },
      contactOrigin: { id: 4, name: 'Twitter' }, // the channel's default origin
      helperInterception: true,
      devEnvironment: 'prod',
      callbackUrl: 'https://helpdesk.example.com',
      webhookUrl: 'https://helpdesk.example.com/webhooks/twitter/1',
      apiKey: maskSecret(SECRETS.apiKey),
      apiSecretKey: maskSecret(SECRETS.apiSecretKey),
      accessToken: maskSecret(SECRETS.accessToken),
      accessTokenSecret: maskSecret(SECRETS.accessTokenSecret),
    });
    expect(json.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(json.updatedAt).toBe(json.createdAt);
    expectNoSecretIn(created.stdout + created.stderr);

    const audit = await auditRows(db);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ entity_id: '1', action: 'create' });
    expect(JSON.parse(audit[0]!.changes)).toMatchObject({ name: 'Support DMs', unit: 'HQ', helperInterception: true, apiKey: 'set', accessTokenSecret: 'set' });
    expectNoSecretIn(JSON.stringify(audit));
  });

  it('takes the credentials from --secrets-file <path> and from stdin (-), and names what is wrong with a bad file', async () => {
    const { db, dir, run } = cliWithDb();
    await seedCatalogs(db);
    const file = path.join(dir, 'twitter.json');
    fs.writeFileSync(file, JSON.stringify(SECRETS));
    const fromFile = await run([...newFlags('From file'), '--secrets-file', file]);
    expect(fromFile.stderr).toContain("created interaction 1 'From file'");
    expect(fromFile.code).toBe(0);

    const other = { ...SECRETS, apiKey: 'stdin-key-ZZZZZZZZ9999' };
    const fromStdin = await run([...newFlags('From stdin'), '--secrets-file', '-', '--json'], { input: JSON.stringify(other) });
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout).apiKey).toBe(maskSecret(other.apiKey));

    const full = JSON.parse((await run(['interaction', 'show', 'From stdin', '--json', '--show-secrets'])).stdout);
    expect(full).toMatchObject(other);
    const first = JSON.parse((await run(['interaction', 'show', '1', '--json', '--show-secrets'])).stdout);
    expect(first).toMatchObject(SECRETS);

    fs.writeFileSync(file, `{"apiKey": "${SECRETS.apiKey}", "apiSecret": "x"}`);
    const typo = await run([...newFlags('Typo'), '--secrets-file', file]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown key 'apiSecret'");
    expectNoSecretIn(typo.stderr);

    const notJson = await run([...newFlags('Not JSON'), '--secrets-file', '-'], { input: `apiKey=${SECRETS.apiKey}` });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('error: the JSON on stdin (--secrets-file -) is not valid JSON\n');
    expectNoSecretIn(notJson.stderr);
    // A file is named as the file it is, never as stdin.
    fs.writeFileSync(file, `apiKey=${SECRETS.apiKey}`);
    const notJsonFile = await run([...newFlags('Not JSON file'), '--secrets-file', file]);
    expect(notJsonFile.code).toBe(2);
    expect(notJsonFile.stderr).toContain(`error: the file ${file} (--secrets-file) is not valid JSON\n`);
    expect(notJsonFile.stderr).not.toContain('stdin');
    expectNoSecretIn(notJsonFile.stderr);

    const missingFile = await run([...newFlags('No file'), '--secrets-file', path.join(dir, 'nope.json')]);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain('cannot read --secrets-file');
  });

  it('asks for nothing without a terminal and names every missing flag and variable in one line (exit 4)', async () => {
    const { db, run } = cliWithDb();
    await seedCatalogs(db);
    const none = await run(['--no-input', 'interaction', 'new']);
    expect(none.code).toBe(4);
    expect(none.stdout).toBe('');
    const line = none.stderr.split('\n')[0];
    expect(line).toBe(
      'error: missing --name, --unit, --group, --activity, OMNI_TWITTER_API_KEY (or --secrets-file), ' +
        'OMNI_TWITTER_API_SECRET (or --secrets-file), OMNI_TWITTER_ACCESS_TOKEN (or --secrets-file), ' +
        'OMNI_TWITTER_ACCESS_TOKEN_SECRET (or --secrets-file), --callback-url (required when not interactive)',
    );

    // No --no-input, but stdin is a pipe: the same. Given values drop out of the list.
    const some = await run(['interaction', 'new', '--name', 'X', '--unit', 'HQ', '--callback-url', 'https://h.example.com'], {
      env: secretEnv({ apiKey: SECRETS.apiKey, accessToken: SECRETS.accessToken }),
    });
    expect(some.code).toBe(4);
    expect(some.stderr.split('\n')[0]).toBe(
      'error: missing --group, --activity, OMNI_TWITTER_API_SECRET (or --secrets-file), ' +
        'OMNI_TWITTER_ACCESS_TOKEN_SECRET (or --secrets-file) (required when not interactive)',
    );

    // Without the Twitter contact origin there is no default, so --origin becomes required too.
    const handle = await openDatabase(db);
    await handle.kysely.deleteFrom('contact_origins').where('name', '=', 'Twitter').execute();
    await handle.close();
    const noOrigin = await run(newFlags('Y'), { env: secretEnv() });
    expect(noOrigin.code).toBe(4);
    expect(noOrigin.stderr).toContain('missing --origin (required when not interactive)');
    const withOrigin = await run([...newFlags('Y'), '--origin', 'WhatsApp', '--json'], { env: secretEnv() });
    expect(withOrigin.code).toBe(0);
    expect(JSON.parse(withOrigin.stdout).contactOrigin).toEqual({ id: 5, name: 'WhatsApp' });
  });

  it('refuses invalid values with exit 2 and the fix', async () => {
    const { db, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    const cases: [string[], string][] = [
      [newFlags('A', { '--callback-url': 'not a url' }), "--callback-url: 'not a url' is not a URL"],
      [newFlags('A', { '--callback-url': 'http://localhost:8080' }), 'pass --allow-http for a local set-up'],
      [newFlags('A', { '--callback-url': 'https://h.example.com/?x=1' }), 'must not have a query'],
      [newFlags('A', { '--unit': 'Nowhere' }), "no unit 'Nowhere'"],
      [newFlags('A', { '--activity': '99' }), 'no activity with id 99\n  list them with: omni activity list, and use an id or name from there'],
      [newFlags('A', { '--unit': '99' }), 'no unit with id 99\n  list them with: omni unit list, and use an id or name from there'],
      [newFlags('A', { '--channel': 'fax' }), "unknown channel 'fax'; known channels: twitter-dm"],
      [newFlags('A', { '--env-label': 'my env' }), "'my env' is not a Twitter dev environment label"],
      [newFlags('12'), "'12' looks like an identifier"],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain('    at ');
    }
    const whitespace = await run(newFlags('A'), { env: { OMNI_TWITTER_API_SECRET: 'two words' } });
    expect(whitespace.code).toBe(2);
    expect(whitespace.stderr).toContain('OMNI_TWITTER_API_SECRET (or --secrets-file): the API secret key contains whitespace');

    const http = await run([...newFlags('Local'), '--callback-url', 'http://localhost:8080', '--allow-http', '--json']);
    expect(http.code).toBe(0);
    expect(JSON.parse(http.stdout).webhookUrl).toBe('http://localhost:8080/webhooks/twitter/1');

    const dup = await run(newFlags('Local'));
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain("an interaction named 'Local' already exists");
    expect(JSON.parse((await run(['interaction', 'list', '--json'])).stdout)).toHaveLength(1);
  });
});

describe('interaction list and show', () => {
  it('filters by name, channel, unit and group, and prints a table or JSON', async () => {
    const { db, run } = cliWithDb(secretEnv());
    const empty = await run(['interaction', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('no interactions yet; create one with: omni interaction new');
    expect(JSON.parse((await run(['interaction', 'list', '--json'])).stdout)).toEqual([]);

    await seedInteraction(db, { name: 'Support EU' });
    await seedInteraction(db, { name: 'Support US', devEnvironment: 'us' });
    const handle = await openDatabase(db);
    const now = new Date().toISOString();
    await handle.kysely.insertInto('units').values({ name: 'Branch', created_at: now }).execute();
    await handle.kysely.insertInto('groups').values({ name: 'Sales team', created_at: now }).execute();
    await handle.close();
    expect((await run(newFlags('Sales', { '--unit': 'Branch', '--group': 'Sales team' }))).code).toBe(0);

    const table = await run(['interaction', 'list']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+CHANNEL\s+UNIT\s+GROUP\s+API\s+DEV ENV\s+AUTHORIZATION\s+WEBHOOK\s+STATUS$/);
    // Rows from before the API generations (seeded straight into the table) are v1.1 and need no OAuth 2.0;
    // a new one is on X's current API and says its authorization is missing.
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ['1', 'Support EU', 'twitter-dm', 'HQ', 'Social', 'v1.1', 'dev', '-', 'not registered', 'active'],
      ['2', 'Support US', 'twitter-dm', 'HQ', 'Social', 'v1.1', 'us', '-', 'not registered', 'active'],
      ['3', 'Sales', 'twitter-dm', 'Branch', 'Sales team', 'activity', 'prod', 'missing', 'not registered', 'active'],
    ]);

    const names = async (...args: string[]) => {
      const r = await run(['interaction', 'list', ...args, '--json']);
      expect(r.code).toBe(0);
      return (JSON.parse(r.stdout) as { name: string }[]).map((i) => i.name);
    };
    expect(await names('--name', 'support')).toEqual(['Support EU', 'Support US']);
    expect(await names('--unit', 'Branch')).toEqual(['Sales']);
    expect(await names('--group', '1')).toEqual(['Support EU', 'Support US']);
    expect(await names('--channel', 'twitter-dm', '--name', 'US')).toEqual(['Support US']);
    const nothing = await run(['interaction', 'list', '--name', 'zzz']);
    expect(nothing.stderr).toContain('no interaction matches these filters');
    const bad = await run(['interaction', 'list', '--channel', 'fax']);
    expect(bad.code).toBe(2);
    expect((await run(['interaction', 'list', '--unit', 'Nowhere'])).code).toBe(2);

    const listed = JSON.parse((await run(['interaction', 'list', '--json'])).stdout);
    expect(listed[2]).toMatchObject({ id: 3, name: 'Sales', api: 'activity', unit: { id: 2, name: 'Branch' }, apiKey: maskSecret(SECRETS.apiKey) });
    expect(listed[2].authorization).toMatchObject({ status: 'missing', fix: 'omni interaction authorize 3' });
    expect(listed[0]).toMatchObject({ api: 'v1.1', authorization: { status: 'not needed', fix: null } });
    expectNoSecretIn(JSON.stringify(listed));
  });

  it('shows the form in order with masked secrets, or in full with --show-secrets', async () => {
    const { db, run } = cliWithDb();
    const { secrets } = await seedInteraction(db, { name: 'Support', secrets: SECRETS });
    const shown = await run(['interaction', 'show', 'Support']);
    expect(shown.code).toBe(0);
    const labels = shown.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/)[0]);
    expect(labels).toEqual([
      'Identifier', 'Name', 'Interaction channel', 'X API generation', 'Default unit', 'Default group', 'Default activity', 'Contact origin',
      'Enable interception with Helper', 'Development environment', 'API key', 'API secret key', 'Access token',
      'Access token secret', 'Callback URL', 'Webhook URL', 'Silence alert', 'Webhook', 'X authorization (OAuth 2.0)', 'What it needs', 'Twitter account', 'Created', 'Updated',
    ]);
    expect(shown.stdout).toMatch(/X API generation\s+premium Account Activity v1\.1 \(legacy\) \(v1\.1\)\n/);
    expect(shown.stdout).toMatch(/X authorization \(OAuth 2\.0\)\s+not needed/);
    expect(shown.stdout).toMatch(/API key\s+\*+1111\n/);
    expect(shown.stdout).toMatch(/Webhook URL\s+https:\/\/helpdesk\.example\.com\/webhooks\/twitter\/1\n/);
    expect(shown.stdout).toMatch(/Webhook\s+not registered\n/);
    expectNoSecretIn(shown.stdout);

    const full = await run(['interaction', 'show', '1', '--show-secrets']);
    for (const v of Object.values(secrets)) expect(full.stdout).toContain(v);
    const json = JSON.parse((await run(['interaction', 'show', '1', '--json'])).stdout);
    expect(json.accessToken).toBe(maskSecret(SECRETS.accessToken));
    expect(json.accessToken.length).toBeLessThan(SECRETS.accessToken.length);

    const missing = await run(['interaction', 'show', 'Nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no interaction 'Nope'");
  });
});

describe('interaction edit', () => {
  it('changes only what is given, keeps the secrets unless given, and audits old → new', async () => {
    const { db, run } = cliWithDb();
    await seedCatalogs(db, { groups: ['Tier 2'] });
    expect((await run(newFlags('Support'), { env: secretEnv() })).code).toBe(0);
    const before = JSON.parse((await run(['interaction', 'show', '1', '--json', '--show-secrets'])).stdout);

    const edit = await run(['interaction', 'edit', 'Support', '--group', 'Tier 2', '--json']);
    expect(edit.code).toBe(0);
    expect(edit.stderr).toContain("Default group: 'Social' → 'Tier 2'");
    const after = JSON.parse((await run(['interaction', 'show', '1', '--json', '--show-secrets'])).stdout);
    expect(after).toEqual({ ...before, group: { id: 2, name: 'Tier 2' }, updatedAt: after.updatedAt });
    expect(JSON.parse(edit.stdout).group).toEqual({ id: 2, name: 'Tier 2' });

    // Rotate one credential through the environment: only it changes.
    const rotated = 'new-token-RRRRRRRRRR5555';
    const rot = await run(['interaction', 'edit', '1'], { env: { OMNI_TWITTER_ACCESS_TOKEN: rotated } });
    expect(rot.code).toBe(0);
    expect(rot.stderr).toContain('Access token: changed');
    expect(rot.stderr).not.toContain(rotated);
    const rotatedView = JSON.parse((await run(['interaction', 'show', '1', '--json', '--show-secrets'])).stdout);
    expect(rotatedView).toMatchObject({ ...SECRETS, accessToken: rotated, name: 'Support', group: { name: 'Tier 2' } });

    const same = await run(['interaction', 'edit', '1', '--group', 'Tier 2']);
    expect(same.code).toBe(0);
    expect(same.stderr).toContain('nothing changed');

    const nothing = await run(['interaction', 'edit', '1']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to change');

    const audit = await auditRows(db);
    expect(audit.map((a) => a.action)).toEqual(['create', 'update', 'update']);
    expect(JSON.parse(audit[1]!.changes)).toEqual({ group: { from: 'Social', to: 'Tier 2' } });
    expect(JSON.parse(audit[2]!.changes)).toEqual({ accessToken: 'changed' });
    expectNoSecretIn(JSON.stringify(audit), [...Object.values(SECRETS), rotated]);
  });

  it('refuses a taken name, an unknown interaction and bad values; the identifier has no flag', async () => {
    const { db, run } = cliWithDb();
    await seedInteraction(db, { name: 'One' });
    await seedInteraction(db, { name: 'Two' });
    const taken = await run(['interaction', 'edit', 'Two', '--name', 'One']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain("an interaction named 'One' already exists");
    expect((await run(['interaction', 'edit', 'Three', '--name', 'x'])).code).toBe(1);
    const url = await run(['interaction', 'edit', 'Two', '--callback-url', 'http://local']);
    expect(url.code).toBe(2);
    const id = await run(['interaction', 'edit', 'Two', '--id', '7']);
    expect(id.code).toBe(2);
    expect(id.stderr).toContain("unknown option '--id'");
    const renamed = await run(['interaction', 'edit', 'Two', '--name', 'Deux', '--json']);
    expect(JSON.parse(renamed.stdout)).toMatchObject({ id: 2, name: 'Deux' });
  });
});

describe('interaction delete', () => {
  it('needs --yes without a terminal, deletes logically and keeps tickets and messages', async () => {
    const { db, run } = cliWithDb(secretEnv());
    const { id } = await seedInteraction(db, { name: 'Support' });
    const handle = await openDatabase(db);
    const now = new Date().toISOString();
    const requester = await handle.kysely.insertInto('requesters').values({ twitter_user_id: '42', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
    const ticket = await handle.kysely
      .insertInto('tickets')
      .values({ interaction_id: id, requester_id: requester.id, status: 'open', subject: 'DM', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await handle.kysely
      .insertInto('messages')
      .values({ ticket_id: ticket.id, interaction_id: id, direction: 'inbound', text: 'hello', twitter_event_id: '1', sent_at: now, created_at: now })
      .execute();
    await handle.close();

    const refused = await run(['interaction', 'delete', 'Support']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('missing --yes (required when not interactive)');

    const deleted = await run(['interaction', 'delete', 'Support', '--yes', '--json']);
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toMatchObject({ id, name: 'Support', deletedAt: expect.any(String) });
    expect(JSON.parse((await run(['interaction', 'list', '--json'])).stdout)).toEqual([]);
    const gone = JSON.parse((await run(['interaction', 'list', '--deleted', '--json'])).stdout);
    expect(gone.map((i: { id: number }) => i.id)).toEqual([id]);
    expect((await run(['interaction', 'list', '--deleted'])).stdout).toMatch(/\bdeleted$/m);
    expect((await run(['interaction', 'show', String(id)])).stdout).toMatch(/^Deleted\s+\d{4}-/m);
    expect((await run(['interaction', 'delete', String(id), '--yes'])).code).toBe(1);
    expect((await run(['interaction', 'edit', String(id), '--name', 'Back'])).code).toBe(1);

    // The name is free again, and the deleted one's tickets and messages are still there.
    const again = await run([...newFlags('Support'), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: id + 1, name: 'Support' });
    const check = await openDatabase(db);
    expect(await check.kysely.selectFrom('tickets').select('id').where('interaction_id', '=', id).execute()).toHaveLength(1);
    expect(await check.kysely.selectFrom('messages').select('id').where('interaction_id', '=', id).execute()).toHaveLength(1);
    await check.close();
    expect((await auditRows(db)).map((a) => [a.entity_id, a.action])).toEqual([[String(id), 'delete'], [String(id + 1), 'create']]);
    expect(JSON.parse((await auditRows(db))[0]!.changes)).toEqual({ name: 'Support' });
  });
});

describe('interaction new/edit --api', () => {
  it('defaults to activity without a label; v1.1 requires --env-label; a switch to v1.1 without one is refused with the fix', async () => {
    const { db, run } = cliWithDb(secretEnv());
    await seedCatalogs(db);
    const flags = (name: string, over: Record<string, string> = {}) => newFlags(name, over).filter((_, i, a) => a[i] !== '--env-label' && a[i - 1] !== '--env-label');

    const current = await run([...flags('Current'), '--json']);
    expect(current.code).toBe(0);
    expect(JSON.parse(current.stdout)).toMatchObject({ api: 'activity', devEnvironment: '' });

    const legacyMissing = await run(['--no-input', ...flags('Legacy', { '--api': 'v1.1' })]);
    expect(legacyMissing.code).toBe(4);
    expect(legacyMissing.stderr).toContain('error: missing --env-label (required when not interactive)');

    const unknown = await run(['--no-input', ...flags('Other', { '--api': 'v3' })]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: --api: unknown X API generation 'v3'; known: activity, v2, v1.1");

    const legacy = await run([...flags('Legacy', { '--api': 'v1.1' }), '--env-label', 'prod', '--json']);
    expect(legacy.code).toBe(0);
    expect(JSON.parse(legacy.stdout)).toMatchObject({ api: 'v1.1', devEnvironment: 'prod' });

    const switched = await run(['--no-input', 'interaction', 'edit', 'Current', '--api', 'v1.1']);
    expect(switched.code).toBe(2);
    expect(switched.stderr).toContain('error: --env-label: the premium Account Activity API (v1.1) needs a development environment label');
    expect(switched.stderr).toContain('--api activity');

    const ok = await run(['--no-input', 'interaction', 'edit', 'Current', '--api', 'v2', '--json']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain("X API generation: 'activity' → 'v2'");
    const shown = await run(['interaction', 'show', 'Current']);
    expect(shown.stdout).toMatch(/X API generation\s+Account Activity API v2 \(deprecated by X\) \(v2\)\n/);
    expect(shown.stdout).toMatch(/X authorization \(OAuth 2\.0\)\s+missing: the account is not authorized with OAuth 2\.0; run: omni interaction authorize 1\n/);
    expect(shown.stdout).toMatch(/Development environment\s+- \(only v1\.1 uses one\)\n/);
    const audit = await auditRows(db);
    expect(JSON.parse(audit.at(-1)!.changes)).toEqual({ api: { from: 'activity', to: 'v2' } });
  });
});
