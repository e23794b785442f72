// The write paths on a real database (a SQLite file, or PostgreSQL in the postgres project): one transaction per write (or the caller's), so a failing
// audit record or a failing row write leaves nothing behind; secrets reach neither the audit trail
// nor the row in clear; refusals come back as problem codes.
import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/connection.js';
import type { Database } from '../../src/db/schema.js';
import { addCatalogEntry } from '../../src/db/catalogs.js';
import { createSecretBox } from '../../src/secrets.js';
import type { InteractionValues, Secrets } from '../../src/interactions/model.js';
import { InteractionRefused } from '../../src/interactions/problems.js';
import {
  IdentifierMoved,
  createInteraction,
  deleteInteraction,
  nameHolder,
  updateInteraction,
  type InteractionDraft,
} from '../../src/interactions/write.js';
import { CatalogRefused, createCatalogEntry, removeCatalogEntryByRef } from '../../src/catalogs/write.js';
import { ParameterRefused, setParameterValue, unsetParameterValue } from '../../src/parameter-write.js';
import { paramDef } from '../../src/parameters.js';
import { TEST_ENGINE, testDatabase } from '../support/engine.js';

const SECRETS: Secrets = { apiKey: 'wk-Aa1Bb2Cc3', apiSecretKey: 'ws-Dd4Ee5Ff6', accessToken: '77-Gg7Hh8Ii9', accessTokenSecret: 'wt-Jj0Kk1Ll2' };
const box = createSecretBox(crypto.randomBytes(32), 'test key');
const w = { now: '2026-01-01T00:00:00.000Z', actor: 'tester', box };

const opened: Db[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function fresh(): Promise<{ k: Kysely<Database>; values: InteractionValues }> {
  const db = await openDatabase(testDatabase());
  opened.push(db);
  const k = db.kysely;
  const now = w.now;
  const unit = await addCatalogEntry(k, 'unit', 'HQ', now);
  const group = await addCatalogEntry(k, 'group', 'Social', now);
  const cs = await addCatalogEntry(k, 'portfolio', 'CS', now);
  const dm = await addCatalogEntry(k, 'activity', 'DM', now, cs.id);
  const origin = await k.selectFrom('contact_origins').select(['id', 'name']).where('name', '=', 'Twitter').executeTakeFirstOrThrow();
  return {
    k,
    values: {
      name: 'Support',
      channel: 'twitter-dm',
      api: 'v1.1',
      unit: { id: unit.id, name: unit.name },
      group: { id: group.id, name: group.name },
      activity: { id: dm.id, name: dm.name, portfolio: 'CS' },
      contactOrigin: origin,
      helperInterception: false,
      devEnvironment: 'prod',
      callbackUrl: 'https://helpdesk.example.com/',
    },
  };
}

const draft = (values: InteractionValues, secrets: Partial<Secrets> = SECRETS): InteractionDraft => ({ values, secrets });

async function counts(k: Kysely<Database>) {
  const n = async (table: 'interactions' | 'audit_log' | 'units' | 'parameters') =>
    Number((await k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { interactions: await n('interactions'), audit: await n('audit_log'), units: await n('units'), parameters: await n('parameters') };
}

/** A real failure of the audit insert (or of a table's writes): a trigger that aborts the statement (each engine's syntax). */
async function failOn(k: Kysely<Database>, table: string, op: 'INSERT' | 'UPDATE' | 'DELETE'): Promise<void> {
  const name = `fail_${table}_${op.toLowerCase()}`;
  if (TEST_ENGINE === 'sqlite') {
    await sql.raw(`CREATE TRIGGER ${name} BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, '${table} ${op} refused'); END`).execute(k);
    return;
  }
  await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${table} ${op} refused'; END $$`).execute(k);
  await sql.raw(`CREATE TRIGGER ${name} BEFORE ${op} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`).execute(k);
}

async function allText(k: Kysely<Database>): Promise<string> {
  const rows = [...(await k.selectFrom('interactions').selectAll().execute()), ...(await k.selectFrom('audit_log').selectAll().execute())];
  return JSON.stringify(rows);
}

describe('the interaction write path', () => {
  it('creates the row and its audit record; credentials are encrypted and never in the audit values', async () => {
    const { k, values } = await fresh();
    const id = await createInteraction(k, draft(values), w);
    const row = await k.selectFrom('interactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.callback_url).toBe('https://helpdesk.example.com');
    expect(box.decrypt(row.api_key_enc, 'api_key_enc')).toBe(SECRETS.apiKey);
    const audit = await k.selectFrom('audit_log').selectAll().execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.changes)).toMatchObject({ name: 'Support', apiKey: 'set', accessTokenSecret: 'set' });
    const text = await allText(k);
    for (const s of Object.values(SECRETS)) expect(text).not.toContain(s);
  });

  it('leaves nothing behind when the audit record fails, on create, update and delete', async () => {
    const { k, values } = await fresh();
    const id = await createInteraction(k, draft(values), w);
    const before = await k.selectFrom('interactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    await failOn(k, 'audit_log', 'INSERT');
    await expect(createInteraction(k, draft({ ...values, name: 'Second' }), w)).rejects.toThrow(/audit_log INSERT refused/);
    await expect(updateInteraction(k, id, draft({ ...values, devEnvironment: 'staging' }, { apiKey: 'rotated-key' }), w)).rejects.toThrow(/refused/);
    await expect(deleteInteraction(k, id, w)).rejects.toThrow(/refused/);
    expect(await counts(k)).toMatchObject({ interactions: 1, audit: 1 });
    expect(await k.selectFrom('interactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow()).toEqual(before);
  });

  it('writes no audit record when the row write fails', async () => {
    const { k, values } = await fresh();
    const id = await createInteraction(k, draft(values), w);
    await failOn(k, 'interactions', 'UPDATE');
    await expect(updateInteraction(k, id, draft({ ...values, devEnvironment: 'staging' }), w)).rejects.toThrow(/interactions UPDATE refused/);
    await expect(deleteInteraction(k, id, w)).rejects.toThrow(/interactions UPDATE refused/);
    expect(await counts(k)).toMatchObject({ interactions: 1, audit: 1 });
  });

  it('refuses with problem codes and writes nothing: bad values, missing credentials, a name taken in another case', async () => {
    const { k, values } = await fresh();
    const refused = await createInteraction(k, draft({ ...values, name: '42', devEnvironment: 'a b', callbackUrl: 'http://h' }, { ...SECRETS, apiKey: 'pasted twice-Qq7', accessToken: undefined as unknown as string }), w).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InteractionRefused);
    expect((refused as InteractionRefused).problems.map((p) => `${p.field}:${p.code}`)).toEqual([
      'name:digits-only',
      'devEnvironment:bad-env-label',
      'apiKey:whitespace',
      'callbackUrl:http-needs-allow-http',
      'accessToken:missing',
    ]);
    // A refused credential is named, never repeated.
    expect(JSON.stringify((refused as InteractionRefused).problems) + (refused as Error).message).not.toContain('pasted twice');
    expect(await counts(k)).toMatchObject({ interactions: 0, audit: 0 });

    await createInteraction(k, draft(values), w);
    const taken = await createInteraction(k, draft({ ...values, name: 'SUPPORT' }), w).catch((e: unknown) => e);
    expect((taken as InteractionRefused).problems).toEqual([{ field: 'name', code: 'name-taken', value: 'SUPPORT', holder: 'Support' }]);
    expect(await nameHolder(k, ' support ')).toBe('Support');
    expect(await counts(k)).toMatchObject({ interactions: 1, audit: 1 });
  });

  it('updates only what changes, checks only what changes, and audits secrets as "changed" only', async () => {
    const { k, values } = await fresh();
    const id = await createInteraction(k, draft({ ...values, callbackUrl: 'http://localhost:8080' }), { ...w, allowHttp: true });
    // The http URL saved under --allow-http does not block editing another field.
    const same = await updateInteraction(k, id, draft({ ...values, callbackUrl: 'http://localhost:8080/' }, { apiKey: SECRETS.apiKey }), w);
    expect(same).toEqual([]);
    const changes = await updateInteraction(k, id, draft({ ...values, callbackUrl: 'http://localhost:8080', name: 'SUPPORT' }, { apiKey: 'rotated-Zz9' }), w);
    expect(changes.map((c) => c.field)).toEqual(['name', 'apiKey']);
    const audit = await k.selectFrom('audit_log').selectAll().orderBy('id').execute();
    expect(audit).toHaveLength(2);
    expect(JSON.parse(audit[1]!.changes)).toEqual({ name: { from: 'Support', to: 'SUPPORT' }, apiKey: 'changed' });
    expect(await allText(k)).not.toContain('rotated-Zz9');
    const bad = await updateInteraction(k, id, draft({ ...values, callbackUrl: 'http://other:8080' }), w).catch((e: unknown) => e);
    expect((bad as InteractionRefused).problems.map((p) => p.code)).toEqual(['http-needs-allow-http']);
  });

  it('rolls back the insert when the identifier moved (the wizard showed another one)', async () => {
    const { k, values } = await fresh();
    await expect(createInteraction(k, draft(values), w, { expectedId: 9 })).rejects.toBeInstanceOf(IdentifierMoved);
    expect(await counts(k)).toMatchObject({ interactions: 0, audit: 0 });
  });

  it('names the identifier the next attempt gets, and that attempt gets it (on PostgreSQL the rolled-back one is spent)', async () => {
    const { k, values } = await fresh();
    const moved = await createInteraction(k, draft(values), w, { expectedId: 9 }).catch((err: unknown) => err);
    expect(moved).toBeInstanceOf(IdentifierMoved);
    const next = (moved as IdentifierMoved).actual;
    expect(next).toBe(TEST_ENGINE === 'sqlite' ? 1 : 2);
    expect(await createInteraction(k, draft(values), w, { expectedId: next })).toBe(next);
  });

  it("joins the caller's transaction: a later failure there undoes the write and its audit record", async () => {
    const { k, values } = await fresh();
    await expect(
      k.transaction().execute(async (trx) => {
        await createInteraction(trx, draft(values), w);
        await createCatalogEntry(trx, 'unit', 'Branch', w);
        await setParameterValue(trx, paramDef(450)!, 'Y', w);
        throw new Error('a later step of the file failed');
      }),
    ).rejects.toThrow(/later step/);
    expect(await counts(k)).toEqual({ interactions: 0, audit: 0, units: 1, parameters: 0 });
  });
});

describe('the catalog and parameter write paths', () => {
  it('write the entry or the value with its audit record, and nothing when the audit fails', async () => {
    const { k } = await fresh();
    const unit = await createCatalogEntry(k, 'unit', ' Branch ', w);
    expect(unit.name).toBe('Branch');
    const set = await setParameterValue(k, paramDef(317)!, 'CS / DM', w);
    expect(set.old).toBeNull();
    await failOn(k, 'audit_log', 'INSERT');
    await expect(createCatalogEntry(k, 'unit', 'Third', w)).rejects.toThrow(/refused/);
    await expect(removeCatalogEntryByRef(k, 'unit', 'Branch', w)).rejects.toThrow(/refused/);
    await expect(setParameterValue(k, paramDef(450)!, 'Y', w)).rejects.toThrow(/refused/);
    await expect(unsetParameterValue(k, paramDef(317)!, w)).rejects.toThrow(/refused/);
    expect(await counts(k)).toMatchObject({ units: 2, parameters: 1, audit: 2 });
  });

  it('refuse bad names and values before touching the database', async () => {
    const { k } = await fresh();
    const digits = await createCatalogEntry(k, 'group', '12', w).catch((e: unknown) => e);
    expect(digits).toBeInstanceOf(CatalogRefused);
    expect((digits as CatalogRefused).problem).toMatchObject({ code: 'digits-only', value: '12' });
    await expect(setParameterValue(k, paramDef(450)!, 'maybe', w)).rejects.toBeInstanceOf(ParameterRefused);
    expect(await counts(k)).toMatchObject({ units: 1, parameters: 0, audit: 0 });
  });

  it('stores the API generation; only v1.1 needs a dev environment label, on create and when switching', async () => {
    const { k, values } = await fresh();
    const id = await createInteraction(k, draft({ ...values, api: 'activity', devEnvironment: '' }), w);
    const row = await k.selectFrom('interactions').select(['api', 'dev_environment']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ api: 'activity', dev_environment: '' });
    const refused = await createInteraction(k, draft({ ...values, name: 'Legacy', api: 'v1.1', devEnvironment: '' }), w).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InteractionRefused);
    expect((refused as InteractionRefused).problems).toEqual([{ field: 'devEnvironment', code: 'env-label-needs-v1.1' }]);
    // Switching the stored activity interaction to v1.1 without a label is refused; with one it is written and audited.
    const stored = { ...values, api: 'activity' as const, devEnvironment: '', callbackUrl: 'https://helpdesk.example.com' };
    await expect(updateInteraction(k, id, draft({ ...stored, api: 'v1.1' }, {}), w)).rejects.toThrow('the premium Account Activity API (v1.1) needs a development environment label');
    const changes = await updateInteraction(k, id, draft({ ...stored, api: 'v1.1', devEnvironment: 'prod' }, {}), w);
    expect(changes.map((c) => c.field)).toEqual(['api', 'devEnvironment']);
    const audit = await k.selectFrom('audit_log').select('changes').where('action', '=', 'update').executeTakeFirstOrThrow();
    expect(JSON.parse(audit.changes)).toEqual({ api: { from: 'activity', to: 'v1.1' }, devEnvironment: { from: '', to: 'prod' } });
  });
});
