// Interactions: one Twitter account and its credentials bound to the helpdesk's defaults.
// Secrets arrive here already encrypted (src/secrets.ts); this layer never sees them in clear.
import { sql, type Kysely } from 'kysely';
import type { Database, Interaction, InteractionUpdate, NewInteraction } from './schema.js';
import { ConflictError, DbError, isUniqueViolation } from './errors.js';
import { engineOf } from './engine.js';

/** An interaction with the names of the catalog entries it points at. */
export interface InteractionView extends Interaction {
  unit_name: string | null;
  group_name: string | null;
  activity_name: string | null;
  portfolio_id: number | null;
  portfolio_name: string | null;
  contact_origin_name: string | null;
}

export interface InteractionFilter {
  /** Substring of the name, case-insensitive. */
  name?: string;
  channel?: string;
  unitId?: number;
  groupId?: number;
  /** true: only deleted ones; false/undefined: only live ones. */
  deleted?: boolean;
  /** Both live and deleted. */
  all?: boolean;
}

function viewQuery(db: Kysely<Database>) {
  return db
    .selectFrom('interactions as i')
    .leftJoin('units as u', 'u.id', 'i.unit_id')
    .leftJoin('groups as g', 'g.id', 'i.group_id')
    .leftJoin('activities as a', 'a.id', 'i.activity_id')
    .leftJoin('portfolios as p', 'p.id', 'a.portfolio_id')
    .leftJoin('contact_origins as o', 'o.id', 'i.contact_origin_id')
    .selectAll('i')
    .select([
      'u.name as unit_name',
      'g.name as group_name',
      'a.name as activity_name',
      'p.id as portfolio_id',
      'p.name as portfolio_name',
      'o.name as contact_origin_name',
    ]);
}

export async function insertInteraction(db: Kysely<Database>, row: NewInteraction): Promise<Interaction> {
  try {
    return await db.insertInto('interactions').values(row).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(String(row.name));
    throw err;
  }
}

function nameTaken(name: string): ConflictError {
  return new ConflictError(`an interaction named '${name}' already exists`, 'choose another --name, or edit the existing one: omni interaction edit "' + name + '"');
}

export async function getInteraction(db: Kysely<Database>, id: number, includeDeleted = false): Promise<InteractionView | undefined> {
  let q = viewQuery(db).where('i.id', '=', id);
  if (!includeDeleted) q = q.where('i.deleted_at', 'is', null);
  return q.executeTakeFirst();
}

/** By id ("3") or exact name; live interactions unless includeDeleted. */
export async function findInteraction(db: Kysely<Database>, ref: string, includeDeleted = false): Promise<InteractionView> {
  const r = ref.trim();
  if (/^\d+$/.test(r)) {
    const byId = await getInteraction(db, Number(r), includeDeleted);
    if (byId) return byId;
  }
  let q = viewQuery(db).where('i.name', '=', r).orderBy('i.id', 'desc');
  if (!includeDeleted) q = q.where('i.deleted_at', 'is', null);
  const byName = await q.executeTakeFirst();
  if (byName) return byName;
  throw new DbError(`no interaction '${ref}'`, 'list them with: omni interaction list' + (includeDeleted ? '' : ' (deleted ones: --deleted)'));
}

function filtered<Q extends { where: (...args: any[]) => Q }>(q: Q, f: InteractionFilter): Q {
  let out = q;
  if (!f.all) out = f.deleted ? out.where('i.deleted_at', 'is not', null) : out.where('i.deleted_at', 'is', null);
  if (f.channel) out = out.where('i.channel', '=', f.channel);
  if (f.unitId !== undefined) out = out.where('i.unit_id', '=', f.unitId);
  if (f.groupId !== undefined) out = out.where('i.group_id', '=', f.groupId);
  return out;
}

/** Substring match in JS: LIKE escaping differs between SQLite and PostgreSQL, and the list is small. */
function byName<T extends { name: string }>(rows: T[], f: InteractionFilter): T[] {
  const needle = f.name?.toLowerCase();
  return needle ? rows.filter((r) => r.name.toLowerCase().includes(needle)) : rows;
}

export async function listInteractions(db: Kysely<Database>, f: InteractionFilter = {}): Promise<InteractionView[]> {
  return byName(await filtered(viewQuery(db).orderBy('i.id'), f).execute(), f);
}

/** What a table of interactions shows. */
export type InteractionSummary = Pick<
  InteractionView,
  'id' | 'name' | 'channel' | 'api' | 'unit_name' | 'group_name' | 'dev_environment' | 'webhook_id' | 'webhook_valid' | 'revoked_at' | 'deleted_at'
>;

/**
 * The same list without the credentials and the other wide columns: reading the four encrypted
 * secrets of 1,000 rows costs more than the rest of `interaction list` together.
 */
export async function listInteractionSummaries(db: Kysely<Database>, f: InteractionFilter = {}): Promise<InteractionSummary[]> {
  const q = db
    .selectFrom('interactions as i')
    .leftJoin('units as u', 'u.id', 'i.unit_id')
    .leftJoin('groups as g', 'g.id', 'i.group_id')
    .select(['i.id', 'i.name', 'i.channel', 'i.api', 'i.dev_environment', 'i.webhook_id', 'i.webhook_valid', 'i.revoked_at', 'i.deleted_at', 'u.name as unit_name', 'g.name as group_name'])
    .orderBy('i.id');
  return byName(await filtered(q, f).execute(), f);
}

export async function updateInteraction(db: Kysely<Database>, id: number, patch: InteractionUpdate): Promise<void> {
  try {
    await db.updateTable('interactions').set(patch).where('id', '=', id).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(String(patch.name));
    throw err;
  }
}

/** Logical delete, as in 4biz: the row, its tickets and messages stay. */
export async function softDeleteInteraction(db: Kysely<Database>, id: number, now: string): Promise<void> {
  await db.updateTable('interactions').set({ deleted_at: now, updated_at: now }).where('id', '=', id).execute();
}

/**
 * The identifier the next insert will get, so the wizard can show it before saving (4biz shows it
 * pre-filled). SQLite's AUTOINCREMENT never reuses ids: the next one is past both the highest id and
 * the highest ever handed out (sqlite_sequence). On PostgreSQL the identity's sequence plays that part.
 * Only an estimate under concurrency: the insert reports the id it really got.
 */
export async function nextInteractionId(db: Kysely<Database>): Promise<number> {
  const { max } = await db
    .selectFrom('interactions')
    .select((eb) => eb.fn.max<number | null>('id').as('max'))
    .executeTakeFirstOrThrow();
  const seq =
    engineOf(db) === 'postgres'
      ? // The identity's sequence: its last value, or nothing while it was never used (pg_sequence_last_value is NULL then).
        await sql<{ seq: number | null }>`select pg_sequence_last_value(pg_get_serial_sequence('interactions', 'id')::regclass) as seq`.execute(db)
      : await sql<{ seq: number }>`select seq from sqlite_sequence where name = 'interactions'`.execute(db);
  return Math.max(Number(max ?? 0), Number(seq.rows[0]?.seq ?? 0)) + 1;
}
