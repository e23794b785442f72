// `omni usage [--since 30d] [--by day|interaction] [--json]`: delivered, read and sent DM events from
// the database (src/db/reconcile.ts usageRows), priced at the held rates; a bar per day on a terminal.
import type { Context } from '../../cli/context.js';
import { printJson, printTable, style } from '../../cli/output.js';
import { listInteractions } from '../../db/interactions.js';
import { usageRows, type UsageRow } from '../../db/reconcile.js';
import { costOf, usd, type Prices } from '../../reconcile/prices.js';
import { parseWhen } from '../webhook/replay.js';
import { pricesFrom } from './prices.js';

export interface UsageOptions {
  since: string;
  by: 'day' | 'interaction';
  priceDelivered?: string;
  priceRead?: string;
  priceSent?: string;
  json?: boolean;
}

const BAR_WIDTH = 30;

export async function usageAction(ctx: Context, _args: [], opts: UsageOptions): Promise<number> {
  const since = parseWhen(opts.since, '--since', ctx.clock());
  const prices = pricesFrom(ctx.env, {
    ...(opts.priceDelivered !== undefined ? { delivered: opts.priceDelivered } : {}),
    ...(opts.priceRead !== undefined ? { read: opts.priceRead } : {}),
    ...(opts.priceSent !== undefined ? { sent: opts.priceSent } : {}),
  });
  const db = (await ctx.db()).kysely;
  const rows = await usageRows(db, since.toISOString());
  const names = new Map((await listInteractions(db, { all: true })).map((i) => [i.id, i.name]));
  const key = (r: UsageRow) => (opts.by === 'day' ? r.day : String(r.interaction_id));
  const groups = new Map<string, { key: string; delivered: number; read: number; sent: number }>();
  for (const r of rows) {
    const g = groups.get(key(r)) ?? { key: key(r), delivered: 0, read: 0, sent: 0 };
    g.delivered += r.delivered;
    g.read += r.read;
    g.sent += r.sent;
    groups.set(key(r), g);
  }
  const lines = [...groups.values()].map((g) => ({ ...g, cost: costOf(prices, g) }));
  const total = lines.reduce((t, l) => ({ delivered: t.delivered + l.delivered, read: t.read + l.read, sent: t.sent + l.sent, cost: t.cost + l.cost }), { delivered: 0, read: 0, sent: 0, cost: 0 });
  if (opts.json) {
    printJson(ctx, {
      since: since.toISOString(),
      by: opts.by,
      prices,
      estimate: "an estimate at the prices above; X's developer console is authoritative",
      rows: lines.map((l) => ({
        ...(opts.by === 'day' ? { day: l.key } : { interactionId: Number(l.key), name: names.get(Number(l.key)) ?? null }),
        delivered: l.delivered,
        read: l.read,
        sent: l.sent,
        estimatedCost: round(l.cost),
      })),
      total: { delivered: total.delivered, read: total.read, sent: total.sent, estimatedCost: round(total.cost) },
    });
    return 0;
  }
  const s = style(ctx);
  const max = Math.max(0, ...lines.map((l) => l.cost));
  const bar = (c: number) => (max === 0 ? '' : '█'.repeat(Math.max(c > 0 ? 1 : 0, Math.round((c / max) * BAR_WIDTH))));
  printTable(
    ctx,
    [
      { header: opts.by === 'day' ? 'DAY (UTC)' : 'INTERACTION', value: (l: (typeof lines)[number]) => (opts.by === 'day' ? l.key : `#${l.key} ${names.get(Number(l.key)) ?? ''}`.trim()) },
      { header: 'DELIVERED', value: (l) => String(l.delivered) },
      { header: 'READ', value: (l) => String(l.read) },
      { header: 'SENT', value: (l) => String(l.sent) },
      { header: 'EST. COST', value: (l) => usd(l.cost) },
      ...(opts.by === 'day' && ctx.stdoutIsTTY ? [{ header: '', value: (l: (typeof lines)[number]) => s.cyan(bar(l.cost)) }] : []),
    ],
    lines,
    `nothing billed since ${since.toISOString()}`,
  );
  ctx.out(`total: delivered ${total.delivered}, read ${total.read}, sent ${total.sent}, estimated cost ${usd(total.cost)}`);
  ctx.err(`estimate at ${priceText(prices)}; X's developer console is authoritative`);
  return 0;
}

function priceText(p: Prices): string {
  return `$${p.delivered} per delivered DM event, $${p.read} per DM event read, $${p.sent} per DM sent`;
}

function round(x: number): number {
  return Number(x.toFixed(4));
}
