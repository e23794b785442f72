// `omni interaction delete <id|name>`: a logical delete, as in 4biz. The row, its tickets and its
// messages stay; the interaction leaves `list` (see `list --deleted`) and frees its name.
import { serviceDeps, type Context } from '../../cli/context.js';
import { findInteraction, getInteraction, type InteractionView } from '../../db/interactions.js';
import { deleteInteraction } from '../../interactions/write.js';
import { InputNeededError, OmniError, isUserFacing } from '../../errors.js';
import { hasRegisteredWebhook, releaseWebhook } from '../../webhooks/service.js';
import { printJson, success, warn } from '../../cli/output.js';
import {
  interactionJson,
} from '../../interactions/model.js';

interface DeleteOptions {
  yes?: boolean;
  json?: boolean;
  keepWebhook?: boolean;
  force?: boolean;
}

/**
 * Runs before the row is marked deleted: once deleted, omni no longer answers Twitter's CRC or
 * deliveries for it, so a webhook left registered would only fail there. Twitter refusing (or being
 * unreachable) stops the delete, unless --force; --keep-webhook skips the call (e.g. to move it).
 */
async function releaseWebhookBeforeDelete(ctx: Context, row: InteractionView, opts: DeleteOptions): Promise<void> {
  if (!hasRegisteredWebhook(row)) return;
  if (opts.keepWebhook) {
    warn(ctx, `webhook ${row.webhook_id ?? ''} of interaction ${row.id} stays registered at Twitter (--keep-webhook)`);
    return;
  }
  try {
    await releaseWebhook(serviceDeps(ctx), row);
    ctx.err(
      row.api === 'v1.1'
        ? `removed the Twitter webhook and subscription of interaction ${row.id}`
        : `removed the X subscriptions of interaction ${row.id} (the app's webhook goes only when no other interaction uses it)`,
    );
  } catch (err) {
    if (!opts.force || !isUserFacing(err)) {
      if (err instanceof OmniError && !opts.force) {
        throw new OmniError(`not deleted: ${err.message}`, { hint: `${err.hint ?? ''}${err.hint ? '; ' : ''}to delete anyway: --force (the webhook stays at Twitter), or --keep-webhook` });
      }
      throw err;
    }
    warn(ctx, `could not remove the Twitter webhook (${err.message}); deleting anyway (--force)`);
  }
}

export async function deleteAction(ctx: Context, [ref]: [string], opts: DeleteOptions): Promise<number> {
  const db = (await ctx.db()).kysely;
  const row = await findInteraction(db, ref);
  if (!opts.yes) {
    if (!ctx.interactive) throw new InputNeededError(['--yes'], `confirm the deletion: omni interaction delete ${row.id} --yes`);
    const prompter = await ctx.prompter();
    const ok = await prompter.confirm({
      message: `Delete interaction ${row.id} '${row.name}'? It stops receiving messages; its tickets and messages stay.`,
      default: false,
    });
    if (!ok) {
      ctx.err('not deleted');
      return 1;
    }
  }

  await releaseWebhookBeforeDelete(ctx, row, opts);
  await deleteInteraction(db, row.id, { now: ctx.clock().toISOString(), actor: ctx.actor });
  success(ctx, `deleted interaction ${row.id} '${row.name}' (its tickets and messages stay; see: omni interaction list --deleted)`);
  if (opts.json) {
    const deleted = await getInteraction(db, row.id, true);
    printJson(ctx, interactionJson(deleted!, await ctx.secrets()));
  }
  return 0;
}
