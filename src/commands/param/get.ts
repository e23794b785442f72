// `omni param get`: one parameter, what it takes and what omni does with it.
import type { Context } from '../../cli/context.js';
import { describeValues } from '../../parameters.js';
import { printJson, style } from '../../cli/output.js';
import { requireParam, loadView, actsLabel } from './shared.js';

export async function getAction(ctx: Context, [raw]: [string], opts: { json?: boolean }): Promise<void> {
  const def = requireParam(raw);
  const v = await loadView((await ctx.db()).kysely, def);
  if (opts.json) return printJson(ctx, v);
  const s = style(ctx);
  ctx.out(`${s.bold(String(v.number))}  ${v.name} (${v.group})`);
  ctx.out(`value    ${v.display ?? s.dim('not set')}`);
  ctx.out(`takes    ${describeValues(def)}`);
  ctx.out(`omni     ${actsLabel(v)}: ${v.use}`);
  if (v.updatedAt) ctx.out(`updated  ${v.updatedAt}`);
}
