// `omni outbox retry`: a failed DM back to pending, then tried at once by this process.
import type { Context } from '../../cli/context.js';
import { claimOutboxById, outboxRow, retryOutbox } from '../../db/outbox.js';
import { NotFoundError, OmniError } from '../../errors.js';
import { outboxJson } from '../../outbox/model.js';
import { printJson } from '../../cli/output.js';
import { parseId } from '../../cli/flags.js';

export async function retryOutboxAction(ctx: Context, [rawId]: [string], opts: { json?: boolean }): Promise<void> {
  const id = parseId(rawId, 'the outbox id');
  const db = await ctx.db();
  const now = ctx.clock();
  const result = await retryOutbox(db.kysely, id, now.toISOString());
  if (result === 'missing') throw new NotFoundError(`no outbox row ${id}`, 'list them with: omni outbox list');
  if (result === 'not-failed') {
    const row = (await outboxRow(db.kysely, id))!;
    throw new OmniError(`outbox row ${id} is ${row.status}, not failed`, {
      hint: row.status === 'sent' ? 'it was delivered already; nothing to retry' : 'it is still queued: omni listen delivers it (omni outbox list --status pending)',
    });
  }
  // Take it ourselves and try now; if a listener got to it first, it is in good hands too.
  // Imported here: sending loads the Twitter client, which `outbox list` does not need.
  const [{ outboxSettings }, { reportSend, tryNow }] = await Promise.all([import('../../outbox/settings.js'), import('./send.js')]);
  const claimed = await claimOutboxById(db.kysely, id, now.toISOString(), new Date(now.getTime() + outboxSettings(ctx.env).leaseMs).toISOString());
  try {
    if (claimed) reportSend(ctx, `outbox #${id}`, await tryNow(ctx, db, claimed));
    else ctx.err(`outbox #${id} is queued again; omni listen delivers it`);
  } finally {
    if (opts.json) printJson(ctx, outboxJson((await outboxRow(db.kysely, id))!));
  }
}
