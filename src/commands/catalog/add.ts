// `omni <catalog> add`: create an entry (with its audit record).
import type { Context } from '../../cli/context.js';
import type { Action } from '../../cli/runner.js';
import { catalogLabels, findCatalogEntry, type CatalogKind } from '../../db/catalogs.js';
import { printJson, success } from '../../cli/output.js';
import { catalogNameRule, catalogProblemFix, catalogProblemSentence } from '../../catalogs/write.js';
import { UsageError } from '../../errors.js';
import { catalogJson, createCatalogEntry } from './entries.js';

type Opts = { json?: boolean };

/** Activities also take --portfolio; the other catalogs do not declare it, so their actions do not read it. */
export function addAction(kind: 'activity'): Action<[string], Opts & { portfolio?: string }>;
export function addAction(kind: Exclude<CatalogKind, 'activity'>): Action<[string], Opts>;
export function addAction(kind: CatalogKind): Action<[string], Opts & { portfolio?: string }> {
  return async (ctx: Context, [rawName]: [string], opts: Opts & { portfolio?: string }) => {
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
