// `omni webhook check`: ask Twitter to re-validate the webhook now (CRC).
import { serviceDeps, type Context } from '../../cli/context.js';
import { printJson, style, success } from '../../cli/output.js';
import { checkWebhook } from '../../webhooks/service.js';
import { checkXWebhook, isXApi } from '../../webhooks/x-service.js';
import { type JsonOpt, load, withSpinner, webhookJson } from './shared.js';

export async function checkAction(ctx: Context, [ref]: [string], opts: JsonOpt): Promise<number> {
  const row = await load(ctx, ref);
  if (isXApi(row.api)) {
    const x = await withSpinner(ctx, 'asking X for a CRC', (onStep) => checkXWebhook(serviceDeps(ctx), row, { onStep }));
    if (opts.json) printJson(ctx, { interactionId: x.interactionId, api: row.api, valid: x.valid, webhook: webhookJson(x.webhook), error: x.error });
    else if (x.valid) success(ctx, `valid: X's CRC of ${x.webhook.url} passed`);
    else {
      ctx.err(`${style(ctx).red('✗ invalid:')} ${x.error}`);
      if (x.hint) ctx.err(`  ${x.hint}`);
    }
    return x.valid ? 0 : 1;
  }
  const r = await withSpinner(ctx, 'asking Twitter for a CRC', (onStep) => checkWebhook(serviceDeps(ctx), row, { onStep }));
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
