// `omni webhook status`: what Twitter says about the webhook, and what omni itself saw (CRCs, watchdog).
import { serviceDeps, type Context } from '../../cli/context.js';
import { printJson, printTable, style, warn } from '../../cli/output.js';
import { webhookStatus } from '../../webhooks/service.js';
import { isXApi, xWebhookStatus, type XStatusResult } from '../../webhooks/x-service.js';
import type { InteractionView } from '../../db/interactions.js';
import { formatAge, webhookHealth, type WebhookHealth } from '../../webhooks/health.js';
import { type JsonOpt, load, withSpinner, webhookJson } from './shared.js';

export async function statusAction(ctx: Context, [ref]: [string], opts: JsonOpt): Promise<number> {
  const row = await load(ctx, ref);
  if (isXApi(row.api)) return statusX(ctx, row, opts);
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

/** `activity` and `v2`: the app's webhook (valid / invalid / missing) and exactly which subscriptions are missing. */
async function statusX(ctx: Context, row: InteractionView, opts: JsonOpt): Promise<number> {
  const r: XStatusResult = await withSpinner(ctx, 'asking X', (onStep) => xWebhookStatus(serviceDeps(ctx), row, { onStep }));
  const now = ctx.clock();
  const health = await webhookHealth((await ctx.db()).kysely, { id: row.id, webhook_id: r.webhook?.id ?? null }, now);
  if (opts.json) {
    printJson(ctx, {
      interactionId: r.interactionId,
      api: r.api,
      webhookUrl: r.webhookUrl,
      account: r.account,
      webhook: r.webhook ? { ...webhookJson(r.webhook), state: r.state } : { state: r.state },
      appWebhooks: r.appWebhooks.map((w) => ({ ...webhookJson(w), ours: w.ours })),
      sharedWith: r.sharedWith,
      subscriptions: r.subscriptions ?? { present: null, missing: null, unknown: r.subscriptionsUnknown },
      lastError: r.lastError,
      checkedAt: r.checkedAt,
      health,
    });
    return 0;
  }
  const s = style(ctx);
  const state = { valid: s.green('valid'), invalid: s.red('invalid'), missing: s.red('missing') }[r.state];
  ctx.out(`interaction     ${row.id} '${row.name}'`);
  ctx.out(`X API           ${r.api}`);
  ctx.out(`account         ${r.account ? `${r.account.username ? `@${r.account.username} ` : ''}(${r.account.userId})` : `- (omni interaction authorize ${row.id})`}`);
  ctx.out(`webhook         ${state}${r.webhook ? ` ${r.webhook.url} (id ${r.webhook.id})` : ''}`);
  if (r.sharedWith.length) ctx.out(`shared with     interaction${r.sharedWith.length > 1 ? 's' : ''} ${r.sharedWith.join(', ')} (one webhook per app)`);
  if (r.subscriptions) {
    for (const p of r.subscriptions.present) ctx.out(`subscribed      ${s.green('yes')} ${p}`);
    for (const m of r.subscriptions.missing) ctx.out(`subscribed      ${s.red('MISSING')} ${m}`);
  } else ctx.out(`subscriptions   unknown: ${r.subscriptionsUnknown}`);
  ctx.out(`last error      ${r.lastError ?? '-'}`);
  for (const line of healthLines(health, now)) ctx.out(line);
  for (const other of r.appWebhooks.filter((w) => !w.ours)) warn(ctx, `the app's webhook ${other.url} (id ${other.id}) is not served for this interaction; X allows one per app: omni webhook register ${row.id} --replace`);
  for (const w of health.warnings) warn(ctx, w);
  if (r.state === 'missing') warn(ctx, `no webhook: X delivers nothing; with omni listen reachable at ${row.callback_url}: omni webhook register ${row.id}`);
  else if (r.state === 'invalid') warn(ctx, `the webhook is invalid: X sends nothing until it passes a CRC; start omni listen, then: omni webhook check ${row.id}`);
  if (r.subscriptions && r.subscriptions.missing.length) warn(ctx, `${r.subscriptions.missing.length} subscription${r.subscriptions.missing.length === 1 ? ' is' : 's are'} missing: omni webhook register ${row.id}`);
  return 0;
}
