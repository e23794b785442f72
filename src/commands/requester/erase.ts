// `omni requester erase`: an erasure request answered (src/privacy/erase.ts): confirm, erase in one
// transaction, leave the tombstone, say what was done.
import type { Context } from '../../cli/context.js';
import { InputNeededError, NotFoundError } from '../../errors.js';
import { findRequester } from '../../db/requesters.js';
import { eraseRequester } from '../../privacy/erase.js';
import { tombstoneHasher } from '../../privacy/tombstone.js';
import { printJson, success, warn } from '../../cli/output.js';

interface EraseOptions {
  yes?: boolean;
  reason?: string;
  vacuum?: boolean;
  json?: boolean;
}

export async function eraseRequesterAction(ctx: Context, [ref]: [string], opts: EraseOptions): Promise<number> {
  const db = await ctx.db();
  const r = await findRequester(db.kysely, ref);
  if (!r) throw new NotFoundError(`no requester '${ref}'`, 'list them with: omni requester list (refer to one by id, @screen_name or tw:<twitter id>)');
  const who = `requester ${r.id}${r.screen_name ? ` @${r.screen_name}` : ''}${r.name ? ` (${r.name})` : ''}`;
  if (!opts.yes) {
    if (!ctx.interactive) throw new InputNeededError(['--yes'], `confirm the erasure: omni requester erase ${r.id} --yes --reason "..."`);
    const ok = await (await ctx.prompter()).confirm({
      message: `Erase ${who} for good? Their names and the text of ${r.ticket_count} ticket(s) go; this cannot be undone.`,
      default: false,
    });
    if (!ok) {
      ctx.err('not erased');
      return 1;
    }
  }
  const hash = tombstoneHasher(await ctx.secrets());
  const reason = opts.reason?.trim() ? opts.reason.trim() : null;
  const result = await eraseRequester(db.kysely, { requesterId: r.id, hash, now: ctx.clock().toISOString(), actor: ctx.actor, reason, vacuum: Boolean(opts.vacuum) });
  success(
    ctx,
    `erased requester ${r.id}: ${result.tickets} tickets (numbers kept), ${result.messages} messages, ${result.helperMessages} Helper messages, ${result.outbox} outbox rows` +
      `${result.outboxCancelled ? ` (${result.outboxCancelled} unsent DMs cancelled)` : ''}; ${result.tombstones} DM event ids in the tombstone`,
  );
  if (result.walTruncated === false) {
    warn(ctx, `the WAL of ${db.path} could not be truncated (another process is reading): erased bytes stay in it until its next checkpoint (omni listen makes one within seconds of its next write; stopping it makes one at once)`);
  }
  if (opts.vacuum && db.engine !== 'sqlite') warn(ctx, '--vacuum is for SQLite files; on PostgreSQL see docs/privacy.md (VACUUM and dead tuples)');
  if (!reason) warn(ctx, 'no --reason given: the audit entry says only that it was erased');
  if (opts.json) printJson(ctx, result);
  return 0;
}
