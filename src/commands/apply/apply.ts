// `omni apply`: parse the file, plan against the database, execute the plan in one transaction, optionally register webhooks.
import fs from 'node:fs';
import path from 'node:path';
import { serviceDeps, type Context } from '../../cli/context.js';
import { UsageError } from '../../errors.js';
import { printJson, style } from '../../cli/output.js';
import { parseDesiredState } from '../../provision/document.js';
import { loadCurrentState, makePlan, type Plan, type PlanItem } from '../../provision/plan.js';
import { executePlan } from '../../provision/execute.js';
import { getInteraction } from '../../db/interactions.js';

async function readInput(ctx: Context, file: string): Promise<{ text: string; baseDir: string; source: string }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.io.stdin) chunks.push(Buffer.from(c as Buffer));
    return { text: Buffer.concat(chunks).toString('utf8'), baseDir: process.cwd(), source: '(stdin)' };
  }
  try {
    return { text: fs.readFileSync(file, 'utf8'), baseDir: path.dirname(path.resolve(file)), source: file };
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'pass an existing file with -f, or - for standard input');
  }
}

function summary(plan: Plan) {
  const count = (op: PlanItem['op']) => plan.items.filter((i) => i.op === op).length;
  return { create: count('create'), update: count('update'), delete: count('delete') };
}

function label(item: PlanItem): string {
  if (item.entity === 'parameter') return `parameter ${item.name}`;
  if (item.entity === 'activity') return `activity '${item.name}' in '${item.portfolio}'`;
  return `${item.entity === 'origin' ? 'contact origin' : item.entity} '${item.name}'`;
}

const show = (v: string | boolean | null) => (v === null ? '(none)' : typeof v === 'boolean' ? String(v) : JSON.stringify(v));

function printPlan(ctx: Context, plan: Plan): void {
  const s = style(ctx);
  const sigil = { create: s.green('+'), update: s.yellow('~'), delete: s.red('-') };
  for (const item of plan.items) {
    ctx.out(`${sigil[item.op]} ${item.op} ${label(item)}${item.path ? s.dim(`  (${item.path})`) : ''}`);
    if (item.entity === 'interaction' || item.entity === 'parameter') {
      for (const f of item.fields) ctx.out(item.op === 'create' ? `    ${f.field}: ${show(f.to)}` : `    ${f.field}: ${show(f.from)} → ${show(f.to)}`);
      for (const [f, state] of Object.entries(item.secrets ?? {})) ctx.out(`    ${f}: ${state}`);
      if (item.xchat) ctx.out(`    xchat keys: ${item.xchat}`);
    }
  }
  const n = summary(plan);
  ctx.out(plan.items.length === 0 ? 'No changes.' : `Plan: ${n.create} to create, ${n.update} to update, ${n.delete} to delete.`);
}

export async function applyAction(
  ctx: Context,
  _args: [],
  opts: { file: string; dryRun?: boolean; prune?: boolean; registerWebhooks?: boolean; json?: boolean },
): Promise<number> {
  const input = await readInput(ctx, opts.file);
  const desired = parseDesiredState(input.text, { env: ctx.env, baseDir: input.baseDir, source: input.source });
  const db = (await ctx.db()).kysely;
  const current = await loadCurrentState(db);
  // The key is needed only to compare stored secrets or to encrypt new ones; a dry run against a
  // database without interactions must not create a key file as a side effect.
  const needsKey = current.interactions.size > 0 || (!opts.dryRun && desired.interactions.length > 0);
  const box = needsKey ? await ctx.secrets() : undefined;
  const plan = makePlan(desired, current, () => box!, input.source, { prune: Boolean(opts.prune) });
  const apply = !opts.dryRun && plan.items.length > 0;
  let touched: number[] = [];
  if (apply) touched = await executePlan(db, plan, { now: ctx.clock().toISOString(), actor: ctx.actor, box: () => box!, source: input.source });
  if (!opts.json) {
    printPlan(ctx, plan);
    if (opts.dryRun) ctx.err('dry run: nothing was changed');
    else if (apply) ctx.err(style(ctx).green('✓ ') + `applied ${plan.items.length} change${plan.items.length === 1 ? '' : 's'}`);
  }
  const webhooks = opts.registerWebhooks && touched.length > 0 ? await registerTouched(ctx, touched, Boolean(opts.json)) : undefined;
  if (opts.json) {
    printJson(ctx, { dryRun: Boolean(opts.dryRun), applied: apply, summary: summary(plan), changes: plan.items, ...(webhooks ? { webhooks } : {}) });
  }
  return webhooks?.some((w) => !w.ok) ? 1 : 0;
}

interface WebhookOutcome {
  interactionId: number;
  ok: boolean;
  action?: string;
  webhookUrl?: string;
  subscription?: string;
  error?: string;
}

/**
 * --register-webhooks: after the commit (the file's state stands even if Twitter refuses), register
 * the webhook of each created or changed interaction. Each failure is reported; exit 1 if any.
 */
async function registerTouched(ctx: Context, ids: number[], json: boolean): Promise<WebhookOutcome[]> {
  const { registerWebhook } = await import('../../webhooks/service.js');
  const { isXApi, registerXWebhook } = await import('../../webhooks/x-service.js');
  const db = (await ctx.db()).kysely;
  const results: WebhookOutcome[] = [];
  for (const id of ids) {
    const row = (await getInteraction(db, id))!;
    try {
      const r = isXApi(row.api)
        ? await registerXWebhook(serviceDeps(ctx), row, { surface: 'apply' }).then((x) => ({
            action: x.action,
            webhook: x.webhook,
            subscription: x.subscriptions.created.length ? 'subscribed' : 'already-subscribed',
          }))
        : await registerWebhook(serviceDeps(ctx), row);
      results.push({ interactionId: id, ok: true, action: r.action, webhookUrl: r.webhook.url, subscription: r.subscription });
      if (!json) ctx.err(style(ctx).green('✓ ') + `interaction ${id} '${row.name}': webhook ${r.action}, ${r.subscription}`);
    } catch (err) {
      results.push({ interactionId: id, ok: false, error: (err as Error).message });
      if (!json) ctx.err(style(ctx).red('✗ ') + `interaction ${id} '${row.name}': ${(err as Error).message}`);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) ctx.err(`${failed} webhook registration${failed === 1 ? '' : 's'} failed; the file was applied. Retry with: omni webhook register <interaction>`);
  return results;
}
