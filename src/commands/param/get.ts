// `omni param get`: one parameter's bare stored value, for scripts (as `git config --get` prints it);
// nothing and exit 1 when unset. `--long` (or `omni param show`) prints the block for people.
import type { Context } from '../../cli/context.js';
import { describeValues } from '../../parameters.js';
import { printJson, style } from '../../cli/output.js';
import { requireParam, loadView, actsLabel } from './shared.js';

export async function getAction(ctx: Context, [raw]: [string], opts: { json?: boolean; long?: boolean }): Promise<number> {
  if (opts.long) return showAction(ctx, [raw], opts.json ? { json: true } : {});
  const def = requireParam(raw);
  const v = await loadView((await ctx.db()).kysely, def);
  if (opts.json) {
    printJson(ctx, v);
    return 0;
  }
  if (v.value === null) return 1;
  ctx.out(v.value);
  return 0;
}

/** `omni param show` (and `get --long`): the parameter, what it takes and what omni does with it. */
export async function showAction(ctx: Context, [raw]: [string], opts: { json?: boolean }): Promise<number> {
  const def = requireParam(raw);
  const v = await loadView((await ctx.db()).kysely, def);
  if (opts.json) {
    printJson(ctx, v);
    return 0;
  }
  const s = style(ctx);
  ctx.out(`${s.bold(String(v.number))}  ${v.name} (${v.group})`);
  ctx.out(`value    ${v.display ?? s.dim('not set')}`);
  ctx.out(`takes    ${describeValues(def)}`);
  ctx.out(`omni     ${actsLabel(v)}: ${v.use}`);
  if (v.updatedAt) ctx.out(`updated  ${v.updatedAt}`);
  return 0;
}
