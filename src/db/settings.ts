// omni's own named settings (messages.retention, ...), as opposed to 4biz's numbered parameters.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export async function getSetting(db: Kysely<Database>, name: string): Promise<{ value: string; updated_at: string } | undefined> {
  return db.selectFrom('settings').select(['value', 'updated_at']).where('name', '=', name).executeTakeFirst();
}

export async function setSetting(db: Kysely<Database>, name: string, value: string, now: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ name, value, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
    .execute();
}

export async function unsetSetting(db: Kysely<Database>, name: string): Promise<boolean> {
  const res = await db.deleteFrom('settings').where('name', '=', name).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
