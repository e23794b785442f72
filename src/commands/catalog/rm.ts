// `omni <catalog> rm`: remove an entry nothing references (with its audit record).
import type { Context } from '../../cli/context.js';
import type { Action } from '../../cli/runner.js';
import { catalogLabels, findCatalogEntry, removeCatalogEntry, type CatalogKind } from '../../db/catalogs.js';
import { recordAudit } from '../../db/audit.js';
import { paramsReferencing } from '../../parameters.js';
import { printJson, success } from '../../cli/output.js';
import { catalogJson } from './entries.js';

type Opts = { json?: boolean };

/** Activities also take --portfolio; the other catalogs do not declare it, so their actions do not read it. */
export function rmAction(kind: 'activity'): Action<[string], Opts & { portfolio?: string }>;
export function rmAction(kind: Exclude<CatalogKind, 'activity'>): Action<[string], Opts>;
export function rmAction(kind: CatalogKind): Action<[string], Opts & { portfolio?: string }> {
  return async (ctx: Context, [ref]: [string], opts: Opts & { portfolio?: string }) => {
    const db = (await ctx.db()).kysely;
    const now = ctx.clock().toISOString();
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
