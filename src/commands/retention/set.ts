// `omni retention set <window|off>`: validated, written with an audit record.
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../errors.js';
import { parseRetention, RETENTION_SETTING, writeRetention } from '../../privacy/retention.js';
import { printJson, success } from '../../cli/output.js';

export async function setRetentionAction(ctx: Context, [raw]: [string], opts: { json?: boolean }): Promise<void> {
  const check = parseRetention(raw);
  if (!check.ok) throw new UsageError(check.message, check.hint);
  const { old, value } = await writeRetention((await ctx.db()).kysely, raw, { now: ctx.clock().toISOString(), actor: ctx.actor });
  if (opts.json) printJson(ctx, { name: RETENTION_SETTING, value, previous: old });
  if (old === value) return success(ctx, `${RETENTION_SETTING} is already ${value}; nothing changed`);
  success(ctx, `${RETENTION_SETTING} set to ${value} (was ${old})${value === 'off' ? '' : '; preview with: omni retention run --dry-run'}`);
}
