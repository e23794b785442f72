// `omni <catalog> list`: the entries of one catalog.
import type { Context } from '../../cli/context.js';
import type { Action } from '../../cli/runner.js';
import { catalogLabels, findCatalogEntry, listCatalog, type CatalogKind, type CatalogRow } from '../../db/catalogs.js';
import { printJson, printTable } from '../../cli/output.js';
import { catalogJson } from './entries.js';

type Opts = { json?: boolean };

/** Activities also take --portfolio; the other catalogs do not declare it, so their actions do not read it. */
export function listAction(kind: 'activity'): Action<[], Opts & { portfolio?: string }>;
export function listAction(kind: Exclude<CatalogKind, 'activity'>): Action<[], Opts>;
export function listAction(kind: CatalogKind): Action<[], Opts & { portfolio?: string }> {
  return async (ctx: Context, _args: [], opts: Opts & { portfolio?: string }) => {
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
