// `omni retention show`.
import type { Context } from '../../cli/context.js';
import { readRetention, RETENTION_SETTING } from '../../privacy/retention.js';
import { printJson } from '../../cli/output.js';

export async function showRetentionAction(ctx: Context, _args: [], opts: { json?: boolean }): Promise<void> {
  const s = await readRetention((await ctx.db()).kysely);
  if (opts.json) return printJson(ctx, { name: RETENTION_SETTING, value: s.value, updatedAt: s.updatedAt });
  ctx.out(
    s.ms === null
      ? `${RETENTION_SETTING}: off (message text is kept until erased; set a window with: omni retention set 90d)`
      : `${RETENTION_SETTING}: ${s.value} (the text and attachments of tickets closed more than ${s.value} ago are redacted, hourly by omni listen)`,
  );
}
