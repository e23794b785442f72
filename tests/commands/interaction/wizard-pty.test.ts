// The wizard as a person meets it: `omni interaction new|edit|delete` in a real pseudo-terminal.
import { describe, expect, it } from 'vitest';
import { KEY, runInPty } from '../../support/pty.js';
import { cliWithDb } from '../../support/cli.js';
import { SECRETS, seedCatalogs } from '../../support/interactions.js';
import { seedInteraction } from '../../support/seed.js';
import { openDatabase } from '../../../src/db/connection.js';

describe('interaction wizard in a terminal', () => {
  it('walks the 4biz form, creates a unit inline, masks the credentials, summarizes and saves', async () => {
    const { db, dir, run, env: cliEnv } = cliWithDb();
    await seedCatalogs(db);
    await seedInteraction(db, { name: 'Existing' }); // so the next identifier is 2, not a lucky 1
    const env = { ...cliEnv, HOME: dir, XDG_DATA_HOME: dir };
    const t = runInPty(['--db', db, 'interaction', 'new'], env);

    await t.waitFor('Identifier: 2 (assigned by omni)');
    await t.answer('? Name', 'Existing' + KEY.enter);
    await t.waitFor("an interaction named 'Existing' already exists; choose another name");
    await t.answer('? Name', 'Wizard DMs' + KEY.enter);
    await t.answer('? Interaction channel', KEY.enter);
    // X Activity API (the default), v2, then the legacy v1.1: the one that asks for a dev environment.
    await t.waitFor('? X API generation');
    await t.answer('❯ X Activity API (current)', KEY.down + KEY.down + KEY.enter);
    // Units: HQ, then "Create new…".
    await t.waitFor('? Default unit');
    await t.answer('Create new…', KEY.down + KEY.enter);
    await t.answer('? Name of the new unit', 'Branch Office' + KEY.enter);
    await t.waitFor("created unit 2 'Branch Office'");
    await t.answer('? Default group', KEY.enter);
    await t.answer('? Default activity', KEY.enter);
    // The contact origin starts on Twitter, the usual one for Twitter DMs.
    await t.waitFor('? Contact origin');
    await t.answer('❯ Twitter', KEY.enter);
    await t.answer('? Enable interception with Helper', 'y' + KEY.enter);
    await t.answer('? Development environment', 'bad label!' + KEY.enter);
    await t.answer('is not a Twitter dev environment label', '\u0015'); // ctrl-u clears the line
    await t.answer('? Development environment', 'prod' + KEY.enter);
    await t.answer('? API key', SECRETS.apiKey + KEY.enter);
    await t.answer('? API secret key', SECRETS.apiSecretKey + KEY.enter);
    await t.answer('? Access token', SECRETS.accessToken + KEY.enter);
    await t.answer('? Access token secret', SECRETS.accessTokenSecret + KEY.enter);
    // The prompt suggests a local trial's URL; plain http elsewhere than this machine is refused in place.
    await t.waitFor('? Callback URL (public https base URL of the listener; a local trial: http://localhost:8080)');
    t.write('http://public.example.com' + KEY.enter);
    await t.answer('type an https URL; plain http is offered only for this machine', '\u0015');
    // On this machine the wizard asks instead of refusing; a "no" asks for the URL again.
    await t.answer('? Callback URL', 'http://localhost:8080' + KEY.enter);
    await t.answer('? Allow plain http for localhost:8080?', 'n' + KEY.enter);
    await t.waitFor('then type an https URL');
    await t.answer('? Callback URL', 'https://wizard.example.com/' + KEY.enter);
    const summary = await t.waitFor('Save this interaction?');
    expect(summary).toContain("Created in this wizard, and kept even if you do not save: unit 2 'Branch Office'");
    expect(summary).toMatch(/Identifier\s+2 \(assigned by omni\)/);
    expect(summary).toMatch(/Default unit\s+Branch Office \(2\)/);
    expect(summary).toMatch(/Contact origin\s+Twitter \(4\)/);
    expect(summary).toMatch(/Enable interception with Helper\s+yes/);
    expect(summary).toMatch(/API key\s+\*{8}1111/);
    expect(summary).toMatch(/Webhook URL\s+https:\/\/wizard\.example\.com\/webhooks\/twitter\/2/);
    t.write(KEY.enter);
    await t.waitFor("created interaction 2 'Wizard DMs'");
    expect(await t.exit).toBe(0);

    // Typed credentials were echoed as stars only, never in clear.
    for (const s of Object.values(SECRETS)) expect(t.raw).not.toContain(s);
    expect(t.text).toContain('? API key ' + '*'.repeat(SECRETS.apiKey.length));

    const saved = JSON.parse((await run(['interaction', 'show', '2', '--json', '--show-secrets'])).stdout);
    expect(saved).toMatchObject({
      id: 2,
      name: 'Wizard DMs',
      unit: { id: 2, name: 'Branch Office' },
      group: { id: 1, name: 'Social' },
      activity: { id: 1, name: 'DM', portfolio: { name: 'CS' } },
      contactOrigin: { name: 'Twitter' },
      helperInterception: true,
      api: 'v1.1',
      devEnvironment: 'prod',
      callbackUrl: 'https://wizard.example.com',
      ...SECRETS,
    });
    const units = JSON.parse((await run(['unit', 'list', '--json'])).stdout);
    expect(units.map((u: { name: string }) => u.name)).toEqual(['HQ', 'Branch Office']);
    const handle = await openDatabase(db);
    const audit = await handle.kysely.selectFrom('audit_log').select(['entity', 'entity_id', 'action', 'changes']).orderBy('id').execute();
    await handle.close();
    expect(audit.map((a) => [a.entity, a.entity_id, a.action])).toEqual([
      ['unit', '2', 'create'],
      ['interaction', '2', 'create'],
    ]);
    for (const s of Object.values(SECRETS)) expect(JSON.stringify(audit)).not.toContain(s);
  });

  it('saves a loopback http callback once the wizard question is answered yes (no --allow-http, nothing typed twice)', async () => {
    const { db, dir, run, env: cliEnv } = cliWithDb();
    await seedCatalogs(db);
    const t = runInPty(['--db', db, 'interaction', 'new', '--name', 'Local', '--env-label', 'dev'], { ...cliEnv, HOME: dir, XDG_DATA_HOME: dir, OMNI_TWITTER_API_KEY: SECRETS.apiKey, OMNI_TWITTER_API_SECRET: SECRETS.apiSecretKey, OMNI_TWITTER_ACCESS_TOKEN: SECRETS.accessToken, OMNI_TWITTER_ACCESS_TOKEN_SECRET: SECRETS.accessTokenSecret });
    await t.answer('? Interaction channel', KEY.enter);
    await t.answer('? X API generation', KEY.enter);
    await t.answer('? Default unit', KEY.enter);
    await t.answer('? Default group', KEY.enter);
    await t.answer('? Default activity', KEY.enter);
    await t.answer('? Contact origin', KEY.enter);
    await t.answer('? Enable interception with Helper', KEY.enter);
    await t.answer('? Callback URL', 'http://127.0.0.1:8080/' + KEY.enter);
    await t.answer('? Allow plain http for 127.0.0.1:8080?', KEY.enter); // default: yes
    const summary = await t.waitFor('Save this interaction?');
    expect(summary).toMatch(/Callback URL\s+http:\/\/127\.0\.0\.1:8080\n/);
    expect(summary).not.toContain('Created in this wizard');
    t.write(KEY.enter);
    await t.waitFor("created interaction 1 'Local'");
    expect(await t.exit).toBe(0);
    expect(JSON.parse((await run(['interaction', 'show', '1', '--json'])).stdout)).toMatchObject({ callbackUrl: 'http://127.0.0.1:8080' });
  });

  it('says plainly that "Create new…" entries are kept when the interaction is then not saved, declined or interrupted', async () => {
    const { db, dir, run, env: cliEnv } = cliWithDb();
    await seedCatalogs(db);
    const env = { ...cliEnv, HOME: dir, XDG_DATA_HOME: dir };
    // "Create new…" is the last choice, below the units already there.
    const createUnit = async (t: ReturnType<typeof runInPty>, name: string, unitsBefore: number) => {
      await t.answer('? Name', `${name} DMs` + KEY.enter);
      await t.answer('? Interaction channel', KEY.enter);
      await t.answer('? X API generation', KEY.enter);
      await t.waitFor('? Default unit');
      await t.answer('Create new…', KEY.down.repeat(unitsBefore) + KEY.enter);
      await t.answer('? Name of the new unit', name + KEY.enter);
    };

    // Declined at the summary: not saved, the unit stays, and the way to remove it is printed.
    const declined = runInPty(['--db', db, 'interaction', 'new', '--env-label', 'prod', '--callback-url', 'https://h.example.com'], {
      ...env, OMNI_TWITTER_API_KEY: SECRETS.apiKey, OMNI_TWITTER_API_SECRET: SECRETS.apiSecretKey, OMNI_TWITTER_ACCESS_TOKEN: SECRETS.accessToken, OMNI_TWITTER_ACCESS_TOKEN_SECRET: SECRETS.accessTokenSecret,
    });
    await createUnit(declined, 'Branch', 1);
    await declined.answer('? Default group', KEY.enter);
    await declined.answer('? Default activity', KEY.enter);
    await declined.answer('? Contact origin', KEY.enter);
    await declined.answer('? Enable interception with Helper', KEY.enter);
    const summary = await declined.waitFor('Save this interaction?');
    expect(summary).toContain("Created in this wizard, and kept even if you do not save: unit 2 'Branch'");
    declined.write('n' + KEY.enter);
    await declined.waitFor("kept what this wizard created: unit 2 'Branch'; to remove: omni unit rm 2");
    expect(await declined.exit).toBe(1);
    expect(declined.text).toContain('not saved');

    // Interrupted (Ctrl-C) after creating: the same plain statement, then the usual cancel (exit 130).
    const interrupted = runInPty(['--db', db, 'interaction', 'new'], env);
    await createUnit(interrupted, 'Annex', 2);
    await interrupted.answer('? Default group', '\u0003');
    await interrupted.waitFor("kept what this wizard created: unit 3 'Annex'; to remove: omni unit rm 3");
    expect(await interrupted.exit).toBe(130);

    const units = JSON.parse((await run(['unit', 'list', '--json'])).stdout);
    expect(units.map((u: { name: string }) => u.name)).toEqual(['HQ', 'Branch', 'Annex']);
    expect(JSON.parse((await run(['interaction', 'list', '--json'])).stdout)).toEqual([]);
    // Removing them as told works: nothing points at them.
    expect((await run(['unit', 'rm', '3'])).code).toBe(0);
  });

  it('edits with every answer pre-filled; empty credentials keep the current ones', async () => {
    const { db, dir, run, env: cliEnv } = cliWithDb();
    await seedCatalogs(db, { groups: ['Tier 2'] });
    await seedInteraction(db, { name: 'Support', secrets: SECRETS });
    const t = runInPty(['--db', db, 'interaction', 'edit', 'Support'], { ...cliEnv, HOME: dir, XDG_DATA_HOME: dir });

    await t.waitFor('Identifier: 1 (cannot be changed)');
    await t.answer('? Name', '\u0015Support DMs' + KEY.enter); // the default is shown; replace it
    await t.answer('? Interaction channel', KEY.enter);
    await t.answer('? X API generation', KEY.enter); // stays on its own generation, v1.1
    await t.answer('? Default unit', KEY.enter);
    await t.waitFor('? Default group');
    await t.answer('❯ Social', KEY.down + KEY.enter);
    await t.answer('? Default activity', KEY.enter);
    await t.answer('? Contact origin', KEY.enter);
    await t.answer('? Enable interception with Helper', KEY.enter);
    await t.answer('? Development environment', KEY.enter);
    await t.answer('? API key (empty keeps ********1111)', KEY.enter);
    await t.answer('? API secret key (empty keeps', KEY.enter);
    await t.answer('? Access token (empty keeps', 'rotated-token-WWWW6666' + KEY.enter);
    await t.answer('? Access token secret (empty keeps', KEY.enter);
    await t.answer('? Callback URL', KEY.enter);
    const changes = await t.waitFor('Save these changes?');
    expect(changes).toContain("Name: 'Support' → 'Support DMs'");
    expect(changes).toContain("Default group: 'Social' → 'Tier 2'");
    expect(changes).toContain('Access token: changed');
    expect(changes).not.toContain('API key: changed');
    t.write(KEY.enter);
    await t.waitFor("updated interaction 1 'Support DMs'");
    expect(await t.exit).toBe(0);
    // The change list is shown once, before the confirm, not again after the save.
    expect(t.text.split("Name: 'Support' → 'Support DMs'")).toHaveLength(2);
    expect(t.text.split('Access token: changed')).toHaveLength(2);
    expect(t.raw).not.toContain('rotated-token-WWWW6666');

    const saved = JSON.parse((await run(['interaction', 'show', '1', '--json', '--show-secrets'])).stdout);
    expect(saved).toMatchObject({ id: 1, name: 'Support DMs', group: { name: 'Tier 2' }, unit: { name: 'HQ' }, ...SECRETS, accessToken: 'rotated-token-WWWW6666' });
  });

  it('asks before deleting, and a "no" keeps the interaction', async () => {
    const { db, dir, run, env: cliEnv } = cliWithDb();
    await seedInteraction(db, { name: 'Support' });
    const no = runInPty(['--db', db, 'interaction', 'delete', 'Support'], { ...cliEnv, HOME: dir, XDG_DATA_HOME: dir });
    await no.answer("Delete interaction 1 'Support'?", KEY.enter); // default: no
    await no.waitFor('not deleted');
    expect(await no.exit).toBe(1);
    expect(JSON.parse((await run(['interaction', 'list', '--json'])).stdout)).toHaveLength(1);

    const yes = runInPty(['--db', db, 'interaction', 'delete', '1'], { ...cliEnv, HOME: dir, XDG_DATA_HOME: dir });
    await yes.answer("Delete interaction 1 'Support'?", 'y' + KEY.enter);
    await yes.waitFor("deleted interaction 1 'Support'");
    expect(await yes.exit).toBe(0);
    expect(JSON.parse((await run(['interaction', 'list', '--json'])).stdout)).toEqual([]);
  });
});
