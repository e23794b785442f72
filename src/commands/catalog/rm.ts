// `omni <catalog> rm`: remove an entry nothing references (with its audit record).
import type { Context } from '../../cli/context.js';
import type { Action } from '../../cli/runner.js';
import { catalogLabels, type CatalogKind } from '../../db/catalogs.js';
import { removeCatalogEntryByRef } from '../../catalogs/write.js';
import { printJson, success } from '../../cli/output.js';
import { catalogJson } from './entries.js';

type Opts = { json?: boolean };

/** Activities also take --portfolio; the other catalogs do not declare it, so their actions do not read it. */
export function rmAction(kind: 'activity'): Action<[string], Opts & { portfolio?: string }>;
export function rmAction(kind: Exclude<CatalogKind, 'activity'>): Action<[string], Opts>;
export function rmAction(kind: CatalogKind): Action<[string], Opts & { portfolio?: string }> {
  return async (ctx: Context, [ref]: [string], opts: Opts & { portfolio?: string }) => {
    const db = (await ctx.db()).kysely;
    const row = await removeCatalogEntryByRef(db, kind, ref, { now: ctx.clock().toISOString(), actor: ctx.actor }, opts.portfolio);
    if (opts.json) printJson(ctx, catalogJson(kind, row));
    else success(ctx, `removed ${catalogLabels[kind]} ${row.id} '${row.name}'`);
  };
}
