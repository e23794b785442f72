// `omni webhook status`: what Twitter says about the webhook, and what omni itself saw (CRCs, watchdog).
import { serviceDeps, type Context } from '../../cli/context.js';
import { printJson, printTable, style, warn } from '../../cli/output.js';
import { webhookStatus } from '../../webhooks/service.js';
import { formatAge, webhookHealth, type WebhookHealth } from '../../webhooks/health.js';
import { type JsonOpt, load, withSpinner, webhookJson } from './shared.js';

export async function statusAction(ctx: Context, [ref]: [string], opts: JsonOpt): Promise<number> {
  const row = await load(ctx, ref);
  const r = await withSpinner(ctx, 'asking Twitter', (onStep) => webhookStatus(serviceDeps(ctx), row, { onStep }));
  const now = ctx.clock();
  // What omni itself saw (CRCs received, watchdog checks), judged against the state Twitter just gave.
  const health = await webhookHealth((await ctx.db()).kysely, { id: row.id, webhook_id: r.webhooks.find((w) => w.ours)?.id ?? null }, now);
  if (opts.json) {
    printJson(ctx, {
      interactionId: r.interactionId,
      devEnvironment: r.devEnvironment,
      webhookUrl: r.webhookUrl,
      account: r.account,
      webhooks: r.webhooks.map((w) => ({ ...webhookJson(w), ours: w.ours })),
      subscribed: r.subscribed,
      lastError: r.lastError,
      checkedAt: r.checkedAt,
      health,
    });
    return 0;
  }
  const s = style(ctx);
  const yesNo = (ok: boolean, yes: string, no: string) => (ok ? s.green(yes) : s.red(no));
  ctx.out(`interaction     ${row.id} '${row.name}'`);
  const account = !r.account
    ? `- (omni webhook register ${row.id} verifies the credentials)`
    : r.account.screenName
      ? `@${r.account.screenName} (${r.account.userId})`
      : `user id ${r.account.userId} (screen name known after omni webhook register ${row.id})`;
  ctx.out(`account         ${account}`);
  ctx.out(`dev environment ${r.devEnvironment}`);
  ctx.out(`webhook URL     ${r.webhookUrl}`);
  ctx.out(`subscribed      ${yesNo(r.subscribed, 'yes', 'no')}`);
  ctx.out(`last error      ${r.lastError ?? '-'}`);
  for (const line of healthLines(health, now)) ctx.out(line);
  ctx.out('');
  printTable(
    ctx,
    [
      { header: 'id', value: (w: (typeof r.webhooks)[number]) => w.id },
      { header: 'valid', value: (w) => yesNo(w.valid, 'valid', 'invalid') },
      { header: 'created', value: (w) => w.createdAt },
      { header: 'url', value: (w) => (w.ours ? w.url : `${w.url}  (not this interaction's)`) },
    ],
    r.webhooks,
    `no webhook on '${r.devEnvironment}'; register one with: omni webhook register ${row.id}`,
  );
  const mine = r.webhooks.find((w) => w.ours);
  for (const w of health.warnings) warn(ctx, w);
  if (mine && !mine.valid) warn(ctx, `the webhook is invalid: Twitter sends nothing until it passes a CRC; start omni listen, then: omni webhook check ${row.id}`);
  else if (mine && !r.subscribed) warn(ctx, `the account is not subscribed: omni webhook register ${row.id}`);
  return 0;
}

function healthLines(h: WebhookHealth, now: Date): string[] {
  const when = (at: string) => `${at} (${formatAge(Math.max(0, now.getTime() - Date.parse(at)))} ago)`;
  const lines = [
    `last CRC        ${h.lastCrc ? `${when(h.lastCrc.at)}${h.lastCrc.remote ? ` from ${h.lastCrc.remote}` : ''}` : '- (none recorded by omni listen)'}`,
    `watchdog        ${h.lastWatchdogCheck ? `${when(h.lastWatchdogCheck.at)}: ${h.lastWatchdogCheck.result}` : '- (no check recorded: omni listen runs it)'}`,
  ];
  if (h.lastRefusedCrc) {
    lines.push(`refused CRC     ${when(h.lastRefusedCrc.at)}: ${h.lastRefusedCrc.reason}${h.lastRefusedCrc.remote ? ` from ${h.lastRefusedCrc.remote}` : ''}`);
  }
  return lines;
}
