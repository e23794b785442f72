// Actions of `omni webhook …`: find the interaction, run the webhook service with a spinner on a
// TTY, print the result (JSON on stdout with --json, messages on stderr).
import type { Context } from '../context.js';
import { findInteraction, type InteractionView } from '../db/interactions.js';
import { InputNeededError } from '../errors.js';
import { webhookUrl } from '../interactions/model.js';
import { printJson, printTable, style, success, warn } from '../output.js';
import { startSpinner } from '../spinner.js';
import type { Webhook } from '../twitter/gateway.js';
import { checkWebhook, deregisterWebhook, registerWebhook, webhookStatus, type Progress } from '../webhooks/service.js';
import { formatAge, webhookHealth, type WebhookHealth } from '../webhooks/health.js';

interface JsonOpt {
  json?: boolean;
}

async function load(ctx: Context, ref: string): Promise<InteractionView> {
  return findInteraction((await ctx.db()).kysely, ref);
}

/** Runs `work` with a spinner on a TTY; the spinner is gone before anything else is printed. */
async function withSpinner<T>(ctx: Context, first: string, work: (step: Progress) => Promise<T>): Promise<T> {
  const spinner = startSpinner(ctx.io.stderr, first);
  try {
    return await work((text) => spinner.update(text));
  } finally {
    spinner.stop();
  }
}

function webhookJson(w: Webhook) {
  return { id: w.id, url: w.url, valid: w.valid, createdAt: w.createdAt };
}

export async function registerAction(ctx: Context, [ref]: [string], opts: JsonOpt & { replace?: boolean }): Promise<number> {
  const row = await load(ctx, ref);
  const r = await withSpinner(ctx, 'connecting to Twitter', (onStep) => registerWebhook(ctx, row, { replace: Boolean(opts.replace), onStep }));
  if (opts.json) {
    printJson(ctx, {
      interactionId: r.interactionId,
      devEnvironment: r.devEnvironment,
      account: { userId: r.account.userId, screenName: r.account.screenName },
      webhook: webhookJson(r.webhook),
      action: r.action,
      replaced: r.replaced.map(webhookJson),
      subscription: r.subscription,
    });
    return 0;
  }
  const s = style(ctx);
  if (r.previousAccountId) warn(ctx, `the credentials now belong to @${r.account.screenName} (${r.account.userId}), no longer to account ${r.previousAccountId}`);
  success(ctx, `credentials of @${r.account.screenName} (${r.account.userId})`);
  for (const old of r.replaced) success(ctx, `deleted the webhook ${old.url} (id ${old.id})`);
  const what = {
    registered: 'registered the webhook',
    replaced: 'registered the webhook',
    revalidated: 'the webhook was invalid; Twitter re-checked it and it passed',
    unchanged: 'the webhook is already registered and valid',
  }[r.action];
  success(ctx, `${what} on '${r.devEnvironment}': ${s.bold(r.webhook.url)} (id ${r.webhook.id})`);
  success(ctx, r.subscription === 'subscribed' ? `subscribed @${r.account.screenName}` : `@${r.account.screenName} was already subscribed`);
  ctx.err(`DMs to @${r.account.screenName} now reach 'omni listen' at ${r.webhook.url}`);
  return 0;
}

export async function statusAction(ctx: Context, [ref]: [string], opts: JsonOpt): Promise<number> {
  const row = await load(ctx, ref);
  const r = await withSpinner(ctx, 'asking Twitter', (onStep) => webhookStatus(ctx, row, { onStep }));
  const now = ctx.now();
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

export async function checkAction(ctx: Context, [ref]: [string], opts: JsonOpt): Promise<number> {
  const row = await load(ctx, ref);
  const r = await withSpinner(ctx, 'asking Twitter for a CRC', (onStep) => checkWebhook(ctx, row, { onStep }));
  if (opts.json) {
    printJson(ctx, { interactionId: r.interactionId, devEnvironment: r.devEnvironment, valid: r.valid, webhook: webhookJson(r.webhook), error: r.error });
  } else if (r.valid) {
    success(ctx, `valid: Twitter's CRC of ${r.webhook.url} passed`);
  } else {
    const s = style(ctx);
    ctx.err(`${s.red('✗ invalid:')} ${r.error}`);
    if (r.hint) ctx.err(`  ${r.hint}`);
  }
  return r.valid ? 0 : 1;
}

export async function deleteAction(ctx: Context, [ref]: [string], opts: JsonOpt & { yes?: boolean }): Promise<number> {
  const row = await load(ctx, ref);
  if (!opts.yes) {
    if (!ctx.interactive) throw new InputNeededError(['--yes'], `confirm the deletion of the webhook of interaction ${row.id}: omni webhook delete ${row.id} --yes`);
    const account = row.account_screen_name ? `@${row.account_screen_name}` : 'the account';
    const ok = await (await ctx.prompter()).confirm({
      message: `Unsubscribe ${account} and delete the webhook ${row.webhook_url ?? webhookUrl(row.callback_url, row.id)} from '${row.dev_environment}'? DMs stop arriving.`,
      default: false,
    });
    if (!ok) {
      warn(ctx, 'nothing deleted');
      return 1;
    }
  }
  const r = await withSpinner(ctx, 'asking Twitter', (onStep) => deregisterWebhook(ctx, row, { onStep }));
  if (opts.json) {
    printJson(ctx, {
      interactionId: r.interactionId,
      devEnvironment: r.devEnvironment,
      subscription: r.subscription,
      deletedWebhook: r.deletedWebhook ? webhookJson(r.deletedWebhook) : null,
    });
    return 0;
  }
  success(ctx, r.subscription === 'unsubscribed' ? 'unsubscribed the account' : 'the account was not subscribed');
  success(ctx, r.deletedWebhook ? `deleted the webhook ${r.deletedWebhook.url} (id ${r.deletedWebhook.id})` : `no webhook of this interaction on '${r.devEnvironment}'`);
  return 0;
}
