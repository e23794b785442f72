// Catalog entries 4biz requires before an interaction: units, groups, portfolios and their
// activities, contact origins, contracts. Referenced by id or by name everywhere.
import type { Kysely } from 'kysely';
import type { Activity, CatalogEntry, Database } from './schema.js';
import { ConflictError, DbError, ReferencedError, isUniqueViolation } from './errors.js';

/** The catalog kinds: the one declaration every other module derives from. */
export const CATALOG_KINDS = ['unit', 'group', 'portfolio', 'activity', 'origin', 'contract'] as const;
export type CatalogKind = (typeof CATALOG_KINDS)[number];

export const catalogTables = {
  unit: 'units',
  group: 'groups',
  portfolio: 'portfolios',
  activity: 'activities',
  origin: 'contact_origins',
  contract: 'contracts',
} as const;

export const catalogLabels: Record<CatalogKind, string> = {
  unit: 'unit',
  group: 'group',
  portfolio: 'portfolio',
  activity: 'activity',
  origin: 'contact origin',
  contract: 'contract',
};

export interface CatalogRow extends CatalogEntry {
  /** Activities only. */
  portfolio_id?: number;
  portfolio_name?: string;
}

export async function addCatalogEntry(
  db: Kysely<Database>,
  kind: CatalogKind,
  name: string,
  now: string,
  portfolioId?: number,
): Promise<CatalogRow> {
  try {
    if (kind === 'activity') {
      if (portfolioId === undefined) throw new DbError('an activity needs a portfolio', 'pass --portfolio <id|name>', 2);
      const row = await db
        .insertInto('activities')
        .values({ name, portfolio_id: portfolioId, created_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return row;
    }
    return await db
      .insertInto(catalogTables[kind])
      .values({ name, created_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ConflictError(
        `a ${catalogLabels[kind]} named '${name}' already exists${kind === 'activity' ? ' in that portfolio' : ''}`,
        `list them with: omni ${kind} list`,
      );
    }
    throw err;
  }
}

/** Activities with their portfolio's name: an activity name is unique only within a portfolio. */
function activityQuery(db: Kysely<Database>) {
  return db
    .selectFrom('activities')
    .innerJoin('portfolios', 'portfolios.id', 'activities.portfolio_id')
    .select(['activities.id', 'activities.name', 'activities.created_at', 'activities.portfolio_id', 'portfolios.name as portfolio_name'])
    .orderBy('activities.id');
}

export async function listCatalog(db: Kysely<Database>, kind: CatalogKind, portfolioId?: number): Promise<CatalogRow[]> {
  if (kind === 'activity') {
    const q = activityQuery(db);
    return (portfolioId === undefined ? q : q.where('activities.portfolio_id', '=', portfolioId)).execute();
  }
  return db.selectFrom(catalogTables[kind]).selectAll().orderBy('id').execute();
}

export async function getCatalogEntry(db: Kysely<Database>, kind: CatalogKind, id: number): Promise<CatalogRow | undefined> {
  const rows = await listCatalogWhere(db, kind, 'id', id);
  return rows[0];
}

async function listCatalogWhere(db: Kysely<Database>, kind: CatalogKind, col: 'id' | 'name', value: string | number): Promise<CatalogRow[]> {
  if (kind === 'activity') return activityQuery(db).where(`activities.${col}`, '=', value as never).execute();
  return db.selectFrom(catalogTables[kind]).selectAll().where(col, '=', value as never).orderBy('id').execute();
}

/**
 * Finds an entry by id ("12") or by exact name. An activity name that exists in several portfolios
 * is ambiguous unless `portfolioId` narrows it.
 */
export async function findCatalogEntry(
  db: Kysely<Database>,
  kind: CatalogKind,
  ref: string,
  portfolioId?: number,
): Promise<CatalogRow> {
  const label = catalogLabels[kind];
  const trimmed = ref.trim();
  if (/^\d+$/.test(trimmed)) {
    const byId = await getCatalogEntry(db, kind, Number(trimmed));
    if (byId) return byId;
  }
  let byName = await listCatalogWhere(db, kind, 'name', trimmed);
  if (portfolioId !== undefined) byName = byName.filter((r) => r.portfolio_id === portfolioId);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new DbError(
      `the ${label} name '${ref}' is ambiguous: it exists in portfolios ${byName.map((r) => `'${r.portfolio_name}'`).join(', ')}`,
      `use its id instead (omni ${kind} list)`,
      2,
    );
  }
  // A name is never digits only, so a number that is no id cannot be created under that name either.
  if (/^\d+$/.test(trimmed)) throw new DbError(`no ${label} with id ${trimmed}`, `list them with: omni ${kind} list, and use an id or name from there`, 2);
  throw new DbError(`no ${label} '${ref}'`, `list them with: omni ${kind} list, or create it with: omni ${kind} add "${ref}"`, 2);
}

/** Names what still points at an entry, so `rm` can refuse with a reason. */
export async function catalogReferences(
  db: Kysely<Database>,
  kind: CatalogKind,
  id: number,
  parameterNumbers: number[] = [],
): Promise<string[]> {
  const refs: string[] = [];
  const interactionColumn = {
    unit: 'unit_id',
    group: 'group_id',
    activity: 'activity_id',
    origin: 'contact_origin_id',
  } as const;
  if (kind in interactionColumn) {
    const col = interactionColumn[kind as keyof typeof interactionColumn];
    const rows = await db.selectFrom('interactions').select(['id', 'name', 'deleted_at']).where(col, '=', id).execute();
    for (const r of rows) refs.push(`interaction ${r.id} '${r.name}'${r.deleted_at ? ' (deleted)' : ''}`);
  }
  const ticketColumn = {
    unit: 'unit_id',
    group: 'group_id',
    activity: 'activity_id',
    origin: 'contact_origin_id',
    contract: 'contract_id',
  } as const;
  if (kind in ticketColumn) {
    const col = ticketColumn[kind as keyof typeof ticketColumn];
    const { n } = await db
      .selectFrom('tickets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(col, '=', id)
      .executeTakeFirstOrThrow();
    if (Number(n) > 0) refs.push(`${n} ticket${Number(n) === 1 ? '' : 's'}`);
  }
  if (kind === 'unit' || kind === 'group') {
    const { n } = await db
      .selectFrom('requesters')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(kind === 'unit' ? 'unit_id' : 'group_id', '=', id)
      .executeTakeFirstOrThrow();
    if (Number(n) > 0) refs.push(`${n} requester${Number(n) === 1 ? '' : 's'}`);
  }
  if (kind === 'portfolio') {
    const rows = await db.selectFrom('activities').select(['id', 'name']).where('portfolio_id', '=', id).execute();
    for (const r of rows) refs.push(`activity ${r.id} '${r.name}'`);
  }
  if (parameterNumbers.length > 0) {
    const rows = await db
      .selectFrom('parameters')
      .select('number')
      .where('number', 'in', parameterNumbers)
      .where('value', '=', String(id))
      .execute();
    for (const r of rows) refs.push(`parameter ${r.number}`);
  }
  return refs;
}

export async function removeCatalogEntry(
  db: Kysely<Database>,
  kind: CatalogKind,
  entry: CatalogRow,
  parameterNumbers: number[] = [],
): Promise<void> {
  const refs = await catalogReferences(db, kind, entry.id, parameterNumbers);
  if (refs.length > 0) throw new ReferencedError(`${catalogLabels[kind]} ${entry.id} '${entry.name}'`, refs);
  await db.deleteFrom(catalogTables[kind]).where('id', '=', entry.id).execute();
}

export type { Activity };
