import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import { databaseSnapshot } from '../../support/db-snapshot.js';
import { cliWithDb } from '../../support/cli.js';

const SECRETS_ENV = { TW_API_KEY: 'key-1111', TW_API_SECRET: 'secret-2222', TW_ACCESS_TOKEN: 'token-3333' };

function helpdeskYaml(overrides: { unit?: string; extra?: string } = {}): string {
  return `
version: 1
units: [HQ, Branch]
groups: [Social Media Support]
portfolios:
  - name: Customer Service
    activities: [Twitter DM request]
contracts: [Standard]
parameters:
  118: Standard
  317: Customer Service / Twitter DM request
  390: HQ
  450: Y
interactions:
  - name: Support
    unit: ${overrides.unit ?? 'HQ'}
    group: Social Media Support
    activity: { name: Twitter DM request, portfolio: Customer Service }
    devEnvironment: prod
    callbackUrl: https://helpdesk.example.com
    credentials:
      apiKey: \${env:TW_API_KEY}
      apiSecretKey: \${env:TW_API_SECRET}
      accessToken: \${env:TW_ACCESS_TOKEN}
      accessTokenSecret: \${file:ats.txt}
${overrides.extra ?? ''}`;
}

function setup() {
  const cli = cliWithDb(SECRETS_ENV);
  fs.writeFileSync(path.join(cli.dir, 'ats.txt'), 'ats-4444\n');
  const file = path.join(cli.dir, 'helpdesk.yaml');
  fs.writeFileSync(file, helpdeskYaml());
  return { ...cli, file };
}

describe('omni apply / export', () => {
  it('applies a file to an empty database, then reports no changes on a second run', async () => {
    const { run, file, db } = setup();
    const first = await run(['apply', '-f', file, '--json']);
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ applied: true, summary: { create: 11, update: 0, delete: 0 } });
    expect(JSON.stringify(result)).not.toMatch(/key-1111|secret-2222|token-3333|ats-4444/);

    const shown = JSON.parse((await run(['--no-input', 'apply', '-f', file, '--json'])).stdout);
    expect(shown).toMatchObject({ applied: false, changes: [] });
    const text = await run(['apply', '-f', file]);
    expect(text.stdout.trim()).toBe('No changes.');

    // The stored values are the file's: ids for catalog parameters, decrypted secrets equal.
    const handle = await openDatabase(db);
    const params = await handle.kysely.selectFrom('parameters').selectAll().orderBy('number').execute();
    expect(params.map((p) => [p.number, p.value])).toEqual([[118, '1'], [317, '1'], [390, '1'], [450, 'Y']]);
    const audits = await handle.kysely.selectFrom('audit_log').select(['entity', 'changes']).execute();
    expect(audits.length).toBe(11);
    expect(audits.map((a) => a.changes).join('')).not.toMatch(/key-1111|secret-2222|token-3333|ats-4444/);
    await handle.close();
  });

  it('prints an exact plan for an edited file and leaves the database bytes unchanged in --dry-run', async () => {
    const { run, file, db } = setup();
    await run(['apply', '-f', file]);
    fs.writeFileSync(file, helpdeskYaml({ unit: 'Branch' }));
    const before = await databaseSnapshot(db);
    const plan = await run(['apply', '-f', file, '--dry-run'], { env: { TW_API_KEY: 'key-rotated' } });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("~ update interaction 'Support'");
    expect(plan.stdout).toContain('unit: "HQ" → "Branch"');
    expect(plan.stdout).toContain('apiKey: changed');
    expect(plan.stdout).toContain('apiSecretKey: unchanged');
    expect(plan.stdout).not.toContain('key-rotated');
    expect(plan.stdout).toContain('Plan: 0 to create, 1 to update, 0 to delete.');
    expect(await databaseSnapshot(db)).toBe(before);
  });

  it('keeps the stored credentials of an existing interaction when its ${env:…} variables are unset, and refuses them for a new one', async () => {
    const { run, file, db } = setup();
    expect((await run(['apply', '-f', file])).code).toBe(0);
    const unset = { TW_API_KEY: '', TW_API_SECRET: '', TW_ACCESS_TOKEN: '' };
    // The README's promise: omitted credentials are kept; an unset variable is an omitted credential.
    const again = await run(['apply', '-f', file], { env: unset });
    expect(again.stderr).toBe('');
    expect(again).toMatchObject({ code: 0, stdout: 'No changes.\n' });
    const shown = JSON.parse((await run(['interaction', 'show', 'Support', '--json', '--show-secrets'])).stdout);
    expect(shown).toMatchObject({ apiKey: 'key-1111', apiSecretKey: 'secret-2222', accessToken: 'token-3333', accessTokenSecret: 'ats-4444' });

    fs.writeFileSync(file, helpdeskYaml().replace('  - name: Support', '  - name: Sales\n    unit: HQ\n    group: Social Media Support\n    activity: { name: Twitter DM request, portfolio: Customer Service }\n    devEnvironment: prod\n    callbackUrl: https://helpdesk.example.com\n    credentials: { apiKey: "\${env:TW_API_KEY}", apiSecretKey: "\${env:TW_API_SECRET}", accessToken: "\${env:TW_ACCESS_TOKEN}", accessTokenSecret: "\${file:ats.txt}" }\n  - name: Support'));
    const before = await databaseSnapshot(db);
    const refused = await run(['apply', '-f', file], { env: unset });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('interactions[0].credentials.apiKey: environment variable TW_API_KEY is not set (a new interaction needs its apiKey; set TW_API_KEY)');
    expect(refused.stderr).toContain('interactions[0].credentials.accessToken: environment variable TW_ACCESS_TOKEN is not set');
    expect(refused.stderr).not.toContain('interactions[1].credentials');
    expect(await databaseSnapshot(db)).toBe(before);
  });

  it('rolls everything back on a bad entry and reports each with its path (exit 2)', async () => {
    const { run, file, db } = setup();
    fs.writeFileSync(
      file,
      helpdeskYaml({
        extra: `  - name: Broken
    unit: Nowhere
    group: Social Media Support
    activity: Unknown
    devEnvironment: prod
    callbackUrl: http://insecure.example.com
`,
      }),
    );
    const r = await run(['apply', '-f', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing was changed');
    expect(r.stderr).toContain("interactions[1].unit: no unit 'Nowhere'");
    expect(r.stderr).toContain("interactions[1].activity: no activity 'Unknown'");
    expect(r.stderr).toContain('interactions[1].callbackUrl');
    expect(r.stderr).toContain('interactions[1].credentials: a new interaction needs');
    const handle = await openDatabase(db);
    expect(await handle.kysely.selectFrom('units').selectAll().execute()).toEqual([]);
    await handle.close();
  });

  it('round-trips through export: export | apply --dry-run reports no changes', async () => {
    const { run, file } = setup();
    await run(['apply', '-f', file]);
    const yaml = await run(['export']);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).not.toContain('key-1111');
    const again = await run(['apply', '-f', '-', '--dry-run'], { input: yaml.stdout });
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('No changes.');

    const json = await run(['export', '--format', 'json', '--include-secrets']);
    const doc = JSON.parse(json.stdout);
    expect(doc.interactions[0].credentials).toEqual({ apiKey: 'key-1111', apiSecretKey: 'secret-2222', accessToken: 'token-3333', accessTokenSecret: 'ats-4444' });
    const viaJson = await run(['apply', '-f', '-', '--dry-run', '--json'], { input: json.stdout });
    expect(JSON.parse(viaJson.stdout).changes).toEqual([]);
  });

  it('prunes interactions absent from the file only with --prune', async () => {
    const { run, file, db: where } = setup();
    fs.writeFileSync(
      file,
      helpdeskYaml({
        extra: `  - name: Old
    unit: HQ
    group: Social Media Support
    activity: Twitter DM request
    devEnvironment: prod
    callbackUrl: https://old.example.com
    credentials: { apiKey: a, apiSecretKey: b, accessToken: c, accessTokenSecret: d }
`,
      }),
    );
    await run(['apply', '-f', file]);
    fs.writeFileSync(file, helpdeskYaml());
    expect((await run(['apply', '-f', file])).stdout.trim()).toBe('No changes.');
    const pruned = await run(['apply', '-f', file, '--prune', '--json']);
    expect(JSON.parse(pruned.stdout).changes).toEqual([expect.objectContaining({ op: 'delete', entity: 'interaction', name: 'Old' })]);
    const db = await openDatabase(where);
    const rows = await db.kysely.selectFrom('interactions').select(['name', 'deleted_at']).orderBy('id').execute();
    expect(rows.map((r) => [r.name, r.deleted_at !== null])).toEqual([['Support', false], ['Old', true]]);
    await db.close();
  });

  it('refuses an unreadable file and an unknown parameter value', async () => {
    const { run, dir } = setup();
    const missing = await run(['apply', '-f', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'parameters:\n  450: maybe\n  999: x\n  390: Nowhere\n');
    const r = await run(['apply', '-f', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('parameters.450: parameter 450');
    expect(r.stderr).toContain('parameters.999: unknown parameter');
    expect(r.stderr).toContain("parameters.390: parameter 390 (Default unit): no unit 'Nowhere'");
  });
});

describe('omni apply --register-webhooks', () => {
  it('registers the webhooks of created interactions after the commit, and reports a failure with exit 1', async () => {
    const { startCrcResponder, startFakeTwitter } = await import('../../support/fake-twitter.js');
    const { TEST_SECRETS } = await import('../../support/seed.js');
    const { testApp, testUser } = await import('../../support/twitter-fixtures.js');
    const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()] });
    const listener = await startCrcResponder(TEST_SECRETS.apiSecretKey);
    try {
      const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url, K: TEST_SECRETS.apiKey, S: TEST_SECRETS.apiSecretKey, T: TEST_SECRETS.accessToken, TS: TEST_SECRETS.accessTokenSecret });
      const file = path.join(cli.dir, 'h.yaml');
      const doc = (name: string, env: string) => `
units: [HQ]
groups: [G]
portfolios: [{ name: P, activities: [A] }]
interactions:
  - name: ${name}
    api: v1.1
    unit: HQ
    group: G
    activity: A
    devEnvironment: ${env}
    callbackUrl: ${listener.url}
    allowHttp: true
    credentials: { apiKey: "\${env:K}", apiSecretKey: "\${env:S}", accessToken: "\${env:T}", accessTokenSecret: "\${env:TS}" }
`;
      fs.writeFileSync(file, doc('Support', 'dev'));
      const ok = await cli.run(['apply', '-f', file, '--register-webhooks', '--json']);
      expect(ok.code).toBe(0);
      const out = JSON.parse(ok.stdout);
      expect(out.webhooks).toEqual([expect.objectContaining({ interactionId: 1, ok: true, action: 'registered', webhookUrl: `${listener.url}/webhooks/twitter/1` })]);
      expect(tw.webhook('dev')).toMatchObject({ url: `${listener.url}/webhooks/twitter/1`, valid: true });

      // An unknown dev environment: the file is applied, the registration fails, exit 1.
      fs.writeFileSync(file, doc('Support', 'nope'));
      const bad = await cli.run(['apply', '-f', file, '--register-webhooks']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('applied 1 change');
      expect(bad.stderr).toContain("no dev environment named 'nope'");
      expect((await cli.run(['apply', '-f', file])).stdout.trim()).toBe('No changes.');
    } finally {
      await listener.close();
      await tw.close();
    }
  });
  it('registers an X Activity API interaction once its account is authorized: the app webhook and the subscriptions', async () => {
    const { startCrcResponder, startFakeTwitter } = await import('../../support/fake-twitter.js');
    const { TEST_SECRETS } = await import('../../support/seed.js');
    const { ACCOUNT_ID, testApp, testUser } = await import('../../support/twitter-fixtures.js');
    const clientId = 'YXBwbHktY2xpZW50LWlk';
    const tw = await startFakeTwitter({ apps: [testApp()], users: [testUser()], x: { clients: [{ clientId, redirectUris: ['http://127.0.0.1:8765/callback'] }] } });
    const listener = await startCrcResponder(TEST_SECRETS.apiSecretKey);
    try {
      const cli = cliWithDb({ OMNI_TWITTER_API_URL: tw.url, K: TEST_SECRETS.apiKey, S: TEST_SECRETS.apiSecretKey, T: TEST_SECRETS.accessToken, TS: TEST_SECRETS.accessTokenSecret });
      const file = path.join(cli.dir, 'h.yaml');
      const doc = (group: string) => `
units: [HQ]
groups: [G, G2]
portfolios: [{ name: P, activities: [A] }]
interactions:
  - name: Support
    api: activity
    unit: HQ
    group: ${group}
    activity: A
    callbackUrl: ${listener.url}
    allowHttp: true
    credentials: { apiKey: "\${env:K}", apiSecretKey: "\${env:S}", accessToken: "\${env:T}", accessTokenSecret: "\${env:TS}" }
`;
      fs.writeFileSync(file, doc('G'));
      const early = await cli.run(['apply', '-f', file, '--register-webhooks']);
      expect(early.code).toBe(1);
      expect(early.stderr).toContain("interaction 1 'Support': interaction 1 'Support' is not authorized with X yet");
      expect(tw.x.webhooks()).toEqual([]);

      const refresh = tw.x.issueTokens(ACCOUNT_ID).refresh_token!;
      expect((await cli.run(['interaction', 'authorize', '1', '--no-browser'], { env: { OMNI_TWITTER_CLIENT_ID: clientId, OMNI_TWITTER_REFRESH_TOKEN: refresh } })).code).toBe(0);
      fs.writeFileSync(file, doc('G2'));
      const ok = await cli.run(['apply', '-f', file, '--register-webhooks', '--json']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout).webhooks).toEqual([expect.objectContaining({ interactionId: 1, ok: true, action: 'registered', webhookUrl: `${listener.url}/webhooks/twitter/1`, subscription: 'subscribed' })]);
      expect(tw.x.webhooks()).toEqual([expect.objectContaining({ url: `${listener.url}/webhooks/twitter/1`, valid: true })]);
      expect(tw.x.activitySubscriptions().map((s) => s.eventType).sort()).toEqual(['dm.received', 'dm.sent']);
    } finally {
      await listener.close();
      await tw.close();
    }
  });
});
