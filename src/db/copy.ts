// `omni db copy`: moves an installation (every table, ids kept) into a PostgreSQL database. Tables go
// parents first (foreign keys), each in batches of one transaction; the identity sequences then
// continue past the highest id ever handed out, and the row counts of both sides must agree.
import { sql, type Kysely } from 'kysely';
import type { Db } from './connection.js';
import { DbError } from './errors.js';

/** What migration 0001 seeds: a target holding only these is still empty. */
const SEEDED_ORIGINS = ['Service Desk', 'E-mail', 'Facebook', 'Twitter', 'WhatsApp'];

export interface CopyOptions {
  force?: boolean;
  batchSize?: number;
  /** Called after each table. */
  progress?: (table: string, rows: number) => void;
}

export interface CopiedTable {
  table: string;
  rows: number;
  /** The next id the target hands out (identity tables); null for tables without one. */
  nextId: number | null;
}

interface TargetTable {
  name: string;
  key: string;
  identity: boolean;
}

/** The target's tables, parents before children, with the primary key column of each. */
async function targetTables(db: Kysely<any>): Promise<TargetTable[]> {
  const { rows: tables } = await sql<{ name: string; key: string | null; identity: boolean }>`
    select c.relname as name,
           (select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
             where i.indrelid = c.oid and i.indisprimary) as key,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attidentity <> '' and not a.attisdropped) as identity
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind = 'r' and c.relname not like 'kysely\\_%' and c.relname <> 'listener_cache_version'
     order by c.relname`.execute(db);
  const { rows: fks } = await sql<{ child: string; parent: string }>`
    select cl.relname as child, pa.relname as parent
      from pg_constraint k join pg_class cl on cl.oid = k.conrelid join pg_class pa on pa.oid = k.confrelid
      join pg_namespace n on n.oid = cl.relnamespace
     where k.contype = 'f' and n.nspname = current_schema()`.execute(db);
  const parents = new Map(tables.map((t) => [t.name, new Set<string>()]));
  for (const fk of fks) if (fk.child !== fk.parent) parents.get(fk.child)?.add(fk.parent);
  const ordered: TargetTable[] = [];
  const done = new Set<string>();
  while (ordered.length < tables.length) {
    const next = tables.find((t) => !done.has(t.name) && [...parents.get(t.name)!].every((p) => done.has(p)));
    if (!next) throw new DbError('the target schema has a foreign key cycle omni cannot order', 'report a bug');
    if (!next.key) throw new DbError(`table ${next.name} has no primary key to copy it by`, 'report a bug');
    ordered.push({ name: next.name, key: next.key, identity: next.identity });
    done.add(next.name);
  }
  return ordered;
}

async function count(db: Kysely<any>, table: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Tables of the target that hold data (the seeded contact origins do not count). */
export async function nonEmptyTables(db: Kysely<any>, tables: readonly string[]): Promise<string[]> {
  const full: string[] = [];
  for (const t of tables) {
    if (t === 'contact_origins') {
      const rows = await db.selectFrom(t).select('name').execute();
      if (rows.some((r) => !SEEDED_ORIGINS.includes(r.name as string))) full.push(t);
    } else if ((await count(db, t)) > 0) full.push(t);
  }
  return full;
}

/** The highest id the source ever handed out for a table (AUTOINCREMENT / the identity never reuse one). */
async function highestIssuedId(source: Db, table: string, key: string): Promise<number> {
  const { max } = await (source.kysely as Kysely<any>).selectFrom(table).select((eb) => eb.fn.max(key).as('max')).executeTakeFirstOrThrow();
  let issued = Number(max ?? 0);
  if (source.engine === 'sqlite') {
    const row = source.sqlite.prepare('select seq from sqlite_sequence where name = ?').get(table) as { seq: number } | undefined;
    issued = Math.max(issued, Number(row?.seq ?? 0));
  } else {
    const { rows } = await sql<{ seq: number | null }>`select pg_sequence_last_value(pg_get_serial_sequence(${table}, ${key})::regclass) as seq`.execute(source.kysely);
    issued = Math.max(issued, Number(rows[0]?.seq ?? 0));
  }
  return issued;
}

export async function copyDatabase(source: Db, target: Db, options: CopyOptions = {}): Promise<CopiedTable[]> {
  if (target.engine !== 'postgres') throw new DbError(`--to must be a postgres:// URL, not ${target.path}`, 'e.g. --to postgres://omni@db.example.com:5432/omni', 2);
  const batchSize = options.batchSize ?? 500;
  // Table names come from the target's catalog at run time, so the queries are untyped here.
  const src = source.kysely as Kysely<any>;
  const dst = target.kysely as Kysely<any>;
  const tables = await targetTables(dst);
  const sourceTables = new Set((await src.introspection.getTables()).map((t) => t.name));
  const missing = tables.filter((t) => !sourceTables.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    throw new DbError(`the source ${source.path} has no table ${missing.join(', ')}`, 'open it once with this omni (omni --db <source> db status) so that it is migrated, then copy again');
  }

  const full = await nonEmptyTables(dst, tables.map((t) => t.name));
  if (full.length > 0 && !options.force) {
    throw new DbError(`the target ${target.path} already holds data (${full.join(', ')})`, 'copy into an empty database, or add --force to delete everything in the target first', 2);
  }
  // Children first, then parents: what the copy replaces goes in one transaction.
  await dst.transaction().execute(async (trx) => {
    for (const t of [...tables].reverse()) await trx.deleteFrom(t.name).execute();
  });

  const copied: CopiedTable[] = [];
  for (const t of tables) {
    let last: number | string | undefined;
    let rows = 0;
    for (;;) {
      let q = src.selectFrom(t.name).selectAll().orderBy(t.key).limit(batchSize);
      if (last !== undefined) q = q.where(t.key, '>', last);
      const batch = (await q.execute()) as Record<string, unknown>[];
      if (batch.length === 0) break;
      // OVERRIDING SYSTEM VALUE is not needed: the identities are GENERATED BY DEFAULT.
      await dst.transaction().execute(async (trx) => {
        await trx.insertInto(t.name).values(batch).execute();
      });
      rows += batch.length;
      last = batch[batch.length - 1]![t.key] as number | string;
      if (batch.length < batchSize) break;
    }
    let nextId: number | null = null;
    if (t.identity) {
      const issued = await highestIssuedId(source, t.name, t.key);
      // is_called=false with 1: the first id is 1; otherwise the next id is issued + 1.
      await sql`select setval(pg_get_serial_sequence(${t.name}, ${t.key})::regclass, ${Math.max(issued, 1)}, ${issued > 0})`.execute(dst);
      nextId = issued + 1;
    }
    const [from, to] = [await count(src, t.name), await count(dst, t.name)];
    if (from !== to || to !== rows) {
      throw new DbError(`row counts differ after copying ${t.name}: source ${from}, target ${to}`, 'something wrote to the source during the copy; stop omni on it and copy again with --force');
    }
    copied.push({ table: t.name, rows, nextId });
    options.progress?.(t.name, rows);
  }
  return copied;
}
