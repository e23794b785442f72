// `omni param set`: validate (src/parameters.ts), then the parameter write path (src/parameter-write.ts: catalog names to ids, row and audit record in one transaction).
import type { Context } from '../../cli/context.js';
import { setParameterValue } from '../../parameter-write.js';
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
  const { old, value } = await setParameterValue(db, def, rawValue, { now: ctx.clock().toISOString(), actor: ctx.actor });

  const v = await loadView(db, def);
  if (opts.json) printJson(ctx, v);
  if (old === value) success(ctx, `parameter ${def.number} (${def.name}) is already ${v.display}; nothing changed`);
  else success(ctx, `parameter ${def.number} (${def.name}) set to ${v.display}${old === null ? '' : ` (was ${await display(db, def, old)})`}`);
}
