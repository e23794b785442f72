// `omni param unset`: clear a parameter through the parameter write path (row and audit record in one transaction).
import type { Context } from '../../cli/context.js';
import { unsetParameterValue } from '../../parameter-write.js';
import { success } from '../../cli/output.js';
import { requireParam, display } from './shared.js';

export async function unsetAction(ctx: Context, [rawNumber]: [string]): Promise<void> {
  const def = requireParam(rawNumber);
  const db = (await ctx.db()).kysely;
  const old = await unsetParameterValue(db, def, { now: ctx.clock().toISOString(), actor: ctx.actor });
  if (old === null) success(ctx, `parameter ${def.number} (${def.name}) was not set; nothing changed`);
  else success(ctx, `parameter ${def.number} (${def.name}) unset (was ${await display(db, def, old)})`);
}
