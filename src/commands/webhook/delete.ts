// `omni webhook delete`: unsubscribe the account and delete the interaction's webhook.
import { serviceDeps, type Context } from '../../cli/context.js';
import { InputNeededError } from '../../errors.js';
import { webhookUrl } from '../../interactions/model.js';
import { printJson, success, warn } from '../../cli/output.js';
import { deregisterWebhook } from '../../webhooks/service.js';
import { deregisterXWebhook, isXApi } from '../../webhooks/x-service.js';
import { type JsonOpt, load, withSpinner, webhookJson } from './shared.js';

export async function deleteAction(ctx: Context, [ref]: [string], opts: JsonOpt & { yes?: boolean }): Promise<number> {
  const row = await load(ctx, ref);
  if (!opts.yes) {
    if (!ctx.interactive) throw new InputNeededError(['--yes'], `confirm the deletion of the webhook of interaction ${row.id}: omni webhook delete ${row.id} --yes`);
    const account = row.account_screen_name ? `@${row.account_screen_name}` : 'the account';
    const ok = await (await ctx.prompter()).confirm({
      message: isXApi(row.api)
        ? `Remove the subscriptions of ${account} and delete the webhook ${row.webhook_url ?? webhookUrl(row.callback_url, row.id)} unless another interaction uses it? DMs stop arriving.`
        : `Unsubscribe ${account} and delete the webhook ${row.webhook_url ?? webhookUrl(row.callback_url, row.id)} from '${row.dev_environment}'? DMs stop arriving.`,
      default: false,
    });
    if (!ok) {
      warn(ctx, 'nothing deleted');
      return 1;
    }
  }
  if (isXApi(row.api)) {
    const x = await withSpinner(ctx, 'asking X', (onStep) => deregisterXWebhook(serviceDeps(ctx), row, { onStep }));
    if (opts.json) {
      printJson(ctx, { interactionId: x.interactionId, api: x.api, removedSubscriptions: x.removedSubscriptions, deletedWebhook: x.deletedWebhook ? webhookJson(x.deletedWebhook) : null, keptFor: x.keptFor, handedOver: x.handedOver ? { interactionId: x.handedOver.interactionId, webhook: webhookJson(x.handedOver.webhook) } : null });
      return 0;
    }
    success(ctx, x.removedSubscriptions.length ? `removed ${x.removedSubscriptions.length} subscription${x.removedSubscriptions.length === 1 ? '' : 's'} of interaction ${row.id}` : `no subscription of interaction ${row.id} was left at X`);
    if (x.deletedWebhook) success(ctx, `deleted the webhook ${x.deletedWebhook.url} (id ${x.deletedWebhook.id})`);
    else if (x.handedOver) success(ctx, `moved the app's webhook to interaction ${x.handedOver.interactionId}'s URL ${x.handedOver.webhook.url} (id ${x.handedOver.webhook.id}); ${x.keptFor.join(', ')} keep${x.keptFor.length > 1 ? '' : 's'} receiving; DMs sent during the move: omni reconcile`);
    else if (x.keptFor.length) success(ctx, `kept the app's webhook: interaction${x.keptFor.length > 1 ? 's' : ''} ${x.keptFor.join(', ')} still use${x.keptFor.length > 1 ? '' : 's'} it`);
    else success(ctx, 'no webhook of this interaction at X');
    return 0;
  }
  const r = await withSpinner(ctx, 'asking Twitter', (onStep) => deregisterWebhook(serviceDeps(ctx), row, { onStep }));
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
