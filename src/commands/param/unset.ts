// `omni param unset`: clear a parameter, with its audit record in the same transaction.
import type { Context } from '../../cli/context.js';
import { recordAudit } from '../../db/audit.js';
import { getParameter, unsetParameter } from '../../db/parameters.js';
import { success } from '../../cli/output.js';
import { requireParam, display } from './shared.js';

export async function unsetAction(ctx: Context, [rawNumber]: [string]): Promise<void> {
  const def = requireParam(rawNumber);
  const db = (await ctx.db()).kysely;
  const now = ctx.clock().toISOString();
  const old = await db.transaction().execute(async (trx) => {
    const old = (await getParameter(trx, def.number)) ?? null;
    if (old !== null) {
      await unsetParameter(trx, def.number);
      await recordAudit(trx, { at: now, actor: ctx.actor, entity: 'parameter', entityId: def.number, action: 'unset', changes: { value: { from: old, to: null } } });
    }
    return old;
  });
  if (old === null) success(ctx, `parameter ${def.number} (${def.name}) was not set; nothing changed`);
  else success(ctx, `parameter ${def.number} (${def.name}) unset (was ${await display(db, def, old)})`);
}
