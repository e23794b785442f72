// `omni notify set|show|unset`: the stored notification URLs (src/health/notify-settings.ts).
import type { Context } from '../../cli/context.js';
import { printJson, success } from '../../cli/output.js';
import { recordAudit } from '../../db/audit.js';
import { UsageError } from '../../errors.js';
import { maskUrl, notifyUrlProblem } from '../../health/notify.js';
import { NOTIFY_SETTING, storedNotifyUrls, storeNotifyUrls } from '../../health/notify-settings.js';

export async function setNotifyAction(ctx: Context, [urls]: [string[]], opts: { json?: boolean }): Promise<void> {
  for (const url of urls) {
    const problem = notifyUrlProblem(url);
    if (problem) throw new UsageError(problem, 'example: omni notify set https://hooks.slack.com/services/T0/B0/XXXX');
  }
  const unique = [...new Set(urls)];
  await write(ctx, unique);
  if (opts.json) return printJson(ctx, { name: NOTIFY_SETTING, urls: unique.map(maskUrl) });
  success(ctx, `omni listen notifies ${unique.map(maskUrl).join(', ')} (restart running listeners to pick it up)`);
}

export async function showNotifyAction(ctx: Context, _args: [], opts: { json?: boolean }): Promise<void> {
  const urls = await storedNotifyUrls((await ctx.db()).kysely, await ctx.secrets());
  if (opts.json) return printJson(ctx, { name: NOTIFY_SETTING, urls: urls.map(maskUrl) });
  ctx.out(urls.length ? urls.map(maskUrl).join('\n') : 'no stored notification URL (set one: omni notify set <url>; or omni listen --notify <url>)');
}

export async function unsetNotifyAction(ctx: Context, _args: [], opts: { json?: boolean }): Promise<void> {
  const before = await storedNotifyUrls((await ctx.db()).kysely, await ctx.secrets());
  await write(ctx, []);
  if (opts.json) return printJson(ctx, { name: NOTIFY_SETTING, removed: before.length });
  success(ctx, before.length ? `removed ${before.length} stored notification URL(s)` : 'there was no stored notification URL; nothing changed');
}

async function write(ctx: Context, urls: string[]): Promise<void> {
  const db = (await ctx.db()).kysely;
  const box = await ctx.secrets();
  const now = ctx.clock().toISOString();
  await db.transaction().execute(async (trx) => {
    await storeNotifyUrls(trx, box, urls, now);
    await recordAudit(trx, { at: now, actor: ctx.actor, entity: 'setting', entityId: NOTIFY_SETTING, action: urls.length ? 'setting.set' : 'setting.unset', changes: { urls: urls.map(maskUrl) } });
  });
}
