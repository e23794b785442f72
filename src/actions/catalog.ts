// Actions of the catalog commands. Every change goes through the catalog write path (src/catalogs/write.ts).
import type { Context } from '../context.js';
import type { Action } from '../commands/run.js';
import {
  catalogLabels,
  findCatalogEntry,
  listCatalog,
  type CatalogKind,
  type CatalogRow,
} from '../db/catalogs.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import {
  catalogNameRule,
  catalogProblemFix,
  catalogProblemSentence,
  createCatalogEntry as createEntry,
  removeCatalogEntryByRef,
} from '../catalogs/write.js';
import { printJson, printTable, success } from '../output.js';
import { UsageError } from '../errors.js';

export function catalogJson(kind: CatalogKind, row: CatalogRow) {
  return kind === 'activity'
    ? { id: row.id, name: row.name, portfolio: { id: row.portfolio_id, name: row.portfolio_name }, createdAt: row.created_at }
    : { id: row.id, name: row.name, createdAt: row.created_at };
}

/** Creates an entry with its audit record (the `add` command and the wizard's "Create new…"), through the catalog write path. */
export async function createCatalogEntry(
  ctx: Pick<Context, 'now' | 'actor'>,
  db: Kysely<Database>,
  kind: CatalogKind,
  name: string,
  portfolio?: { id: number; name: string },
): Promise<CatalogRow> {
  return createEntry(db, kind, name, { now: ctx.now().toISOString(), actor: ctx.actor }, portfolio);
}

export function addAction(kind: CatalogKind): Action {
  return async (ctx: Context, [rawName]: [string], opts: { json?: boolean; portfolio?: string }) => {
    const problem = catalogNameRule(kind, rawName);
    if (problem) throw new UsageError(catalogProblemSentence(problem), catalogProblemFix(problem));
    const name = rawName.trim();
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
    const row = await removeCatalogEntryByRef(db, kind, ref, { now: ctx.now().toISOString(), actor: ctx.actor }, opts.portfolio);
    if (opts.json) printJson(ctx, catalogJson(kind, row));
    else success(ctx, `removed ${catalogLabels[kind]} ${row.id} '${row.name}'`);
  };
}
