// `omni interaction delete <id|name>`: a logical delete, as in 4biz. The row, its tickets and its
// messages stay; the interaction leaves `list` (see `list --deleted`) and frees its name.
import type { Context } from '../context.js';
import { findInteraction, getInteraction, softDeleteInteraction, type InteractionView } from '../db/interactions.js';
import { recordAudit } from '../db/audit.js';
import { InputNeededError } from '../errors.js';
import { printJson, success, warn } from '../output.js';
import {
  interactionJson,
} from '../interactions/model.js';

interface DeleteOptions {
  yes?: boolean;
  json?: boolean;
}

/**
 * Runs before the row is marked deleted. This is where deregistering the interaction's Twitter
 * webhook belongs (with --keep-webhook / --force), once the webhooks commands exist; until then the
 * registration stays at Twitter and the user is told so, because omni will no longer answer for it.
 */
async function releaseWebhookBeforeDelete(ctx: Context, row: InteractionView): Promise<void> {
  if (row.webhook_id) {
    warn(ctx, `webhook ${row.webhook_id} of interaction ${row.id} stays registered at Twitter; remove it in Twitter Developer (Account Activity API)`);
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

  await releaseWebhookBeforeDelete(ctx, row);
  const now = ctx.now().toISOString();
  await db.transaction().execute(async (trx) => {
    await softDeleteInteraction(trx, row.id, now);
    await recordAudit(trx, { at: now, actor: ctx.actor, entity: 'interaction', entityId: row.id, action: 'delete', changes: { name: row.name } });
  });
  success(ctx, `deleted interaction ${row.id} '${row.name}' (its tickets and messages stay; see: omni interaction list --deleted)`);
  if (opts.json) {
    const deleted = await getInteraction(db, row.id, true);
    printJson(ctx, interactionJson(deleted!, await ctx.secrets()));
  }
  return 0;
}
