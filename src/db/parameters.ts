// Stored values of the numbered 4biz parameters. What a number means lives in src/parameters.ts.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export async function getParameters(db: Kysely<Database>): Promise<Map<number, string>> {
  const rows = await db.selectFrom('parameters').select(['number', 'value']).execute();
  return new Map(rows.map((r) => [r.number, r.value]));
}

export async function getParameter(db: Kysely<Database>, number: number): Promise<string | undefined> {
  const row = await db.selectFrom('parameters').select('value').where('number', '=', number).executeTakeFirst();
  return row?.value;
}

export async function setParameter(db: Kysely<Database>, number: number, value: string, now: string): Promise<void> {
  await db
    .insertInto('parameters')
    .values({ number, value, updated_at: now })
    .onConflict((oc) => oc.column('number').doUpdateSet({ value, updated_at: now }))
    .execute();
}

export async function unsetParameter(db: Kysely<Database>, number: number): Promise<boolean> {
  const res = await db.deleteFrom('parameters').where('number', '=', number).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export interface ParameterRow {
  number: number;
  value: string;
  updated_at: string;
}

/** Every stored value with when it was last set, by number. */
export async function listParameterRows(db: Kysely<Database>): Promise<ParameterRow[]> {
  return db.selectFrom('parameters').select(['number', 'value', 'updated_at']).orderBy('number').execute();
}
