// `omni param set`: validate (src/parameters.ts), resolve catalog names to ids, write with the audit record in one transaction.
import type { Context } from '../../cli/context.js';
import { recordAudit } from '../../db/audit.js';
import { findCatalogEntry } from '../../db/catalogs.js';
import { getParameter, setParameter } from '../../db/parameters.js';
import { checkParamValue } from '../../parameters.js';
import { UsageError } from '../../errors.js';
import { printJson, success, warn } from '../../cli/output.js';
import { requireParam, display, loadView } from './shared.js';

export async function setAction(ctx: Context, [rawNumber, rawValue]: [string, string], opts: { json?: boolean }): Promise<void> {
  const def = requireParam(rawNumber);
  // Pure validation first: a malformed value fails before the database is even opened.
  const check = checkParamValue(def, rawValue);
  if (check.status === 'invalid') throw new UsageError(check.message, check.hint);
  if (check.status === 'ok' && check.warning) warn(ctx, check.warning);

  const db = (await ctx.db()).kysely;
  const now = ctx.clock().toISOString();
  const { old, value } = await db.transaction().execute(async (trx) => {
    const value = check.status === 'lookup' ? String((await findCatalogEntry(trx, check.catalog, check.ref)).id) : check.value;
    const old = (await getParameter(trx, def.number)) ?? null;
    if (old !== value) {
      await setParameter(trx, def.number, value, now);
      await recordAudit(trx, { at: now, actor: ctx.actor, entity: 'parameter', entityId: def.number, action: 'set', changes: { value: { from: old, to: value } } });
    }
    return { old, value };
  });

  const v = await loadView(db, def);
  if (opts.json) printJson(ctx, v);
  if (old === value) success(ctx, `parameter ${def.number} (${def.name}) is already ${v.display}; nothing changed`);
  else success(ctx, `parameter ${def.number} (${def.name}) set to ${v.display}${old === null ? '' : ` (was ${await display(db, def, old)})`}`);
}
