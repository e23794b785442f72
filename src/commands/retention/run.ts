// `omni retention run [--dry-run]`: redacts (or lists) the messages of closed tickets older than the window.
import type { Context } from '../../cli/context.js';
import { runRetention, RETENTION_SETTING } from '../../privacy/retention.js';
import { printJson, printTable, success, warn } from '../../cli/output.js';

export async function runRetentionAction(ctx: Context, _args: [], opts: { dryRun?: boolean; json?: boolean }): Promise<void> {
  const db = await ctx.db();
  const report = await runRetention(db.kysely, { now: ctx.clock(), dryRun: Boolean(opts.dryRun), actor: ctx.actor });
  if (!report) {
    if (opts.json) printJson(ctx, { window: 'off', dryRun: Boolean(opts.dryRun), tickets: [], messages: 0 });
    ctx.err(`${RETENTION_SETTING} is off: nothing to redact (set a window with: omni retention set 90d)`);
    return;
  }
  if (opts.json) printJson(ctx, report);
  else printTable(ctx, [
    { header: 'ticket', value: (t: (typeof report.tickets)[number]) => t.id },
    { header: 'closed at', value: (t) => t.closedAt },
    { header: 'messages', value: (t) => t.messages },
  ], report.tickets);
  const what = `${report.messages} messages of ${report.tickets.length} tickets closed before ${report.cutoff} (window ${report.window})`;
  if (report.dryRun) ctx.err(`would redact ${what}; nothing changed (--dry-run)`);
  else success(ctx, report.tickets.length ? `redacted ${what}` : `nothing to redact: no ticket closed before ${report.cutoff} still holds text`);
  if (report.walTruncated === false) warn(ctx, `the WAL of ${db.path} could not be truncated (another process is reading): redacted bytes stay in it until its next checkpoint`);
}
