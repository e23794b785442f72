// Actions of `omni param`: validate (src/params.ts), resolve catalog names to ids, and write every
// change together with its audit record in one transaction.
import type { Kysely } from 'kysely';
import type { Context } from '../context.js';
import type { Database } from '../db/schema.js';
import { catalogLabels, getCatalogEntry } from '../db/catalogs.js';
import { listParameterRows, type ParameterRow } from '../db/parameters.js';
import { setParameterValue, unsetParameterValue } from '../parameter-write.js';
import { PARAMS, PARAM_NUMBERS, checkParamValue, describeValues, parseParamNumber, type ParamDef } from '../params.js';
import { UsageError } from '../errors.js';
import { printJson, printTable, style, success, warn } from '../output.js';

export interface ParamView {
  number: number;
  name: string;
  group: ParamDef['group'];
  value: string | null;
  /** The value for people: catalog ids also name their entry, e.g. "4 (Twitter)". */
  display: string | null;
  acted: boolean;
  use: string;
  updatedAt: string | null;
}

function requireParam(raw: string): ParamDef {
  const def = parseParamNumber(raw);
  if (!def) throw new UsageError(`unknown parameter '${raw}'; known: ${PARAM_NUMBERS.join(', ')}`, 'list them with: omni param list');
  return def;
}

async function display(db: Kysely<Database>, def: ParamDef, value: string | null): Promise<string | null> {
  if (value === null) return null;
  if (def.type.kind !== 'catalog' || !/^\d+$/.test(value)) return value;
  const entry = await getCatalogEntry(db, def.type.catalog, Number(value));
  // `rm` refuses referenced entries, so a missing one means the database was edited by hand.
  if (!entry) return `${value} (missing ${catalogLabels[def.type.catalog]})`;
  return def.type.catalog === 'activity' ? `${value} (${entry.name}, portfolio ${entry.portfolio_name})` : `${value} (${entry.name})`;
}

async function view(db: Kysely<Database>, def: ParamDef, row: ParameterRow | undefined): Promise<ParamView> {
  const value = row?.value ?? null;
  return {
    number: def.number,
    name: def.name,
    group: def.group,
    value,
    display: await display(db, def, value),
    acted: def.acted,
    use: def.use,
    updatedAt: row?.updated_at ?? null,
  };
}

async function loadView(db: Kysely<Database>, def: ParamDef): Promise<ParamView> {
  const row = await db.selectFrom('parameters').select(['number', 'value', 'updated_at']).where('number', '=', def.number).executeTakeFirst();
  return view(db, def, row);
}

const actsLabel = (v: ParamView) => (v.acted ? 'acts' : 'stored only');

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

export async function setAction(ctx: Context, [rawNumber, rawValue]: [string, string], opts: { json?: boolean }): Promise<void> {
  const def = requireParam(rawNumber);
  // Pure validation first: a malformed value fails before the database is even opened.
  const check = checkParamValue(def, rawValue);
  if (check.status === 'invalid') throw new UsageError(check.message, check.hint);
  if (check.status === 'ok' && check.warning) warn(ctx, check.warning);

  const db = (await ctx.db()).kysely;
  const { old, value } = await setParameterValue(db, def, rawValue, { now: ctx.now().toISOString(), actor: ctx.actor });

  const v = await loadView(db, def);
  if (opts.json) printJson(ctx, v);
  if (old === value) success(ctx, `parameter ${def.number} (${def.name}) is already ${v.display}; nothing changed`);
  else success(ctx, `parameter ${def.number} (${def.name}) set to ${v.display}${old === null ? '' : ` (was ${await display(db, def, old)})`}`);
}

export async function unsetAction(ctx: Context, [rawNumber]: [string]): Promise<void> {
  const def = requireParam(rawNumber);
  const db = (await ctx.db()).kysely;
  const old = await unsetParameterValue(db, def, { now: ctx.now().toISOString(), actor: ctx.actor });
  if (old === null) success(ctx, `parameter ${def.number} (${def.name}) was not set; nothing changed`);
  else success(ctx, `parameter ${def.number} (${def.name}) unset (was ${await display(db, def, old)})`);
}
