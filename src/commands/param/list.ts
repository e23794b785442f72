// `omni param list`: every known parameter with its value.
import type { Context } from '../../cli/context.js';
import { listParameterRows } from '../../db/parameters.js';
import { PARAMS } from '../../parameters.js';
import { printJson, printTable } from '../../cli/output.js';
import { type ParamView, view, actsLabel } from './shared.js';

export async function listAction(ctx: Context, _args: [], opts: { json?: boolean }): Promise<void> {
  const db = (await ctx.db()).kysely;
  const rows = new Map((await listParameterRows(db)).map((r) => [r.number, r]));
  const views = await Promise.all(PARAMS.map((def) => view(db, def, rows.get(def.number))));
  if (opts.json) return printJson(ctx, views);
  printTable(
    ctx,
    [
      { header: 'group', value: (v: ParamView) => v.group },
      { header: 'number', value: (v: ParamView) => v.number },
      { header: 'name', value: (v: ParamView) => v.name },
      { header: 'value', value: (v: ParamView) => v.display },
      { header: 'omni', value: actsLabel },
      { header: 'use', value: (v: ParamView) => v.use },
    ],
    views,
  );
}
