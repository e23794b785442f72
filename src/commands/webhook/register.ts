// `omni webhook register`: verify the credentials, register the webhook, subscribe the account.
import { serviceDeps, type Context } from '../../cli/context.js';
import { printJson, style, success, warn } from '../../cli/output.js';
import { registerWebhook } from '../../webhooks/service.js';
import { isXApi, registerXWebhook, type XRegisterResult } from '../../webhooks/x-service.js';
import { type JsonOpt, load, withSpinner, webhookJson } from './shared.js';

export async function registerAction(ctx: Context, [ref]: [string], opts: JsonOpt & { replace?: boolean }): Promise<number> {
  const row = await load(ctx, ref);
  if (isXApi(row.api)) {
    const x = await withSpinner(ctx, 'connecting to X', (onStep) => registerXWebhook(serviceDeps(ctx), row, { replace: Boolean(opts.replace), onStep }));
    return printX(ctx, x, Boolean(opts.json));
  }
  const r = await withSpinner(ctx, 'connecting to Twitter', (onStep) => registerWebhook(serviceDeps(ctx), row, { replace: Boolean(opts.replace), onStep }));
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

function printX(ctx: Context, r: XRegisterResult, json: boolean): number {
  if (json) {
    printJson(ctx, {
      interactionId: r.interactionId,
      api: r.api,
      account: r.account,
      webhook: webhookJson(r.webhook),
      action: r.action,
      replaced: r.replaced.map(webhookJson),
      sharedWith: r.sharedWith,
      subscriptions: r.subscriptions,
    });
    return 0;
  }
  const s = style(ctx);
  const who = r.account.username ? `@${r.account.username}` : `user ${r.account.userId}`;
  for (const old of r.replaced) success(ctx, `deleted the webhook ${old.url} (id ${old.id})`);
  const what = {
    registered: 'registered the app’s webhook',
    replaced: 'registered the app’s webhook',
    reused: 'reusing the app’s webhook (X allows one per app)',
    revalidated: 'the webhook was invalid; X re-checked it and it passed',
    unchanged: 'the webhook is registered and valid',
  }[r.action];
  success(ctx, `${what}: ${s.bold(r.webhook.url)} (id ${r.webhook.id})${r.sharedWith.length ? `, shared with interaction${r.sharedWith.length > 1 ? 's' : ''} ${r.sharedWith.join(', ')}` : ''}`);
  for (const c of r.subscriptions.created) success(ctx, `subscribed: ${c}`);
  if (r.subscriptions.created.length === 0) success(ctx, `${who} was already subscribed (${r.subscriptions.present.length} subscription${r.subscriptions.present.length === 1 ? '' : 's'})`);
  ctx.err(`DMs to ${who} now reach 'omni listen' at ${r.webhook.url}`);
  return 0;
}
