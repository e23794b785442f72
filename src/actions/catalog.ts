// Actions of the catalog commands. Every change is written with its audit record in one transaction.
import type { Context } from '../context.js';
import type { Action } from '../commands/run.js';
import {
  addCatalogEntry,
  catalogLabels,
  findCatalogEntry,
  listCatalog,
  removeCatalogEntry,
  type CatalogKind,
  type CatalogRow,
} from '../db/catalogs.js';
import { recordAudit } from '../db/audit.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { paramsReferencing } from '../params.js';
import { printJson, printTable, success } from '../output.js';
import { UsageError } from '../errors.js';

export function catalogJson(kind: CatalogKind, row: CatalogRow) {
  return kind === 'activity'
    ? { id: row.id, name: row.name, portfolio: { id: row.portfolio_id, name: row.portfolio_name }, createdAt: row.created_at }
    : { id: row.id, name: row.name, createdAt: row.created_at };
}

export function cleanName(kind: CatalogKind, name: string): string {
  const n = name.trim();
  if (n === '') throw new UsageError(`a ${catalogLabels[kind]} needs a non-empty name`);
  if (/^\d+$/.test(n)) throw new UsageError(`'${n}' looks like an id; give the ${catalogLabels[kind]} a name with letters`, 'ids are assigned by omni');
  return n;
}

/** Creates an entry with its audit record in one transaction (the `add` command and the wizard's "Create new…"). */
export async function createCatalogEntry(
  ctx: Pick<Context, 'now' | 'actor'>,
  db: Kysely<Database>,
  kind: CatalogKind,
  name: string,
  portfolio?: { id: number; name: string },
): Promise<CatalogRow> {
  return db.transaction().execute(async (trx) => {
    const now = ctx.now().toISOString();
    const created = await addCatalogEntry(trx, kind, name, now, portfolio?.id);
    await recordAudit(trx, {
      at: now,
      actor: ctx.actor,
      entity: kind,
      entityId: created.id,
      action: 'create',
      changes: { name, ...(portfolio ? { portfolio: portfolio.name } : {}) },
    });
    return { ...created, ...(portfolio ? { portfolio_name: portfolio.name } : {}) };
  });
}

export function addAction(kind: CatalogKind): Action {
  return async (ctx: Context, [rawName]: [string], opts: { json?: boolean; portfolio?: string }) => {
    const name = cleanName(kind, rawName);
    const db = (await ctx.db()).kysely;
    const portfolio = kind === 'activity' ? await findCatalogEntry(db, 'portfolio', opts.portfolio ?? '') : undefined;
    const row = await createCatalogEntry(ctx, db, kind, name, portfolio);
    if (opts.json) printJson(ctx, catalogJson(kind, row));
    else success(ctx, `created ${catalogLabels[kind]} ${row.id} '${row.name}'`);
  };
}

export function listAction(kind: CatalogKind): Action {
  return async (ctx: Context, _args: [], opts: { json?: boolean; portfolio?: string }) => {
    const db = (await ctx.db()).kysely;
    const portfolio = opts.portfolio ? await findCatalogEntry(db, 'portfolio', opts.portfolio) : undefined;
    const rows = await listCatalog(db, kind, portfolio?.id);
    if (opts.json) return printJson(ctx, rows.map((r) => catalogJson(kind, r)));
    printTable(
      ctx,
      [
        { header: 'id', value: (r: CatalogRow) => r.id },
        ...(kind === 'activity' ? [{ header: 'portfolio', value: (r: CatalogRow) => r.portfolio_name }] : []),
        { header: 'name', value: (r: CatalogRow) => r.name },
      ],
      rows,
      `no ${catalogLabels[kind]} yet; create one with: omni ${kind} add <name>${kind === 'activity' ? ' --portfolio <p>' : ''}`,
    );
  };
}

export function rmAction(kind: CatalogKind): Action {
  return async (ctx: Context, [ref]: [string], opts: { json?: boolean; portfolio?: string }) => {
    const db = (await ctx.db()).kysely;
    const now = ctx.now().toISOString();
    const row = await db.transaction().execute(async (trx) => {
      const portfolio = opts.portfolio ? await findCatalogEntry(trx, 'portfolio', opts.portfolio) : undefined;
      const entry = await findCatalogEntry(trx, kind, ref, portfolio?.id);
      await removeCatalogEntry(trx, kind, entry, paramsReferencing(kind));
      await recordAudit(trx, { at: now, actor: ctx.actor, entity: kind, entityId: entry.id, action: 'delete', changes: { name: entry.name } });
      return entry;
    });
    if (opts.json) printJson(ctx, catalogJson(kind, row));
    else success(ctx, `removed ${catalogLabels[kind]} ${row.id} '${row.name}'`);
  };
}
