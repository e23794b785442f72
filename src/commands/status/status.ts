// `omni status`: renders src/health/ for a terminal or as JSON; exit 1 when anything is unhealthy.
import type { Context } from '../../cli/context.js';
import { printJson, style } from '../../cli/output.js';
import { parseDuration } from '../../cli/flags.js';
import { findInteraction } from '../../db/interactions.js';
import { formatSeconds, type InteractionHealth } from '../../health/model.js';
import { readHealth } from '../../health/read.js';
import { terminalSafe } from '../../terminal-text.js';
import { alignRows, type Row } from '../interaction/format.js';

export async function statusAction(ctx: Context, [ref]: [string | undefined], opts: { json?: boolean; watch?: boolean; interval?: string }): Promise<number> {
  const intervalMs = parseDuration(opts.interval ?? '5s', '--interval', { minMs: 1_000, maxMs: 3_600_000 });
  const db = (await ctx.db()).kysely;
  const only = ref === undefined ? undefined : [(await findInteraction(db, ref)).id];
  const once = async (): Promise<number> => {
    const now = ctx.clock();
    const all = await readHealth(db, now, only);
    if (opts.json) printJson(ctx, { at: now.toISOString(), healthy: all.every((h) => h.healthy), interactions: all });
    else render(ctx, all, now);
    return all.every((h) => h.healthy) ? 0 : 1;
  };
  if (!opts.watch) return once();
  let code = 0;
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    while (!stop) {
      if (ctx.stdoutIsTTY && !opts.json) ctx.io.stdout.write('\x1b[2J\x1b[H');
      code = await once();
      const until = Date.now() + intervalMs;
      while (!stop && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(200, until - Date.now())));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}

function ago(iso: string | null, now: Date): string {
  if (iso === null) return 'never';
  return `${iso} (${formatSeconds((now.getTime() - Date.parse(iso)) / 1000)} ago)`;
}

function render(ctx: Context, all: InteractionHealth[], now: Date): void {
  const s = style(ctx);
  if (all.length === 0) {
    ctx.out('no live interaction (create one: omni interaction new)');
    return;
  }
  const blocks: string[] = [];
  for (const h of all) {
    const head = `#${h.id} ${terminalSafe(h.name)} (${h.api}): ${h.healthy ? s.green('healthy') : s.red(h.problems.map((p) => (p.state === 'silence' ? `silent for ${formatSeconds(h.silence.silentForSeconds ?? 0)}` : p.state)).join(', '))}`;
    const rows: Row[] = [];
    const a = h.authorization;
    if (a.state !== 'not-applicable') {
      rows.push([
        'Authorization',
        a.state === 'ok'
          ? `ok${a.expiresInSeconds !== null ? `, access token ${a.expiresInSeconds > 0 ? `expires in ${formatSeconds(a.expiresInSeconds)}` : 'expired (refreshed on next use)'}` : ''}${a.refreshedAt ? `, refreshed ${a.refreshedAt}` : ''}`
          : a.state === 'lost'
            ? `lost since ${a.lostAt}${a.reason ? ` (${terminalSafe(a.reason)})` : ''}`
            : `none: omni interaction authorize ${h.id}`,
      ]);
    }
    const w = h.webhook;
    rows.push(['Webhook', w.state === 'none' ? 'none registered' : `${w.state}${w.checkedAt ? ` (checked ${w.checkedAt})` : ''}, last CRC answered ${ago(w.lastCrcAt, now)}`]);
    rows.push(['Subscriptions', h.subscriptions.state === 'missing' ? `missing: ${h.subscriptions.missing.join(', ')}` : h.subscriptions.state === 'present' ? `present (checked ${h.subscriptions.checkedAt})` : 'not checked yet (omni listen checks them every --watchdog-interval)']);
    if (h.stream.connectedSince) rows.push(['Stream', `connected since ${h.stream.connectedSince}`]);
    rows.push(['Last DM received', ago(h.lastEventAt, now)]);
    rows.push(['DMs today', String(h.dmsToday)]);
    rows.push(['Last reconcile', h.reconcile.at ? `${h.reconcile.at}, found ${h.reconcile.found ?? 0}` : 'never']);
    rows.push(['Outbox', h.outbox.backlog ? `${h.outbox.backlog} waiting, oldest since ${ago(h.outbox.oldestAt, now)}${h.outbox.failed ? `; ${h.outbox.failed} failed` : ''}` : `empty${h.outbox.failed ? `; ${h.outbox.failed} failed (omni outbox list)` : ''}`]);
    if (h.rejectedEvents.last24h) rows.push(['Rejected (24 h)', `${h.rejectedEvents.last24h}, last ${h.rejectedEvents.lastAt}`]);
    if (h.xError) rows.push(['Last X error', `${h.xError.kind}${h.xError.status ? ` (HTTP ${h.xError.status})` : ''} at ${h.xError.at}: ${terminalSafe(h.xError.message ?? '')}`]);
    if (h.rateLimitedUntil) rows.push(['Rate limited', `until ${h.rateLimitedUntil}`]);
    if (h.silence.alertSeconds !== null) rows.push(['Silence alert', `after ${formatSeconds(h.silence.alertSeconds)}${h.silence.silentForSeconds !== null ? `; quiet for ${formatSeconds(h.silence.silentForSeconds)}` : ''}`]);
    const lines = [head, ...alignRows(rows, '  ')];
    for (const p of h.problems) lines.push(`  ${s.yellow('!')} ${terminalSafe(p.text)}`);
    blocks.push(lines.join('\n'));
  }
  ctx.out(blocks.join('\n\n'));
}
